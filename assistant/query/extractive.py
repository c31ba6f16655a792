"""Answer: choose the passages and the sentences in them that answer, or abstain.

The extractive answerer writes no words of its own: the answer is the answering
sentences, verbatim, each followed by its citation marker. It composes three parts:

* :mod:`.evidence`: the evidence measured for every candidate (the retrieval score,
  how much of the question's words the passage holds, closeness in meaning, whether
  it holds what the question's kind asks for), combined by weights fitted on the dev
  questions (``assistant/data/answer_weights.json``, written by ``bench/fit_answer.py``);
* :mod:`.abstain`: whether the sources answer at all (the subject must occur in the
  corpus; the best passage's evidence goes through a fitted logistic model);
* :mod:`.citing`: the sentence of each chosen passage to quote.

A question word counts as present in a passage when the passage has it, its stem, a
spelling variant, or a word close to it in the model's space ("born" for "birth").
"""

from __future__ import annotations

import re

import numpy as np

from ..filters import SearchFilter
from ..ingest import speakers
from ..storage.base import ReadStore
from ..text import keywords
from ..types import Answer, Hit
from . import abstain
from .abstain import ABSTAIN_FEATURES
from .candidate_reads import DocumentCache, Gathered
from .citing import answer_line, cite
from .evidence import (
    RANK_FEATURES,
    Evidence,
    EvidenceMeasure,
    has_quotation,
    idf_weights,
    is_heading,
    may_answer,
)
from .question import QuestionAnalysis
from .report_lines import report_line
from .retrieval import QueryAnalysis, Retriever
from .weights import WEIGHTS_FILE, fitted

__all__ = [
    "ABSTAIN_FEATURES",
    "CANDIDATE_POOL",
    "RANK_FEATURES",
    "WEIGHTS_FILE",
    "Evidence",
    "ExtractiveAnswerer",
    "fitted",
    "has_quotation",
    "is_heading",
]

CANDIDATE_POOL = 12


def _as_written(question: str, term: str) -> str:
    """The question's own spelling of a normalised term ("putin" -> "Putin")."""
    for word in question.split():
        if term in keywords.tokens(word):
            return re.sub(r"['’]s$", "", word.strip("?!.,;:\"'“”‘’()[]"))
    return term


def _abstained(question: str, nearest: tuple[Hit, ...], reason: str) -> Answer:
    text = f"The sources do not answer this: {reason}."
    if nearest:
        text += " The nearest passages are listed below."
    return Answer(question, text, abstained=True, nearest=nearest, reason=reason)


