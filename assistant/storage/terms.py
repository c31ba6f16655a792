"""What the terms of the index mean, whatever the store: the terms of a document's
metadata, the keyword text as SQLite FTS5 tokenizes it, and FTS5's BM25 formula.

Both backends use these: the local store gets its keyword scores from FTS5 itself, and
a Milvus store computes the same scores from the same terms with :func:`fts5_bm25`.
"""

from __future__ import annotations

import calendar
import math
import re
import sqlite3
import threading

from ..text import keywords
from ..types import Document

# SQLite FTS5's BM25 constants (k1 1.2, b 0.75).
BM25_K1, BM25_B = 1.2, 0.75


def metadata_terms(
    title: str | None, outlet: str | None, byline: str | None, published: str | None
) -> set[str]:
    """A document's outlet, byline, title and publication date as normalised terms
    (the date as year, month name and day): text of the document for evidence, though
    no passage holds it."""
    words = " ".join(filter(None, (title, outlet, byline)))
    if published:
        year, month, day = published.split("-")
        words += f" {year} {calendar.month_name[int(month)]} {int(day)}"
    return set(keywords.tokens(words))


def document_metadata_terms(document: Document) -> set[str]:
    return metadata_terms(document.title, document.outlet, document.byline, document.published)


# -- the keyword text as FTS5 holds it -------------------------------------------------


class _Stemmer:
    """SQLite FTS5's own tokenizer (porter over unicode61, diacritics removed), run on
    an in-memory table: the terms the local index would hold, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE t USING fts5(body,"
            " tokenize='porter unicode61 remove_diacritics 2')"
        )
        self._db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")

    def terms(self, texts: list[str]) -> list[list[str]]:
        with self._lock:
            self._db.executemany(
                "INSERT INTO t(rowid, body) VALUES (?, ?)", enumerate(texts, start=1)
            )
            found: list[list[str]] = [[] for _ in texts]
            for doc, term in self._db.execute("SELECT doc, term FROM v ORDER BY doc, offset"):
                found[doc - 1].append(term)
            self._db.execute("DELETE FROM t")
            return found


_stemmer: _Stemmer | None = None


def stemmed(texts: list[str]) -> list[str]:
    """Each text as the space-joined terms FTS5 indexes for it (already normalised)."""
    global _stemmer
    if _stemmer is None:
        _stemmer = _Stemmer()
    return [" ".join(terms) for terms in _stemmer.terms(texts)]


_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def match_terms(match: str) -> list[str]:
    """The terms of an FTS5 query made by :func:`keywords.fts_query`."""
    return [term.replace('""', '"') for term in _QUOTED.findall(match)]


# -- FTS5's BM25 -------------------------------------------------------------------------


def occurrences(tokens: list[str], phrase: list[str]) -> int:
    if len(phrase) == 1:
        return tokens.count(phrase[0])
    size = len(phrase)
    return sum(1 for i in range(len(tokens) - size + 1) if tokens[i : i + size] == phrase)


def fts5_idf(rows: int, hits: int) -> float:
    """As fts5_aux.c's fts5Bm25GetData: an IDF of 0 or less becomes 1e-6."""
    value = math.log((rows - hits + 0.5) / (hits + 0.5))
    return value if value > 0.0 else 1e-6


def fts5_bm25(
    tokens: list[str], phrases: list[list[str]], idf: list[float], average: float
) -> float | None:
    """fts5Bm25Function for one row (column weights 1.0), as a positive score; None
    when no phrase occurs in it (FTS5 would not match the row)."""
    frequencies = [occurrences(tokens, phrase) for phrase in phrases]
    if not any(frequencies):
        return None
    length = float(len(tokens))
    score = 0.0
    for weight, frequency in zip(idf, frequencies, strict=True):
        score += weight * (
            (frequency * (BM25_K1 + 1.0))
            / (frequency + BM25_K1 * (1 - BM25_B + BM25_B * length / average))
        )
    return score
