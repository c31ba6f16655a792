"""Outlet rules of assistant/data/metadata.json: every entry is needed and says where it
came from."""

from __future__ import annotations

import json

import pytest

from assistant.ingest import boilerplate, metadata
from assistant.ingest.metadata import BIO_OUTLET, SITE_SLOGANS, bio_outlet, site_slogan_outlet
from assistant.ingest.sources import SourceDocument

DATA = json.loads(metadata.RULES_FILE.read_text(encoding="utf-8"))
SLOGANS = DATA["site_slogans"]
BIOS = DATA["bio_outlet"]


def test_every_entry_has_a_source_and_an_example():
    for entry in SLOGANS + BIOS:
        assert entry["source"].strip() and entry["example"].strip(), entry["name"]
    names = [entry["name"] for entry in SLOGANS + BIOS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("entry", SLOGANS, ids=[e["name"] for e in SLOGANS])
def test_each_slogan_names_its_outlet_and_is_furniture(entry, monkeypatch):
    example = entry["example"]
    assert site_slogan_outlet(example) == entry["outlet"]
    assert boilerplate.mark([[example]]) == [True]
    monkeypatch.delitem(SITE_SLOGANS, entry["slogan"].lower().rstrip(".!"))
    assert site_slogan_outlet(example) is None
    assert boilerplate.mark([[example]]) == [False]


@pytest.mark.parametrize("entry", BIOS, ids=[e["name"] for e in BIOS])
def test_each_bio_rule_alone_finds_its_example(entry):
    byline = entry.get("example_byline")
    assert bio_outlet(entry["example"], byline) == (entry["outlet"], entry["name"])
    others = [rule for rule in BIO_OUTLET if rule.name != entry["name"]]
    assert bio_outlet(entry["example"], byline, others) is None


def test_a_bio_rule_that_needs_the_byline_ignores_other_peoples_bios():
    (rule,) = [entry for entry in BIOS if entry.get("needs_byline")]
    assert bio_outlet(rule["example"], "John Roe") is None
    assert bio_outlet(rule["example"], None) is None


def test_the_outlet_comes_from_a_bio_at_the_end():
    text = (
        "Council Votes To Rebuild Harbour Road\n\n"
        "The town council voted on Tuesday to rebuild the harbour road after storms "
        "damaged it twice last winter, and work is to start in the spring, officials said.\n\n"
        "A reporter and a regular contributor to Harbour Weekly."
    )
    document = SourceDocument(doc_id="x", source="x", text=text)
    metadata.annotate(document)
    assert document.outlet == "Harbour Weekly"