class ExtractiveAnswerer:
    def __init__(self, store: ReadStore, retriever: Retriever) -> None:
        self.store = store
        self.retriever = retriever
        # Documents' passages and terms, read once for every step that needs them
        # (the passage before, the passage after, the subject in the document, the
        # dateline). The answerer lives as long as its store's version of the index.
        self.documents = DocumentCache(store)
        self.measure = EvidenceMeasure(store, retriever, self.documents)

    # -- the decision --------------------------------------------------------------

    def answer(
        self,
        question: str,
        max_citations: int = 3,
        *,
        analysis: QueryAnalysis | None = None,
        hits: list[Hit] | None = None,
        search_filter: SearchFilter | None = None,
    ) -> Answer:
        analysis = analysis or self.retriever.analyze(question)
        if hits is None:
            hits = self.retriever.search(
                question, CANDIDATE_POOL, analysis=analysis, search_filter=search_filter
            )
        nearest = tuple(hits[:3])
        missing = self.never_mentioned(analysis)
        if missing:
            listed = ", ".join(f"“{_as_written(question, t)}”" for t in missing)
            return _abstained(question, nearest, f"the sources never mention {listed}")
        evidence, gathered, wanted = self.measure.evidence(analysis, hits, search_filter)
        if not evidence:
            return _abstained(question, nearest, "no passage covers enough of the question")
        if not self.speaker_met(analysis.question, evidence):
            speaker = analysis.question.speaker
            return _abstained(question, nearest, f"the sources never quote {speaker}")
        # A question about the report itself (its author, outlet, date) is answered by
        # its head or dateline when the report is found; the fitted model judges the rest.
        threshold = fitted()["abstain"]["threshold"]
        about_report = analysis.question.about_report
        if not about_report and self.answerable(analysis, evidence[0], evidence) < threshold:
            return _abstained(question, nearest, "no passage covers enough of the question")
        chosen = self._chosen(analysis, evidence, max_citations)
        if about_report:
            line = report_line(analysis.question, evidence[0].hit.passage.doc_id, self.documents)
            if line is None:
                return _abstained(
                    question, nearest, "the report does not say who wrote or filed it"
                )
            chosen = [line, *[e for e in chosen if e.hit.passage != line.hit.passage]]
            chosen = chosen[:max_citations]
        citations = self._cite(chosen, analysis, gathered, wanted)
        lines = [answer_line(c) for c in citations]
        return Answer(
            question=question, text="\n".join(lines), abstained=False, citations=citations
        )

    def _chosen(
        self, analysis: QueryAnalysis, evidence: list[Evidence], max_citations: int
    ) -> list[Evidence]:
        """The best passage, and the further ones that answer in their own right: the
        fitted model accepts each as it would accept the best passage."""
        threshold = fitted()["abstain"]["threshold"]
        best = evidence[0]
        # A figure the question names ("the 132-km border") is what it is about: a
        # further citation that does not give it answers something else.
        numbers = {t for t in analysis.question.subject_terms if any(c.isdigit() for c in t)}
        chosen = [best] if may_answer(best) else []
        for item in evidence[1:]:
            if len(chosen) == 2 * max_citations:
                break  # enough to put the speaker's own first and keep max_citations
            if (
                may_answer(item)
                and numbers <= item.present
                and self.answerable(analysis, item, evidence) >= threshold
            ):
                chosen.append(item)
        chosen = chosen or [best]
        # "What did X say": passages where X (or X's side) speaks come first.
        chosen.sort(key=lambda e: not e.spoken)
        return chosen[:max_citations]

    def _cite(
        self,
        chosen: list[Evidence],
        analysis: QueryAnalysis,
        gathered: Gathered,
        wanted: speakers.SpeakerQuery | None,
    ):
        cosines = gathered.question_cosines
        # A report line may be no candidate: its sentences' cosines are read for it.
        others = [e.hit.passage.passage_id for e in chosen]
        others = [pid for pid in others if pid not in cosines]
        if others:
            cosines = {**cosines, **self.store.sentence_cosines(analysis.vector, others)}
        return cite(
            chosen,
            analysis,
            gathered.statements,
            wanted,
            self._idf(analysis),
            cosines,
            self.documents.document,
            self.retriever.embed,
        )

    def _idf(self, analysis: QueryAnalysis) -> dict[str, float]:
        return idf_weights(analysis, self.documents.citable_count())

    # -- the parts, as bench/fit_answer.py asks for them -----------------------------

    def never_mentioned(self, analysis: QueryAnalysis) -> list[str]:
        """Subject terms that no passage and no document's metadata holds."""
        return abstain.never_mentioned(analysis, self.documents.vocabulary)

    @staticmethod
    def speaker_met(question: QuestionAnalysis, evidence: list[Evidence]) -> bool:
        return abstain.speaker_met(question, evidence)

    def evidence(
        self,
        analysis: QueryAnalysis,
        hits: list[Hit],
        search_filter: SearchFilter | None = None,
    ) -> tuple[list[Evidence], dict, speakers.SpeakerQuery | None]:
        """Every candidate's evidence, best first by the fitted weights, with the
        candidates' statements and the speaker asked about."""
        evidence, gathered, wanted = self.measure.evidence(analysis, hits, search_filter)
        return evidence, gathered.statements, wanted

    def answerable(
        self, analysis: QueryAnalysis, best: Evidence, evidence: list[Evidence]
    ) -> float:
        """The fitted probability that the best passage answers the question."""
        return abstain.probability(self.abstain_features(analysis, best, evidence))

    def abstain_features(
        self, analysis: QueryAnalysis, best: Evidence, evidence: list[Evidence]
    ) -> np.ndarray:
        document_terms = self.documents.terms(best.hit.passage.doc_id)
        return abstain.abstain_features(
            analysis, best, evidence, self._idf(analysis), document_terms
        )
