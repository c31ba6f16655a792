"""``passages.sqlite``: documents, passages, statements and the keyword indexes, written
once per generation and then read only.

The one module that speaks SQL: the writer hands it documents, passages and statements;
readers get :class:`~assistant.types.Passage`, :class:`~assistant.types.Document` and
:class:`~assistant.types.Statement` back, and a search filter becomes SQL here.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from itertools import starmap
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AssistantError, DatabaseCorruptError, IndexCorruptError, UsageError
from ..text import keywords
from ..types import Document, Passage, SourceDocument, Span, Statement, page_starts
from .batch import NewPassage
from .layout import REBUILD, fault_point
from .source_filter import matching_sources
from .terms import metadata_terms

if TYPE_CHECKING:
    from ..filters import SearchFilter

# passages.is_boilerplate: 0 a citable passage, 1 boilerplate, HEAD_LINE a headline,
# byline or date line (not embedded, cited only for questions about the report).
HEAD_LINE = 2
# A keyword in more passages than this says little and costs a lot to score.
COMMON_TERM_FLOOR = 2_000
COMMON_TERM_SHARE = 0.005
# Spelling variants searched per term, closest first (Heydari: Hedari, Heidari).
MAX_VARIANTS = 4

SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    title TEXT, outlet TEXT, byline TEXT, published TEXT, url TEXT,
    text TEXT NOT NULL
);
CREATE TABLE passages (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    source TEXT NOT NULL,
    paragraph INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    is_boilerplate INTEGER NOT NULL,
    sentences TEXT NOT NULL,
    vector_row INTEGER UNIQUE,
    sentence_row INTEGER,  -- the first of its sentences' rows in sentences.npy
    language TEXT  -- as the source states it ("es"); NULL: none stated, or an older index
);
CREATE INDEX passages_by_doc ON passages(doc_id, start);
-- Spelling variants of names: every name under its deletion keys (keywords.deletion_keys).
CREATE TABLE name_keys (key TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (key, name))
    WITHOUT ROWID;
CREATE VIRTUAL TABLE passages_fts USING fts5(
    body, title, content='', tokenize='porter unicode61 remove_diacritics 2'
);
-- Quotations and reported statements (speakers.py): what was said, by whom, for which side.
CREATE TABLE statements (
    passage_id INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    speaker TEXT NOT NULL,
    side TEXT
);
CREATE INDEX statements_by_passage ON statements(passage_id);
CREATE INDEX statements_by_side ON statements(side);
-- Whole documents (their citable text), rowid = documents.rowid: BM25 of the document
-- a passage belongs to is part of the passage's keyword score.
CREATE VIRTUAL TABLE documents_fts USING fts5(
    body, title, content='', tokenize='porter unicode61 remove_diacritics 2'
);
"""

_PASSAGE_COLUMNS = (
    "id, doc_id, source, paragraph, start, end, text, is_boilerplate, sentences, language"
)
# An index written before passages had a language has no such column: NULL in its place.
_OLD_PASSAGE_COLUMNS = _PASSAGE_COLUMNS.replace("language", "NULL")


def _row_to_passage(row) -> Passage:
    return Passage(
        passage_id=row[0],
        doc_id=row[1],
        source=row[2],
        paragraph=row[3],
        start=row[4],
        end=row[5],
        text=row[6],
        is_boilerplate=bool(row[7]),
        # starmap, not a generator: a query makes about a hundred passages of five
        # sentences each.
        sentences=tuple(starmap(Span, json.loads(row[8]))),
        is_head=row[7] == HEAD_LINE,
        language=row[9],
    )


def body_match(forms: tuple[str, ...]) -> str:
    quoted = " OR ".join('"' + form.replace('"', '""') + '"' for form in forms)
    return f"body:({quoted})"


