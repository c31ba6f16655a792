"""Store: the on-disk index, as plain versioned files in one directory.

::

    index/
      manifest.json            schema version, model, dimension, files and their hashes,
                               and which generation below is current
      gen-<id>/passages.sqlite documents, passages (offsets, sentences), FTS5 keyword index
      gen-<id>/vectors.faiss   the search structure over one normalised vector per citable
                               passage: exact (flat) up to 50,000, IVF + 8-bit scalar
                               quantisation above (see make_vector_index)
      gen-<id>/vectors.npy     the same vectors in full precision, memory-mapped: IVF
                               candidates are re-ranked exactly, and updates reuse them
      lock                     held by the one process writing

A writer builds a whole new generation beside the current one and then replaces
``manifest.json`` with one ``os.replace``: readers see the old index or the new one,
never half of each, and a crash leaves the previous index as it was.
"""

from __future__ import annotations

import calendar
import errno
import json
import os
import re
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from . import keywords
from .errors import (
    DatabaseCorruptError,
    DiskFullError,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexNotFoundError,
    VectorsCorruptError,
)
from .paths import private_opener
from .speakers import Statement
from .types import Document, Passage, Span, page_starts

# passages.is_boilerplate: 0 a citable passage, 1 boilerplate, HEAD_LINE a headline,
# byline or date line (not embedded, cited only for questions about the report).
HEAD_LINE = 2
SCHEMA_VERSION = 2  # 2: title-prefixed passage vectors, sentence vectors, documents_fts
MANIFEST_NAME = "manifest.json"
DB_NAME = "passages.sqlite"
VECTORS_NAME = "vectors.faiss"
RAW_VECTORS_NAME = "vectors.npy"
# One vector per sentence of each citable passage (float16), in passage order: the
# dense score of a passage also counts its best sentence.
SENTENCE_VECTORS_NAME = "sentences.npy"

# Up to this many vectors, search is exact; above it, IVF with 8-bit codes keeps
# memory at a quarter and a query scans a few thousand codes instead of everything.
EXACT_SEARCH_LIMIT = 50_000
# IVF candidates re-ranked with the full-precision vectors.
REFINE_POOL = 100
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
    sentence_row INTEGER  -- the first of its sentences' rows in sentences.npy
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


@dataclass
class FileEntry:
    sha256: str
    size: int
    mtime_ns: int
    path: str  # absolute
    documents: int = 0
    passages: int = 0
    # ``.jsonl`` lines left out and fields ignored when it was read (``file:line: why``).
    problems: list[str] = field(default_factory=list)


@dataclass
class Manifest:
    schema_version: int
    model: str
    dimension: int
    generation: str
    created_at: str
    updated_at: str
    roots: list[dict] = field(default_factory=list)  # {"given": str, "path": abs str}
    files: dict[str, FileEntry] = field(default_factory=dict)
    documents: int = 0
    passages: int = 0
    vectors: int = 0
    model_fingerprint: str = ""
    # The generation's files: {"passages.sqlite": {"size": int, "sha256": str}, ...}
    artifacts: dict[str, dict] = field(default_factory=dict)
    vector_index: str = "flat"  # as written by make_vector_index
    chunking: int = 1  # chunks.CHUNKING_VERSION of its passages (absent before 2)
    # Files skipped at the last write: source -> {"path", "reason", "stat": [size,
    # mtime_ns] or None}. Until one changes, it is known as skipped, not as new.
    skipped: dict[str, dict] = field(default_factory=dict)
    follow_links: bool = False  # links out of the roots are followed (index build option)
    # Web pages given to ``index add`` (fetched again by ``update``), and news feeds
    # (``update`` adds their new entries): feed URL -> {"title", "fetched_at", "entries"}.
    urls: list[str] = field(default_factory=list)
    feeds: dict[str, dict] = field(default_factory=dict)
    # Every indexed web document's source (its URL as given) -> {"url" (after
    # redirects), "sha256" (of the body), "size", "fetched_at" (of the indexed copy),
    # "checked_at", "feed" (or None), "documents", "passages"}. Not files: status and
    # verify do not look for them on disk.
    pages: dict[str, dict] = field(default_factory=dict)

    def to_json(self) -> dict:
        data = self.__dict__.copy()
        data["files"] = {name: entry.__dict__ for name, entry in self.files.items()}
        return data

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        data = dict(data)
        data["files"] = {name: FileEntry(**entry) for name, entry in data.get("files", {}).items()}
        return cls(**data)


