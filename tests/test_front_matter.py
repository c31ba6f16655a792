"""Metadata from outside the running text: YAML front matter and a folder's sidecar file."""

from __future__ import annotations

import json

from assistant.ingest.chunks import split_document
from assistant.ingest.sources import SIDECAR_NAME, find_source_files, load_documents

FRONT = """---
title: "Talks resume on the river border"
date: 2024-05-02
author: Jane Doe
outlet: The Example Herald
url: https://example.org/talks
---

Negotiators met again on Thursday to discuss the 40-km river border, officials said.
"""


def _load(path):
    [file] = list(find_source_files([str(path)]))
    [document] = load_documents(file)
    return document


def test_front_matter_fills_the_metadata_and_is_not_a_passage(tmp_path):
    (tmp_path / "talks.md").write_text(FRONT, encoding="utf-8")
    document = _load(tmp_path / "talks.md")
    assert (document.title, document.published, document.byline, document.outlet, document.url) == (
        "Talks resume on the river border",
        "2024-05-02",
        "Jane Doe",
        "The Example Herald",
        "https://example.org/talks",
    )
    chunks = split_document(document)
    body = [c for c in chunks if not c.is_boilerplate]
    assert [c.text for c in body] == [FRONT.split("---\n\n")[1].strip()]
    # The author line is the document's head: citable for "who wrote ...", with offsets.
    heads = [c for c in chunks if c.is_head]
    assert "author: Jane Doe" in [c.text for c in heads]
    for chunk in heads:
        assert document.text[chunk.start : chunk.end] == chunk.text


def test_a_sidecar_gives_the_date_the_text_does_not_state(tmp_path):
    (tmp_path / "a.txt").write_text("Officials met on Tuesday to discuss the border.\n")
    (tmp_path / "b.txt").write_text("Another story with no date at all in its text.\n")
    (tmp_path / SIDECAR_NAME).write_text(
        json.dumps({"a.txt": {"date": "2021-10-05", "outlet": "Atlas Example"}}),
        encoding="utf-8",
    )
    a, b = _load(tmp_path / "a.txt"), _load(tmp_path / "b.txt")
    assert (a.published, a.outlet) == ("2021-10-05", "Atlas Example")
    # Nothing is invented for a file the sidecar does not name.
    assert (b.published, b.outlet) == (None, None)
    # The sidecar itself is not a source.
    assert [f.path.name for f in find_source_files([str(tmp_path)])] == ["a.txt", "b.txt"]


def test_the_text_wins_over_the_sidecar(tmp_path):
    (tmp_path / "c.md").write_text(FRONT, encoding="utf-8")
    (tmp_path / SIDECAR_NAME).write_text(json.dumps({"c.md": {"date": "1999-01-01"}}))
    assert _load(tmp_path / "c.md").published == "2024-05-02"
