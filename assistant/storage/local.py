"""The local store: one generation of an index directory (SQLite + FAISS), read-only.

:class:`StoredIndex` is the front over :mod:`.database` and :mod:`.vectors` that
retrieval and answering use (the :class:`~assistant.storage.base.ReadStore` protocol).
It opens the generation the manifest names, and keeps the two files of one generation
together for as long as it is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DatabaseCorruptError, IndexCorruptError
from ..text import keywords
from ..types import Document, Passage, Statement
from . import layout, vectors
from .database import MAX_VARIANTS, PassageDatabase
from .reads import BatchedReads


@dataclass(frozen=True)
class Restriction:
    """A search filter resolved against one index: SQL for the keyword side, the allowed
    vector rows for the dense side."""

    where: str  # a condition over the documents table aliased ``d``
    values: list
    vector_rows: np.ndarray

    def search_parameters(self, ivf):
        return vectors.search_parameters(self.vector_rows, ivf)


class StoredIndex(BatchedReads):
    """A read-only view of one generation of an index."""

    def __init__(
        self, index_dir: Path, *, mmap: bool = False, expected: layout.ModelSpec | None = None
    ) -> None:
        """``expected``: the model it is to be searched or written with (checked
        against the manifest's; None when only the stored rows are read)."""
        self.path = Path(index_dir)
        self._expected = expected
        self._open_current(mmap)

    def _open_current(self, mmap: bool) -> None:
        """Open the generation the manifest names.

        A writer may swap in a new generation and delete the old one between our reading
        the manifest and opening its files, which then look missing or truncated (a fresh
        CLI process imports faiss in between). So a failure is damage only if the
        manifest still names the same generation afterwards; if it moved on, the new
        generation is opened, complete, since the manifest is replaced only after it is.
        """
        for attempt in range(layout.OPEN_ATTEMPTS):
            self.manifest = layout.read_manifest(self.path)
            generation = layout.generation_dir(self.path, self.manifest)
            try:
                self._open(generation, mmap=mmap)
                return
            except (IndexCorruptError, OSError) as error:
                self._close_opened()
                moved_on = layout.read_manifest(self.path).generation != self.manifest.generation
                if moved_on and attempt + 1 < layout.OPEN_ATTEMPTS:
                    continue
                if isinstance(error, IndexCorruptError):
                    raise
                raise IndexCorruptError(
                    f"the index files of {self.path} are missing ({generation.name})"
                    if isinstance(error, FileNotFoundError)
                    else f"the index files of {self.path} are unreadable ({error})",
                    hint=layout.REBUILD,
                ) from None

    def _open(self, generation: Path, *, mmap: bool) -> None:
        self._database: PassageDatabase | None = None
        self._vectors: vectors.VectorFiles | None = None
        db_path = generation / layout.DB_NAME
        if not db_path.is_file() or not (generation / layout.VECTORS_NAME).is_file():
            raise FileNotFoundError(generation)
        if self._expected is not None:
            layout.check_compatible(self.manifest, self.path, self._expected)
        layout.check_artifact_size(self.manifest, db_path, DatabaseCorruptError)
        vectors.check_sizes(generation, self.manifest)
        self._database = PassageDatabase(db_path, self.path, self.manifest.vectors)
        self._vectors = vectors.VectorFiles.open(generation, self.manifest, mmap=mmap)

    def _close_opened(self) -> None:
        """Close what a failed open got to: the next attempt opens everything anew."""
        if self._database is not None:
            self._database.close()
        if self._vectors is not None:
            self._vectors.close()
        self._database = self._vectors = None

    def close(self) -> None:
        self._database.close()
        self._vectors.close()

    # -- what the generation holds --------------------------------------------------

    @property
    def db(self):
        """The SQLite connection, for benchmarks that count rows; the library reads
        through the methods."""
        return self._database.db

    @property
    def vectors(self):
        """The FAISS index (its ``ntotal`` and ``d``)."""
        return self._vectors.vectors

    @property
    def raw_vectors(self) -> np.ndarray | None:
        """The full-precision vectors, memory-mapped (None when the index has none)."""
        return self._vectors.raw_vectors

    @property
    def sentence_vectors(self) -> np.ndarray | None:
        return self._vectors.sentence_vectors

    @property
    def common_term_limit(self) -> int:
        return self._database.common_term_limit

    def citable_passage_count(self) -> int:
        return self.manifest.vectors

    def store_facts(self) -> dict[str, object]:
        """Nothing beyond the index directory: the rows are its generation's files."""
        return {}

    # -- passages and documents ------------------------------------------------------

    def passages(self, ids: list[int]) -> dict[int, Passage]:
        return self._database.passages(ids)

    def passages_for_vector_rows(self, rows: list[int]) -> dict[int, Passage]:
        return self._database.passages_for_vector_rows(rows)

    def document_passages(self, doc_id: str) -> list[Passage]:
        return self._database.document_passages(doc_id)

    def document(self, doc_id: str) -> Document:
        return self._database.document(doc_id)

    def documents(self) -> list[Document]:
        return self._database.documents()

    def document_text(self, doc_id: str) -> str:
        return self._database.document_text(doc_id)

    def document_ids(self, name: str) -> list[str]:
        """``[name]`` for a document id, else the ids of the source ``name``'s documents."""
        return self._database.document_ids(name)

    def metadata_terms(self) -> dict[str, set[str]]:
        """Each document's outlet, byline, title and publication date as normalised
        terms (dates as year, month name and day): text of the document for evidence,
        though no passage holds it. Read once per generation."""
        return self._database.metadata_terms()

    def metadata_vocabulary(self) -> frozenset[str]:
        """Every term of any document's metadata (see :meth:`metadata_terms`)."""
        return self._database.metadata_vocabulary()

    # -- what a writer keeps of this generation, and ``index sources`` -----------------

    def stored_documents(self):
        """Every document with its text (as SourceDocuments), in the order written."""
        return self._database.stored_documents()

    def stored_passages(self):
        """(passage, vector row, first sentence row) of every passage, in id order."""
        return self._database.stored_passages()

    def stored_sentence_vectors(self, first: int, count: int) -> np.ndarray | None:
        """The sentence vectors of one passage, or None when the index has none."""
        if self._vectors.sentence_vectors is None:
            return None
        return self._vectors.sentence_block(first, count)

    def publication_dates(self) -> dict[str, list[str]]:
        return self._database.publication_dates()

    def passage_counts(self) -> dict[str, int]:
        return self._database.passage_counts()

    # -- searching --------------------------------------------------------------------

    def restriction(self, search_filter) -> Restriction:
        """The passages a :class:`~assistant.filters.SearchFilter` allows."""
        where, values, rows = self._database.allowed_vector_rows(search_filter)
        return Restriction(where, values, np.array(rows, dtype=np.int64))

    def dense_search(
        self, query: np.ndarray, k: int, restriction: Restriction | None = None
    ) -> list[tuple[int, float]]:
        """(vector row, cosine) pairs, best first; only allowed rows when restricted."""
        allowed = restriction.vector_rows if restriction is not None else None
        return self._vectors.search(query, k, allowed)

    def vector(self, row: int) -> np.ndarray:
        """The stored vector of one passage (full precision when the index keeps it)."""
        return self._vectors.vector(row)

    def keyword_search(
        self, match: str, k: int, restriction: Restriction | None = None
    ) -> list[tuple[int, float]]:
        """(passage id, BM25) pairs, best first; BM25 is positive, higher is better."""
        if restriction is None:
            return self._database.keyword_search(match, k)
        return self._database.keyword_search(match, k, restriction.where, restriction.values)

    def document_bm25(self, match: str, doc_ids: list[str]) -> dict[str, float]:
        """BM25 of each of these documents as a whole (those matching at all)."""
        return self._database.document_bm25(match, doc_ids)

    def allowed_passages(self, passage_ids: list[int], search_filter) -> list[int]:
        """Those of the passages whose documents a search filter allows."""
        return self._database.allowed_passages(passage_ids, search_filter)

    def dense_scores(
        self, query: np.ndarray, ids: list[int], known: dict[int, float] | None = None
    ) -> dict[int, tuple[float, float]]:
        """(passage cosine, best sentence cosine) of each citable passage among ``ids``.

        Exact, from the full-precision vectors, except for the passages in ``known``
        (cosines the vector search already computed exactly, by passage id); without
        sentence vectors (an index written by the scale benchmark) the passage's cosine
        stands for both.
        """
        known = known or {}
        rows = self._database.vector_rows_of(ids)
        query = query.astype(np.float32)
        if not rows:
            return {}
        # One gather over sorted rows (kinder to the page cache than row by row), and
        # only for rows the vector search has not scored: at a million passages every
        # row read from the memory-mapped file costs a page.
        cosines = np.array([known.get(row[0], np.nan) for row in rows], dtype=np.float32)
        missing = np.flatnonzero(np.isnan(cosines))
        vector_rows = np.array([rows[i][1] for i in missing], dtype=np.int64)
        order = np.argsort(vector_rows)
        if len(missing):
            cosines[missing[order]] = self._vectors.cosines(query, vector_rows[order])
        sentences = self._vectors.sentence_cosine_blocks(
            query, [(first, count) for _, _, first, count in rows]
        )
        scores: dict[int, tuple[float, float]] = {}
        for (passage_id, *_), cosine, each in zip(rows, cosines.tolist(), sentences, strict=True):
            scores[passage_id] = (cosine, cosine if each is None else float(each.max()))
        return scores

    def sentence_cosines(self, query: np.ndarray, ids: list[int]) -> dict[int, np.ndarray]:
        """Each sentence's cosine with the query, in sentence order, from the stored
        sentence vectors (passages without them are left out)."""
        if not self._vectors.has_sentences or not ids:
            return {}
        query = query.astype(np.float32)
        rows = self._database.sentence_rows_of(ids)
        sentences = self._vectors.sentence_cosine_blocks(
            query, [(first, count) for _, first, count in rows]
        )
        return {
            passage_id: each
            for (passage_id, *_), each in zip(rows, sentences, strict=True)
            if each is not None
        }

    def passage_frequency(self, forms: tuple[str, ...]) -> int:
        """In how many citable passages any of the (normalised) forms of a term occurs
        (counting stops at ``common_term_limit``)."""
        return self._database.passage_frequency(forms)

    def passages_containing(self, passage_ids: list[int], forms: tuple[str, ...]) -> set[int]:
        """Which of the given passages contain any form of a term (as FTS5 stems it)."""
        return self._database.passages_containing(passage_ids, forms)

    def name_variants(self, term: str) -> list[str]:
        """Names in the corpus spelled within a small edit distance of ``term``, with
        the same first two letters."""
        depth = keywords.variant_depth(term)
        if depth == 0:
            return []
        found = self._database.names_under_keys(sorted(keywords.deletion_keys(term, depth)))
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

    # -- statements -----------------------------------------------------------------

    def statements(self, passage_ids: list[int]) -> dict[int, list[Statement]]:
        """The statements in each of these passages, in reading order."""
        return self._database.statements(passage_ids)

    def passages_quoting(self, wanted, limit: int = 200) -> list[int]:
        """Passages with a statement by the speaker a question asks about (a
        :class:`~assistant.ingest.speakers.SpeakerQuery`: it decides who matches; the
        database only narrows the candidates by the first letters of the surnames)."""
        prefixes = [name[:3] for name in wanted.surnames]
        found: dict[int, None] = {}
        for passage_id, speaker, side in self._database.speakers_like(prefixes, wanted.side):
            if wanted.matches(speaker, side):
                found.setdefault(passage_id, None)
                if len(found) >= limit:
                    break
        return list(found)
