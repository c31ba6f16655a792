"""Answer: choose the passages and the sentences in them that answer, or abstain.

The extractive answerer writes no words of its own: the answer is the answering
sentences, verbatim, each followed by its citation marker.

Which passage answers is decided by evidence measured for every candidate (the
retrieval score, how much of the question's words the passage holds, closeness in
meaning, whether it holds what the question's kind asks for: a date, an amount, a
quotation by the speaker asked about), combined by weights fitted on the dev
questions (``assistant/data/answer_weights.json``, written by ``bench/fit_answer.py``).

Abstaining is decided from evidence too:

* the question's subject (names, numbers, quoted words) must occur in the corpus at
  all (in a passage or in a document's outlet, byline, title or date); otherwise the
  answer says which words the sources never mention;
* the best passage's evidence, including how much of what is asked *about* the
  subject it covers, goes through a fitted logistic model: an entity that is present
  with its fact absent is refused.

A question word counts as present in a passage when the passage has it, its stem, a
spelling variant, or a word close to it in the model's space ("born" for "birth").
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from ..data import DATA_DIR
from ..filters import SearchFilter
from ..ingest import speakers
from ..storage.local import StoredIndex
from ..text import keywords
from ..text.display import flowed
from ..types import Answer, Citation, Hit, Passage, Span
from .question import QuestionAnalysis
from .retrieval import QueryAnalysis, Retriever

WEIGHTS_FILE = DATA_DIR / "answer_weights.json"
CANDIDATE_POOL = 12
# Passages after the best ones (the quotation after "X said:") join the candidates.
NEIGHBOURS_OF = 6
# Passages whose question words are also sought by meaning (one encoder batch).
SOFT_MATCH_TOP = 5
WORD_CACHE_LIMIT = 50_000
DOCUMENT_CACHE_LIMIT = 256

_DATE_LIKE = re.compile(
    r"\b(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b"
    r"|\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
    r"|(?:1[89]|20)\d\d\b|\d{1,2}/\d{1,2}/\d{2,4}|\d{1,2}[:.]\d\d\s*[ap]\.?m\b"
    r"|(?:mon|tues|wednes|thurs|fri|satur|sun)day|yesterday|today|last (?:week|month|year))",
    re.IGNORECASE,
)
_AMOUNT_LIKE = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozen"
                          r"|hundred|thousand|million|billion|half)\b", re.IGNORECASE)  # fmt: skip
_QUOTATION = re.compile(r"[“\"«]([^”\"»]{1,3000})[”\"»]")
_SENTENCE_END = re.compile(r"[.!?:][\"'”’)\]]*\s*$")
# A dateline opens a story: "KATHMANDU, April 25 (Reuters) -", "Dec. 23 (UPI) --",
# "PUTRAJAYA, Nov 22 —", "WASHINGTON (AP) —".
_DATELINE = re.compile(
    r"^\s*(?:[A-Z][A-Z .,'’/-]{2,40}?)?,?\s*"
    r"(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\s*)?"
    r"(?:\([A-Z][\w .&/-]{1,30}\)\s*)?(?:-{1,2}|–|—)\s",
    re.IGNORECASE,
)
_AGENCY = re.compile(r"\((?P<agency>[A-Z][\w .&/-]{1,30})\)")
_MONTH_DAY = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b", re.IGNORECASE
)

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


@cache
def fitted() -> dict:
    """The fitted weights, thresholds and what they were fitted on."""
    return json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))


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


def _answer_line(citation: Citation) -> str:
    """The quote, and who says it when the source says so (as every front end says it:
    :attr:`Citation.said_by`)."""
    speaker = citation.said_by
    by = f" — {speaker}" if speaker else ""
    return f"{flowed(citation.quote_text)}{by} [{citation.n}]"


def _as_written(question: str, term: str) -> str:
    """The question's own spelling of a normalised term ("putin" -> "Putin")."""
    for word in question.split():
        if term in keywords.tokens(word):
            return re.sub(r"['’]s$", "", word.strip("?!.,;:\"'“”‘’()[]"))
    return term


def _speaks(said: list[speakers.Statement], wanted: speakers.SpeakerQuery) -> bool:
    return any(wanted.matches(s.speaker, s.side) for s in said)


