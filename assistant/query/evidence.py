"""The evidence measured for every candidate passage of a question: the retrieval
score, how much of the question's words it holds (or words close in meaning), closeness
in meaning, and whether it holds what the question's kind asks for (a date, an amount,
a quotation by the speaker asked about). The fitted rank weights combine them.

What the store is asked for is gathered by :class:`QuestionReads` in a few batched
calls; the measuring itself reads nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..filters import SearchFilter
from ..ingest import speakers
from ..storage.base import ReadStore
from ..storage.reads import Reads
from ..text import keywords
from ..types import Document, Hit, Passage
from .abstain import fitted
from .question import QuestionAnalysis
from .retrieval import QueryAnalysis, Retriever

# Passages after the best ones (the quotation after "X said:") join the candidates.
NEIGHBOURS_OF = 6
# Passages whose question words are also sought by meaning (one encoder batch).
SOFT_MATCH_TOP = 5
WORD_CACHE_LIMIT = 50_000
DOCUMENT_CACHE_LIMIT = 256

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


def speaks(said: list[speakers.Statement], wanted: speakers.SpeakerQuery) -> bool:
    return any(wanted.matches(s.speaker, s.side) for s in said)


def names_speaker(term: str, wanted: speakers.SpeakerQuery) -> bool:
    """Whether a question term names the speaker asked about ("azerbaijan", "heydari")."""
    if wanted.side and speakers.country_in(term) == wanted.side:
        return True
    if term in wanted.owners:
        return True
    return any(speakers.same_surname(term, name) for name in wanted.surnames)


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


class DocumentCache:
    """Documents' passages, metadata and terms, read once for every step and every
    question that needs them (one store version: the answerer lives as long as it)."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self.passages: dict[str, list[Passage]] = {}
        self.documents: dict[str, Document] = {}
        self._vocabulary: dict[str, set[str]] = {}
        self._metadata: dict[str, set[str]] | None = None
        self._every_term: frozenset[str] | None = None
        self._citable_count: int | None = None

    def missing(self, doc_ids) -> list[str]:
        """Those of the documents whose passages are not here yet."""
        return [d for d in dict.fromkeys(doc_ids) if d not in self.passages]

    def keep(self, passages: dict[str, list[Passage]], documents: dict[str, Document]) -> None:
        if len(self.passages) + len(passages) > DOCUMENT_CACHE_LIMIT:
            self.passages.clear()
            self._vocabulary.clear()
        if len(self.documents) + len(documents) > DOCUMENT_CACHE_LIMIT:
            self.documents.clear()
        self.passages.update(passages)
        self.documents.update(documents)

    def keep_metadata(self, terms: dict[str, set[str]]) -> None:
        if self._metadata is None:
            self._metadata = terms

    @property
    def wants_metadata(self) -> bool:
        return self._metadata is None

    def metadata(self) -> dict[str, set[str]]:
        """Each document's metadata terms (read with the first question's reads)."""
        if self._metadata is None:
            self._metadata = self.store.metadata_terms()
        return self._metadata

    def vocabulary(self) -> frozenset[str]:
        """Every term of any document's metadata."""
        if self._every_term is None:
            self._every_term = frozenset().union(*self.metadata().values())
        return self._every_term

    def citable_count(self) -> int:
        if self._citable_count is None:
            self._citable_count = self.store.citable_passage_count()
        return self._citable_count

    def passages_of(self, doc_id: str) -> list[Passage]:
        """All of a document's passages in text order (head lines and boilerplate too)."""
        found = self.passages.get(doc_id)
        if found is None:  # not read with the candidates' (or emptied since)
            found = self.store.document_passages(doc_id)
            self.keep({doc_id: found}, {})
        return found

    def citable_of(self, doc_id: str) -> list[Passage]:
        return [p for p in self.passages_of(doc_id) if not p.is_boilerplate]

    def document(self, doc_id: str) -> Document:
        found = self.documents.get(doc_id)
        if found is None:
            found = self.store.document(doc_id)
            self.keep({}, {doc_id: found})
        return found

    def terms(self, doc_id: str) -> set[str]:
        """Every term of a document: its passages' and its metadata's."""
        terms = self._vocabulary.get(doc_id)
        if terms is None:
            text = " ".join(p.text for p in self.passages_of(doc_id))
            terms = set(keywords.tokens(text)) | self.metadata().get(doc_id, set())
            self._vocabulary[doc_id] = terms
        return terms


@dataclass
class Gathered:
    """What the store gave for a question's candidates."""

    hits: list[Hit]  # the candidates, passages added for the speaker and after the best
    statements: dict[int, list[speakers.Statement]]
    holders: dict[str, set[int]]  # which candidates hold each question term
    topic_cosines: dict[int, np.ndarray]  # sentence cosines with the topic alone
    question_cosines: dict[int, np.ndarray]  # sentence cosines with the question


