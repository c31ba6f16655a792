"""The evidence measured for every candidate passage of a question: the retrieval
score, how much of the question's words it holds (or words close in meaning), closeness
in meaning, and whether it holds what the question's kind asks for (a date, an amount,
a quotation by the speaker asked about). The fitted rank weights combine them.

What the store is asked for is gathered by
:class:`~.candidate_reads.QuestionReads` in a few batched calls; the measuring itself
reads nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..filters import SearchFilter
from ..ingest import speakers
from ..storage.base import ReadStore
from ..text import keywords
from ..types import Hit, Passage
from .candidate_reads import DocumentCache, Gathered, QuestionReads, names_speaker, speaks
from .question import QuestionAnalysis
from .retrieval import QueryAnalysis, Retriever
from .weights import fitted

# Passages whose question words are also sought by meaning (one encoder batch).
SOFT_MATCH_TOP = 5
WORD_CACHE_LIMIT = 50_000

DATE_LIKE = re.compile(
    r"\b(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b"
    r"|\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
    r"|(?:1[89]|20)\d\d\b|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}[:.]\d\d\s*[ap]\.?m\b"
    r"|(?:mon|tues|wednes|thurs|fri|satur|sun)day|yesterday|today|last (?:week|month|year))",
    re.IGNORECASE,
)
_AMOUNT_LIKE = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozen"
                          r"|hundred|thousand|million|billion|half)\b", re.IGNORECASE)  # fmt: skip
QUOTATION = re.compile(r"[“\"«]([^”\"»]{1,3000})[”\"»]")
_SENTENCE_END = re.compile(r"[.!?:][\"'”’)\]]*\s*$")

# The evidence measured for each candidate, in the order of the fitted weights.
RANK_FEATURES = (
    "retrieval",  # the hybrid retrieval score (0..1)
    "coverage",  # idf-weighted share of the question's terms present
    "topic_coverage",  # ... of its terms besides the speaker's
    "dense",  # the best sentence's cosine with the question
    "date_for_when",  # a date, for "when" questions
    "number_for_amount",  # a number, for "how many/much" questions
    "quote_for_said",  # a quotation, for "what did X say" questions
    "speaker_here",  # share of the speaker's words in who speaks in the passage
    "speaker_nearby",  # share of the speaker's words in the passage or the one before
    "speaker_head_here",  # the speaker's head noun or surname is who speaks in the passage
    "side_speaks",  # the side or person asked about speaks here (speaker book)
    "quote_near_speaker",  # a quotation, with the speaker's words here or just before
    "quoted_share",  # how much of the passage is quotation, for "what did X say"
    "topic_nearby",  # share of the topic terms in the passage or the one before it
    "topic_dense",  # its best sentence's cosine with the topic alone (no "what did X say")
    "heading",  # a heading or caption: one line without a sentence end
)


@dataclass(frozen=True)
class Evidence:
    hit: Hit
    features: np.ndarray  # RANK_FEATURES
    present: frozenset[str]  # question terms present (literally or by meaning)
    spoken: bool = False  # the speaker asked about speaks here
    score: float = 0.0
    speakers: frozenset[str] = frozenset()  # the terms naming who speaks in the passage
    before: frozenset[str] = frozenset()  # the terms of the citable passage before it

    def value(self, name: str) -> float:
        return float(self.features[RANK_FEATURES.index(name)])


def has_quotation(text: str) -> bool:
    """A quotation of three words or more (not a quoted term such as a title)."""
    return any(len(m.group(1).split()) >= 3 for m in QUOTATION.finditer(text))


def is_heading(passage: Passage) -> bool:
    """One short line with no sentence end: a heading, a caption or a label."""
    text = passage.text.strip()
    return "\n" not in text and len(text.split()) <= 20 and not _SENTENCE_END.search(text)


def may_answer(evidence: Evidence) -> bool:
    """A heading or caption is never the answer, unless it holds what the question asks
    for ("... speaking on October 3, 2021" for "when did he speak?")."""
    if not evidence.value("heading"):
        return True
    return bool(evidence.value("date_for_when") or evidence.value("number_for_amount"))


def share(terms: tuple[str, ...], present, weights: dict[str, float]) -> float:
    total = sum(weights.get(t, 0.0) for t in terms)
    if not total:
        return 0.0
    return sum(weights.get(t, 0.0) for t in terms if t in present) / total


def idf_weights(analysis: QueryAnalysis, citable: int) -> dict[str, float]:
    n = max(citable, 1)
    return {t: math.log((n + 1) / (analysis.frequency.get(t, 0) + 0.5)) for t in analysis.terms}


def rank_features(
    question: QuestionAnalysis,
    hit: Hit,
    present: set[str],
    weights: dict[str, float],
    said: list[speakers.Statement],
    before: str,
) -> np.ndarray:
    """The RANK_FEATURES of one candidate (side_speaks and topic_dense are set by the
    caller, which knows the speaker asked about and the topic's cosines)."""
    passage = hit.passage
    text = passage.text
    kind = question.kind
    values = dict.fromkeys(RANK_FEATURES, 0.0)
    values["retrieval"] = hit.score
    values["coverage"] = share(tuple(weights), present, weights)
    values["topic_coverage"] = share(question.topic_terms, present, weights)
    values["dense"] = max(hit.dense_score or 0.0, 0.0)
    if kind in ("when", "report_date"):
        values["date_for_when"] = float(bool(DATE_LIKE.search(text)))
    if kind == "amount":
        values["number_for_amount"] = float(bool(_AMOUNT_LIKE.search(text)))
    if kind == "said" and question.speaker_terms:
        values.update(_said_features(question, text, said, before))
    before_terms = set(keywords.tokens(before))
    values["topic_nearby"] = share(question.topic_terms, present | before_terms, weights)
    values["heading"] = float(is_heading(passage))
    return np.array([values[name] for name in RANK_FEATURES], dtype=np.float64)


def _said_features(
    question: QuestionAnalysis, text: str, said: list[speakers.Statement], before: str
) -> dict[str, float]:
    """The features of "what did X say": a quotation, X speaking or named nearby."""
    values = {"quote_for_said": float(has_quotation(text))}
    wanted = set(question.speaker_terms)
    by = max((len(wanted & set(keywords.tokens(s.speaker))) for s in said), default=0)
    values["speaker_here"] = by / len(wanted)
    # "the Philippine fisheries bureau spokesman": the spokesman speaking, not
    # the bureau; the head noun (or the surname) picks the speaker out.
    head = question.speaker_core[-1:]
    values["speaker_head_here"] = float(
        bool(head) and any(head[0] in keywords.tokens(s.speaker) for s in said)
    )
    nearby = set(keywords.tokens(before)) | set(keywords.tokens(text))
    values["speaker_nearby"] = len(wanted & nearby) / len(wanted)
    values["quote_near_speaker"] = values["quote_for_said"] * values["speaker_nearby"]
    quoted = sum(len(m.group(1)) for m in QUOTATION.finditer(text))
    values["quoted_share"] = min(quoted / max(len(text), 1), 1.0)
    return values


def previous_texts(hits: list[Hit], documents: DocumentCache) -> dict[int, str]:
    """The citable passage before each candidate in its document (where a quotation's
    speaker is often introduced)."""
    before: dict[int, str] = {}
    for hit in hits:
        passages = documents.citable_of(hit.passage.doc_id)
        for index, passage in enumerate(passages):
            if passage.passage_id == hit.passage.passage_id and index:
                before[passage.passage_id] = passages[index - 1].text
    return before


def best_topic_cosines(cosines: dict[int, np.ndarray]) -> dict[int, float]:
    return {pid: max(float(np.max(each)), 0.0) for pid, each in cosines.items() if len(each)}


class EvidenceMeasure:
    """Every candidate's evidence, best first by the fitted rank weights."""

    def __init__(self, store: ReadStore, retriever: Retriever, documents: DocumentCache) -> None:
        self.retriever = retriever
        self.documents = documents
        self.reads = QuestionReads(store, retriever, documents)
        self._word_vectors: dict[str, np.ndarray] = {}

    def evidence(
        self,
        analysis: QueryAnalysis,
        hits: list[Hit],
        search_filter: SearchFilter | None = None,
    ) -> tuple[list[Evidence], Gathered, speakers.SpeakerQuery | None]:
        question = analysis.question
        wanted = speakers.speaker_query(question.speaker)
        gathered = self.reads.gather(analysis, hits, wanted, search_filter)
        hits = gathered.hits
        metadata = self.documents.metadata()
        weights = idf_weights(analysis, self.documents.citable_count())
        previous = previous_texts(hits, self.documents)
        topic_dense = best_topic_cosines(gathered.topic_cosines)
        rank_weights = np.asarray(fitted()["rank"]["weights"])

        def measure(index: int, present: set[str]) -> Evidence:
            hit = hits[index]
            pid = hit.passage.passage_id
            said = gathered.statements.get(pid, [])
            spoken = wanted is not None and speaks(said, wanted)
            if spoken:
                # The speaker asked about speaks here, maybe as "the ministry": their
                # name or country counts as present.
                present = present | {t for t in analysis.terms if names_speaker(t, wanted)}
            features = rank_features(question, hit, present, weights, said, previous.get(pid, ""))
            features[RANK_FEATURES.index("side_speaks")] = float(spoken)
            features[RANK_FEATURES.index("topic_dense")] = topic_dense.get(
                pid, features[RANK_FEATURES.index("dense")]
            )
            return Evidence(
                hit,
                features,
                frozenset(present),
                spoken=spoken,
                score=float(np.dot(rank_weights, features)),
                speakers=frozenset(t for s in said for t in keywords.tokens(s.speaker)),
                before=frozenset(keywords.tokens(previous.get(pid, ""))),
            )

        presents = [self._present(analysis, hit, gathered, metadata) for hit in hits]
        evidence = [measure(i, p) for i, p in enumerate(presents)]
        # Words still missing from the leading passages are sought by meaning.
        order = sorted(range(len(evidence)), key=lambda i: -evidence[i].score)
        top = order[:SOFT_MATCH_TOP]
        softly = self._present_by_meaning(
            analysis, [hits[i].passage for i in top], [presents[i] for i in top]
        )
        for i, extra in zip(top, softly, strict=True):
            if extra:
                evidence[i] = measure(i, presents[i] | extra)
        evidence.sort(key=lambda e: (-e.score, e.hit.passage.passage_id))
        return evidence, gathered, wanted

    @staticmethod
    def _present(
        analysis: QueryAnalysis, hit: Hit, gathered: Gathered, metadata: dict[str, set[str]]
    ) -> set[str]:
        passage = hit.passage
        found = {t for t in analysis.terms if passage.passage_id in gathered.holders[t]}
        return found | (set(analysis.terms) & metadata.get(passage.doc_id, set()))

    def _present_by_meaning(
        self, analysis: QueryAnalysis, passages: list[Passage], presents: list[set[str]]
    ) -> list[set[str]]:
        """Question terms that a passage lacks as written but holds a word close to in the
        model's space (cosine at least the fitted threshold): "born" for "birth"."""
        threshold = fitted()["soft_match_threshold"]
        missing = [[t for t in analysis.terms if t not in p and not t.isdigit()] for p in presents]
        wanted = sorted({t for terms in missing for t in terms})
        if not wanted:
            return [set() for _ in passages]
        words = [set(keywords.content_terms(p.text)) for p in passages]
        vectors = self._vectors(wanted + sorted(set().union(*words)))
        found = []
        for terms, vocabulary in zip(missing, words, strict=True):
            if not terms or not vocabulary:
                found.append(set())
                continue
            matrix = np.stack([vectors[w] for w in vocabulary])
            found.append({t for t in terms if float(np.max(matrix @ vectors[t])) >= threshold})
        return found

    def _vectors(self, words: list[str]) -> dict[str, np.ndarray]:
        cache = self._word_vectors
        new = [w for w in words if w not in cache]
        if new:
            if len(cache) + len(new) > WORD_CACHE_LIMIT:
                cache.clear()
            for word, vector in zip(new, self.retriever.embed(new), strict=True):
                cache[word] = vector
        return {w: cache[w] for w in words}