def read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST_NAME
    if not path.is_file():
        raise IndexNotFoundError(
            f"no index at {index_dir}", hint="add sources with: assistant index add PATH"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise IndexIncompatibleError(
                f"index at {index_dir} has schema version {version},"
                f" this program reads {SCHEMA_VERSION}",
                hint="rebuild it with: assistant index build PATH",
            )
        return Manifest.from_json(data)
    except IndexIncompatibleError:
        raise
    except (ValueError, TypeError, AttributeError) as error:
        raise IndexCorruptError(
            f"the manifest of {index_dir} is unreadable ({error})",
            hint="rebuild it with: assistant index build PATH",
        ) from None


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    partial = index_dir / f"{MANIFEST_NAME}.{os.getpid()}.partial"
    text = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False)
    try:
        with open(partial, "w", encoding="utf-8", opener=private_opener) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        partial.unlink(missing_ok=True)
        if is_disk_full(error):
            raise disk_full_error(index_dir, len(text.encode())) from None
        raise
    os.replace(partial, index_dir / MANIFEST_NAME)
    fsync_dir(index_dir)


def is_disk_full(error: BaseException) -> bool:
    """Whether a failed write ran out of space (or quota).

    numpy reports a short write without an errno ("2413056 requested and 948160
    written"), SQLite as SQLITE_FULL; a short write of a regular file means no space.
    """
    if isinstance(error, DiskFullError):
        return True  # said about one file; the caller may know the whole write's size
    if isinstance(error, OSError):
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        return error.errno is None and bool(re.search(r"\d+ requested and \d+ written", str(error)))
    if isinstance(error, sqlite3.OperationalError):
        return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
            "database or disk is full" in str(error)
        )
    return False


def disk_full_error(index_dir: Path, needed: int) -> DiskFullError:
    """What to tell the user once the half-written files are gone: how much the write
    needs (``needed`` bytes, an estimate), how much is free, and what to do."""
    import shutil

    megabyte = 1024 * 1024
    try:
        free = shutil.disk_usage(index_dir).free
    except OSError:
        free = None
    wanted = f"writing it needs about {max(1, -(-needed // megabyte))} MB"
    if free is None:
        return DiskFullError(
            f"no space left on device for the index at {index_dir}: {wanted}",
            hint="free some space or move the index elsewhere with --index DIR",
        )
    short = -(-(needed - free) // megabyte)
    hint = (
        f"free {short} MB or move the index elsewhere with --index DIR"
        if short > 0
        else "free some space or move the index elsewhere with --index DIR"
    )
    return DiskFullError(
        f"no space left on device for the index at {index_dir}: {wanted},"
        f" {free // megabyte} MB are free",
        hint=hint,
    )


def fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


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
        sentences=tuple(Span(s, e) for s, e in json.loads(row[8])),
        is_head=row[7] == HEAD_LINE,
    )


_PASSAGE_COLUMNS = "id, doc_id, source, paragraph, start, end, text, is_boilerplate, sentences"


