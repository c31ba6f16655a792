"""Retrieval: dense (FAISS) and keyword (FTS5/BM25) results fused by reciprocal rank."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from . import keywords
from .store import StoredIndex
from .types import Hit, Passage

RRF_K = 60
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


class Retriever:
    def __init__(self, store: StoredIndex, encoder=None) -> None:
        self.store = store
        self._encoder = encoder
        self._encoder_lock = threading.Lock()

    @property
    def encoder(self):
        # Loading ONNX Runtime costs a few hundred ms: only when a query needs it.
        with self._encoder_lock:
            if self._encoder is None:
                from .embeddings import shared_onnx_encoder

                self._encoder = shared_onnx_encoder()
            return self._encoder

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts)

    def analyze(self, query: str) -> QueryAnalysis:
        terms = tuple(keywords.content_terms(query)[:MAX_TERMS])
        names = keywords.names_in(query)
        forms: dict[str, tuple[str, ...]] = {}
        frequency: dict[str, int] = {}
        for term in terms:
            own = self.store.passage_frequency((term,))
            # Spelling variants are sought for names and for words the corpus barely
            # knows (a likely misspelling); a common lowercase word's neighbours are
            # other words, and looking them up would only cost time.
            variants = self.store.name_variants(term) if term in names or own < 5 else []
            forms[term] = (term, *variants)
            frequency[term] = self.store.passage_frequency(forms[term]) if variants else own
        return QueryAnalysis(query, terms, forms, frequency, self.embed([query])[0])

    def search(
        self, query: str, k: int = 10, *, pool: int = 50, analysis: QueryAnalysis | None = None
    ) -> list[Hit]:
        analysis = analysis or self.analyze(query)
        dense = self.store.dense_search(analysis.vector, pool)
        by_row = self.store.passages_for_vector_rows([row for row, _ in dense])
        dense_ranked = [(by_row[row], score) for row, score in dense if row in by_row]

        match = keywords.fts_query(
            [f for t in self.keyword_terms(analysis) for f in analysis.forms[t]]
        )
        keyword = self.store.keyword_search(match, pool) if match else []
        by_id = self.store.passages([pid for pid, _ in keyword])
        keyword_ranked = [(by_id[pid], score) for pid, score in keyword if pid in by_id]

        return fuse(dense_ranked, keyword_ranked)[:k]

    def keyword_terms(self, analysis: QueryAnalysis) -> list[str]:
        """Terms worth a BM25 pass. A term in more passages than the store's common-term
        limit (2,000 passages, or 0.5% of a corpus over 400,000) adds little to BM25 and
        costs the most (every passage holding it is scored), so it is left to the dense
        side; with no other term, there is no keyword pass."""
        limit = self.store.common_term_limit
        return [t for t in analysis.terms if analysis.frequency[t] < limit]


def fuse(
    dense: list[tuple[Passage, float]],
    keyword: list[tuple[Passage, float]],
) -> list[Hit]:
    """Reciprocal rank fusion; passages with the same text count once."""
    table: dict[int, dict] = {}
    for rank, (passage, score) in enumerate(dense, 1):
        entry = table.setdefault(passage.passage_id, {"passage": passage, "rrf": 0.0})
        entry.update(rrf=entry["rrf"] + 1.0 / (RRF_K + rank), dense_rank=rank, dense_score=score)
    for rank, (passage, score) in enumerate(keyword, 1):
        entry = table.setdefault(passage.passage_id, {"passage": passage, "rrf": 0.0})
        entry.update(
            rrf=entry["rrf"] + 1.0 / (RRF_K + rank), keyword_rank=rank, keyword_score=score
        )
    ordered = sorted(table.values(), key=lambda e: (-e["rrf"], e["passage"].passage_id))
    hits: list[Hit] = []
    seen_texts: set[str] = set()
    for entry in ordered:
        # The same paragraph in two files (a syndicated story) is shown once.
        key = " ".join(entry["passage"].text.casefold().split())
        if key in seen_texts:
            continue
        seen_texts.add(key)
        hits.append(
            Hit(
                passage=entry["passage"],
                score=entry["rrf"],
                dense_rank=entry.get("dense_rank"),
                keyword_rank=entry.get("keyword_rank"),
                dense_score=entry.get("dense_score"),
                keyword_score=entry.get("keyword_score"),
            )
        )
    return hits
