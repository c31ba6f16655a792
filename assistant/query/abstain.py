"""Abstaining, decided from evidence:

* the question's subject (names, numbers, quoted words) must occur in the corpus at
  all (in a passage or in a document's outlet, byline, title or date); otherwise the
  answer says which words the sources never mention;
* for "what did X say", X must be put together, or speak, in a candidate passage;
* the best passage's evidence, including how much of what is asked *about* the
  subject it covers, goes through a fitted logistic model: an entity that is present
  with its fact absent is refused.

The weights and the threshold are in ``assistant/data/answer_weights.json``, written
by ``bench/fit_answer.py``, which says what they were fitted on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..ingest import speakers
from .question import QuestionAnalysis
from .weights import fitted

if TYPE_CHECKING:
    from .evidence import Evidence
    from .retrieval import QueryAnalysis

ABSTAIN_FEATURES = (
    "coverage",  # the best passage's idf-weighted share of the question's terms
    "dense",  # its best sentence's cosine with the question
    "missing_topic",  # the heaviest topic term (idf share) it lacks
    "subject_in_document",  # share of subject terms found in its document
    # "What did X say": X speaks among the candidates, or X's words are in the best
    # passage or the one before it (1 for other questions).
    "speaker_evidence",
    # Idf share of the topic words (what is asked about the subject) that its whole
    # document lacks, in every spelling: the entity is there, the fact may not be.
    "topic_missing_in_document",
)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


def never_mentioned(analysis: QueryAnalysis, metadata_vocabulary: Callable[[], frozenset]):
    """Subject terms that no passage and no document's metadata holds (the metadata's
    terms are read only when some subject term is in no passage)."""
    missing = [t for t in analysis.question.subject_terms if analysis.frequency.get(t, 0) == 0]
    if not missing:
        return []
    in_metadata = metadata_vocabulary()
    return [t for t in missing if t not in in_metadata]


def speaker_met(question: QuestionAnalysis, evidence: list[Evidence]) -> bool:
    """For "what did X say": X's name and head noun ("georgia" and "minister" for
    "Georgia's prime minister") meet in one candidate passage, counting the passage
    before it and who speaks in it; a person named in full speaks in one. A speaker
    the sources never put together, or never let speak, is never quoted by them."""
    core = set(question.speaker_core)
    if question.kind != "said" or not core:
        return True
    names = [t for t in question.speaker_core if t in question.subject_terms]
    if len(names) >= 2 and len(names) == len(core):
        # A person named in full ("Yahya Sinwar") must speak, not only be mentioned.
        surname = names[-1]
        return any(speakers.same_surname(surname, word) for e in evidence for word in e.speakers)
    return any(core <= (e.present | e.speakers | e.before) for e in evidence)


def _speaker_evidence(question, best: Evidence, evidence: list[Evidence]) -> float:
    """For "what did X say": the best share of X's name among who speaks in one
    candidate passage, or who speaks near the best one; 1.0 for other questions."""
    if question.kind != "said":
        return 1.0
    # The speaker's name (its subject terms; all its words when it names none).
    names = [t for t in question.speaker_terms if t in question.subject_terms]
    names = names or list(question.speaker_terms)
    found = (
        max((len(set(names) & e.speakers) / len(names) for e in evidence), default=0.0)
        if names
        else 1.0
    )
    return max(found, best.value("speaker_nearby"))


def _share_in(terms, document_terms: set[str]) -> float:
    return sum(1 for t in terms if t in document_terms) / len(terms) if terms else 1.0


def abstain_features(
    analysis: QueryAnalysis,
    best: Evidence,
    evidence: list[Evidence],
    weights: dict[str, float],
    document_terms: set[str],
) -> np.ndarray:
    """The ABSTAIN_FEATURES of the best passage (``weights``: the terms' idf;
    ``document_terms``: every term of its document)."""
    question = analysis.question
    topic = [t for t in question.topic_terms if t not in question.subject_terms]
    total = sum(weights[t] for t in analysis.terms) or 1.0
    missing = [weights[t] / total for t in topic if t not in best.present]
    absent = [
        t
        for t in topic
        if t not in best.present and not any(f in document_terms for f in analysis.forms[t])
    ]
    topic_weight = sum(weights[t] for t in topic) or 1.0
    return np.array(
        [
            best.value("coverage"),
            best.value("dense"),
            max(missing, default=0.0),
            _share_in(question.subject_terms, document_terms),
            _speaker_evidence(question, best, evidence),
            sum(weights[t] for t in absent) / topic_weight,
        ],
        dtype=np.float64,
    )


def probability(features: np.ndarray) -> float:
    """The fitted probability that a passage with these ABSTAIN_FEATURES answers."""
    model = fitted()["abstain"]
    return sigmoid(float(np.dot(np.asarray(model["weights"]), features)) + float(model["bias"]))
