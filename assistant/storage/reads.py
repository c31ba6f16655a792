"""Batched reads: what one question needs of a store, asked for in a few calls.

Retrieval and answering ask a store for several things at once (the passages, scores,
statements and documents of all candidates) rather than one thing per call: on a
Milvus store each call is a round trip. :class:`BatchedReads` answers the batched
calls of the read protocol from a store's single-purpose methods; a store that can do
better (fewer round trips) overrides them, with the same results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..types import Document, Passage, Statement

if TYPE_CHECKING:
    from ..filters import SearchFilter


class SpeakerMatcher(Protocol):
    """Who a question asks to hear (the query's ``SpeakerQuery``): a store narrows the
    candidates by the surnames' first letters and the side, and the matcher decides."""

    surnames: tuple[str, ...] | list[str]
    side: str | None

    def matches(self, speaker: str, side: str | None) -> bool: ...


@dataclass(frozen=True)
class TermStatistics:
    """A question term's forms (itself, then spelling variants) and in how many
    citable passages any of them occurs (counting stops at ``common_term_limit``)."""

    forms: tuple[str, ...]
    frequency: int


@dataclass(frozen=True)
class Found:
    """What both searches found: (passage id, cosine) and (passage id, BM25) pairs,
    best first, and every passage either side found."""

    dense: list[tuple[int, float]]
    keyword: list[tuple[int, float]]
    passages: dict[int, Passage]


@dataclass
class Reads:
    """What one :meth:`BatchedReads.read` call asks for; every part is optional."""

    passages: Sequence[int] = ()
    statements: Sequence[int] = ()
    # Which of ``containing_ids`` hold any form of each term (term -> forms).
    containing: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    containing_ids: Sequence[int] = ()
    # (query vector, passage ids, cosines already known by passage id)
    dense_scores: tuple[np.ndarray, Sequence[int], Mapping[int, float]] | None = None
    document_bm25: tuple[str, Sequence[str]] | None = None  # (FTS5 match, doc ids)
    document_passages: Sequence[str] = ()
    documents: Sequence[str] = ()
    # Each sentence's cosine with each of these (vector, passage ids) pairs.
    sentence_cosines: Sequence[tuple[np.ndarray, Sequence[int]]] = ()
    quoting: SpeakerMatcher | None = None
    allowed: tuple[Sequence[int], SearchFilter] | None = None
    metadata_terms: bool = False


@dataclass
class ReadResult:
    """The answers to a :class:`Reads`, part by part (empty where not asked)."""

    passages: dict[int, Passage] = field(default_factory=dict)
    statements: dict[int, list[Statement]] = field(default_factory=dict)
    containing: dict[str, set[int]] = field(default_factory=dict)
    dense_scores: dict[int, tuple[float, float]] = field(default_factory=dict)
    document_bm25: dict[str, float] = field(default_factory=dict)
    document_passages: dict[str, list[Passage]] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    sentence_cosines: list[dict[int, np.ndarray]] = field(default_factory=list)
    quoting: list[int] = field(default_factory=list)
    allowed: list[int] = field(default_factory=list)
    metadata_terms: dict[str, set[str]] = field(default_factory=dict)


class BatchedReads:
    """The batched calls of the read protocol, over the single-purpose ones."""

    common_term_limit: int

    def term_statistics(
        self, terms: Sequence[str], wants_variants: Callable[[str, int], bool]
    ) -> dict[str, TermStatistics]:
        """Each term's statistics. Spelling variants are sought only for the terms
        ``wants_variants(term, own frequency)`` picks (the caller's rule)."""
        found = {}
        for term in dict.fromkeys(terms):
            own = self.passage_frequency((term,))
            variants = self.name_variants(term) if wants_variants(term, own) else []
            forms = (term, *variants)
            found[term] = TermStatistics(forms, self.passage_frequency(forms) if variants else own)
        return found

    def search(self, query: np.ndarray, match: str, k: int, restriction: Any = None) -> Found:
        """The ``k`` best passages by vector and the ``k`` best by BM25 (none for an
        empty ``match``), with the passages themselves."""
        dense = self.dense_search(query, k, restriction)
        by_row = self.passages_for_vector_rows([row for row, _ in dense])
        dense_found = [(by_row[row].passage_id, score) for row, score in dense if row in by_row]
        keyword = self.keyword_search(match, k, restriction) if match else []
        passages = {by_row[row].passage_id: by_row[row] for row, _ in dense if row in by_row}
        passages.update(self.passages([pid for pid, _ in keyword if pid not in passages]))
        return Found(dense_found, keyword, passages)

    def read(self, reads: Reads) -> ReadResult:
        """Everything ``reads`` asks for, in one call."""
        result = ReadResult()
        if reads.passages:
            result.passages = self.passages(list(reads.passages))
        if reads.statements:
            result.statements = self.statements(list(reads.statements))
        ids = list(reads.containing_ids)
        for term, forms in reads.containing.items():
            result.containing[term] = self.passages_containing(ids, forms) if ids else set()
        if reads.dense_scores is not None:
            vector, wanted, known = reads.dense_scores
            result.dense_scores = self.dense_scores(vector, list(wanted), dict(known))
        if reads.document_bm25 is not None:
            match, doc_ids = reads.document_bm25
            result.document_bm25 = self.document_bm25(match, list(doc_ids))
        for doc_id in dict.fromkeys(reads.document_passages):
            result.document_passages[doc_id] = self.document_passages(doc_id)
        for doc_id in dict.fromkeys(reads.documents):
            result.documents[doc_id] = self.document(doc_id)
        result.sentence_cosines = [
            self.sentence_cosines(vector, list(wanted)) for vector, wanted in reads.sentence_cosines
        ]
        if reads.quoting is not None:
            result.quoting = self.passages_quoting(reads.quoting)
        if reads.allowed is not None:
            wanted, search_filter = reads.allowed
            result.allowed = self.allowed_passages(list(wanted), search_filter) if wanted else []
        if reads.metadata_terms:
            result.metadata_terms = self.metadata_terms()
        return result
