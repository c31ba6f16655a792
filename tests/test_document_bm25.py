"""Whole-document BM25 for a list of candidate documents: one MATCH, then a filter,
with the same scores as asking for each document alone."""

import random
import sqlite3

import pytest

from assistant.storage.database import SCHEMA, PassageDatabase, document_bm25_sql

WORDS = [
    "glacier",
    "river",
    "delta",
    "harbour",
    "canal",
    "ferry",
    "bridge",
    "tunnel",
    "valley",
    "summit",
    "ridge",
]


@pytest.fixture
def database(tmp_path):
    """300 documents of random words from a small vocabulary (so terms differ in
    frequency), indexed as the writer indexes them: documents_fts rowid = documents'."""
    path = tmp_path / "passages.sqlite"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    chooser = random.Random(7)
    for number in range(300):
        db.execute(
            "INSERT INTO documents (doc_id, source, title, text) VALUES (?, ?, ?, ?)",
            (f"doc-{number}", "corpus.jsonl", f"title {number}", "text"),
        )
    for rowid, _ in db.execute("SELECT rowid, doc_id FROM documents").fetchall():
        length = chooser.randint(5, 80)
        body = " ".join(chooser.choices(WORDS, weights=range(1, len(WORDS) + 1), k=length))
        db.execute(
            "INSERT INTO documents_fts(rowid, body, title) VALUES (?, ?, ?)",
            (rowid, body, chooser.choice(WORDS)),
        )
    db.commit()
    db.close()
    store = PassageDatabase(path, tmp_path, citable=300)
    yield store
    store.close()


def one_document_bm25(store: PassageDatabase, match: str, doc_id: str) -> float | None:
    """The reference: FTS5's BM25 of one document, asked by its own rowid."""
    row = store.db.execute(
        "SELECT -bm25(documents_fts, 1.0, 1.0) FROM documents_fts"
        " WHERE documents_fts MATCH ? AND rowid ="
        " (SELECT rowid FROM documents WHERE doc_id = ?)",
        (match, doc_id),
    ).fetchone()
    return None if row is None else float(row[0])


@pytest.mark.parametrize("match", ["glacier", "glacier OR tunnel", "summit OR canal OR ferry"])
def test_document_bm25_equals_each_document_scored_alone(database, match):
    doc_ids = [f"doc-{n}" for n in range(0, 300, 7)] + ["doc-299", "missing"]
    scores = database.document_bm25(match, doc_ids)
    expected = {}
    for doc_id in doc_ids:
        alone = one_document_bm25(database, match, doc_id)
        if alone is not None:
            expected[doc_id] = alone
    assert expected  # the rare word still occurs in some of these documents
    assert scores == pytest.approx(expected, rel=1e-12)
    assert set(scores) <= set(doc_ids) - {"missing"}


def test_document_bm25_runs_the_match_once(database):
    """FTS5 is not handed the id list: with ``rowid IN (...)`` as its constraint it
    would run the whole MATCH once per listed document (plan ``INDEX 0:=M...``)."""
    doc_ids = [f"doc-{n}" for n in range(40)]
    plan = database.db.execute(
        "EXPLAIN QUERY PLAN " + document_bm25_sql(len(doc_ids)), ("glacier OR ridge", *doc_ids)
    ).fetchall()
    details = [row[3] for row in plan]
    fts = [d for d in details if "documents_fts VIRTUAL TABLE" in d]
    assert len(fts) == 1, details
    index_string = fts[0].split("INDEX", 1)[1]
    assert "M" in index_string and "=" not in index_string, details


def test_document_bm25_of_no_documents_asks_nothing(database):
    assert database.document_bm25("glacier", []) == {}