class QuestionReads:
    """The candidates of one question and what the evidence needs of them, in a few
    batched store calls: the passages quoting the speaker asked about and the passages
    following the best (for "what did X say"), then everything about the candidates
    at once (statements, which terms each holds, sentence cosines, their documents)."""

    def __init__(self, store: ReadStore, retriever: Retriever, documents: DocumentCache) -> None:
        self.store = store
        self.retriever = retriever
        self.documents = documents

    def gather(
        self,
        analysis: QueryAnalysis,
        hits: list[Hit],
        wanted: speakers.SpeakerQuery | None,
        search_filter: SearchFilter | None,
    ) -> Gathered:
        question = analysis.question
        said = question.kind == "said"
        first = self.store.read(
            Reads(
                quoting=wanted,
                document_passages=self.documents.missing(h.passage.doc_id for h in hits),
                metadata_terms=self.documents.wants_metadata,
            )
        )
        self.documents.keep(first.document_passages, {})
        self.documents.keep_metadata(first.metadata_terms)
        have = {hit.passage.passage_id for hit in hits}
        quoting = [pid for pid in first.quoting if pid not in have] if wanted else []
        following = self._following(hits, have) if said else []
        added = self._added(analysis, wanted, quoting, following, search_filter)
        return self._about(analysis, hits, added, quoting, following, said)

    def _following(self, hits: list[Hit], have: set[int]) -> list[int]:
        """The citable passage after each of the best candidates: "X said:" or a
        narrative line naming X is often followed by the quotation itself."""
        found: list[int] = []
        seen = set(have)
        for hit in hits[:NEIGHBOURS_OF]:
            passages = self.documents.citable_of(hit.passage.doc_id)
            for index, passage in enumerate(passages[:-1]):
                after = passages[index + 1].passage_id
                if passage.passage_id == hit.passage.passage_id and after not in seen:
                    found.append(after)
                    seen.add(after)
        return found

    def _added(
        self,
        analysis: QueryAnalysis,
        wanted: speakers.SpeakerQuery | None,
        quoting: list[int],
        following: list[int],
        search_filter: SearchFilter | None,
    ) -> dict[str, list]:
        """The passages that join the candidates: those quoting the speaker asked about
        that hold a topic word of the question, and those following the best (and the
        documents of the former)."""
        if not (quoting or following):
            return {"quoting": [], "following": [], "documents": []}
        topic = {
            t: analysis.forms[t]
            for t in analysis.terms
            if wanted is not None and not names_speaker(t, wanted)
        }
        filtering = search_filter is not None
        checked = self.store.read(
            Reads(
                passages=quoting,  # their documents are read with the candidates'
                containing=topic if quoting else {},
                containing_ids=quoting,
                allowed=(quoting + following, search_filter) if filtering else None,
            )
        )

        allowed = set(checked.allowed) if filtering else None
        on_topic: set[int] = set().union(*checked.containing.values()) if quoting else set()
        return {
            "quoting": sorted(p for p in on_topic if allowed is None or p in allowed),
            "following": [p for p in following if allowed is None or p in allowed],
            "documents": sorted({p.doc_id for p in checked.passages.values()}),
        }

    def _about(
        self,
        analysis: QueryAnalysis,
        hits: list[Hit],
        added: dict[str, list],
        quoting: list[int],
        following: list[int],
        said: bool,
    ) -> Gathered:
        """One read for everything about the candidates and the passages that join
        them (asked for all of these; those that turn out boilerplate are left out)."""
        joining = sorted(set(added["quoting"]) | set(added["following"]))
        ids = [h.passage.passage_id for h in hits if not h.passage.is_boilerplate] + [
            p for p in joining if p not in {h.passage.passage_id for h in hits}
        ]
        topic_vector = self._topic_vector(analysis.question)
        vectors = [(analysis.vector, ids)]
        if topic_vector is not None:
            vectors.append((topic_vector, ids))
        # The documents of the candidates, and of the speaker's passages that may join.
        doc_ids = [h.passage.doc_id for h in hits] + added["documents"]
        about = self.store.read(
            Reads(
                passages=joining,
                dense_scores=(analysis.vector, joining, {}) if joining else None,
                statements=ids,
                containing={t: analysis.forms[t] for t in analysis.terms},
                containing_ids=ids,
                sentence_cosines=vectors,
                documents=doc_ids,
                document_passages=self.documents.missing(doc_ids),
            )
        )
        self.documents.keep(about.document_passages, about.documents)
        hits = self._joined(hits, added, about, following, said)
        hits = [h for h in hits if not h.passage.is_boilerplate]
        self._read_documents([h.passage.doc_id for h in hits])
        return Gathered(
            hits=hits,
            statements=about.statements,
            holders=about.containing,
            topic_cosines=about.sentence_cosines[1] if topic_vector is not None else {},
            question_cosines=about.sentence_cosines[0],
        )

    @staticmethod
    def _joined(hits, added, about, following, said) -> list[Hit]:
        """The candidates, then the speaker's passages, then those following the best
        (as hits with the dense score of their best sentence; ids in order)."""

        def as_hits(passage_ids: list[int]) -> list[Hit]:
            scores = {p: about.dense_scores[p] for p in passage_ids if p in about.dense_scores}
            return [
                Hit(passage=about.passages[pid], score=0.0, dense_score=scores[pid][1])
                for pid in sorted(scores)
                if pid in about.passages
            ]

        joined = hits + as_hits(added["quoting"])
        if said:
            have = {h.passage.passage_id for h in joined}
            joined += as_hits([p for p in added["following"] if p not in have])
        return joined

    def _read_documents(self, doc_ids: list[str]) -> None:
        """The passages and metadata of documents the joining passages brought in."""
        passages = self.documents.missing(doc_ids)
        documents = [d for d in dict.fromkeys(doc_ids) if d not in self.documents.documents]
        if passages or documents:
            found = self.store.read(Reads(document_passages=passages, documents=documents))
            self.documents.keep(found.document_passages, found.documents)

    def _topic_vector(self, question: QuestionAnalysis) -> np.ndarray | None:
        """The question's topic words alone, embedded: "what did the minister say about
        X" is otherwise close to anything the minister said. Only for questions with a
        frame or speaker to leave out."""
        topic = question.topic_terms
        if not topic or len(topic) == len(question.terms):
            return None
        return self.retriever.embed([" ".join(topic)])[0]


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
