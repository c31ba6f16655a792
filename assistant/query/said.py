"""Who said what on a topic: every speaker's statements, side by side.

A statement is on the topic by the evidence ``ask`` uses (:mod:`.evidence`): the topic
is searched as a question is, every candidate passage's evidence is measured with the
fitted weights, and a passage is on the topic when the fitted abstention model accepts
it as it would accept a further citation of an answer (and it holds every number the
topic names). The same abstention applies: a topic the sources never mention, or that
no passage covers, is refused with the nearest passages; so is one that passages cover
with nobody quoted on it.

The statements are those the index found at build time (``storage`` statements:
speaker, side and the quote's offsets); here they are grouped by who speaks (spelling
variants of a surname and the wordings of one office are one speaker), each speaker's
name split from the role the sources give them, and the same words reported by two
outlets merged into one statement with both sources.

The numbers (candidates searched, how many topic words a quote must hold) are in
``assistant/data/said.json``, with what they were chosen on.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..data import load_rules
from ..filters import SearchFilter
from ..ingest import speakers
from ..storage.reads import ReadResult, Reads
from ..text import keywords
from ..types import (
    Document,
    Hit,
    Passage,
    Reported,
    SaidSpeaker,
    SaidStatement,
    Statement,
    WhoSaid,
    statement_order,
)
from .evidence import Evidence, may_answer
from .extractive import ExtractiveAnswerer
from .language import prefer_language
from .retrieval import QueryAnalysis, hybrid_scores

RULES = "said.json"


def rules() -> dict:
    return load_rules(RULES)


@dataclass(frozen=True)
class _Found:
    """One stored statement in an on-topic passage, with where it is."""

    statement: Statement
    quote: str
    passage: Passage
    document: Document
    rank: int  # the passage's place among the on-topic passages (0: the best)

    @property
    def reported(self) -> Reported:
        document, passage = self.document, self.passage
        return Reported(
            doc_id=passage.doc_id,
            source=passage.source,
            title=document.title,
            outlet=document.outlet,
            published=document.published,
            paragraph=passage.paragraph,
            start=self.statement.start,
            end=self.statement.end,
        )


@dataclass
class TopicEvidence:
    """What the query stage measured for a topic: its candidates (one of each text, and
    the other copies of each), their evidence best first with the fitted probability
    that each covers the topic, and their stored statements."""

    topic: str
    analysis: QueryAnalysis
    hits: list[Hit]
    copies: dict[int, list[Passage]]
    evidence: list[Evidence] = field(default_factory=list)
    probabilities: list[float] = field(default_factory=list)
    statements: dict[int, list[Statement]] = field(default_factory=dict)
    cosines: dict[int, np.ndarray] = field(default_factory=dict)  # sentences' with the topic
    missing: list[str] = field(default_factory=list)  # topic words the sources never hold


def on_topic_passages(measured: TopicEvidence, chosen: dict) -> list[Evidence]:
    """The passages that cover the topic: the fitted model accepts each as it accepts a
    further citation of an answer (ask's threshold), its evidence is within reach of
    the best passage's, and it holds every number the topic names. None when the model
    refuses the best passage: the topic is not covered."""
    from .weights import fitted

    evidence, probabilities = measured.evidence, measured.probabilities
    threshold = fitted()["abstain"]["threshold"]
    if not evidence or probabilities[0] < threshold:
        return []
    floor = chosen["score_share_of_best"] * evidence[0].score
    question = measured.analysis.question
    numbers = {t for t in question.subject_terms if any(c.isdigit() for c in t)}
    return [
        item
        for item, probability in zip(evidence, probabilities, strict=True)
        if may_answer(item)
        and numbers <= item.present
        and probability >= threshold
        and item.score >= floor
    ]


class SaidFinder:
    """``Index.statements``: the query stage's retrieval, evidence and abstention, then
    the statements of the passages on the topic, grouped by speaker."""

    def __init__(self, answerer: ExtractiveAnswerer) -> None:
        self.answerer = answerer
        self.store = answerer.store
        self.retriever = answerer.retriever

    def find(
        self, topic: str, max_speakers: int = 20, search_filter: SearchFilter | None = None
    ) -> WhoSaid:
        measured = self.measure(topic, search_filter)
        return self.select(measured, rules(), max_speakers)

    def measure(self, topic: str, search_filter: SearchFilter | None = None) -> TopicEvidence:
        """The topic's candidates and their evidence (what :meth:`select` decides on)."""
        analysis = self.retriever.analyze(topic)
        hits, copies = self._candidates(analysis, search_filter)
        missing = self.answerer.never_mentioned(analysis)
        if missing:
            return TopicEvidence(topic, analysis, hits, copies, missing=missing)
        evidence, gathered, _ = self.answerer.measure.evidence(analysis, hits, search_filter)
        probabilities = [self.answerer.answerable(analysis, e, evidence) for e in evidence]
        return TopicEvidence(
            topic,
            analysis,
            hits,
            copies,
            evidence,
            probabilities,
            gathered.statements,
            gathered.question_cosines,
        )

    def select(self, measured: TopicEvidence, chosen: dict, max_speakers: int = 20) -> WhoSaid:
        """The speakers of the on-topic statements, or the abstention and its reason
        (``chosen``: the numbers of ``said.json``)."""
        topic, nearest = measured.topic, tuple(measured.hits[:3])
        if measured.missing:
            listed = ", ".join(f"“{term}”" for term in measured.missing)
            reason = f"the sources never mention {listed}"
            return WhoSaid(topic, abstained=True, reason=reason, nearest=nearest)
        on_topic = on_topic_passages(measured, chosen)
        if not on_topic:
            reason = "no passage covers enough of the topic"
            return WhoSaid(topic, abstained=True, reason=reason, nearest=nearest)
        found = self._statements(measured, on_topic, chosen)
        if not found:
            reason = "the passages that cover it quote nobody"
            return WhoSaid(topic, abstained=True, reason=reason, nearest=nearest)
        return WhoSaid(topic, speakers=tuple(group_speakers(found)[:max_speakers]))

    # -- the candidates --------------------------------------------------------------

    def _candidates(
        self, analysis: QueryAnalysis, search_filter: SearchFilter | None
    ) -> tuple[list[Hit], dict[int, list[Passage]]]:
        """The best passages for the topic, one of each text, and the other copies of
        each (the same paragraph in another outlet's report: it reported the same words)."""
        pool = rules()["candidates"]
        candidates = self.retriever.candidates(analysis, max(pool, 50), search_filter)
        scores = hybrid_scores(candidates)
        order = sorted(
            range(len(candidates)), key=lambda i: (-scores[i], candidates[i].passage.passage_id)
        )
        hits: list[Hit] = []
        first_of: dict[str, int] = {}
        copies: dict[int, list[Passage]] = {}
        for i in order:
            candidate = candidates[i]
            passage = candidate.passage
            key = " ".join(passage.text.casefold().split())
            if key in first_of:
                copies.setdefault(first_of[key], []).append(passage)
                continue
            first_of[key] = passage.passage_id
            hits.append(
                Hit(passage, scores[i], candidate.dense_rank, candidate.keyword_rank,
                    candidate.sentence_cosine, candidate.passage_bm25)
            )  # fmt: skip
        language = None if search_filter and search_filter.languages else analysis.language
        if language is not None:
            hits = prefer_language(hits, language)
        return hits[:pool], copies

    # -- the statements --------------------------------------------------------------

    def _statements(
        self, measured: TopicEvidence, on_topic: list[Evidence], chosen: dict
    ) -> list[_Found]:
        """The stored statements of the on-topic passages (and of their copies) whose
        words, or their sentence's, touch the topic."""
        copies = measured.copies
        copied = [c for e in on_topic for c in copies.get(e.hit.passage.passage_id, [])]
        extra = self._read(copied)
        stored = {**measured.statements, **extra.statements}
        documents = self.answerer.documents
        found: list[_Found] = []
        for rank, item in enumerate(on_topic):
            passage = item.hit.passage
            for each in [passage, *copies.get(passage.passage_id, [])]:
                document = extra.documents.get(each.doc_id) or documents.document(each.doc_id)
                for statement in stored.get(each.passage_id, []):
                    quote = quote_of(statement, each)
                    if quote and about_topic(measured, item, each, statement, chosen):
                        found.append(_Found(statement, quote, each, document, rank))
        return found

    def _read(self, copies: list[Passage]):
        """The statements and documents of the copies, in one store call."""
        if not copies:
            return ReadResult()
        return self.store.read(
            Reads(
                statements=[p.passage_id for p in copies],
                documents=sorted({p.doc_id for p in copies}),
            )
        )


def about_topic(
    measured: TopicEvidence, item: Evidence, passage: Passage, statement: Statement, chosen: dict
) -> bool:
    """A statement is about the topic when the sentences it overlaps are close enough to
    the topic in meaning, and its words or theirs hold enough of the topic words its
    passage holds (a passage may quote two things, one of them on another subject)."""
    cosine = statement_cosine(passage, statement, measured.cosines)
    if cosine is not None and cosine < chosen["statement_cosine"]:
        return False
    analysis = measured.analysis
    wanted = [t for t in analysis.question.topic_terms if t in item.present]
    if not wanted:
        return True
    quote = quote_of(statement, passage)
    held = set(keywords.tokens(quote)) | set(keywords.tokens(sentence_around(passage, statement)))
    holds = sum(1 for t in wanted if any(f in held for f in analysis.forms.get(t, (t,))))
    return holds >= min(chosen["topic_words_in_statement"], len(wanted))


def statement_cosine(
    passage: Passage, statement: Statement, cosines: dict[int, np.ndarray]
) -> float | None:
    """The best cosine with the topic of the sentences the statement overlaps (None when
    the passage's sentence vectors were not read)."""
    each = cosines.get(passage.passage_id)
    if each is None or len(each) != len(passage.sentences):
        return None
    overlapping = [
        float(cosine)
        for span, cosine in zip(passage.sentences, each, strict=True)
        if span.start < statement.end and statement.start < span.end
    ]
    return max(overlapping, default=None)


def quote_of(statement: Statement, passage: Passage) -> str:
    """The statement's words as the passage holds them ("" when they fall outside it)."""
    start, end = statement.start - passage.start, statement.end - passage.start
    if start < 0 or end > len(passage.text) or end <= start:
        return ""
    return passage.text[start:end]


def sentence_around(passage: Passage, statement: Statement) -> str:
    """The sentences of the passage that the statement overlaps."""
    parts = [
        passage.text[s.start - passage.start : s.end - passage.start]
        for s in passage.sentences
        if s.start < statement.end and statement.start < s.end
    ]
    return " ".join(parts) or passage.text


# -- speakers --------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_QUOTE_CHARS = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def quote_key(quote: str) -> str:
    """Two reports of the same words: the same key (case, spacing, quote marks)."""
    return _SPACE.sub(" ", quote.translate(_QUOTE_CHARS).casefold()).strip(" \"'.,;:")


def name_and_role(speaker: str) -> tuple[str, str | None]:
    """ "Brigadier General Kioumars Heydari, commander of Iran’s Ground Force" ->
    ("Kioumars Heydari", "Brigadier General, commander of Iran’s Ground Force"); an
    office or organisation is its own name ("Azerbaijan’s Ministry of Defense", None)."""
    person = person_name(speaker)
    return person if person is not None else (speaker, None)


def person_name(speaker: str) -> tuple[str, str | None] | None:
    """A person's name and the role around it, or None when the phrase names no person
    (its last words before any apposition are no name)."""
    head, _, apposition = (part.strip() for part in speaker.partition(","))
    words = head.split()
    name_start = len(words)
    while name_start > 0 and _name_word(words[name_start - 1]):
        name_start -= 1
    if name_start == len(words):
        return None
    role = ", ".join(part for part in (" ".join(words[:name_start]), apposition) if part)
    return " ".join(words[name_start:]), role or None


def _name_word(word: str) -> bool:
    """A word of a person's name: capitalised, neither a title, a role nor a country."""
    return word[:1].isupper() and not word.endswith(("’s", "'s")) and bool(speakers.surnames(word))


def _office_key(speaker: str, side: str | None) -> tuple:
    """An office or organisation, however worded: its side and its words' stems
    ("Azerbaijan’s Ministry of Defense" and "Azerbaijan’s Defence Ministry" are one)."""
    words = [w[:5] for w in keywords.content_terms(speaker) if speakers.country_in(w) is None]
    return (side, frozenset(words))


@dataclass
class _Group:
    names: Counter
    roles: list[str]
    sides: Counter
    found: list[_Found]


def _group_key(found: _Found, groups: dict) -> object:
    """The group a statement's speaker belongs to: a person's surname (a spelling
    variant joins the first spelling seen), else the office."""
    person = person_name(found.statement.speaker)
    if person is None:
        return _office_key(found.statement.speaker, found.statement.side)
    surname = speakers.surnames(person[0])[-1]
    for key in groups:
        if isinstance(key, str) and speakers.same_surname(key, surname):
            return key
    return surname


def group_speakers(found: list[_Found]) -> list[SaidSpeaker]:
    """One speaker per person or office, most statements first (then the best-ranked
    passage first); each speaker's statements in date order, the same words reported
    by several outlets merged."""
    groups: dict[object, _Group] = {}
    for item in found:
        key = _group_key(item, groups)
        group = groups.setdefault(key, _Group(Counter(), [], Counter(), []))
        name, role = name_and_role(item.statement.speaker)
        group.names[name] += 1
        if role:
            group.roles.append(role)
        if item.statement.side:
            group.sides[item.statement.side] += 1
        group.found.append(item)
    made = [(_speaker(group), min(f.rank for f in group.found)) for group in groups.values()]
    made.sort(key=lambda pair: (-len(pair[0].statements), pair[1]))
    return [speaker for speaker, _ in made]


def _speaker(group: _Group) -> SaidSpeaker:
    # The spelling most used, the fuller one among equals.
    name = max(group.names, key=lambda n: (group.names[n], len(n.split()), len(n)))
    role = max(group.roles, key=len) if group.roles else None
    side = group.sides.most_common(1)[0][0] if group.sides else speakers.country_in(name)
    return SaidSpeaker(name, role, side, tuple(merged_statements(group.found)))


def merged_statements(found: list[_Found]) -> list[SaidStatement]:
    """One statement per distinct words: the earliest report holds it, the others are
    ``also_in``; in date order, undated last."""
    by_words: dict[str, list[_Found]] = {}
    for item in found:
        by_words.setdefault(quote_key(item.quote), []).append(item)
    statements = []
    for reports in by_words.values():
        unique = {(r.passage.doc_id, r.statement.start): r for r in reports}
        ordered = sorted(unique.values(), key=lambda r: _report_order(r.reported))
        first = ordered[0]
        statements.append(
            SaidStatement(
                quote=first.quote,
                where=first.reported,
                passage=first.passage,
                said_as=first.statement.speaker,
                also_in=tuple(r.reported for r in ordered[1:]),
            )
        )
    return sorted(statements, key=statement_order)


def _report_order(reported: Reported) -> tuple:
    return (reported.published is None, reported.published or "", reported.doc_id, reported.start)
