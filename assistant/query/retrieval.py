"""Retrieval: dense (FAISS, sentence vectors) and keyword (FTS5/BM25 over passages and
whole documents) signals measured for every candidate, then combined by weight."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from ..filters import SearchFilter
from ..storage.base import ReadStore
from ..storage.reads import Reads
from ..text import keywords
from ..types import Hit, Passage
from .language import detect as detect_language
from .language import other_language, prefer_language
from .question import QuestionAnalysis
from .question import analyze as analyze_question

if TYPE_CHECKING:
    from ..embeddings import Encoder

# Fusion weights, tuned on SciFact's train split (bench/beir_tune.py; see BENCHMARKS.md):
# hybrid = DENSE_WEIGHT * dense + (1 - DENSE_WEIGHT) * keyword, each scaled 0..1 over
# the candidates (dense min-max, BM25 as a share of the best); dense = passage cosine +
# SENTENCE_WEIGHT * best sentence cosine; keyword = PASSAGE_KEYWORD_SHARE * passage BM25
# + the rest * document BM25.
DENSE_WEIGHT = 0.7
SENTENCE_WEIGHT = 1.0
PASSAGE_KEYWORD_SHARE = 0.5
# Passages fetched by each side: at least POOL, and twice what is asked for, so that a
# search for k passages finds k distinct ones where the index holds them.
POOL = 50
# Up to this many passages, documents are BM25-scored as wholes (see candidates()).
WHOLE_DOCUMENT_BM25_LIMIT = 50_000
# Words of a question beyond this many add nothing but cost (a pasted document).
MAX_TERMS = 64


@dataclass(frozen=True)
class QueryAnalysis:
    """What the question is made of, with how often each term occurs in the corpus."""

    text: str
    terms: tuple[str, ...]
    forms: dict[str, tuple[str, ...]]  # each term with the spelling variants found for it
    frequency: dict[str, int]  # passages containing each term (in any of its forms)
    vector: np.ndarray
    question: QuestionAnalysis  # what is asked (kind, speaker, subject), from the words alone
    language: str | None = None  # the question's language, when its words tell it


class Retriever:
    def __init__(self, store: ReadStore, encoder: Encoder | None = None) -> None:
        self.store = store
        self._encoder = encoder
        self._encoder_lock = threading.Lock()

    @property
    def encoder(self) -> Encoder:
        # Loading ONNX Runtime costs a few hundred ms: only when a query needs it.
        with self._encoder_lock:
            if self._encoder is None:
                from ..embeddings import default_encoder

                self._encoder = default_encoder()
            return self._encoder

    @cached_property
    def citable(self) -> int:
        """The store's citable passages (read once: a store is one version)."""
        return self.store.citable_passage_count()

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts)

    def analyze(self, query: str) -> QueryAnalysis:
        question = analyze_question(query, MAX_TERMS)
        names = keywords.names_in(query)

        def wants_variants(term: str, own: int) -> bool:
            # Spelling variants are sought for names and for words the corpus barely
            # knows (a likely misspelling); a common lowercase word's neighbours are
            # other words, and looking them up would only cost time.
            return term in names or own < 5

        statistics = self.store.term_statistics(question.terms, wants_variants)
        forms = {term: statistics[term].forms for term in question.terms}
        frequency = {term: statistics[term].frequency for term in question.terms}
        vector = self.embed([query])[0]
        language = detect_language(query)
        return QueryAnalysis(query, question.terms, forms, frequency, vector, question, language)

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        pool: int | None = None,
        analysis: QueryAnalysis | None = None,
        search_filter: SearchFilter | None = None,
    ) -> list[Hit]:
        analysis = analysis or self.analyze(query)
        pool = pool or max(POOL, 2 * k)
        candidates = self.candidates(analysis, pool, search_filter)
        return best_hits(candidates, k, self.question_language(analysis, search_filter))

    @staticmethod
    def question_language(
        analysis: QueryAnalysis, search_filter: SearchFilter | None = None
    ) -> str | None:
        """The language whose passages come first: the question's, unless ``--lang``
        chose the language already (the filter kept only those)."""
        return None if search_filter and search_filter.languages else analysis.language

    def candidates(
        self,
        analysis: QueryAnalysis,
        pool: int = POOL,
        search_filter: SearchFilter | None = None,
    ) -> list[Candidate]:
        """Passages found by either side, each with every signal measured for it.

        The dense side finds ``pool`` passages by vector, the keyword side ``pool`` by
        passage BM25. Then every candidate gets its exact passage cosine, its best
        sentence cosine, its passage BM25 and its document's BM25: the whole document
        scored by FTS5 up to WHOLE_DOCUMENT_BM25_LIMIT passages, the sum over its found
        passages above. Only the candidates' documents are scored: a separate document
        search (the 300 best documents as candidates too) would double the cost of the
        keyword side for 0.0015 nDCG@10 on SciFact's train split.
        """
        store = self.store
        allowed = store.restriction(search_filter) if search_filter else None
        match = keywords.fts_query(
            [f for t in self.keyword_terms(analysis) for f in analysis.forms[t]]
        )
        found = store.search(analysis.vector, match, pool, allowed)
        passage_bm25 = dict(found.keyword)
        whole_documents = bool(match) and self.citable <= WHOLE_DOCUMENT_BM25_LIMIT
        documents = sorted({p.doc_id for p in found.passages.values()})
        measured = store.read(
            Reads(
                dense_scores=(analysis.vector, list(found.passages), dict(found.dense)),
                document_bm25=(match, documents) if whole_documents else None,
            )
        )
        document_bm25 = measured.document_bm25
        if match and not whole_documents:
            # BM25 over whole documents costs as much as the rest of the query at a
            # million passages; there a document's keyword score is the sum of its
            # passages' BM25 among those the passage search found (SciFact train:
            # nDCG@10 0.723 against 0.729 with whole-document BM25).
            for pid, score in passage_bm25.items():
                doc_id = found.passages[pid].doc_id
                document_bm25[doc_id] = document_bm25.get(doc_id, 0.0) + score
        scores = measured.dense_scores
        dense_found = [found.passages[pid] for pid, _ in found.dense]
        dense_rank = {p.passage_id: rank for rank, p in enumerate(dense_found, 1)}
        keyword_rank = {pid: rank for rank, pid in enumerate(passage_bm25, 1)}
        return [
            Candidate(
                passage=passage,
                cosine=scores[pid][0],
                sentence_cosine=scores[pid][1],
                passage_bm25=passage_bm25.get(pid),
                document_bm25=document_bm25.get(passage.doc_id),
                dense_rank=dense_rank.get(pid),
                keyword_rank=keyword_rank.get(pid),
            )
            for pid, passage in found.passages.items()
            if pid in scores
        ]

    def keyword_terms(self, analysis: QueryAnalysis) -> list[str]:
        """Terms worth a BM25 pass. A term in more passages than the store's common-term
        limit (2,000 passages, or 0.5% of a corpus over 400,000) adds little to BM25 and
        costs the most (every passage holding it is scored), so it is left to the dense
        side; with no other term, there is no keyword pass."""
        limit = self.store.common_term_limit
        return [t for t in analysis.terms if analysis.frequency[t] < limit]


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    cosine: float  # the passage vector (title-prefixed) against the question
    sentence_cosine: float  # its best sentence against the question
    passage_bm25: float | None  # None: the keyword side did not find the passage
    document_bm25: float | None  # ... nor its document
    dense_rank: int | None = None  # rank among the passages the dense side found
    keyword_rank: int | None = None

    @property
    def dense(self) -> float:
        return dense_signal(self)


