"""The warm query's shortcuts give what the long way gives: sentence cosines of all
candidates in one product, and the first k hits without the whole ranking."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.query.language import prefer_language
from assistant.query.retrieval import Candidate, best_hits, hybrid_scores, ranked
from assistant.storage.local import StoredIndex
from assistant.types import Passage


def test_sentence_cosines_together_equal_each_passages_own(small_index, fake_encoder):
    store = StoredIndex(small_index)
    try:
        query = fake_encoder.encode(["Where did it rain?"])[0]
        ids = [
            p.passage_id for doc in store.documents() for p in store.document_passages(doc.doc_id)
        ]
        together = store.sentence_cosines(query, ids)
        rows = store._database.sentence_rows_of(ids)
        assert together.keys() == {pid for pid, first, count in rows if first is not None}
        for passage_id, first, count in rows:
            if first is not None:
                alone = store._vectors.sentence_cosines(query, first, count)
                np.testing.assert_allclose(together[passage_id], alone, atol=1e-6)
        scores = store.dense_scores(query, ids)
        for passage_id, (_, best) in scores.items():
            assert best == pytest.approx(float(np.max(together[passage_id])), abs=1e-6)
    finally:
        store.close()


def test_a_span_past_the_end_of_the_sentence_file_is_read_alone(small_index, fake_encoder):
    store = StoredIndex(small_index)
    try:
        query = fake_encoder.encode(["rain"])[0]
        total = len(store.sentence_vectors)
        spans = [(0, 1), (total - 1, 5), (None, 0)]  # the second runs past the end
        found = store._vectors.sentence_cosine_blocks(query, spans)
        assert len(found[0]) == 1 and len(found[1]) == 1 and found[2] is None
        np.testing.assert_allclose(found[1], store._vectors.sentence_cosines(query, total - 1, 1))
    finally:
        store.close()


def _candidate(pid: int, language: str | None, text: str | None = None) -> Candidate:
    rng = np.random.default_rng(pid)
    passage = Passage(pid, "d", "s", pid, 0, 1, text or f"passage {pid}", language=language)
    return Candidate(passage, float(rng.random()), float(rng.random()), float(rng.random()), None)


@pytest.mark.parametrize(
    "languages",
    [
        [None] * 12,  # no passage states one: the short way
        ["en"] * 6 + [None] * 6,
        ["es"] + [None] * 11,  # one in another language, enough others
        ["es", "ru", "en"] + ["de"] * 9,  # too few in the question's: all stay, after
    ],
)
def test_the_best_k_are_the_first_k_of_the_whole_ranking(languages):
    candidates = [_candidate(pid, language) for pid, language in enumerate(languages)]
    candidates.append(_candidate(99, None, text="passage 3"))  # a duplicate text
    whole = prefer_language(ranked(candidates, hybrid_scores(candidates)), "en")
    for k in (1, 3, 10, 20):
        assert best_hits(candidates, k, "en") == whole[:k]
        unknown = ranked(candidates, hybrid_scores(candidates), limit=k)
        assert best_hits(candidates, k, None) == unknown