class StoredIndex:
    """A read-only view of one generation of an index."""

    def __init__(self, index_dir: Path, *, mmap: bool = False) -> None:
        self.path = Path(index_dir)
        self._open_current(mmap)
        self._document_cache: dict[str, Document] = {}
        self._metadata_terms: dict[str, set[str]] | None = None
        self._metadata_vocabulary: frozenset[str] = frozenset()

    def _open_current(self, mmap: bool) -> None:
        """Open the generation the manifest names.

        A writer may swap in a new generation and delete the old one between our reading
        the manifest and opening its files, which then look missing or truncated (a fresh
        CLI process imports faiss in between). So a failure is damage only if the
        manifest still names the same generation afterwards; if it moved on, the new
        generation is opened, complete, since the manifest is replaced only after it is.
        """
        for attempt in range(OPEN_ATTEMPTS):
            self.manifest = read_manifest(self.path)
            generation = self.path / self.manifest.generation
            try:
                self._open(generation, mmap=mmap)
                return
            except (IndexCorruptError, OSError) as error:
                self._close_opened()
                moved_on = read_manifest(self.path).generation != self.manifest.generation
                if moved_on and attempt + 1 < OPEN_ATTEMPTS:
                    continue
                if isinstance(error, IndexCorruptError):
                    raise
                raise IndexCorruptError(
                    f"the index files of {self.path} are missing ({generation.name})"
                    if isinstance(error, FileNotFoundError)
                    else f"the index files of {self.path} are unreadable ({error})",
                    hint=REBUILD,
                ) from None

    def _close_opened(self) -> None:
        """Close what a failed open got to: the next attempt opens everything anew."""
        if self.db is not None:
            self.db.close()
        for reader in (self._raw_rows, self._sentence_rows):
            if reader is not None:
                reader.close()
        self.db = self._raw_rows = self._sentence_rows = None

    def _open(self, generation: Path, *, mmap: bool) -> None:
        self.db = self._raw_rows = self._sentence_rows = None
        db_path = generation / DB_NAME
        vectors_path = generation / VECTORS_NAME
        if not db_path.is_file() or not vectors_path.is_file():
            raise FileNotFoundError(generation)
        check_compatible(self.manifest, self.path)
        # Sizes are cheap to compare and catch truncation; `index verify` checks hashes.
        check_artifact_size(self.manifest, db_path, DatabaseCorruptError)
        check_artifact_size(self.manifest, vectors_path, VectorsCorruptError)
        raw_path = generation / RAW_VECTORS_NAME
        if raw_path.is_file():
            check_artifact_size(self.manifest, raw_path, VectorsCorruptError)
        sentences_path = generation / SENTENCE_VECTORS_NAME
        if sentences_path.is_file():
            check_artifact_size(self.manifest, sentences_path, VectorsCorruptError)
        try:
            self.db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
            self.db.execute("SELECT count(*) FROM passages").fetchone()
        except sqlite3.DatabaseError as error:
            raise DatabaseCorruptError(
                f"the passage database of {self.path} is unreadable ({error})", hint=REBUILD
            ) from None
        self.vectors = load_vectors(vectors_path, mmap=mmap)
        self.raw_vectors = load_raw_vectors(raw_path) if raw_path.is_file() else None
        self.sentence_vectors = (
            load_raw_vectors(sentences_path) if sentences_path.is_file() else None
        )
        self._raw_rows = (
            RowReader(raw_path, self.raw_vectors) if self.raw_vectors is not None else None
        )
        self._sentence_rows = (
            RowReader(sentences_path, self.sentence_vectors)
            if self.sentence_vectors is not None
            else None
        )
        self._ivf = _ivf_of(self.vectors)
        if self._ivf is not None:
            self._ivf.nprobe = probe_count(self._ivf.nlist)
        self.common_term_limit = max(
            COMMON_TERM_FLOOR, int(COMMON_TERM_SHARE * self.manifest.vectors)
        )
        if (
            self.vectors.d != self.manifest.dimension
            or self.vectors.ntotal != self.manifest.vectors
        ):
            raise VectorsCorruptError(
                f"the vector file of {self.path} does not match its manifest "
                f"({self.vectors.ntotal} vectors of {self.vectors.d} dimensions, "
                f"expected {self.manifest.vectors} of {self.manifest.dimension})",
                hint=REBUILD,
            )

    def close(self) -> None:
        self.db.close()
        for reader in (self._raw_rows, self._sentence_rows):
            if reader is not None:
                reader.close()

    # -- reading ---------------------------------------------------------------

    def passages(self, ids: list[int]) -> dict[int, Passage]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT {_PASSAGE_COLUMNS} FROM passages WHERE id IN ({marks})", ids
        ).fetchall()
        return {row[0]: _row_to_passage(row) for row in rows}

    def passages_for_vector_rows(self, rows: list[int]) -> dict[int, Passage]:
        if not rows:
            return {}
        marks = ",".join("?" * len(rows))
        found = self.db.execute(
            f"SELECT vector_row, {_PASSAGE_COLUMNS} FROM passages WHERE vector_row IN ({marks})",
            rows,
        ).fetchall()
        return {row[0]: _row_to_passage(row[1:]) for row in found}

    def document_passages(self, doc_id: str) -> list[Passage]:
        rows = self.db.execute(
            f"SELECT {_PASSAGE_COLUMNS} FROM passages WHERE doc_id = ? ORDER BY start", (doc_id,)
        ).fetchall()
        return [_row_to_passage(row) for row in rows]

    def metadata_terms(self) -> dict[str, set[str]]:
        """Each document's outlet, byline, title and publication date as normalised
        terms (dates as year, month name and day): text of the document for evidence,
        though no passage holds it. Read once per generation."""
        if self._metadata_terms is None:
            found: dict[str, set[str]] = {}
            for doc_id, title, outlet, byline, published in self.db.execute(
                "SELECT doc_id, title, outlet, byline, published FROM documents"
            ):
                words = " ".join(filter(None, (title, outlet, byline)))
                if published:
                    year, month, day = published.split("-")
                    words += f" {year} {calendar.month_name[int(month)]} {int(day)}"
                found[doc_id] = set(keywords.tokens(words))
            self._metadata_terms = found
            self._metadata_vocabulary = frozenset().union(*found.values())
        return self._metadata_terms

    def metadata_vocabulary(self) -> frozenset[str]:
        """Every term of any document's metadata (see :meth:`metadata_terms`)."""
        self.metadata_terms()
        return self._metadata_vocabulary

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
            raise IndexCorruptError(f"document {doc_id!r} is missing from {self.path}")
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
            raise IndexCorruptError(f"document {doc_id!r} is missing from {self.path}")
        return row[0]

    def restriction(self, search_filter) -> Restriction:
        """The passages a :class:`~assistant.filters.SearchFilter` allows."""
        where, values = search_filter.where("d")
        rows = self.db.execute(
            "SELECT p.vector_row FROM passages AS p JOIN documents AS d ON d.doc_id = p.doc_id"
            f" WHERE p.vector_row IS NOT NULL AND {where}",
            values,
        ).fetchall()
        return Restriction(where, values, np.array([r[0] for r in rows], dtype=np.int64))

    def dense_search(
        self, query: np.ndarray, k: int, restriction: Restriction | None = None
    ) -> list[tuple[int, float]]:
        """(vector row, cosine) pairs, best first; only allowed rows when restricted."""
        if self.vectors.ntotal == 0 or k <= 0:
            return []
        params = None
        if restriction is not None:
            if not len(restriction.vector_rows):
                return []
            # The selector must outlive the search: faiss keeps only a pointer to it.
            _selector, params = restriction.search_parameters(self._ivf)
        query = query.reshape(1, -1).astype(np.float32)
        if self._ivf is None or self.raw_vectors is None:
            scores, rows = self.vectors.search(query, k, params=params)
            return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
        # Approximate candidates, then exact cosine on the full-precision vectors.
        _, rows = self.vectors.search(query, max(k, REFINE_POOL), params=params)
        candidates = np.sort(rows[0][rows[0] >= 0])  # ascending: kinder to the page cache
        exact = self._vector_rows(candidates) @ query[0]
        best = np.argsort(-exact, kind="stable")[:k]
        return [(int(candidates[i]), float(exact[i])) for i in best]

    def _vector_rows(self, rows: np.ndarray) -> np.ndarray:
        """Full-precision vectors of these rows: read from the file when it is one."""
        if self._raw_rows is not None:
            return self._raw_rows.rows(rows)
        return np.asarray(self.raw_vectors[rows], dtype=np.float32)

    def vector(self, row: int) -> np.ndarray:
        """The stored vector of one passage (full precision when the index keeps it)."""
        if self.raw_vectors is not None:
            return np.array(self.raw_vectors[row], dtype=np.float32)
        return self.vectors.reconstruct(int(row))

    def keyword_search(
        self, match: str, k: int, restriction: Restriction | None = None
    ) -> list[tuple[int, float]]:
        """(passage id, BM25) pairs, best first; BM25 is positive, higher is better.

        The title column weighs as much as the body (tuned on SciFact's train split).
        """
        where, values = "", []
        if restriction is not None:
            where = (
                " AND rowid IN (SELECT p.id FROM passages AS p JOIN documents AS d"
                f" ON d.doc_id = p.doc_id WHERE {restriction.where})"
            )
            values = restriction.values
        rows = self.db.execute(
            "SELECT rowid, -bm25(passages_fts, 1.0, 1.0) AS score FROM passages_fts"
            f" WHERE passages_fts MATCH ?{where} ORDER BY score DESC LIMIT ?",
            (match, *values, k),
        ).fetchall()
        return [(int(r), float(s)) for r, s in rows]

    def document_bm25(self, match: str, doc_ids: list[str]) -> dict[str, float]:
        """BM25 of each of these documents as a whole (those matching at all)."""
        if not doc_ids:
            return {}
        marks = ",".join("?" * len(doc_ids))
        rows = self.db.execute(
            "SELECT d.doc_id, -bm25(documents_fts, 1.0, 1.0) FROM documents_fts"
            " JOIN documents AS d ON d.rowid = documents_fts.rowid"
            f" WHERE documents_fts MATCH ? AND documents_fts.rowid IN"
            f" (SELECT rowid FROM documents WHERE doc_id IN ({marks}))",
            (match, *doc_ids),
        ).fetchall()
        return {doc_id: float(score) for doc_id, score in rows}

    def allowed_passages(self, passage_ids: list[int], search_filter) -> list[int]:
        """Those of the passages whose documents a search filter allows (checked for
        these passages alone, without listing every allowed vector row)."""
        if not passage_ids:
            return []
        where, values = search_filter.where("d")
        marks = ",".join("?" * len(passage_ids))
        rows = self.db.execute(
            "SELECT p.id FROM passages AS p JOIN documents AS d ON d.doc_id = p.doc_id"
            f" WHERE p.id IN ({marks}) AND {where}",
            (*passage_ids, *values),
        ).fetchall()
        allowed = {row[0] for row in rows}
        return [pid for pid in passage_ids if pid in allowed]

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

    def passages_quoting(self, wanted, limit: int = 200) -> list[int]:
        """Passages with a statement by the speaker a question asks about
        (a :class:`~assistant.speakers.SpeakerQuery`)."""
        if wanted.surnames:
            likes = " OR ".join("speaker LIKE ?" for _ in wanted.surnames)
            rows = self.db.execute(
                f"SELECT passage_id, speaker, side FROM statements WHERE {likes}",
                [f"%{name[:3]}%" for name in wanted.surnames],
            )
        elif wanted.side is not None:
            rows = self.db.execute(
                "SELECT passage_id, speaker, side FROM statements WHERE side = ?", (wanted.side,)
            )
        else:
            rows = self.db.execute("SELECT passage_id, speaker, side FROM statements")
        found: dict[int, None] = {}
        for passage_id, speaker, side in rows:
            if wanted.matches(speaker, side):
                found.setdefault(passage_id, None)
                if len(found) >= limit:
                    break
        return list(found)

    def dense_scores(
        self, query: np.ndarray, ids: list[int], known: dict[int, float] | None = None
    ) -> dict[int, tuple[float, float]]:
        """(passage cosine, best sentence cosine) of each citable passage among ``ids``.

        Exact, from the full-precision vectors, except for the vector rows in ``known``
        (cosines the vector search already computed exactly); without sentence vectors
        (an index written by the scale benchmark) the passage's cosine stands for both.
        """
        known = known or {}
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT id, vector_row, sentence_row, sentences FROM passages"
            f" WHERE id IN ({marks}) AND vector_row IS NOT NULL",
            ids,
        ).fetchall()
        query = query.astype(np.float32)
        if not rows:
            return {}
        # One gather over sorted rows (kinder to the page cache than row by row), and
        # only for rows the vector search has not scored: at a million passages every
        # row read from the memory-mapped file costs a page.
        cosines = np.array([known.get(row[1], np.nan) for row in rows], dtype=np.float32)
        missing = np.flatnonzero(np.isnan(cosines))
        vector_rows = np.array([rows[i][1] for i in missing], dtype=np.int64)
        order = np.argsort(vector_rows)
        if self.raw_vectors is not None and len(missing):
            cosines[missing[order]] = self._vector_rows(vector_rows[order]) @ query
        else:
            for i, row in zip(missing, vector_rows, strict=True):
                cosines[i] = float(self.vector(int(row)) @ query)
        scores: dict[int, tuple[float, float]] = {}
        for (passage_id, _, sentence_row, spans), cosine in zip(rows, cosines, strict=True):
            each = self._sentence_cosines(query, sentence_row, spans)
            best = float(np.max(each)) if each is not None else float(cosine)
            scores[passage_id] = (float(cosine), best)
        return scores

    def sentence_cosines(self, query: np.ndarray, ids: list[int]) -> dict[int, np.ndarray]:
        """Each sentence's cosine with the query, in sentence order, from the stored
        sentence vectors (passages without them are left out)."""
        if self._sentence_rows is None or not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT id, sentence_row, sentences FROM passages WHERE id IN ({marks})", ids
        ).fetchall()
        query = query.astype(np.float32)
        found = {}
        for passage_id, sentence_row, spans in rows:
            each = self._sentence_cosines(query, sentence_row, spans)
            if each is not None:
                found[passage_id] = each
        return found

    def _sentence_cosines(self, query, sentence_row, spans: str) -> np.ndarray | None:
        if self._sentence_rows is None or sentence_row is None:
            return None
        count = spans.count("[") - 1  # a JSON list of [start, end] pairs
        if count <= 0:
            return None
        return self._sentence_rows.block(sentence_row, count) @ query

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

    def name_variants(self, term: str) -> list[str]:
        """Names in the corpus spelled within a small edit distance of ``term``, with
        the same first two letters."""
        depth = keywords.variant_depth(term)
        if depth == 0:
            return []
        keys = sorted(keywords.deletion_keys(term, depth))
        found = set()
        for offset in range(0, len(keys), 500):
            part = keys[offset : offset + 500]
            marks = ",".join("?" * len(part))
            found.update(
                row[0]
                for row in self.db.execute(
                    f"SELECT DISTINCT name FROM name_keys WHERE key IN ({marks})", part
                )
            )
        # A variant keeps the first two letters: transliterations and typos differ
        # inside a name (Heydari/Hedari, Kiomers/Kioumars), while words that differ
        # at the start are other words ("Desmond"/"Diamond", "bullied"/"Allied"),
        # and each one searched dilutes BM25 (SciFact train nDCG@10 0.7292 -> 0.7312).
        distances = {
            name: keywords.edit_distance(name, term)
            for name in found
            if name != term and name[:2] == term[:2]
        }
        close = sorted((d, name) for name, d in distances.items() if d <= depth)
        return [name for _, name in close[:MAX_VARIANTS]]

    def citable_passage_count(self) -> int:
        return self.manifest.vectors