def dense_signal(candidate: Candidate, sentence_weight: float = SENTENCE_WEIGHT) -> float:
    return candidate.cosine + sentence_weight * candidate.sentence_cosine


def _scaled(values: list[float | None]) -> list[float]:
    """Min-max scaled to 0..1 over the candidates; a side that missed one gives it 0."""
    present = [v for v in values if v is not None]
    if not present:
        return [0.0] * len(values)
    low, high = min(present), max(present)
    span = high - low or 1.0
    return [0.0 if v is None else (v - low) / span for v in values]


def _share_of_best(values: list[float | None]) -> list[float]:
    """Each BM25 as a share of the best among the candidates (0 where none).

    BM25 has a natural zero, no match, so it is scaled from there: min-max would
    stretch the small gap between two weak matches (two of five documents that
    share a rare word) over the whole range. Cosines have no such zero; they keep
    min-max. (SciFact train nDCG@10: 0.7437 against 0.7424 with min-max.)
    """
    best = max((v for v in values if v is not None), default=0.0)
    if best <= 0:
        return [0.0] * len(values)
    return [0.0 if v is None else v / best for v in values]


def keyword_scores(
    candidates: list[Candidate], passage_share: float = PASSAGE_KEYWORD_SHARE
) -> list[float]:
    by_passage = _share_of_best([c.passage_bm25 for c in candidates])
    by_document = _share_of_best([c.document_bm25 for c in candidates])
    return [
        passage_share * p + (1 - passage_share) * d
        for p, d in zip(by_passage, by_document, strict=True)
    ]


def hybrid_scores(
    candidates: list[Candidate],
    dense_weight: float = DENSE_WEIGHT,
    sentence_weight: float = SENTENCE_WEIGHT,
    passage_share: float = PASSAGE_KEYWORD_SHARE,
) -> list[float]:
    """A weighted sum of the scaled dense and keyword signals (weights: module top)."""
    dense = _scaled([dense_signal(c, sentence_weight) for c in candidates])
    keyword = keyword_scores(candidates, passage_share)
    return [dense_weight * d + (1 - dense_weight) * k for d, k in zip(dense, keyword, strict=True)]


def best_hits(candidates: list[Candidate], k: int, language: str | None) -> list[Hit]:
    """The ``k`` best hits. Passages stated to be in another language than the
    question's give way to those in it (or stating none): that needs the whole ranking,
    so it is made only when some candidate states another language (the first ``k``
    of a ranking cost a tenth of the whole: each hit's text is compared with those
    before it)."""
    scores = hybrid_scores(candidates)
    if language is None or not any(
        other_language(c.passage.language, language) for c in candidates
    ):
        return ranked(candidates, scores, limit=k)
    return prefer_language(ranked(candidates, scores), language)[:k]


def hybrid_ranking(candidates: list[Candidate]) -> list[Hit]:
    return ranked(candidates, hybrid_scores(candidates))


def ranked(candidates: list[Candidate], scores: list[float], limit: int | None = None) -> list[Hit]:
    """Hits best first (the first ``limit``); passages with the same text count once."""
    order = sorted(
        range(len(candidates)), key=lambda i: (-scores[i], candidates[i].passage.passage_id)
    )
    hits: list[Hit] = []
    seen_texts: set[str] = set()
    for i in order:
        if limit is not None and len(hits) == limit:
            break
        candidate = candidates[i]
        # The same paragraph in two files (a syndicated story) is shown once.
        key = " ".join(candidate.passage.text.casefold().split())
        if key in seen_texts:
            continue
        seen_texts.add(key)
        hits.append(
            Hit(
                passage=candidate.passage,
                score=scores[i],
                dense_rank=candidate.dense_rank,
                keyword_rank=candidate.keyword_rank,
                dense_score=candidate.sentence_cosine,
                keyword_score=candidate.passage_bm25,
            )
        )
    return hits