def filter_condition(
    search_filter: SearchFilter,
    sources: list[str],
    alias: str = "d",
    passage_alias: str = "p",
    has_language: bool = True,
) -> tuple[str, list]:
    """A search filter as a SQL condition over the documents table (as ``alias``) and
    the passages table (``passage_alias``) and its parameters; ``sources`` are the
    indexed sources the filter's names let through
    (:func:`~.source_filter.matching_sources`). With languages, passages with none
    stated (all of an index older than the ``language`` column) do not pass."""
    clauses: list[str] = []
    values: list = []
    if search_filter.languages:
        if has_language:
            clauses.append(f"{passage_alias}.language IN (SELECT value FROM json_each(?))")
            values.append(json.dumps(list(search_filter.languages)))
        else:
            clauses.append("0")
    if search_filter.since:
        clauses.append(f"{alias}.published >= ?")
        values.append(search_filter.since)
    if search_filter.until:
        clauses.append(f"{alias}.published <= ?")
        values.append(search_filter.until)
    if search_filter.sources:
        # One parameter for the names and one for the sources that pass, however many
        # (a folder of thousands of files, 500 --source names): a condition per name
        # would nest one level deeper each, past SQLite's expression depth.
        clauses.append(
            f"(lower({alias}.outlet) IN (SELECT lower(value) FROM json_each(?))"
            f" OR {alias}.source IN (SELECT value FROM json_each(?)))"
        )
        values.append(json.dumps(list(search_filter.sources)))
        values.append(json.dumps(sources))
    return " AND ".join(clauses) or "1", values


# SQLite's own words for damage (its primary result codes): only these are called
# damage, as ``index verify`` would find it. Any other failure of a query (a limit of
# SQLite's, a locked or unreadable file) is said as what it is.
DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


@contextmanager
def database_errors(index_dir: Path) -> Iterator[None]:
    """SQLite can find damage only when a query reaches it: report it like at open."""
    try:
        yield
    except sqlite3.DatabaseError as error:
        raise query_error(index_dir, error) from None


def query_error(index_dir: Path, error: sqlite3.DatabaseError) -> AssistantError:
    """What a failed query means: damage (exit 10) only when SQLite says the file is
    damaged; a query over one of SQLite's limits is the request's size (a usage
    error, exit 2); anything else is said as SQLite says it (exit 1)."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = None if code is None else code & 0xFF
    if primary is None:  # no code given: only an OperationalError is not damage
        damaged = not isinstance(error, sqlite3.OperationalError)
    else:
        damaged = primary in DAMAGE_CODES
    if damaged:
        return DatabaseCorruptError(
            f"the passage database of {index_dir} is damaged ({error})", hint=REBUILD
        )
    if primary == sqlite3.SQLITE_TOOBIG or any(limit in str(error) for limit in _LIMIT_MESSAGES):
        return UsageError(f"the request is too large for the index ({error})")
    return AssistantError(f"the passage database of {index_dir} could not be read ({error})")


_LIMIT_MESSAGES = ("too many SQL variables", "Expression tree is too large", "too many terms")


# -- writing ----------------------------------------------------------------------------


def write_database(
    path: Path,
    documents: Sequence[SourceDocument],
    passages: Sequence[NewPassage],
    statements: Iterable[tuple[int, Statement]] = (),
) -> None:
    """Write a new generation's database in one part (see :class:`DatabaseWriter`)."""
    writer = DatabaseWriter(path)
    try:
        writer.add(documents, passages, statements)
        writer.finish()
    finally:
        writer.close()