def _names_speaker(term: str, wanted: speakers.SpeakerQuery) -> bool:
    """Whether a question term names the speaker asked about ("azerbaijan", "heydari")."""
    if wanted.side and speakers.country_in(term) == wanted.side:
        return True
    if term in wanted.owners:
        return True
    return any(speakers.same_surname(term, name) for name in wanted.surnames)


def _overlaps(a: Span, b) -> bool:
    return a.start < b.end and b.start < a.end


def _statement_at(said: list[speakers.Statement], span: Span) -> speakers.Statement | None:
    """The statement the quoted sentence holds (the one overlapping it most)."""
    best, best_overlap = None, 0
    for statement in said:
        overlap = min(span.end, statement.end) - max(span.start, statement.start)
        if overlap > best_overlap:
            best, best_overlap = statement, overlap
    return best


def has_quotation(text: str) -> bool:
    """A quotation of three words or more (not a quoted term such as a title)."""
    return any(len(m.group(1).split()) >= 3 for m in _QUOTATION.finditer(text))


def is_heading(passage: Passage) -> bool:
    """One short line with no sentence end: a heading, a caption or a label."""
    text = passage.text.strip()
    return "\n" not in text and len(text.split()) <= 20 and not _SENTENCE_END.search(text)


def _may_answer(evidence: Evidence) -> bool:
    """A heading or caption is never the answer, unless it holds what the question asks
    for ("... speaking on October 3, 2021" for "when did he speak?")."""
    if not evidence.value("heading"):
        return True
    return bool(evidence.value("date_for_when") or evidence.value("number_for_amount"))


def _share(terms: tuple[str, ...], present, weights: dict[str, float]) -> float:
    total = sum(weights.get(t, 0.0) for t in terms)
    if not total:
        return 0.0
    return sum(weights.get(t, 0.0) for t in terms if t in present) / total


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


