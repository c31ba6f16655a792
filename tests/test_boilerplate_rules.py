"""Boilerplate rules: the data file's entries, the general rules, and the pass across
documents of one site (unit tests, the real news-dev pages, and an index update)."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.ingest import boilerplate, metadata
from assistant.ingest.boilerplate import (
    RULES,
    glued_names,
    mark,
    mark_corpus,
    matching_rule,
    repeated_across_documents,
)

SHARED = Path(__file__).parents[1].parent / "shared"
NEWS_DEV = SHARED / "benchmarks" / "news-dev"

DATA = json.loads(boilerplate.RULES_FILE.read_text(encoding="utf-8"))
ENTRIES = [(table, entry) for table in RULES for entry in DATA[table]]


def flagged(*paragraphs: str) -> list[bool]:
    return mark([paragraph.split("\n") for paragraph in paragraphs])


# --- the data file -------------------------------------------------------------------


def test_every_entry_has_a_name_a_source_and_an_example():
    for table, entries in RULES.items():
        names = [rule.name for rule in entries]
        assert len(names) == len(set(names)), table
        for rule in entries:
            assert rule.source.strip() and rule.example.strip(), (table, rule.name)


@pytest.mark.parametrize(("table", "entry"), ENTRIES, ids=[f"{t}:{e['name']}" for t, e in ENTRIES])
def test_each_entry_alone_matches_its_example(table, entry):
    # Its own rule matches the example and no other rule of its table does: each entry
    # is needed, and the engine says which one matched.
    rules = RULES[table]
    assert matching_rule(entry["example"], table).name == entry["name"]
    others = [rule for rule in rules if rule.name != entry["name"]]
    assert matching_rule(entry["example"], table, others) is None


@pytest.mark.parametrize(("table", "entry"), ENTRIES, ids=[f"{t}:{e['name']}" for t, e in ENTRIES])
def test_removing_an_entry_loses_its_example(table, entry, monkeypatch):
    example = entry["example"]
    if table == "tail_openers":
        # An opener makes the short lines after it furniture.
        paragraphs = [example, "Jane Doe"]
        assert flagged(*paragraphs)[1]
    else:
        paragraphs = [example]
        assert flagged(*paragraphs)[0]
    without = [rule for rule in RULES[table] if rule.name != entry["name"]]
    monkeypatch.setitem(RULES, table, without)
    assert not flagged(*paragraphs)[-1]


def test_no_rule_names_an_outlet_in_code():
    seed_outlets = ["Middle East Monitor", "Iran International", "World Israel News", "Atlas"]
    for module in (boilerplate, metadata):
        code = Path(module.__file__).read_text(encoding="utf-8")
        for outlet in seed_outlets:
            assert outlet not in code, (module.__name__, outlet)


# --- credit and licensing lines --------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Photo: AFP",
        "Image: Jane van der Berg",
        "Photograph: Jane Doe/Example Agency",
        "(AP Photo/Jane Doe, File)",
        "John Roe/Getty Images",
        "[Featured Image by John Roe/Getty Images]",
        "Our Standards: The Example Trust Principles.",
        "Purchase Licensing Rights, opens new tab",
        "Download the full report, opens new tab",
        "(Editing by Jane Doe and John Roe)",
    ],
)
def test_credit_and_licensing_lines_are_boilerplate(line):
    assert flagged(line) == [True]


@pytest.mark.parametrize(
    "paragraph",
    [
        # A caption ending in its credit is content: questions are asked about captions.
        "Soldiers march through the capital on Monday. [Photo by Jane Doe/Example Agency"
        " via Getty Images]",
        "Photo: Soldiers march through the capital on Monday",
        # Who reported a story is asked ("who wrote ..."): authorship credits stay.
        "Reporting by Jane Doe in Lisbon; Editing by John Roe",
        "(Reporting by Jane Doe; Writing by John Roe; Editing by Ann Poe)",
        # A link inside a sentence is only a link.
        "The report, opens new tab by the institute found the shots were aimed at them.",
    ],
)
def test_captions_authorship_and_prose_with_links_stay_citable(paragraph):
    assert flagged(paragraph) == [False]


# --- labelled links to other stories ------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "SEE MORE: Council votes on the new bridge",
        "Read more: Storm leaves thousands without power as rivers burst their banks overnight",
        "WATCH: Crowds gather outside the station.",
        "RELATED: Inside the house a film star once called home — see inside!",
        "MORE : Win two tickets to the summer festival",
    ],
)
def test_labelled_links_to_other_stories_are_boilerplate(line):
    assert flagged(line) == [True]


def test_a_long_paragraph_after_a_label_is_not_a_link():
    long = "Related: " + " ".join(["the council said the road would reopen next week"] * 4)
    assert flagged(long) == [False]


# --- link or hover-card text glued to a name ---------------------------------------------


def test_names_glued_to_themselves_are_found():
    assert glued_names("Jane DoeJane DoeCouncil votes") == ["Jane DoeJane Doe"]
    assert glued_names("MarkMark Lee said") == ["MarkMark"]
    # Two-letter repeats and names said twice with a space are ordinary text.
    assert glued_names("CoCo Chanel, Walla Walla, Bora Bora and New York, New York") == []


def test_glued_link_text_is_boilerplate():
    card = "Jane DoeJane DoeCouncil votes to close the harbour road for a month"
    cards = (
        "Jane DoeJane DoeCouncil votes on the bridge John RoeJohn RoeMayor answers critics "
        "Ann PoeAnn PoeHarbour fees rise again"
    )
    assert flagged(card, cards) == [True, True]


def test_a_long_paragraph_with_one_glued_name_stays_citable():
    prose = (
        "The council met on Tuesday and Jane DoeJane Doe, its chair, said the harbour road "
        "would close for a month while engineers repaired the sea wall, which storms had "
        "damaged twice last winter, and that buses would run on the hill road instead."
    )
    assert flagged(prose) == [False]


# --- across documents of one site ------------------------------------------------------


def test_short_paragraphs_shared_by_documents_are_found():
    footer = "Harbour Gazette: local news you can trust."
    docs = {
        "a": ["The council voted on Tuesday.", footer],
        "b": ["The mayor answered critics.", "  harbour gazette:   LOCAL news you can trust. "],
        "c": ["A long paragraph " + "word " * 40, "The council voted on Tuesday."],
    }
    found = repeated_across_documents(docs)
    assert found == {boilerplate.normalise(footer), "the council voted on tuesday."}
    assert repeated_across_documents(docs, min_documents=3) == set()
    long = "word " * 31
    assert repeated_across_documents({"a": [long], "b": [long]}) == set()


def _doc(source, text, outlet=None, url=None):
    return SimpleNamespace(source=source, text=text, outlet=outlet, url=url)


def _chunks(text):
    chunks, position = [], 0
    for number, paragraph in enumerate(text.split("\n\n"), 1):
        start = text.index(paragraph, position)
        position = start + len(paragraph)
        chunks.append(
            SimpleNamespace(
                paragraph=number,
                start=start,
                end=position,
                text=paragraph,
                is_boilerplate=False,
            )
        )
    return chunks


def _corpus_flags(docs):
    marked = mark_corpus({d.source: (d, _chunks(d.text)) for d in docs})
    return {d.source.split("/")[-1]: marked[d.source] for d in docs}


FOOTER = "Harbour Gazette, local news since 1901"


def test_a_footer_shared_by_pages_of_one_outlet_is_boilerplate():
    docs = [
        _doc("n/a.txt", f"The council voted on Tuesday.\n\n{FOOTER}", "Harbour Gazette"),
        _doc("n/b.txt", f"The mayor answered critics.\n\n{FOOTER}", "Harbour Gazette"),
        # The same line from another outlet is not this site's furniture.
        _doc("n/c.txt", f"Ferries ran late.\n\n{FOOTER}", "Valley Dispatch"),
    ]
    assert _corpus_flags(docs) == {
        "a.txt": [False, True],
        "b.txt": [False, True],
        "c.txt": [False, False],
    }


def test_outlet_names_and_urls_of_one_site_are_one_site():
    assert boilerplate.site_key("Example.com", None, "x") == boilerplate.site_key(
        "example", None, "y"
    )
    assert boilerplate.site_key(None, "https://www.example.com/a/b", "x") == (
        "outlet",
        "example",
    )
    assert boilerplate.site_key(None, None, "pages/x.html") == ("folder", "pages")


def test_without_an_outlet_a_folder_needs_three_documents():
    two = [_doc(f"n/{n}.txt", f"Story {n} is here.\n\n{FOOTER}") for n in "ab"]
    assert _corpus_flags(two) == {"a.txt": [False, False], "b.txt": [False, False]}
    three = [_doc(f"n/{n}.txt", f"Story {n} is here.\n\n{FOOTER}") for n in "abc"]
    assert all(flags == [False, True] for flags in _corpus_flags(three).values())


def test_own_flags_are_worked_out_again_for_stored_chunks():
    # Chunks read back from an index carry their old flag; the pass judges them afresh.
    text = f"The council voted on Tuesday.\n\n{FOOTER}\n\nSign up for our newsletter"
    doc = _doc("n/a.txt", text, "Harbour Gazette")
    chunks = _chunks(text)
    chunks[1].is_boilerplate = True  # flagged as shared when another page still had it
    marked = mark_corpus({doc.source: (doc, chunks)})
    assert marked == {doc.source: [False, False, True]}


# --- real pages -------------------------------------------------------------------------

PAGES = [
    "fundus-us-Reuters_2023_05_16",
    "fundus-uk-TheMirror_2024_08_05",
    "fundus-uk-Metro_2024_07_17",
    "fundus-uk-Metro_2024_11_29",
    "postlight-www.reuters.com",
    "postlight-www.today.com",
]


@pytest.fixture(scope="module")
def news_dev_passages():
    if not (NEWS_DEV / "pages").is_dir():
        pytest.skip("../shared/benchmarks/news-dev is not here")
    from assistant.embeddings import count_tokens
    from assistant.ingest.chunks import split_document
    from assistant.ingest.sources import SourceFile, load_documents

    documents = {}
    for name in PAGES:
        path = NEWS_DEV / "pages" / f"{name}.html"
        (document,) = load_documents(SourceFile(source=str(path), path=path))
        documents[name] = (document, split_document(document, count_tokens))
    flags = mark_corpus(documents)
    return {
        name: [
            (chunk.text, flag)
            for chunk, flag in zip(chunks, flags[name], strict=True)
            if not getattr(chunk, "is_head", False)
        ]
        for name, (_, chunks) in documents.items()
    }


def _flagged_text(passages, start):
    return [flag for text, flag in passages if text.startswith(start)]


def test_real_page_furniture_is_flagged(news_dev_passages):
    assert _flagged_text(news_dev_passages["fundus-us-Reuters_2023_05_16"], "Our Standards:") == [
        True
    ]
    assert (
        _flagged_text(news_dev_passages["fundus-uk-TheMirror_2024_08_05"], "Read more:")
        == [True] * 3
    )
    assert _flagged_text(news_dev_passages["postlight-www.today.com"], "RELATED:") == [True] * 2
    # The same closing line on two pages of one outlet.
    for name in ("fundus-uk-Metro_2024_07_17", "fundus-uk-Metro_2024_11_29"):
        assert _flagged_text(news_dev_passages[name], "For more stories like this") == [True]


def test_real_page_authorship_credit_stays_citable(news_dev_passages):
    assert _flagged_text(news_dev_passages["postlight-www.reuters.com"], "Reporting by") == [False]


def test_no_gold_answer_of_these_pages_is_in_boilerplate(news_dev_passages):
    questions = [
        json.loads(line)
        for line in (NEWS_DEV / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    checked = 0
    for question in questions:
        passages = news_dev_passages.get(question.get("id"))
        if not passages:
            continue
        for gold in question.get("gold") or []:
            holders = [flag for text, flag in passages if gold in text]
            if holders:
                checked += 1
                assert not all(holders), (question["id"], gold)
    assert checked >= 5


# --- in an index: build and update agree -------------------------------------------------


def _story(title, body):
    return f"{title}\n\nBy Jane Doe, Harbour Gazette\n\n{body}\n\n{FOOTER}\n"


def _flags(index_dir):
    manifest = json.loads((index_dir / "manifest.json").read_text())
    db = sqlite3.connect(index_dir / manifest["generation"] / "passages.sqlite")
    try:
        rows = db.execute(
            "SELECT source, text, is_boilerplate, vector_row IS NOT NULL FROM passages"
            " WHERE text = ?",
            (FOOTER,),
        ).fetchall()
    finally:
        db.close()
    return sorted(
        (Path(source).name, bool(flag), has_vector) for source, _, flag, has_vector in rows
    )


def test_update_flags_shared_lines_as_a_fresh_build_does(tmp_path, fake_encoder):
    from assistant import IndexWriter

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = (
        "The town council voted on Tuesday to rebuild the harbour road after storms damaged"
        " it twice last winter, and work is to start in the spring, officials said."
    )
    (corpus / "a.txt").write_text(_story("Council Votes To Rebuild Harbour Road", body))
    other = body.replace("council", "ferry company").replace("rebuild", "repair")
    (corpus / "b.txt").write_text(_story("Ferry Company Plans Repairs", other))
    index = tmp_path / "index"
    IndexWriter(index, encoder=fake_encoder).build([str(corpus)])
    assert _flags(index) == [("a.txt", True, False), ("b.txt", True, False)]

    # Once only one page has the line, it is that page's own text: citable, embedded.
    (corpus / "b.txt").unlink()
    IndexWriter(index, encoder=fake_encoder).update()
    assert _flags(index) == [("a.txt", False, True)]
    fresh = tmp_path / "fresh"
    IndexWriter(fresh, encoder=fake_encoder).build([str(corpus)])
    assert _flags(fresh) == _flags(index)

    # And when a second page brings it back, the kept page's copy is flagged again.
    (corpus / "c.txt").write_text(_story("Ferry Company Plans Repairs", other))
    IndexWriter(index, encoder=fake_encoder).update()
    assert _flags(index) == [("a.txt", True, False), ("c.txt", True, False)]


def test_own_flags_reproduce_the_chunker_on_the_seeds():
    from assistant.embeddings import count_tokens
    from assistant.ingest.chunks import split_document
    from assistant.ingest.sources import find_source_files, load_documents

    from .conftest import SEEDS

    cut = 0
    for file in find_source_files([str(SEEDS)]):
        for document in load_documents(file):
            # A small window cuts long paragraphs into several chunks of one piece.
            chunks = [
                chunk
                for chunk in split_document(document, count_tokens, max_tokens=40)
                if not getattr(chunk, "is_head", False)
            ]
            cut += sum(a.paragraph == b.paragraph for a, b in itertools.pairwise(chunks))
            own = boilerplate.own_flags(document.text, chunks)
            assert own == [chunk.is_boilerplate for chunk in chunks], document.source
    assert cut > 10