class DatabaseWriter:
    """A new generation's database, written part by part: each part's documents,
    passages, statements and keyword rows are inserted and committed, so that what is
    held in memory is one part. Passage ids are positions over all parts; citable
    passages (not boilerplate) get vector rows, and their sentences rows in
    ``sentences.npy``, in that order. The file is not live until its generation is
    renamed into place, so it is written without a journal."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db: sqlite3.Connection | None = sqlite3.connect(path)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.executescript(SCHEMA)
        self.passages = 0
        self.vector_row = 0
        self.sentence_row = 0

    def add(
        self,
        documents: Sequence[SourceDocument],
        passages: Sequence[NewPassage],
        statements: Iterable[tuple[int, Statement]] = (),
    ) -> None:
        """One part: whole documents and their passages (ids continue from the last
        part); ``statements`` are (passage id, statement)."""
        db = self.db
        titles, rowids = _insert_documents(db, documents)
        citable_text, names = self._insert_passages(passages, titles)
        db.executemany(
            "INSERT INTO statements (passage_id, start, end, speaker, side) VALUES (?, ?, ?, ?, ?)",
            (
                (passage_id, said.start, said.end, said.speaker, said.side)
                for passage_id, said in statements
            ),
        )
        _insert_document_keywords(db, citable_text, titles, rowids)
        db.executemany(
            "INSERT OR IGNORE INTO name_keys VALUES (?, ?)",
            (
                (key, name)
                for name in sorted(names)
                for key in keywords.deletion_keys(name, keywords.variant_depth(name))
            ),
        )
        db.commit()

    def _insert_passages(
        self, passages: Sequence[NewPassage], titles: dict[str, str]
    ) -> tuple[dict[str, list[str]], set[str]]:
        first = self.passages
        self.passages += len(passages)
        rows = (first, self.vector_row, self.sentence_row)
        citable_text, names, (self.vector_row, self.sentence_row) = _insert_passages(
            self.db, passages, titles, rows
        )
        return citable_text, names

    def finish(self) -> None:
        fault_point("database-commit")
        self.db.commit()
        self.close()
        with open(self.path, "rb") as handle:
            os.fsync(handle.fileno())

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


def _insert_documents(
    db: sqlite3.Connection, documents: Sequence[SourceDocument]
) -> tuple[dict[str, str], dict[str, int]]:
    """The documents' rows; returns their titles by id (the passages' keyword rows
    carry them) and their rowids (the documents' keyword rows take them)."""
    titles: dict[str, str] = {}
    rowids: dict[str, int] = {}
    for document in documents:
        titles[document.doc_id] = document.title or ""
        cursor = db.execute(
            "INSERT INTO documents (doc_id, source, title, outlet, byline, published, url,"
            " text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                document.doc_id,
                document.source,
                document.title,
                document.outlet,
                document.byline,
                document.published,
                document.url,
                document.text,
            ),
        )
        rowids[document.doc_id] = cursor.lastrowid
    return titles, rowids


def _insert_passages(
    db: sqlite3.Connection,
    passages: Sequence[NewPassage],
    titles: dict[str, str],
    rows: tuple[int, int, int],
) -> tuple[dict[str, list[str]], set[str], tuple[int, int]]:
    """The passages' rows, and the keyword rows of the citable ones, from ``rows``
    (the first passage id, vector row and sentence row); returns the citable text of
    each document, the names found in it, and the next vector and sentence rows."""
    names: set[str] = set()
    first_id, vector_row, sentence_row = rows
    citable_text: dict[str, list[str]] = {}
    for passage_id, passage in enumerate(passages, first_id):
        chunk = passage.chunk
        row_for_vector = first_sentence = None
        if not chunk.is_boilerplate:
            names |= keywords.names_in(chunk.text)
            row_for_vector = vector_row
            vector_row += 1
            first_sentence = sentence_row
            sentence_row += len(chunk.sentences)
            citable_text.setdefault(passage.doc_id, []).append(chunk.text)
            db.execute(
                "INSERT INTO passages_fts(rowid, body, title) VALUES (?, ?, ?)",
                (
                    passage_id,
                    keywords.normalize(chunk.text),
                    keywords.normalize(titles.get(passage.doc_id, "")),
                ),
            )
        db.execute(
            "INSERT INTO passages (id, doc_id, source, paragraph, start, end, text,"
            " is_boilerplate, sentences, vector_row, sentence_row, language)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                passage_id,
                passage.doc_id,
                passage.source,
                chunk.paragraph,
                chunk.start,
                chunk.end,
                chunk.text,
                HEAD_LINE if chunk.is_head else int(chunk.is_boilerplate),
                json.dumps([list(s) for s in chunk.sentences]),
                row_for_vector,
                first_sentence,
                getattr(passage, "language", None),
            ),
        )
    return citable_text, names, (vector_row, sentence_row)


