"""One reading of a question, made once and used by retrieval, evidence, speakers,
answer types and follow-ups.

It needs nothing but the question's text: what kind of answer is wanted (a date, an
amount, what someone said, who wrote the report), who the speaker asked about is,
which words name the subject (names, numbers, quoted phrases) and which words say
what is asked about it. The word lists it reads are data
(``assistant/data/question_words.json``), each with where it came from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache

from ..data import DATA_DIR
from ..text import keywords

DATA = DATA_DIR / "question_words.json"


@cache
def _words() -> dict[str, list[str]]:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    return {name: [entry["word"] for entry in entries] for name, entries in data["lists"].items()}


def word_list(name: str) -> list[str]:
    """One list of ``question_words.json`` (its words, in file order)."""
    return _words()[name]


def _alternation(name: str) -> str:
    return "|".join(re.escape(w) for w in sorted(word_list(name), key=len, reverse=True))


@cache
def _report_words() -> frozenset[str]:
    """Words that name a report, its writers, its outlet or its filing."""
    return _FILING_WORDS | {
        t
        for list_name in ("author_nouns", "agency_nouns", "report_nouns")
        for w in word_list(list_name)
        for t in keywords.tokens(w)
    }


@cache
def _patterns() -> dict[str, re.Pattern]:
    speech = _alternation("speech_verbs")
    aux = r"(?:did|does|do|has|have|had|was|were|is|are|will|would)"
    report = _alternation("report_nouns")
    return {
        # "What did X say ...", "How did X describe ...", "What worries did X raise ...",
        # "Why did X say ...": X is the speaker asked about.
        "said": re.compile(
            rf"^\s*(?:what|how|why)\b(?:\s+[\w'’-]+){{0,3}}?\s+{aux}\s+(?P<who>.+?)\s+"
            rf"(?P<verb>{speech})\b",
            re.IGNORECASE,
        ),
        # "According to X, ..."
        "according": re.compile(r"^\s*according to\s+(?P<who>[^,?]+?)\s*,", re.IGNORECASE),
        # "..., according to X?" is a fact question with a source, not a speaker question.
        "author": re.compile(
            rf"^\s*(?:who|which\s+(?:{_alternation('author_nouns')}))\s+"
            rf"(?:wrote|reported|filed|authored|penned|covered|bylined|is the author of)\b",
            re.IGNORECASE,
        ),
        "agency": re.compile(
            rf"^\s*(?:which|what)\s+(?:{_alternation('agency_nouns')})\s+"
            rf"(?:filed|reported|published|ran|carried|wrote|broke)\b",
            re.IGNORECASE,
        ),
        "report_date": re.compile(
            rf"^\s*(?:(?:on\s+)?what\s+(?:date|day)|when)\s+(?:was|were|did)\s+.*\b(?:{report})\b"
            rf".*\b(?:filed|published|written|reported|released|posted|dated|run)\b",
            re.IGNORECASE,
        ),
        "when": re.compile(
            r"^\s*(?:when|(?:on|by|in|at|until)?\s*what\s+(?:day|date|year|month|time)"
            r"|at what (?:time|hour)|by when)\b",
            re.IGNORECASE,
        ),
        "amount": re.compile(
            r"^\s*(?:how\s+(?:many|much|long|far|old|big|large|tall|high)"
            r"|(?:to|by)?\s*what\s+(?:range|percentage|share|number|amount|price|rate|level)"
            r"|by how much)\b",
            re.IGNORECASE,
        ),
    }


_FILING_WORDS = frozenset(
    {
        "wrote", "written", "reported", "filed", "authored", "penned", "covered",
        "published", "released", "posted", "dated", "date", "day", "run", "ran",
        "carried", "broke",
    }
)  # fmt: skip
# Where a speaker phrase's head noun ends: "the spokesperson | for Nepal's ...".
_CLAUSE_AFTER_HEAD = re.compile(
    r"\s+(?:who|whom|whose|which|that|of|for|at|in|from|with|on|to)\s+", re.IGNORECASE
)
_CAPITALISED = re.compile(r"^[A-Z\u00C0-\u00DE][\w'’.-]*")
# A quoted phrase opens after a space and closes before one: "Pakistan's" holds no quote.
_QUOTED = re.compile(r"(?:^|(?<=\s))[\"“‘'](?P<quoted>[^\"”’']{3,}?)[\"”’'](?=\W|$)")
_POSSESSIVE_S = re.compile(r"['’]s?$")


@dataclass(frozen=True)
class QuestionAnalysis:
    """What a question asks, read from its words alone."""

    text: str
    terms: tuple[str, ...]  # content terms, in order (keywords.content_terms)
    # "said" (what someone said), "author" (who wrote the report), "agency" (which
    # outlet filed it), "report_date" (when it was filed), "when", "amount", or "other".
    kind: str
    speaker: str | None = None  # "the immigration department's spokesperson"
    speaker_terms: tuple[str, ...] = ()  # its content terms
    subject_terms: tuple[str, ...] = ()  # names, numbers and quoted words: what it is about
    # Words of the question's frame, not of its topic: "describe" in "how did X
    # describe ...", "many" in "how many ...", "wrote" and "article" in "who wrote ...".
    frame_terms: tuple[str, ...] = ()

    @property
    def topic_terms(self) -> tuple[str, ...]:
        """The terms that say what is asked, besides who is asked about and the frame."""
        return tuple(
            t for t in self.terms if t not in self.speaker_terms and t not in self.frame_terms
        )

    @property
    def speaker_core(self) -> tuple[str, ...]:
        """The words that pick the speaker out: the names in the speaker phrase and its
        head noun ("georgia", "minister" in "Georgia's prime minister"; "nottingham",
        "lecturer" in "the Nottingham lecturer who joined the protest")."""
        if not self.speaker:
            return ()
        head_phrase = keywords.content_terms(_CLAUSE_AFTER_HEAD.split(self.speaker, maxsplit=1)[0])
        names = [t for t in head_phrase if t in self.subject_terms]
        return tuple(dict.fromkeys(names + head_phrase[-1:]))

    @property
    def about_report(self) -> bool:
        """Asks about the report itself (its author, outlet or date), not its story."""
        return self.kind in ("author", "agency", "report_date")


def analyze(question: str, max_terms: int = 64) -> QuestionAnalysis:
    text = " ".join(question.split())
    terms = tuple(keywords.content_terms(text)[:max_terms])
    patterns = _patterns()
    kind, speaker, frame = "other", None, ""
    for name in ("author", "agency", "report_date"):
        match = patterns[name].search(text)
        if match:
            # The frame is the report and its filing, not what the report is about.
            kind = name
            frame = " ".join(t for t in keywords.tokens(text) if t in _report_words())
            break
    else:
        said = patterns["said"].search(text) or patterns["according"].search(text)
        if said and keywords.content_terms(said.group("who")):
            speaker = said.group("who").strip()
            frame = said.groupdict().get("verb") or ""
        # "How many ... did X say" asks for an amount; X still names the source.
        for name in ("when", "amount"):
            match = patterns[name].search(text)
            if match:
                kind, frame = name, f"{frame} {match.group()}"
                break
        else:
            if speaker:
                kind = "said"
    speaker_terms = tuple(keywords.content_terms(speaker)) if speaker else ()
    return QuestionAnalysis(
        text=text,
        terms=terms,
        kind=kind,
        speaker=speaker,
        speaker_terms=speaker_terms,
        subject_terms=tuple(t for t in subject_terms(text) if t in terms),
        frame_terms=tuple(t for t in keywords.content_terms(frame) if t not in speaker_terms),
    )


def subject_terms(question: str) -> list[str]:
    """Terms naming what the question is about: capitalised words past the first,
    numbers and quoted phrases. Verbs and common nouns are not subjects, even after a
    possessive ("Heydari's came" is no name)."""
    subject: dict[str, None] = {}
    words = question.split()
    title_case = sum(1 for w in words if _CAPITALISED.match(w)) > 0.6 * len(words)
    for index, word in enumerate(words):
        # The first word is capitalised anyway; so is every word of a Title Case question.
        if index == 0 or title_case or not _CAPITALISED.match(word):
            continue
        for token in keywords.content_terms(_POSSESSIVE_S.sub("", word)):
            subject.setdefault(token, None)
    for token in keywords.content_terms(question):
        if any(ch.isdigit() for ch in token):
            subject.setdefault(token, None)
    for match in _QUOTED.finditer(question):
        for token in keywords.content_terms(match.group("quoted")):
            subject.setdefault(token, None)
    return list(subject)