REBUILD = "rebuild it with: assistant index build PATH"
# Each retry of an open means a writer swapped in a whole new generation meanwhile.
OPEN_ATTEMPTS = 5


@dataclass(frozen=True)
class Restriction:
    """A search filter resolved against one index: SQL for the keyword side, the allowed
    vector rows for the dense side."""

    where: str  # a condition over the documents table aliased ``d``
    values: list
    vector_rows: np.ndarray

    def search_parameters(self, ivf):
        import faiss

        selector = faiss.IDSelectorBatch(self.vector_rows)
        if ivf is None:
            return selector, faiss.SearchParameters(sel=selector)
        return selector, faiss.SearchParametersIVF(sel=selector, nprobe=ivf.nprobe)


def check_compatible(manifest: Manifest, index_dir: Path) -> None:
    """The index must have been embedded by the model this program queries with."""
    from . import embeddings

    if manifest.model != embeddings.MODEL_NAME or manifest.dimension != embeddings.DIMENSION:
        raise IndexIncompatibleError(
            f"index at {index_dir} was built with {manifest.model} ({manifest.dimension}"
            f" dimensions); this program uses {embeddings.MODEL_NAME}"
            f" ({embeddings.DIMENSION} dimensions)",
            hint=REBUILD,
        )
    if manifest.model_fingerprint and manifest.model_fingerprint != embeddings.model_fingerprint():
        raise IndexIncompatibleError(
            f"index at {index_dir} was built with other weights of {manifest.model}"
            f" ({manifest.model_fingerprint}, installed: {embeddings.model_fingerprint()})",
            hint=REBUILD,
        )