def _insert_document_keywords(
    db: sqlite3.Connection,
    citable_text: dict[str, list[str]],
    titles: dict[str, str],
    rowids: dict[str, int],
) -> None:
    """Each document's citable text as one keyword row (document-level BM25)."""
    for doc_id, rowid in rowids.items():
        if doc_id in citable_text:
            db.execute(
                "INSERT INTO documents_fts(rowid, body, title) VALUES (?, ?, ?)",
                (
                    rowid,
                    keywords.normalize("\n".join(citable_text[doc_id])),
                    keywords.normalize(titles.get(doc_id, "")),
                ),
            )


# -- checking (``index verify``) ---------------------------------------------------------


def database_problem(path: Path, passages: int, vectors: int) -> str | None:
    """SQLite's integrity check and the passage counts against the manifest's: None
    when both hold, else what is wrong."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = db.execute("PRAGMA integrity_check").fetchone()[0]
            # Head lines (headline, byline, date) are stored but not counted.
            found, with_vectors = db.execute(
                "SELECT count(*), count(vector_row) FROM passages WHERE is_boilerplate != ?",
                (HEAD_LINE,),
            ).fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        return f"unreadable ({error})"
    if result != "ok":
        return f"SQLite integrity check: {result}"
    if (found, with_vectors) != (passages, vectors):
        return (
            f"{found} passages ({with_vectors} with vectors), the manifest says"
            f" {passages} ({vectors})"
        )
    return None


# -- reading ----------------------------------------------------------------------------


class PassageDatabase:
    """One generation's ``passages.sqlite``, opened read-only (one connection, shared
    by the threads of a reader: SQLite serialises them)."""

    def __init__(self, path: Path, index_dir: Path, citable: int) -> None:
        self.index_dir = index_dir
        try:
            self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            self.db.execute("SELECT count(*) FROM passages").fetchone()
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(passages)")}
        except sqlite3.DatabaseError as error:
            raise DatabaseCorruptError(
                f"the passage database of {index_dir} is unreadable ({error})", hint=REBUILD
            ) from None
        self.has_language = "language" in columns
        self.columns = _PASSAGE_COLUMNS if self.has_language else _OLD_PASSAGE_COLUMNS
        self.common_term_limit = max(COMMON_TERM_FLOOR, int(COMMON_TERM_SHARE * citable))
        self._document_cache: dict[str, Document] = {}
        self._metadata_terms: dict[str, set[str]] | None = None
        self._metadata_vocabulary: frozenset[str] = frozenset()
        self._sources: list[str] | None = None

    def close(self) -> None:
        self.db.close()

    # -- passages and documents

    def passages(self, ids: list[int]) -> dict[int, Passage]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT {self.columns} FROM passages WHERE id IN ({marks})", ids
        ).fetchall()
        return {row[0]: _row_to_passage(row) for row in rows}

    def passages_for_vector_rows(self, rows: list[int]) -> dict[int, Passage]:
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        found = self.db.execute(
            f"SELECT vector_row, {self.columns} FROM passages WHERE vector_row IN ({marks})",
            rows,
        ).fetchall()
        return {row[0]: _row_to_passage(row[1:]) for row in found}

    def document_passages(self, doc_id: str) -> list[Passage]:
        rows = self.db.execute(
            f"SELECT {self.columns} FROM passages WHERE doc_id = ? ORDER BY start", (doc_id,)
        ).fetchall()
        return [_row_to_passage(row) for row in rows]

    def vector_rows_of(self, ids: list[int]) -> list[tuple[int, int, int | None, int]]:
        """(passage id, vector row, first sentence row, sentence count) of the citable
        passages among ``ids``."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT id, vector_row, sentence_row, sentences FROM passages"
            f" WHERE id IN ({marks}) AND vector_row IS NOT NULL",
            ids,
        ).fetchall()
        return [(pid, row, first, _span_count(spans)) for pid, row, first, spans in rows]

    def sentence_rows_of(self, ids: list[int]) -> list[tuple[int, int | None, int]]:
        """(passage id, first sentence row, sentence count) of each of these passages."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT id, sentence_row, sentences FROM passages WHERE id IN ({marks})", ids
        ).fetchall()
        return [(pid, first, _span_count(spans)) for pid, first, spans in rows]

    def document(self, doc_id: str) -> Document:
        cached = self._document_cache.get(doc_id)
        if cached:
            return cached
        row = self.db.execute(
            "SELECT doc_id, source, title, outlet, byline, published, url,"
            " instr(text, char(12)) > 0 FROM documents WHERE doc_id = ?",
            (doc_id,),
        ).fetchone()
        if row is None:
            raise IndexCorruptError(f"document {doc_id!r} is missing from {self.index_dir}")
        document = Document(*row[:7])
        if row[7]:  # pages parted by form feeds (a PDF): where each starts, for "p. N"
            starts = page_starts(self.document_text(doc_id))
            document = replace(document, page_starts=starts)
        self._document_cache[doc_id] = document
        return document

    def documents(self) -> list[Document]:
        rows = self.db.execute(
            "SELECT doc_id, source, title, outlet, byline, published, url FROM documents"
            " ORDER BY source, doc_id"
        ).fetchall()
        return [Document(*row) for row in rows]

    def document_text(self, doc_id: str) -> str:
        row = self.db.execute("SELECT text FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        if row is None:
            raise IndexCorruptError(f"document {doc_id!r} is missing from {self.index_dir}")
        return row[0]

    def document_ids(self, name: str) -> list[str]:
        """``[name]`` when it is a document's id, else the ids of the documents of the
        source ``name`` (sorted); [] when it is neither."""
        if self.db.execute("SELECT 1 FROM documents WHERE doc_id = ?", (name,)).fetchone():
            return [name]
        rows = self.db.execute(
            "SELECT doc_id FROM documents WHERE source = ? ORDER BY doc_id", (name,)
        ).fetchall()
        return [row[0] for row in rows]

    def metadata_terms(self) -> dict[str, set[str]]:
        """Each document's outlet, byline, title and publication date as normalised
        terms (:func:`~.terms.metadata_terms`). Read once per generation."""
        if self._metadata_terms is None:
            found = {
                doc_id: metadata_terms(title, outlet, byline, published)
                for doc_id, title, outlet, byline, published in self.db.execute(
                    "SELECT doc_id, title, outlet, byline, published FROM documents"
                )
            }
            self._metadata_terms = found
            self._metadata_vocabulary = frozenset().union(*found.values())
        return self._metadata_terms

    def _passing_sources(self, search_filter: SearchFilter) -> list[str]:
        """The indexed sources a filter's names let through (none asked: none)."""
        if not search_filter.sources:
            return []
        if self._sources is None:
            self._sources = [r[0] for r in self.db.execute("SELECT DISTINCT source FROM documents")]
        return matching_sources(self._sources, search_filter.sources)

    def metadata_vocabulary(self) -> frozenset[str]:
        self.metadata_terms()
        return self._metadata_vocabulary

    # -- what the writer keeps from the previous generation, and ``index sources``

    def stored_documents(self) -> Iterator[SourceDocument]:
        """Every document with its text, in the order it was written."""
        for doc_id, src, title, outlet, byline, published, url, text in self.db.execute(
            "SELECT doc_id, source, title, outlet, byline, published, url, text FROM documents"
            " ORDER BY rowid"
        ):
            yield SourceDocument(
                doc_id=doc_id,
                source=src,
                text=text,
                title=title,
                outlet=outlet,
                byline=byline,
                published=published,
                url=url,
                detect_metadata=False,
            )

    def stored_passages(self) -> Iterator[tuple[Passage, int | None, int | None]]:
        """Every passage (head lines and boilerplate too) with its vector row and first
        sentence row, in id order: one pass over the table."""
        for row in self.db.execute(
            f"SELECT {self.columns}, vector_row, sentence_row FROM passages ORDER BY id"
        ):
            yield _row_to_passage(row), row[10], row[11]

    def publication_dates(self) -> dict[str, list[str]]:
        """Each source's documents' publication dates (those with one)."""
        dates: dict[str, list[str]] = {}
        for source, published in self.db.execute(
            "SELECT source, published FROM documents WHERE published IS NOT NULL"
        ):
            dates.setdefault(source, []).append(published)
        return dates

    def passage_counts(self) -> dict[str, int]:
        """Passages of each source as the build report counts them: head lines
        (headline, byline) are not."""
        return dict(
            self.db.execute(
                "SELECT source, count(*) FROM passages WHERE is_boilerplate != ? GROUP BY source",
                (HEAD_LINE,),
            )
        )

    # -- restricting and keyword search

    def allowed_vector_rows(self, search_filter: SearchFilter) -> tuple[str, list, list[int]]:
        """The filter's SQL condition and values, and the vector rows it allows."""
        where, values = filter_condition(
            search_filter, self._passing_sources(search_filter), has_language=self.has_language
        )
        rows = self.db.execute(
            "SELECT p.vector_row FROM passages AS p JOIN documents AS d ON d.doc_id = p.doc_id"
            f" WHERE p.vector_row IS NOT NULL AND {where}",
            values,
        ).fetchall()
        return where, values, [r[0] for r in rows]

    def keyword_search(
        self, match: str, k: int, where: str | None = None, values: Sequence = ()
    ) -> list[tuple[int, float]]:
        """(passage id, BM25) pairs, best first; BM25 is positive, higher is better.
        ``where`` (from :meth:`allowed_vector_rows`) restricts the documents.

        The title column weighs as much as the body (tuned on SciFact's train split).
        """
        restrict = ""
        if where is not None:
            restrict = (
                " AND rowid IN (SELECT p.id FROM passages AS p JOIN documents AS d"
                f" ON d.doc_id = p.doc_id WHERE {where})"
            )
        rows = self.db.execute(
            "SELECT rowid, -bm25(passages_fts, 1.0, 1.0) AS score FROM passages_fts"
            f" WHERE passages_fts MATCH ?{restrict} ORDER BY score DESC LIMIT ?",
            (match, *(values if where is not None else ()), k),
        ).fetchall()
        return [(int(r), float(s)) for r, s in rows]

    def document_bm25(self, match: str, doc_ids: list[str]) -> dict[str, float]:
        """BM25 of each of these documents as a whole (those matching at all)."""
        if not doc_ids:
            return {}
        rows = self.db.execute(document_bm25_sql(len(doc_ids)), (match, *doc_ids)).fetchall()
        return {doc_id: float(score) for doc_id, score in rows}

    def allowed_passages(self, passage_ids: list[int], search_filter: SearchFilter) -> list[int]:
        """Those of the passages whose documents a search filter allows (checked for
        these passages alone, without listing every allowed vector row)."""
        if not passage_ids:
            return []
        where, values = filter_condition(
            search_filter, self._passing_sources(search_filter), has_language=self.has_language
        )
        marks = ",".join("?" * len(passage_ids))
        rows = self.db.execute(
            "SELECT p.id FROM passages AS p JOIN documents AS d ON d.doc_id = p.doc_id"
            f" WHERE p.id IN ({marks}) AND {where}",
            (*passage_ids, *values),
        ).fetchall()
        allowed = {row[0] for row in rows}
        return [pid for pid in passage_ids if pid in allowed]

    def passage_frequency(self, forms: tuple[str, ...]) -> int:
        """In how many citable passages any of the (normalised) forms of a term occurs.

        Counting stops at ``common_term_limit``: past it a term is simply common, and
        counting a word found in half a million passages would cost more than the query.
        """
        row = self.db.execute(
            "SELECT count(*) FROM (SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?"
            " LIMIT ?)",
            (body_match(forms), self.common_term_limit),
        ).fetchone()
        return int(row[0])

    def passages_containing(self, passage_ids: list[int], forms: tuple[str, ...]) -> set[int]:
        """Which of the given passages contain any form of a term (as FTS5 stems it)."""
        if not passage_ids:
            return set()
        marks = ",".join("?" * len(passage_ids))
        rows = self.db.execute(
            f"SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? AND rowid IN ({marks})",
            (body_match(forms), *passage_ids),
        ).fetchall()
        return {row[0] for row in rows}

    def names_under_keys(self, keys: list[str]) -> set[str]:
        """Names of the corpus stored under any of these deletion keys."""
        found: set[str] = set()
        for offset in range(0, len(keys), 500):
            part = keys[offset : offset + 500]
            marks = ",".join("?" * len(part))
            found.update(
                row[0]
                for row in self.db.execute(
                    f"SELECT DISTINCT name FROM name_keys WHERE key IN ({marks})", part
                )
            )
        return found

    # -- statements

    def statements(self, passage_ids: list[int]) -> dict[int, list[Statement]]:
        """The statements in each of these passages, in reading order."""
        if not passage_ids:
            return {}
        marks = ",".join("?" * len(passage_ids))
        found: dict[int, list[Statement]] = {}
        for passage_id, start, end, speaker, side in self.db.execute(
            f"SELECT passage_id, start, end, speaker, side FROM statements"
            f" WHERE passage_id IN ({marks}) ORDER BY passage_id, start",
            passage_ids,
        ):
            found.setdefault(passage_id, []).append(Statement(start, end, speaker, side))
        return found

    def speakers_like(
        self, name_prefixes: Sequence[str], side: str | None
    ) -> Iterator[tuple[int, str, str | None]]:
        """(passage id, speaker, side) of statements whose speaker contains one of the
        prefixes; without prefixes, those for ``side``; without either, all. A coarse
        cut: the caller decides which speakers match."""
        if name_prefixes:
            likes = " OR ".join("speaker LIKE ?" for _ in name_prefixes)
            yield from self.db.execute(
                f"SELECT passage_id, speaker, side FROM statements WHERE {likes}",
                [f"%{prefix}%" for prefix in name_prefixes],
            )
        elif side is not None:
            yield from self.db.execute(
                "SELECT passage_id, speaker, side FROM statements WHERE side = ?", (side,)
            )
        else:
            yield from self.db.execute("SELECT passage_id, speaker, side FROM statements")


def document_bm25_sql(count: int) -> str:
    """BM25 of ``count`` named documents. The unary plus keeps the id list away from
    FTS5: given ``rowid IN (...)`` it runs the whole MATCH again for each id (plan
    ``INDEX 0:=M2``): medians of 74 ms against 0.6 ms for one MATCH then a filter on
    the news-dev questions, 105 ms against 1.6 ms on SciFact's (bench/profile_query.py).
    BM25 uses the whole index's statistics either way, so the scores are the same."""
    marks = ",".join("?" * count)
    return (
        "SELECT d.doc_id, -bm25(documents_fts, 1.0, 1.0) FROM documents_fts"
        " JOIN documents AS d ON d.rowid = documents_fts.rowid"
        " WHERE documents_fts MATCH ? AND +documents_fts.rowid IN"
        f" (SELECT rowid FROM documents WHERE doc_id IN ({marks}))"
    )


def _span_count(spans: str) -> int:
    """Sentences in a stored JSON list of [start, end] pairs, without parsing it."""
    return spans.count("[") - 1