class ExtractiveAnswerer:
    def __init__(self, store: StoredIndex, retriever: Retriever) -> None:
        self.store = store
        self.retriever = retriever
        self._word_vectors: dict[str, np.ndarray] = {}
        # A document's passages and terms, read once for every step that needs them
        # (the passage before, the passage after, the subject in the document, the
        # dateline). The answerer lives as long as its generation.
        self._documents: dict[str, list[Passage]] = {}
        self._document_vocabulary: dict[str, set[str]] = {}

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
        weights = fitted()

        never_mentioned = self.never_mentioned(analysis)
        if never_mentioned:
            listed = ", ".join(f"“{_as_written(question, t)}”" for t in never_mentioned)
            return self._abstain(question, nearest, f"the sources never mention {listed}")

        evidence, statements, wanted = self.evidence(analysis, hits, search_filter)
        if not evidence:
            return self._abstain(question, nearest, "no passage covers enough of the question")
        best = evidence[0]
        if not self.speaker_met(analysis.question, evidence):
            speaker = analysis.question.speaker
            return self._abstain(question, nearest, f"the sources never quote {speaker}")
        # A question about the report itself (its author, outlet, date) is answered by
        # its head or dateline when the report is found; the fitted model judges the rest.
        about_report = analysis.question.about_report
        if (
            not about_report
            and self.answerable(analysis, best, evidence) < weights["abstain"]["threshold"]
        ):
            return self._abstain(question, nearest, "no passage covers enough of the question")

        # A further citation must answer in its own right: the fitted model accepts it
        # as it would accept the best passage.
        threshold = weights["abstain"]["threshold"]
        # A figure the question names ("the 132-km border") is what it is about: a
        # further citation that does not give it answers something else.
        numbers = {t for t in analysis.question.subject_terms if any(c.isdigit() for c in t)}
        chosen = [best] if _may_answer(best) else []
        for item in evidence[1:]:
            if len(chosen) == 2 * max_citations:
                break  # enough to put the speaker's own first and keep max_citations
            if (
                _may_answer(item)
                and numbers <= item.present
                and self.answerable(analysis, item, evidence) >= threshold
            ):
                chosen.append(item)
        chosen = chosen or [best]
        # "What did X say": passages where X (or X's side) speaks come first.
        chosen.sort(key=lambda e: not e.spoken)
        chosen = chosen[:max_citations]
        report_line = self._report_line(analysis.question, best.hit.passage.doc_id)
        if about_report:
            if report_line is None:
                return self._abstain(
                    question, nearest, "the report does not say who wrote or filed it"
                )
            chosen = [report_line, *[e for e in chosen if e.hit.passage != report_line.hit.passage]]
            chosen = chosen[:max_citations]

        citations = self._cite(chosen, analysis, statements, wanted)
        lines = [_answer_line(c) for c in citations]
        return Answer(
            question=question, text="\n".join(lines), abstained=False, citations=citations
        )

    def never_mentioned(self, analysis: QueryAnalysis) -> list[str]:
        """Subject terms that no passage and no document's metadata holds."""
        missing = [t for t in analysis.question.subject_terms if analysis.frequency.get(t, 0) == 0]
        if not missing:
            return []
        in_metadata = self.store.metadata_vocabulary()
        return [t for t in missing if t not in in_metadata]

    @staticmethod
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
            return any(
                speakers.same_surname(surname, word) for e in evidence for word in e.speakers
            )
        return any(core <= (e.present | e.speakers | e.before) for e in evidence)

    def answerable(
        self, analysis: QueryAnalysis, best: Evidence, evidence: list[Evidence]
    ) -> float:
        """The fitted probability that the best passage answers the question."""
        model = fitted()["abstain"]
        values = self.abstain_features(analysis, best, evidence)
        return _sigmoid(float(np.dot(np.asarray(model["weights"]), values)) + float(model["bias"]))

    def abstain_features(
        self, analysis: QueryAnalysis, best: Evidence, evidence: list[Evidence]
    ) -> np.ndarray:
        weights = self._idf(analysis)
        question = analysis.question
        said = question.kind == "said"
        # The speaker's name (its subject terms; all its words when it names none).
        names = [t for t in question.speaker_terms if t in question.subject_terms]
        names = names or list(question.speaker_terms)
        speaker_found = (
            max((len(set(names) & e.speakers) / len(names) for e in evidence), default=0.0)
            if said and names
            else 1.0
        )
        topic = [t for t in question.topic_terms if t not in question.subject_terms]
        total = sum(weights[t] for t in analysis.terms) or 1.0
        missing = [weights[t] / total for t in topic if t not in best.present]
        document_terms = self._document_terms(best.hit.passage.doc_id)
        subjects = question.subject_terms
        in_document = (
            sum(1 for t in subjects if t in document_terms) / len(subjects) if subjects else 1.0
        )
        speaker_evidence = max(speaker_found, best.value("speaker_nearby")) if said else 1.0
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
                in_document,
                speaker_evidence,
                sum(weights[t] for t in absent) / topic_weight,
            ],
            dtype=np.float64,
        )

    def _document_terms(self, doc_id: str) -> set[str]:
        terms = self._document_vocabulary.get(doc_id)
        if terms is None:
            if len(self._document_vocabulary) >= DOCUMENT_CACHE_LIMIT:
                self._document_vocabulary.clear()
            text = " ".join(p.text for p in self._passages_of(doc_id))
            terms = set(keywords.tokens(text)) | self.store.metadata_terms().get(doc_id, set())
            self._document_vocabulary[doc_id] = terms
        return terms

    def _passages_of(self, doc_id: str) -> list[Passage]:
        """All of a document's passages in text order (head lines and boilerplate too)."""
        passages = self._documents.get(doc_id)
        if passages is None:
            if len(self._documents) >= DOCUMENT_CACHE_LIMIT:
                self._documents.clear()
            passages = self._documents[doc_id] = self.store.document_passages(doc_id)
        return passages

    def _citable_of(self, doc_id: str) -> list[Passage]:
        return [p for p in self._passages_of(doc_id) if not p.is_boilerplate]

    def _abstain(self, question: str, nearest: tuple[Hit, ...], reason: str) -> Answer:
        text = f"The sources do not answer this: {reason}."
        if nearest:
            text += " The nearest passages are listed below."
        return Answer(question, text, abstained=True, nearest=nearest, reason=reason)

    # -- evidence ------------------------------------------------------------------

    def evidence(
        self,
        analysis: QueryAnalysis,
        hits: list[Hit],
        search_filter: SearchFilter | None = None,
    ) -> tuple[list[Evidence], dict, speakers.SpeakerQuery | None]:
        """Every candidate's evidence, best first by the fitted weights."""
        question = analysis.question
        wanted = speakers.speaker_query(question.speaker)
        if wanted is not None:
            hits = self._with_statement_passages(hits, wanted, analysis, search_filter)
        if question.kind == "said":
            hits = self._with_following_passages(hits, analysis, search_filter)
        hits = [h for h in hits if not h.passage.is_boilerplate]
        ids = [hit.passage.passage_id for hit in hits]
        statements = self.store.statements(ids)
        # One FTS5 query per term for all candidates, not one per (term, passage).
        holders = {
            t: self.store.passages_containing(ids, analysis.forms[t]) for t in analysis.terms
        }
        metadata = self.store.metadata_terms()
        weights = self._idf(analysis)
        previous = self._previous_texts(hits)

        def present_in(hit: Hit) -> set[str]:
            passage = hit.passage
            found = {t for t in analysis.terms if passage.passage_id in holders[t]}
            return found | (set(analysis.terms) & metadata.get(passage.doc_id, set()))

        presents = [present_in(hit) for hit in hits]
        rank_weights = np.asarray(fitted()["rank"]["weights"])
        topic_dense = self._topic_cosines(question, ids)

        def measure(index: int, present: set[str]) -> Evidence:
            hit = hits[index]
            said = statements.get(hit.passage.passage_id, [])
            spoken = wanted is not None and _speaks(said, wanted)
            if spoken:
                # The speaker asked about speaks here, maybe as "the ministry": their
                # name or country counts as present.
                present = present | {t for t in analysis.terms if _names_speaker(t, wanted)}
            features = self._features(
                question, hit, present, weights, said, previous.get(hit.passage.passage_id, "")
            )
            features[RANK_FEATURES.index("side_speaks")] = float(spoken)
            features[RANK_FEATURES.index("topic_dense")] = topic_dense.get(
                hit.passage.passage_id, features[RANK_FEATURES.index("dense")]
            )
            return Evidence(
                hit,
                features,
                frozenset(present),
                spoken=spoken,
                score=float(np.dot(rank_weights, features)),
                speakers=frozenset(t for s in said for t in keywords.tokens(s.speaker)),
                before=frozenset(keywords.tokens(previous.get(hit.passage.passage_id, ""))),
            )

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
        return evidence, statements, wanted

    def _features(
        self,
        question: QuestionAnalysis,
        hit: Hit,
        present: set[str],
        weights: dict[str, float],
        said: list[speakers.Statement],
        before: str,
    ) -> np.ndarray:
        passage = hit.passage
        text = passage.text
        kind = question.kind
        values = dict.fromkeys(RANK_FEATURES, 0.0)
        values["retrieval"] = hit.score
        values["coverage"] = _share(tuple(weights), present, weights)
        values["topic_coverage"] = _share(question.topic_terms, present, weights)
        values["dense"] = max(hit.dense_score or 0.0, 0.0)
        if kind in ("when", "report_date"):
            values["date_for_when"] = float(bool(_DATE_LIKE.search(text)))
        if kind == "amount":
            values["number_for_amount"] = float(bool(_AMOUNT_LIKE.search(text)))
        if kind == "said" and question.speaker_terms:
            values["quote_for_said"] = float(has_quotation(text))
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
            quoted = sum(len(m.group(1)) for m in _QUOTATION.finditer(text))
            values["quoted_share"] = min(quoted / max(len(text), 1), 1.0)
        before_terms = set(keywords.tokens(before))
        values["topic_nearby"] = _share(question.topic_terms, present | before_terms, weights)
        values["heading"] = float(is_heading(passage))
        return np.array([values[name] for name in RANK_FEATURES], dtype=np.float64)

    def _topic_cosines(self, question: QuestionAnalysis, ids: list[int]) -> dict[int, float]:
        """Each passage's best sentence against the question's topic words alone: "what
        did the minister say about X" is otherwise close to anything the minister said.
        Only for questions with a frame or speaker to leave out."""
        topic = question.topic_terms
        if not topic or len(topic) == len(question.terms):
            return {}
        vector = self.retriever.embed([" ".join(topic)])[0]
        cosines = self.store.sentence_cosines(vector, ids)
        return {pid: max(float(np.max(each)), 0.0) for pid, each in cosines.items() if len(each)}

    def _previous_texts(self, hits: list[Hit]) -> dict[int, str]:
        """The citable passage before each candidate in its document (where a quotation's
        speaker is often introduced)."""
        before: dict[int, str] = {}
        by_document: dict[str, list[Passage]] = {}
        for hit in hits:
            doc_id = hit.passage.doc_id
            if doc_id not in by_document:
                by_document[doc_id] = self._citable_of(doc_id)
            passages = by_document[doc_id]
            for index, passage in enumerate(passages):
                if passage.passage_id == hit.passage.passage_id and index:
                    before[passage.passage_id] = passages[index - 1].text
        return before

    def _with_following_passages(
        self, hits: list[Hit], analysis: QueryAnalysis, search_filter: SearchFilter | None
    ) -> list[Hit]:
        """The candidates plus the passage after each of the best: "X said:" or a
        narrative line naming X is often followed by the quotation itself."""
        have = {hit.passage.passage_id for hit in hits}
        following: list[int] = []
        for hit in hits[:NEIGHBOURS_OF]:
            passages = self._citable_of(hit.passage.doc_id)
            for index, passage in enumerate(passages[:-1]):
                after = passages[index + 1].passage_id
                if passage.passage_id == hit.passage.passage_id and after not in have:
                    following.append(after)
                    have.add(after)
        if search_filter is not None and following:
            following = self.store.allowed_passages(following, search_filter)
        return hits + self._as_hits(following, analysis)

    def _as_hits(self, passage_ids: list[int], analysis: QueryAnalysis) -> list[Hit]:
        scores = self.store.dense_scores(analysis.vector, sorted(passage_ids))
        added = self.store.passages(sorted(scores))
        return [
            Hit(passage=added[pid], score=0.0, dense_score=scores[pid][1])
            for pid in sorted(scores)
            if pid in added
        ]

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

    def _with_statement_passages(
        self,
        hits: list[Hit],
        wanted: speakers.SpeakerQuery,
        analysis: QueryAnalysis,
        search_filter: SearchFilter | None,
    ) -> list[Hit]:
        """The candidates plus the passages where the asked-about speaker speaks and
        that share a topic word with the question (the evidence weighs them as any)."""
        have = {hit.passage.passage_id for hit in hits}
        quoting = [pid for pid in self.store.passages_quoting(wanted) if pid not in have]
        if search_filter is not None and quoting:
            quoting = self.store.allowed_passages(quoting, search_filter)
        if not quoting:
            return hits
        topic = [t for t in analysis.terms if not _names_speaker(t, wanted)]
        on_topic: set[int] = set()
        for term in topic:
            on_topic |= self.store.passages_containing(quoting, analysis.forms[term])
        return hits + self._as_hits(sorted(on_topic), analysis)

    def _idf(self, analysis: QueryAnalysis) -> dict[str, float]:
        n = max(self.store.citable_passage_count(), 1)
        return {t: math.log((n + 1) / (analysis.frequency.get(t, 0) + 0.5)) for t in analysis.terms}

    # -- questions about the report itself --------------------------------------------

    def _report_line(self, question: QuestionAnalysis, doc_id: str) -> Evidence | None:
        """For "who wrote ...", the byline; for "which agency filed ..." and "when was
        ... filed", the dateline opening the story (or the date line of the head)."""
        if not question.about_report:
            return None
        heads = [p for p in self._passages_of(doc_id) if p.is_head]
        found: Passage | None = None
        if question.kind == "author":
            found = next((p for p in heads if p.text.lower().startswith("by ")), None)
        else:
            body = self._citable_of(doc_id)
            for passage in body[:3]:
                opening = passage.text[:80]
                if _DATELINE.match(opening) and (
                    _AGENCY.search(opening)
                    if question.kind == "agency"
                    else _MONTH_DAY.search(opening)
                ):
                    found = passage
                    break
            if found is None and question.kind == "report_date":
                found = next((p for p in heads if _DATE_LIKE.search(p.text)), None)
        if found is None:
            return None
        hit = Hit(passage=found, score=1.0)
        return Evidence(hit, np.zeros(len(RANK_FEATURES)), frozenset(), score=math.inf)

    # -- quoting -------------------------------------------------------------------

    def _cite(
        self,
        chosen: list[Evidence],
        analysis: QueryAnalysis,
        statements: dict[int, list[speakers.Statement]],
        wanted: speakers.SpeakerQuery | None,
    ) -> tuple[Citation, ...]:
        weights = self._idf(analysis)
        sentences: list[tuple[int, Span]] = []
        for index, item in enumerate(chosen):
            spans = item.hit.passage.sentences or (
                Span(item.hit.passage.start, item.hit.passage.end),
            )
            sentences.extend((index, span) for span in spans)
        texts = [self._sentence_text(chosen[i].hit.passage, span) for i, span in sentences]
        similarity = self._sentence_similarity(chosen, sentences, texts, analysis)
        total = sum(weights.values()) or 1.0

        best: dict[int, tuple[float, Span, str]] = {}
        for (index, span), text, cosine in zip(sentences, texts, similarity, strict=True):
            present = set(keywords.tokens(text))
            overlap = sum(w for t, w in weights.items() if t in present) / total
            score = float(cosine) + 0.5 * overlap
            if analysis.question.kind == "said" and has_quotation(text):
                score += 0.5  # the speaker's own words, not the narrative around them
            if index not in best or score > best[index][0]:
                best[index] = (score, span, text)

        citations = []
        for n, item in enumerate(chosen, 1):
            _, span, text = best[n - 1]
            passage = item.hit.passage
            said = statements.get(passage.passage_id, [])
            if item.spoken and wanted is not None:
                # Quote the sentence holding the asked-about speaker's words.
                theirs = [s for s in said if wanted.matches(s.speaker, s.side)]
                span, text = self._sentence_with(passage, theirs, span, text, weights)
            statement = _statement_at(said, span)
            citations.append(
                Citation(
                    n=n,
                    passage=passage,
                    document=self.store.document(passage.doc_id),
                    score=item.hit.score,
                    quote=span,
                    quote_text=text,
                    speaker=statement.speaker if statement else None,
                    side=statement.side if statement else None,
                )
            )
        return tuple(citations)

    def _sentence_similarity(
        self,
        chosen: list[Evidence],
        sentences: list[tuple[int, Span]],
        texts: list[str],
        analysis: QueryAnalysis,
    ) -> np.ndarray:
        """Cosine of each sentence with the question: from the index's sentence vectors,
        embedding only sentences of passages stored without them."""
        stored = self.store.sentence_cosines(
            analysis.vector, [item.hit.passage.passage_id for item in chosen]
        )
        similarity = np.zeros(len(sentences), dtype=np.float32)
        position: dict[int, int] = {}
        to_embed: list[int] = []
        for row, (index, _span) in enumerate(sentences):
            passage = chosen[index].hit.passage
            each = stored.get(passage.passage_id)
            if each is not None and len(each) == len(passage.sentences):
                similarity[row] = each[position.get(index, 0)]
                position[index] = position.get(index, 0) + 1
            else:
                to_embed.append(row)
        if to_embed:
            vectors = self.retriever.embed([texts[row] for row in to_embed])
            similarity[to_embed] = vectors @ analysis.vector
        return similarity

    def _sentence_with(
        self,
        passage: Passage,
        said: list[speakers.Statement],
        span: Span,
        text: str,
        weights: dict[str, float],
    ) -> tuple[Span, str]:
        """Among the sentences holding the speaker's words, the one sharing most of the
        question's words; the chosen sentence if it is one of them."""
        sentences = passage.sentences or (Span(passage.start, passage.end),)
        holding = [s for s in sentences if any(_overlaps(s, st) for st in said)]
        if not holding or any(s == span for s in holding):
            return span, text

        def overlap(sentence: Span) -> float:
            present = set(keywords.tokens(self._sentence_text(passage, sentence)))
            return sum(w for t, w in weights.items() if t in present)

        chosen = max(holding, key=overlap)
        return chosen, self._sentence_text(passage, chosen)

    @staticmethod
    def _sentence_text(passage: Passage, span: Span) -> str:
        return passage.text[span.start - passage.start : span.end - passage.start]