def check_artifact_size(manifest: Manifest, path: Path, error: type[IndexCorruptError]) -> None:
    expected = manifest.artifacts.get(path.name, {}).get("size")
    if expected is None:
        return  # written before sizes were recorded
    actual = path.stat().st_size
    if actual != expected:
        raise error(
            f"{path.name} of {path.parent.parent} is {actual} bytes, the manifest says"
            f" {expected}: it was truncated or overwritten",
            hint=REBUILD,
        )


def body_match(forms: tuple[str, ...]) -> str:
    quoted = " OR ".join('"' + form.replace('"', '""') + '"' for form in forms)
    return f"body:({quoted})"


def make_vector_index(vectors: np.ndarray):
    """Exact search up to EXACT_SEARCH_LIMIT vectors; IVF with 8-bit codes above."""
    import faiss

    count, dimension = vectors.shape
    if count <= EXACT_SEARCH_LIMIT:
        index = faiss.IndexFlatIP(dimension)
        if count:
            index.add(vectors)
        return index, "flat"
    lists = ivf_list_count(count)
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # training and adding use every core
    quantizer = faiss.IndexFlatIP(dimension)
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, dimension, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
    )
    # A deterministic sample of about 40 vectors per list trains k-means well enough.
    sample = vectors[:: max(1, count // (40 * lists))]
    index.cp.niter = 10
    index.train(np.ascontiguousarray(sample))
    for start in range(0, count, 100_000):
        index.add(vectors[start : start + 100_000])
    faiss.omp_set_num_threads(1)
    return index, f"ivf{lists},sq8"


def ivf_list_count(count: int) -> int:
    return int(min(4096, max(256, 2 * count**0.5)))


def probe_count(lists: int) -> int:
    """Lists searched per query: enough for recall@10 >= 0.95 after re-ranking."""
    return max(16, lists // 32)


def _ivf_of(index):
    import faiss

    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


def load_raw_vectors(path: Path) -> np.ndarray:
    """A ``.npy`` file memory-mapped (for updates and checks; queries use RowReader)."""
    try:
        return np.load(path, mmap_mode="r")
    except (ValueError, OSError) as error:
        raise VectorsCorruptError(
            f"the vector file {path} is truncated or corrupt ({error})", hint=REBUILD
        ) from None


class RowReader:
    """Reads rows of a memory-mapped ``.npy`` array with ``pread`` instead of touching
    the mapping.

    Queries read a hundred or so scattered rows; through the mapping, each read also
    maps the 64 KiB around it (fault-around), so a long-running reader of a
    million-passage index ended up with most of the 1.5 GB file in its resident set.
    Reads through the file leave the pages in the page cache, shared and reclaimable.
    """

    def __init__(self, path: Path, array: np.ndarray) -> None:
        self.array = array
        self.descriptor = os.open(path, os.O_RDONLY)
        self.offset = int(getattr(array, "offset", 0))
        self.row_bytes = array.shape[1] * array.dtype.itemsize

    def rows(self, indices: np.ndarray) -> np.ndarray:
        """Rows in the order given, as float32."""
        out = np.empty((len(indices), self.array.shape[1]), dtype=self.array.dtype)
        for position, row in enumerate(indices):
            data = os.pread(
                self.descriptor, self.row_bytes, self.offset + int(row) * self.row_bytes
            )
            out[position] = np.frombuffer(data, dtype=self.array.dtype)
        return out.astype(np.float32, copy=False)

    def block(self, first: int, count: int) -> np.ndarray:
        """``count`` consecutive rows from ``first``, as float32."""
        data = os.pread(
            self.descriptor, self.row_bytes * count, self.offset + first * self.row_bytes
        )
        shape = (len(data) // self.row_bytes, self.array.shape[1])
        return np.frombuffer(data, dtype=self.array.dtype).reshape(shape).astype(np.float32)

    def close(self) -> None:
        os.close(self.descriptor)


def load_vectors(path: Path, *, mmap: bool = False):
    import faiss

    # Queries search one vector at a time: one thread is fastest, and OpenMP workers
    # spinning on a busy 2-core machine cost more than the search.
    faiss.omp_set_num_threads(1)
    try:
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
        return faiss.read_index(str(path), flags)
    except RuntimeError:
        raise VectorsCorruptError(
            f"the vector file {path} is truncated or corrupt", hint=REBUILD
        ) from None
