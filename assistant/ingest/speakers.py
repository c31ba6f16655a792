"""Who says what: quotations and reported statements, their speakers, and whom the
speakers speak for.

With ``statements_of(..., parse=True)`` the index stores the statements of spaCy's
parse (:mod:`assistant.ingest.nlp`: the
speech verb, its subject, the quotation or the clause of reported speech, pronouns and
descriptions resolved to the nearest compatible name), turned into speakers here
(:func:`statements`: the fullest phrase that introduced a name, its side), and the
hand-written patterns below (:func:`extract`) only for quotations the parse attributes
nothing over
(:func:`with_pattern_quotations`; bench/data/said-dev.jsonl, figures in BENCHMARKS.md).
By default the index still stores the patterns' statements: the answerer's weights
were fitted on them. What the patterns do:

* a quotation with its attribution on either side — ``“…,” said Abdullyeva``,
  ``“…,” he said``, ``Heydari told ParsToday that “…”``, ``the Ministry stated “…”``;
* reported speech — ``X said/warned/claimed/denied … that …``, ``according to X, …``;
* a paragraph that is all quotation: the speaker before it, or the person the paragraph
  before it introduced ("Transnet pipelines executive Russell Bradbrooke has
  reservations about the project.").

The speaker is a name, a role or an organisation ("Azerbaijan’s State Border Service",
"Azeri Foreign Ministry press manager Leyla Abdullyeva", "a sheriff’s spokeswoman"),
never a clause: datelines ("WASHINGTON —"), leading clauses ("When asked about X,"),
trailing adverbs ("has previously"), relative clauses (", who …") are cut off, and a
phrase that starts with a preposition or holds a verb is no speaker. Pronouns and
descriptions (a determiner and up to three words, no proper name: "she", "the
56-year-old", "the Republican governor", "the company") refer back: a description of a
person takes the nearest person named before it in the same document, "the company" /
"the ministry" the nearest organisation, else the latest speaker.

The *side* is the country a speaker speaks for: named in the speaker phrase ("Iranian
ground forces commander", "Azerbaijan’s Defence Ministry"), or, for a person, learnt
from how the corpus introduces them ("Iranian Foreign Minister Hossein
Amir-Abdollahian", "Brigadier General Kioumars Heydari, commander of Iran’s Ground
Force"); spelling variants of a surname share what is learnt. Countries, their names,
demonyms and capitals are in ``data/countries.json``; role, organisation and document
words in ``data/speakers.json``.

At question time, "what did X say/claim/warn/deny …" is parsed into who X is (a side, a
person, an office) so the answerer can put passages where X or X's side speaks first.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from ..data import DATA_DIR
from ..text.keywords import edit_distance, fold
from ..types import Statement  # stored with the passages; defined with the other value types

if TYPE_CHECKING:
    from .nlp import Attribution

_DATA = DATA_DIR


def _load(name: str) -> dict:
    return json.loads((_DATA / name).read_text(encoding="utf-8"))


# -- countries ---------------------------------------------------------------------------

_COUNTRY_DATA = _load("countries.json")


def _key(word: str) -> str:
    return " ".join(word.replace("’", "'").split()).lower()


def _country_words() -> tuple[dict[str, tuple[str, ...]], dict[str, str], dict[str, str | None]]:
    left_out = {_key(word) for word in _COUNTRY_DATA["left_out"]}
    countries: dict[str, tuple[str, ...]] = {}
    capitals: dict[str, str] = {}
    words: dict[str, str | None] = {}
    for entry in _COUNTRY_DATA["countries"]:
        name = entry["name"]
        capitals[name] = entry["capital"]
        names = [name, *entry["aliases"], *entry["demonyms"], entry["capital"]]
        names += entry.get("capital_aliases", [])
        names += [
            word for word, country in _COUNTRY_DATA["institutions"].items() if country == name
        ]
        kept = tuple(dict.fromkeys(n for n in names if _key(n) not in left_out))
        countries[name] = kept
        for word in kept:
            words.setdefault(_key(word), name)
    for phrase in _COUNTRY_DATA["not_countries"]:
        words[_key(phrase)] = None
    return countries, capitals, words


# Countries a speaker may speak for: canonical name -> the words that name it in news.
COUNTRIES, CAPITALS, _COUNTRY_WORD = _country_words()
_CAPITALISED_ONLY = {_key(word) for word in _COUNTRY_DATA["capitalised_only"]}


def _country_pattern(strict: bool) -> re.Pattern[str]:
    spellings: dict[str, str] = {}
    for country_words in COUNTRIES.values():
        for word in country_words:
            spellings.setdefault(_key(word), word)
    for phrase in _COUNTRY_DATA["not_countries"]:
        spellings.setdefault(_key(phrase), phrase)
    alternatives = []
    for key, word in sorted(spellings.items(), key=lambda item: -len(item[0])):
        body = r"\s+".join(re.escape(part) for part in word.split()).replace("'", "['’]")
        if strict and key in _CAPITALISED_ONLY:
            alternatives.append(f"(?-i:{body}|{body.upper()})")
        else:
            alternatives.append(body)
    return re.compile(
        r"(?<![\w.])(?P<word>" + "|".join(alternatives) + r")s?(?:['’]s?)?(?![\w])", re.IGNORECASE
    )


_COUNTRY_PATTERN = _country_pattern(strict=True)
_COUNTRY_PATTERN_ANY_CASE = _country_pattern(strict=False)


def country_in(text: str) -> str | None:
    """The first country a phrase names ("Azerbaijan’s Defence Ministry" -> Azerbaijan).

    Words that are also common lowercase words ("china", "turkey") count only when
    capitalised, unless the text is one single word (a question's term)."""
    pattern = _COUNTRY_PATTERN_ANY_CASE if len(text.split()) == 1 else _COUNTRY_PATTERN
    for match in pattern.finditer(text):
        country = _COUNTRY_WORD.get(_key(match.group("word")))
        if country is not None:
            return country
    return None


# -- words of speakers -------------------------------------------------------------------

_SPEAKER_DATA = _load("speakers.json")
_OFFICE_HOLDERS = frozenset(_SPEAKER_DATA["person_roles"]["office_holders"])
_PERSON_NOUNS = _OFFICE_HOLDERS | frozenset(_SPEAKER_DATA["person_roles"]["people"])
_ORGANISATIONS = frozenset(_SPEAKER_DATA["organisations"]["words"])
_DOCUMENTS = frozenset(_SPEAKER_DATA["documents"]["words"])
_AFFILIATIONS = frozenset(_SPEAKER_DATA["affiliations"]["words"])
_ORGANISATION_NAMES = frozenset(_SPEAKER_DATA["organisation_names"]["words"])
_TITLES = _SPEAKER_DATA["titles"]

# Office words that narrow "what did Azerbaijan's foreign ministry say".
OFFICES = tuple(
    dict.fromkeys(
        [
            *_SPEAKER_DATA["offices"]["words"],
            *(w for w in _SPEAKER_DATA["person_roles"]["office_holders"] if len(w) >= 5),
            *(w for w in _SPEAKER_DATA["organisations"]["words"] if len(w) >= 5),
        ]
    )
)

SPEECH_VERBS = (
    'said|says|say|stated|states(?=\\s+that\\b|[,:]?\\s*[“"])|told|tells|added|adds|warned|warns|claimed|claims|noted'
    "|stressed|stresses|insisted|insists|announced|announces|declared|declares|denied|denies"
    "|accused|accuses|rejected|rejects|replied|replies|responded|responds|wrote|writes"
    "|threatened|threatens|urged|urges|condemned|condemns|lamented|laments|emphasised"
    "|emphasized|addressed|argued|argues|explained|asserted|reiterated"
    "|denounced|called|calling|made the claim"
    "|(?:released|issued) an?(?: [\\w-]+){0,3} (?:statement|warning)"
)
# Speech verbs are lowercase: "the United States said" is not "the United" + "states".
_VERB = rf"(?-i:{SPEECH_VERBS})"
_OPEN_QUOTE = '“"«'
_QUOTE = r"[“\"«](?P<quote>[^”\"»]{3,}?)[”\"»]"
# A speaker phrase: no sentence punctuation, not starting a quote. Full stops of
# abbreviations ("Rep.", "U.S.", "K. Heydari") are masked before matching.
_PHRASE = r"(?P<speaker>[^.;:!?“”\"«»()]{2,120}?)"
_MASK = "\u2024"  # ONE DOT LEADER stands for an abbreviation's full stop while matching

# “…,” said X / “…,” X said
_SPEAKER_ENDS = r"(?=[,.;(—–]|\s+(?:at|in|on|during|while|after|before|to)\b|$)"
_QUOTE_THEN_VERB = re.compile(
    rf"{_QUOTE}[,\s]*\s*{_VERB}\s+{_PHRASE}{_SPEAKER_ENDS}", re.IGNORECASE
)
_QUOTE_THEN_SPEAKER = re.compile(rf"{_QUOTE}[,\s]*\s*{_PHRASE}\s+{_VERB}\b", re.IGNORECASE)
# X said (that) “…” / X said that …
_CLAUSE_START = (
    r"(?:^|[,;]\s+|\b(?:that|when|as|while)\s+|\)\s*[-—–]+\s+"
    r"|(?:(?<=[.!?])|(?<=[.!?][”\"’]))\s+)"
)
_ADVERB = r"(?:also\s+|later\s+|then\s+|on \w+\s+)?"
_SPEAKER_THEN_VERB = re.compile(rf"{_CLAUSE_START}{_PHRASE}\s+{_ADVERB}{_VERB}\b", re.IGNORECASE)
_ACCORDING_TO = re.compile(rf"\baccording to\s+{_PHRASE}(?=[,.;—–]|\s-\s|$)", re.IGNORECASE)

_MONTHS_AND_DAYS = {
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday",
}  # fmt: skip
_STOP_NAMES = {
    "the", "a", "an", "in", "on", "at", "and", "but", "earlier", "later", "brigadier",
    "general", "colonel", "president", "minister", "foreign", "defence", "defense",
    "supreme", "leader", "senior", "ministry", "state", "border", "service", "press",
    "manager", "commander", "republic", "islamic", "army", "ground", "force", "forces",
    "military", "news", "agency", "times", "post", "media", "television", "tv", "radio",
    "national", "federal", "central", "royal", "united", "deputy", "former", "acting", "vice",
    "assistant", "associate", "interim", "prime", "chief", "executive", "secretary",
    "affairs", "interior", "finance", "health", "justice", "office", "department",
    *_MONTHS_AND_DAYS, *_TITLES["before_names"], *_OFFICE_HOLDERS, *_ORGANISATIONS,
    "for", "with", "from", "by", "as", "if", "when", "while", "after", "before", "this",
    "that", "these", "those", "he", "she", "they", "it", "we", "i", "you", "his", "her",
    "their", "our", "its", "what", "how", "why", "who", "there", "here", "so", "or", "of",
    "other", "others", "another", "many", "some", "several", "most", "all", "both", "local",
    "two", "three", "four", "one", "each", "every", "few", "no",
}  # fmt: skip
_NAME = re.compile(r"\b[A-Z][a-zA-Z’'\-]+(?:\s+[A-Z][a-zA-Z’'\-]+)*")
_FUNCTION_WORDS = {
    "in", "on", "at", "the", "a", "an", "and", "but", "however", "to", "of", "or", "for",
    "with", "from", "by", "as", "than", "so", "nor", "yet", "into", "about", "its", "his",
    "her", "their", "our", "my", "your",
}  # fmt: skip
_PRONOUNS = {"he", "she", "they", "it"}
_NOT_SPEAKERS = {
    "i", "we", "you", "me", "us", "one", "who", "which", "there", "this", "that", "many",
    "some", "several", "others", "all", "both", "few", "most", "someone", "everyone",
    "anyone", "nobody", "somebody", "everybody", "none",
}  # fmt: skip
_DETERMINERS = {"the", "this", "that", "these", "those"}
# A phrase starting with one of these is no speaker ("of Chinese steel", "even within").
_BAD_FIRST = {
    "of", "to", "for", "with", "from", "by", "about", "within", "into", "onto", "than",
    "through", "under", "over", "between", "among", "against", "without", "via", "per",
    "like", "unlike", "despite", "including", "across", "around", "near", "toward",
    "towards", "upon", "even", "just", "only", "not", "during", "at", "in", "on", "so",
    "what", "how", "why", "whether", "if", "because", "although", "though", "is", "are",
    "was", "were", "has", "have", "had", "be", "been", "it's", "its", "speaking",
    "talking", "writing", "asked", "responding", "commenting", "referring", "citing",
    "noting", "following", "reacting", "testifying", "addressing", "explaining", "reports",
    "appearing", "describing", "adding", "saying", "calling", "telling", "warning",
    "insisting", "arguing", "claiming", "announcing", "stating", "thanks", "according",
    "countering",
}  # fmt: skip
# Words that show a phrase is a clause, not a speaker.
_CLAUSE_WORDS = {
    "is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "do", "does",
    "did", "will", "would", "can", "could", "should", "may", "might", "must", "not",
    "that", "which", "there", "it's", "he's", "she's", "i'm", "we're", "they're", "isn't",
    "wasn't", "don't", "doesn't", "didn't", "won't", "can't", "if", "because",
    "although", "though", "whether", "but", "i", "we", "you", "there's", "here's",
    "what's", "that's", "who's", "it'll", "he'd", "she'd", "they'd", "aren't", "weren't",
}  # fmt: skip
# Words a phrase may end on that belong to the verb, not the speaker ("Trump first",
# "Sars commissioner Edward Kieswetter has previously").
_TRAILING = {
    "has", "have", "had", "was", "were", "is", "are", "would", "will", "could", "should",
    "can", "may", "might", "must", "also", "later", "first", "further", "then", "again",
    "once", "all", "both", "only", "still", "even", "never", "since", "now", "already",
    "too", "just", "earlier", "himself", "herself", "themselves", "itself", "yet", "often",
    "today", "yesterday", "tonight", "not", "previously", "initially", "recently",
    "reportedly", "repeatedly", "publicly", "privately", "separately", "together",
}  # fmt: skip
_NOT_ADVERBS = {"family", "ally", "assembly", "rally", "supply", "daily", "weekly", "italy"}
# Leading words that are not part of the speaker ("Earlier today, ...", "In a statement, ...").
_LEADING = re.compile(
    r"^(?:(?:earlier|later|also|and|but|or|so|meanwhile|however|then|now|today|yesterday|"
    r"tonight|in regards? to|regarding|where|whereas|while|when|as|after|before|since|once|"
    r"(?:last|this|next|earlier|later)\s+(?:week|month|year|weekend|night|morning|\w+day)|"
    r"luckily|fortunately|unfortunately|shortly|finally|additionally|importantly|notably|"
    r"ultimately|currently|similarly|specifically|clearly|obviously|interestingly|"
    r"surprisingly|initially|previously|recently|"
    r"though|although|because|if|instead|still|yet|indeed|moreover|furthermore|separately|"
    r"(?:here|this|that)['’]s\s+(?:how|what|why|where|when)|\w+ly\s+(?:after|before|when))"
    r"\b[\s,]*|(?:said|says|say|adds|added|told|tells)\s+(?=[A-Z]))+",
    re.IGNORECASE,
)
# A dateline before the story: "WASHINGTON —", "KATHMANDU, April 25 (Reuters) -".
_DATELINE = re.compile(
    r"^[A-Z][A-Z.’'/ -]{2,}(?:,\s*[A-Z][a-z]+\.?(?:\s+\d{1,2})?)?\s*(?:\([^)]*\))?\s*[—–-]+\s*"
)
# What follows a speaker but is not part of them: "… in a statement", ", published on …".
_RELATIVE = re.compile(r",?\s+(?:who|whom|whose|which)\b.*$")
_TAIL = re.compile(
    r"(?:\s+(?:in|at|during|on|while|after|before|from)\s+(?:a|an|the|his|her|their|its)\s"
    r"|\s+(?:last|this|next|earlier|later)\s+(?:week|month|year|\w+day)\b"
    r"|,?\s+(?:published|released|issued|sent|obtained|seen|posted|dated|chaired|joined|"
    r"led|run|owned|founded|based|speaking|writing|citing|quoted|cited|reached)\s).*$"
)
_SUBORDINATE = re.compile(r"\s+(?:when|while|as|because|since|after|before|if|where|that)\s+")
_AGE = re.compile(r"^\d{1,3}$")
_AGED = re.compile(r"^\d+-(?:year|month)-old$")
_PASSIVE = re.compile(r"\b(?:was|were|is|are|be|been|being|get|gets|got)\s*$", re.IGNORECASE)


def surnames(phrase: str) -> list[str]:
    """Folded surnames of the people a phrase names ("Kioumars Heydari" -> ["heydari"])."""
    found = []
    for match in _NAME.finditer(phrase):
        words = [w for w in re.split(r"\s+", match.group()) if fold(w) not in _STOP_NAMES]
        words = [w for w in words if country_in(w) is None]
        if words:
            found.append(fold(re.sub(r"['’]s$", "", words[-1])))
    return found


def same_surname(a: str, b: str) -> bool:
    """Spelling variants count (Heydari, Heidari, Hedari); a variant keeps the first two
    letters, and a short name must be spelt alike (Fox is not For, Amer is not Amor).
    A part of a compound surname counts too (Abdullahian, Amir-Abdollahian)."""
    if a == b:
        return True
    if "-" in a or "-" in b:
        return any(
            same_surname(x, y)
            for x in a.split("-")
            for y in b.split("-")
            if len(x) > 4 and len(y) > 4
        )
    if min(len(a), len(b)) <= 4 or a[:2] != b[:2]:
        return False
    limit = 1 if min(len(a), len(b)) <= 5 else 2
    return abs(len(a) - len(b)) <= limit and edit_distance(a, b) <= limit


class SideBook:
    """Whom each person speaks for, learnt from how the corpus introduces them."""

    WINDOW = 60  # characters around a name where its country is looked for

    def __init__(self) -> None:
        self.votes: dict[str, Counter] = {}

    def learn(self, text: str) -> None:
        for match in _NAME.finditer(text):
            names = surnames(match.group())
            if not names:
                continue
            before = text[max(0, match.start() - self.WINDOW) : match.start()]
            before = re.split(r"[.;!?”\"]", before)[-1]  # same sentence, not a quote
            after = text[match.end() : match.end() + self.WINDOW]
            after = after[1:].split(",")[0] if after.startswith(",") else ""
            country = country_in(match.group()) or _introducing_country(before) or country_in(after)
            if country:
                self.votes.setdefault(names[-1], Counter())[country] += 1

    def side_of(self, surname: str) -> str | None:
        tally: Counter = Counter()
        for known, votes in self.votes.items():
            if same_surname(known, surname):
                tally.update(votes)
        return tally.most_common(1)[0][0] if tally else None


def _introducing_country(before: str) -> str | None:
    """The country in the words that lead up to a name ("Senior Iranian military commander
    ", "Azerbaijan’s president, "), not in another clause ("French President Emmanuel
    Macron and ")."""
    for match in _COUNTRY_PATTERN.finditer(before):
        country = _COUNTRY_WORD.get(_key(match.group("word")))
        if country is None:
            continue
        leading = re.findall(r"[\w’'\-]+", before[: match.start()])[-2:]
        if any(w.lower() in _OBJECT_OF for w in leading):
            continue  # "Palestinian Ambassador to the Netherlands, Ammar Hijazi"
        between = re.findall(r"[\w’'\-]+", before[match.end() :])
        if all(
            w[0].isupper() or w.lower() in _PERSON_NOUNS or w.lower() in _MODIFIERS for w in between
        ) and not any(w.lower() in ("and", "or", "with", "by") for w in between):
            return country
    return None


_OBJECT_OF = {"to", "in", "from", "with", "at", "against", "into", "toward", "towards", "for"}
_MODIFIERS = {
    "the", "of", "to", "former", "senior", "deputy", "acting", "chief", "top", "military",
    "foreign", "defence", "defense", "state", "national", "federal", "ground", "forces",
    "force", "press", "affairs", "interior", "border", "new", "then", "current", "longtime",
    "veteran", "prime", "vice", "assistant", "associate", "interim", "leading",
    *_ORGANISATIONS, *_AFFILIATIONS,
}  # fmt: skip


# -- speaker phrases ---------------------------------------------------------------------

# Titles are capitalised ("Rep.", "Dr.", "Inc."); initials and acronyms are capitals.
_ABBREVIATION = re.compile(
    r"\b(?:(?:" + "|".join(t.capitalize() for t in _TITLES["before_names"]) + r")\.(?=\s+[A-Z])"
    r"|(?:" + "|".join(t.capitalize() for t in _TITLES["after_names"]) + r")\.(?=[,;:)]|\s+[a-z])"
    r"|(?:[A-Z]\.){2,}"
    r"|[A-Z]\.(?=\s+[A-Z]))"
)


def _mask(paragraph: str) -> str:
    """The paragraph with abbreviations' full stops masked (same length, same offsets)."""

    def masked(match: re.Match[str]) -> str:
        return match.group().replace(".", _MASK)

    return _ABBREVIATION.sub(masked, paragraph)


def _words(phrase: str) -> list[str]:
    return [w.strip("’'") for w in phrase.replace("’", "'").split()]


def _is_person_noun(word: str) -> bool:
    word = re.sub(r"['’]s?$", "", word.lower())
    return (
        word in _PERSON_NOUNS
        or (word.endswith("s") and word[:-1] in _PERSON_NOUNS)
        or (word.endswith("men") and word[:-3] + "man" in _PERSON_NOUNS)
        or bool(_AGED.match(word))
    )


def _is_organisation(word: str) -> bool:
    word = re.sub(r"['’]s?$", "", word.lower())
    return word in _ORGANISATIONS


def _clause_like(phrase: str) -> bool:
    words = _words(phrase)
    lowered = [w.lower() for w in words]
    if any(w in _CLAUSE_WORDS for w in lowered):
        return True
    # An infinitive: "Managers came outside to monitor the rally".
    if re.search(r"\bto\s+(?!(?:the|a|an|his|her|their|its|our)\b)[a-z]", phrase):
        return True
    # A past-tense verb after a name or noun: "Ailes videotaped", "Trump allies suggested".
    for previous, word in pairwise(words):
        if (
            re.fullmatch(r"[a-z]{2,}ed", word)
            and word != "aged"
            and not _is_person_noun(word)
            and previous.lower() not in _DETERMINERS | _FUNCTION_WORDS | {"a", "an"}
            and not previous.lower().endswith("ly")
        ):
            return True
    return False


def _leading_clause(segment: str) -> bool:
    """A segment before the subject: "When asked about X", "In a company email …"."""
    first = segment.split()[0].lower()
    if not any(
        w[:1].isupper() or _is_person_noun(w) or _is_organisation(w) for w in segment.split()
    ):
        return True  # "a bit higher than gas and hydropower, the economist"
    return (
        first in _BAD_FIRST
        or bool(re.fullmatch(r"[a-z]+ly", segment.split()[0]))
        or segment.split()[-1].lower() in _FUNCTION_WORDS
        or first in ("when", "while", "after", "before", "as", "since", "earlier", "later")
        or bool(re.fullmatch(r"[a-z]+(?:ing|ed)", segment.split()[0]))
        or _clause_like(segment)
    )


def _name_like(segment: str) -> bool:
    """A segment that could name a speaker: short, its lowercase words roles and the
    like ("Kyiv resident Svitlana Onofryichuk"), not "the war over X took place"."""
    words = segment.split()
    if len(words) > 10 or _clause_like(segment):
        return False
    unknown = [
        w
        for w in words
        if w[:1].islower()
        and w.lower() not in _FUNCTION_WORDS | _DETERMINERS | _MODIFIERS
        and not (_is_person_noun(w) or _is_organisation(w))
    ]
    return len(unknown) <= (2 if len(unknown) < len(words) - 1 else 0)


def _apposition(segment: str) -> bool:
    """Words after a comma that still describe the speaker ("commander of Iran’s Ground
    Force", "a chemistry researcher at DonNU")."""
    words = segment.split()
    first = words[0].lower()
    if first in _BAD_FIRST or re.fullmatch(r"[a-z]+(?:ing|ed)", words[0]) or _clause_like(segment):
        return False
    return first in ("a", "an", "the") or any(
        _is_person_noun(w) or _is_organisation(w) for w in words[:4]
    )


def _trim(phrase: str) -> str:
    """Without words at either end that belong to the clause, not the speaker."""
    phrase = _LEADING.sub("", phrase).strip(" ,'‘’")
    words = phrase.split()
    while words:
        last = words[-1].lower().strip(",")
        if last in _TRAILING or (
            re.fullmatch(r"[a-z]{3,}ly", words[-1]) and last not in _NOT_ADVERBS
        ):
            words.pop()
        else:
            break
    return " ".join(words).strip(" ,")


def _clean_speaker(phrase: str) -> str:
    """The speaker a raw phrase names: its subject and the appositions that say who
    that is, without datelines, asides and the clauses around them."""
    segments = _subject_segments(_without_asides(phrase))
    if not segments:
        return ""
    speaker = _trim(", ".join(_with_appositions(segments)))
    words = speaker.split()
    if words and words[-1].lower() in _PRONOUNS:
        return words[-1].lower()  # "... when he" -> he
    return speaker


def _without_asides(phrase: str) -> str:
    """The phrase on one line, without a dateline, an aside after a dash, a leading
    relative pronoun, "a statement issued by" and relative clauses."""
    phrase = " ".join(phrase.replace(_MASK, ".").split()).strip(" ,")
    phrase = _DATELINE.sub("", phrase)
    # A dash opens an aside: "a Fox executive — seemed to …", "Judy Laterza — who …"
    phrase = re.split(r"\s+[—–-]+\s+|\s*[—–]\s*", phrase)[0].strip(" ,")
    phrase = re.sub(r"^(?:that|who|which)\s+", "", phrase, flags=re.IGNORECASE)
    # "A statement issued on Thursday by Azerbaijan’s Defence Ministry" -> the ministry
    phrase = re.sub(
        r"^(?:an?|the)\s+(?:official\s+|written\s+)?statement\s+(?:issued\s+|released\s+)?"
        r"(?:on\s+\w+\s+|today\s+|yesterday\s+)?by\s+",
        "",
        phrase,
        flags=re.IGNORECASE,
    )
    return _RELATIVE.sub("", phrase)


def _subject_segments(phrase: str) -> list[str]:
    """The phrase's comma-separated parts from its subject on: the first clause that
    is not an adverbial ("When asked about X, a spokeswoman"), with any appositions
    after it ("Kioumars Heydari, commander of …")."""
    segments = [_trim(_TAIL.sub("", part)) for part in phrase.split(",")]
    segments = [part for part in segments if part and not _AGE.match(part)]
    # "…, but Valencia’s mayor, María José Catalá, said": the role before the name
    # says who the person is; the conjunction belongs to the clause.
    segments = [re.sub(r"^(?:but|and|yet|so)\s+", "", part) for part in segments]
    while len(segments) > 1 and _leading_clause(segments[0]):
        segments.pop(0)
        # "In an interview with EFE, a Spanish news agency, Aliyev said"
        while len(segments) > 1 and segments[0].split()[0].lower() in ("a", "an", "the"):
            segments.pop(0)
    # "Last year when the war … took place between A and B, Iranian officials said"
    while len(segments) > 1 and not _name_like(segments[0]) and _name_like(segments[1]):
        segments.pop(0)
    return segments


def _with_appositions(segments: list[str]) -> list[str]:
    """The subject, the name after a role ("the mayor, María José Catalá") and the
    appositions that follow; an age is left out ("Jamil Al Saadouni, 58")."""
    kept = [segments[0]]
    if len(segments) > 1 and _role_then_name(segments[0], segments[1]):
        kept.append(segments[1])
    for segment in segments[len(kept) :]:
        if _AGE.match(segment):
            continue  # "Jamil Al Saadouni, 58"
        if not _apposition(segment):
            break
        kept.append(segment)
    return kept


def _role_then_name(role: str, name: str) -> bool:
    """A role and then, set off by commas, the person holding it: "Valencia’s mayor,
    María José Catalá", "the company’s chief executive, Jane Fraser"."""
    words = role.split()
    return (
        len(words) <= 5
        and _is_person_noun(words[-1])
        and not _clause_like(role)
        and bool(_PERSON_NAME.fullmatch(name))
    )


def _speaker_of(raw: str) -> str | None:
    """The speaker a raw phrase before or after a speech verb names, if it names one."""
    # "It was hard not to be moved when the minister", "Aisha as she holds a maize"
    parts = _SUBORDINATE.split(raw)
    for part in (parts[-1], parts[0], raw) if len(parts) > 1 else (raw,):
        cleaned = _clean_speaker(part)
        if _plausible(cleaned):
            return cleaned
    return None


def _reference(speaker: str) -> str | None:
    """Whom a pronoun or description refers back to: "person", "organisation", "any"
    (the latest speaker), "none" (a document: no speaker); None when it names someone."""
    lowered = speaker.lower()
    if lowered in ("he", "she"):
        return "person"
    if lowered == "they":
        return "any"
    if lowered == "it":
        return "organisation"
    words = speaker.split()
    if not 2 <= len(words) <= 4 or words[0].lower() not in _DETERMINERS:
        return None
    if not all(_describes(word) for word in words[1:]):
        return None  # a proper name: "the Ministry of Foreign Affairs", "the Fed"
    return _reference_of_description(words)


def _describes(word: str) -> bool:
    """Whether a word after "the" describes (a role, an affiliation, a country, any
    lowercase word) rather than names: "the Iranian foreign minister"."""
    plain = re.sub(r"['’]s?$", "", word)
    return (
        plain.islower()
        or plain[:1].isdigit()
        or _is_person_noun(plain)
        or _is_organisation(plain)
        or plain.lower() in _AFFILIATIONS
        or plain.lower() in _TITLES["before_names"]
        or country_in(plain) is not None
    )


def _reference_of_description(words: list[str]) -> str | None:
    """What "the ..." refers back to, by its last word (see _reference)."""
    head = re.sub(r"['’]s?$", "", words[-1]).lower()
    if head == "statement":
        return "any"
    if head in _DOCUMENTS:
        return "none"
    if _is_organisation(head):
        if any(country_in(w) for w in words[1:]):
            return None  # "the Azeri government" says whose it is
        return "organisation"
    if head.endswith("s") and not _AGED.match(head) and head not in ("officials",):
        return None  # a group speaks for itself: "the residents", "the protesters"
    return "person"


def _plausible(speaker: str) -> bool:
    """Whether a phrase before or after a speech verb can be its speaker."""
    words = speaker.split()
    if not 1 <= len(words) <= 12:
        return False
    if speaker.lower() in _NOT_SPEAKERS:
        return False
    reference = _reference(speaker)
    if reference is not None:
        return reference != "none"
    head = speaker.split(",")[0]
    if _bad_edges(words) or _clause_like(head) or _lowercase_lead_without_role(words, head):
        return False
    if _unowned_document(head):
        return False
    return _names_someone(speaker, words)


def _bad_edges(words: list[str]) -> bool:
    """A phrase that starts or ends as no speaker does: "he takes office", "Counting
    her fingers", one that ends in "of" or "the"."""
    lowered = [w.lower().replace("’", "'") for w in words]
    first = lowered[0]
    if first in _BAD_FIRST or re.fullmatch(r"[a-z]+(?:ing|ed)", words[0]):
        return True
    if first in _PRONOUNS:
        return True  # "he takes office"
    if re.fullmatch(r"[A-Z][a-z]+ing", words[0]) and len(words) > 1 and words[1].islower():
        return True  # "Counting her fingers"
    return lowered[-1] in _FUNCTION_WORDS or lowered[-1] in _DETERMINERS


_QUANTIFIERS = ("a", "an", "one", "another", "some", "several", "two", "three", "many")


def _lowercase_lead_without_role(words: list[str], head: str) -> bool:
    """Lowercase words before a name hold a role ("fisheries bureau spokesman Nazario
    Briguera"); without one they are the end of a clause ("describes Harris better")."""
    first = words[0].lower().replace("’", "'")
    if not words[0].islower() or first in (*_QUANTIFIERS, *_DETERMINERS):
        return False
    leading = [w for w in head.split() if w[:1].islower()]
    capital = next((i for i, w in enumerate(head.split()) if w[:1].isupper()), None)
    if capital is not None:
        leading = head.split()[:capital]
    return not any(_is_person_noun(w) or _is_organisation(w) for w in leading)


def _unowned_document(head: str) -> bool:
    """A document speaks only with its owner named: "TNO's report", not "a report into …"."""
    noun = re.split(r"\s+(?:of|into|on|about|from|for|at|in|by|with)\s+", head)[0].split()[-1]
    return noun.lower() in _DOCUMENTS and not any(w[0].isupper() for w in head.split()[1:])


def _names_someone(speaker: str, words: list[str]) -> bool:
    """A capitalised name (not a month or day), a person or organisation noun, or a
    country: something that can speak."""
    named = any(
        w[0].isupper()
        and w.lower() not in _FUNCTION_WORDS
        and w.lower().strip("'’s") not in _MONTHS_AND_DAYS
        for w in words
    )
    return bool(
        named
        or any(_is_person_noun(w) or _is_organisation(w) for w in words)
        or country_in(speaker)
    )


def _kind(speaker: str) -> str:
    """Whether a named speaker is a "person", an "organisation" or "unknown"."""
    head = re.sub(r"\s+of\s.*$", "", speaker.split(",")[0])
    words = head.split()
    last = re.sub(r"['’]s?$", "", words[-1]) if words else ""
    if _is_person_noun(last) or re.match(r"(?:mr|mrs|ms|dr)\b", head.lower()):
        return "person"
    if (
        _is_organisation(last)
        or last.lower().rstrip(".") in _ORGANISATION_NAMES
        or re.fullmatch(r"[A-Z]{2,6}", last)
    ):
        return "organisation"
    # "Pakistan", "Pakistan’s military"; a surname after a country is a person.
    if (
        country_in(head) is not None
        and len(words) <= 2
        and not any(_is_person_noun(w) for w in words)
        and not re.search(r"['’]s?\s+[A-Z]", head)
    ):
        return "organisation"
    names = [
        w for w in words if w[0].isupper() and fold(w) not in _STOP_NAMES and country_in(w) is None
    ]
    if len(names) >= 2 or (names and any(_is_person_noun(w) for w in words)):
        return "person"
    return "unknown"


# A person introduced in narrative: a role and a name ("Transnet pipelines executive
# Russell Bradbrooke"), a name and an age ("Jane Doe, 56,") or a role apposition ("Jane
# Doe, a teacher").
_PERSON_NAME = re.compile(
    r"(?P<name>[A-Z][\w’'\-]+(?:\s+(?:[A-Z][\w’'\-]+|[A-Z]" + _MASK + r"|(?:van|von|de|da|del|"
    r"der|bin|al|el|le|la|du|dos|di)(?=\s+[A-Z])))*\s+[A-Z][\w’'\-]+)"
    r"(?P<after>,\s*\d{1,3}\s*,|,\s*(?:a|an|the)\s+(?:[\w’'\-]+\s+){0,3}[\w’'\-]+)?"
)


def _people_introduced(paragraph: str) -> list[tuple[int, str]]:
    """(offset, phrase) of the people a paragraph introduces, outside its quotations."""
    if not re.search(r"[.!?][”\"’']?\s*$", paragraph.strip()):
        return []  # a heading or caption introduces nobody
    outside = re.sub(_QUOTE, lambda m: " " * len(m.group()), paragraph)
    people = []
    for match in _PERSON_NAME.finditer(outside):
        words = match.group("name").split()
        if not _could_be_a_person(words):
            continue
        before = outside[: match.start()].rsplit(",", 1)[-1].rsplit(".", 1)[-1].split()
        titled = any(_is_person_noun(w) for w in words[:-2])
        role = bool(before) and _is_person_noun(before[-1])
        after = match.group("after") or ""
        described = bool(_AGE.match(after.strip(" ,"))) or (
            after and _is_person_noun(after.split()[-1])
        )
        if not (titled or role or described):
            continue
        phrase = [*_role_words(before), *words] if role else words
        people.append((match.start(), _trim(" ".join(phrase).replace(_MASK, "."))))
    return people


def _could_be_a_person(words: list[str]) -> bool:
    """A capitalised run that is no organisation, date or country: "Jane Doe"."""
    if any(
        _is_organisation(w) or w.lower() in _MONTHS_AND_DAYS or w.lower() in _FUNCTION_WORDS
        for w in words
    ):
        return False
    return country_in(words[-1]) is None


def _role_words(before: list[str]) -> list[str]:
    """The role before a name and what qualifies it ("Transnet pipelines executive"),
    walking back from the name to the first word that is not part of it."""
    role: list[str] = []
    for word in reversed(before[-6:]):
        lowered = word.lower()
        if (
            lowered in _FUNCTION_WORDS
            or lowered in _CLAUSE_WORDS
            or lowered in _DETERMINERS
            or (re.fullmatch(r"[a-z]+(?:ed|ing)", word) and not _is_person_noun(word))
        ):
            break
        role.insert(0, word)
    return role


# -- statements from the parse ---------------------------------------------------------


@dataclass(frozen=True)
class ParsedPassage:
    """One parsed paragraph of a document: where it starts in the document's text, its
    text, and the parse's attributions (offsets into the paragraph's text)."""

    start: int
    text: str
    attributions: Sequence[Attribution]


def parsed_extract(text: str, spans: list[tuple[int, int]], book: SideBook) -> list[Statement]:
    """Statements in the paragraphs ``spans`` of one document, from spaCy's parse of
    those that may hold one (:func:`assistant.ingest.nlp.to_parse`)."""
    from . import nlp

    chosen = [spans[i] for i in nlp.to_parse([text[start:end] for start, end in spans])]
    docs = nlp.parse([text[start:end] for start, end in chosen])
    return from_parse(text, chosen, docs, book)


def from_parse(text: str, spans: list[tuple[int, int]], docs: Sequence, book: SideBook):
    """The statements of one document's parsed paragraphs ``spans`` (``docs``, their
    parses, in the same order)."""
    from . import nlp

    found = nlp.attributions_of(docs)
    passages = [
        ParsedPassage(start, text[start:end], said)
        for (start, end), said in zip(spans, found, strict=True)
    ]
    return statements(passages, book)


# A quotation of fewer words is a term or a scare quote ('called the plan "reckless"'),
# as the parse's attribution holds (nlp.MIN_CONTINUED_WORDS).
MIN_QUOTED_WORDS = 3


def with_pattern_quotations(
    parsed: list[Statement], text: str, spans: list[tuple[int, int]], book: SideBook
) -> list[Statement]:
    """The parse's statements, and the quotations the hand-written patterns
    (:func:`extract`) attribute where the parse attributes nothing over them. Kept
    because it measures better: on bench/data/said-dev.jsonl the patterns' quotations
    add 18 gold quotes with the right speaker that the parse misses (all-quotation
    paragraphs after an introduction, quotations whose verb the parser misreads):
    speaker recall 0.699 -> 0.712, precision 0.724 -> 0.718. Their reported speech
    does not (it adds narrative subjects: precision falls)."""
    by_patterns = [
        found
        for found in extract(text, spans, book)
        if text[found.start - 1 : found.start] in _OPEN_QUOTE
        and len(text[found.start : found.end].split()) >= MIN_QUOTED_WORDS
        and not any(p.start < found.end and found.start < p.end for p in parsed)
    ]
    return sorted([*parsed, *by_patterns], key=lambda found: (found.start, -found.end))


def statements(passages: Sequence[ParsedPassage], book: SideBook) -> list[Statement]:
    """The statements of one document's parsed passages (in reading order, as they
    were parsed: an attribution's antecedent is an index into them), with absolute
    offsets, speakers under their fullest phrase, and their sides."""
    introduced: dict[str, str] = {}  # surname -> the fullest phrase that named them
    found: list[Statement] = []
    for passage in passages:
        _learn_introductions(passage.text, introduced)
        for said in passage.attributions:
            speaker = _speaker(said, passage, passages, introduced)
            if speaker is None:
                continue
            start, end = passage.start + said.quote_start, passage.start + said.quote_end
            found.append(with_side(Statement(start, end, speaker, None), book))
    return _without_overlaps(sorted(found, key=lambda s: (s.start, -s.end)))


def _says_whose(description: str) -> bool:
    """Whether a description the parse could not resolve to a name still says whom it
    speaks for: a country ("Ukraine’s state emergency service", "Iranian officials")
    or a name after its first word ("Bank of Montreal’s managing director"). Those that
    do not ("analysts", "a reporter", "Local authorities") identify no speaker."""
    later = description.split()[1:]
    return country_in(description) is not None or any(word[:1].isupper() for word in later)


def _learn_introductions(text: str, introduced: dict[str, str]) -> None:
    """The people a paragraph introduces with a role ("Azeri Foreign Ministry press
    manager Leyla Abdullyeva responded"), under their surname, so that a later
    "Abdullyeva said" is stored under the whole introduction."""
    for _, phrase in _people_introduced(_mask(text)):
        names = surnames(phrase)
        if names and len(phrase) > len(introduced.get(names[-1], "")):
            introduced[names[-1]] = phrase


def with_side(statement: Statement, book: SideBook) -> Statement:
    """A statement with its side: a country its speaker phrase names, else the one the
    corpus introduces that surname with."""
    names = surnames(statement.speaker)
    side = country_in(statement.speaker) or (book.side_of(names[-1]) if names else None)
    return Statement(statement.start, statement.end, statement.speaker, side)


def _with_role(text: str, start: int, name: str) -> str:
    """The name at ``text[start:]`` with the role written just before it, when there is
    one ("Mayor Anna Lindqvist", "Senior Iranian military commander Kioumars Heidari")."""
    before = re.split(r"[,.;:!?()“”\"«»—–]", text[:start])[-1].split()
    if not before or not _is_person_noun(before[-1]):
        return name
    return " ".join([*_role_words(before), name])


_UNSPEAKING = _NOT_SPEAKERS | _PRONOUNS | {"i", "it"}


def _speaker(
    said: Attribution,
    passage: ParsedPassage,
    passages: Sequence[ParsedPassage],
    introduced: dict[str, str],
) -> str | None:
    """Who an attribution's words are stored under: a name with its role and the
    fullest introduction of that surname in the document; an unresolved description
    as written ("a company spokesperson", "officials"); None for a pronoun that found
    no name, or a subject that is no speaker ("it", "the report")."""
    if said.speaker is None:
        written = passage.text[said.speaker_start : said.speaker_end].strip()
        words = written.lower().split()
        if not words or written.lower() in _UNSPEAKING or words[-1] in _DOCUMENTS:
            return None
        return written if _says_whose(written) else None
    if said.antecedent is not None:
        index, start, _ = said.antecedent
        phrase = _with_role(passages[index].text, start, said.speaker)
    elif said.speaker_start < said.speaker_end:
        phrase = _with_role(passage.text, said.speaker_start, said.speaker)
    else:  # a quotation continued from the previous paragraph's speaker
        phrase = said.speaker
    names = surnames(phrase)
    if not names:
        return phrase
    fuller = introduced.get(names[-1], "")
    if said.speaker_type == "person" or len(names) == 1:
        if len(fuller) > len(phrase) and phrase in fuller:
            return fuller
        if len(phrase) >= len(fuller):
            introduced[names[-1]] = phrase
    return fuller if len(fuller) > len(phrase) and said.speaker in fuller else phrase


@dataclass
class _Named:
    """A speaker (or a person introduced) named in the document so far."""

    at: int  # absolute offset
    speaker: str
    side: str | None
    kind: str  # "person", "organisation", "unknown"


def _resolve(reference: str, speaker: str, before: list[_Named]) -> _Named | None:
    """The named speaker a pronoun or description refers back to."""
    side = country_in(speaker) if reference != "any" else None
    candidates = [n for n in before if side is None or n.side == side]
    if not candidates:
        return None
    if reference == "any":
        return candidates[-1]
    for kinds in ((reference,), ("unknown",)):
        for named in reversed(candidates):
            if named.kind in kinds:
                return named
    return candidates[-1]


def extract(text: str, spans: list[tuple[int, int]], book: SideBook) -> list[Statement]:
    """Statements in the paragraphs ``spans`` of one document, in reading order."""
    attributor = _Attributor(book)
    for start, end in spans:
        attributor.read(text, start, end)
    return _without_overlaps(attributor.statements)


class _Attributor:
    """Who says what in one document, paragraph by paragraph: what one paragraph
    tells about the people in the next (who spoke last, who was introduced)."""

    def __init__(self, book: SideBook) -> None:
        self.book = book
        self.statements: list[Statement] = []
        self.named: list[_Named] = []  # speakers and people introduced, in reading order
        self.latest: _Named | None = None  # the last speaker
        self.introduced: dict[str, str] = {}  # surname -> the fullest phrase that named them
        self.newcomer: _Named | None = None  # a person the previous paragraph introduced

    def full(self, speaker: str, at: int) -> _Named:
        """The speaker at ``at``, under the fullest phrase that introduced them."""
        names = surnames(speaker)
        if names:
            # "Abdullyeva" after "Azeri Foreign Ministry press manager Leyla Abdullyeva":
            # the full introduction says who she speaks for.
            fuller = self.introduced.get(names[-1], "") if len(names) == 1 else ""
            if len(fuller) > len(speaker):
                speaker = fuller
            elif len(names) == 1 or _kind(speaker) == "person":
                self.introduced[names[-1]] = speaker
        # The person is named last: "Clinton campaign chairman John Podesta".
        side = country_in(speaker) or (self.book.side_of(names[-1]) if names else None)
        return _Named(at, speaker, side, _kind(speaker))

    def read(self, text: str, start: int, end: int) -> None:
        """The statements of the paragraph ``text[start:end]``."""
        paragraph = _mask(text[start:end])
        found = _attributions(paragraph)
        # People the paragraph introduces, other than those who speak in it.
        spoken = {name for *_, raw in found for name in surnames(raw)}
        people = [
            self.full(phrase, start + at)
            for at, phrase in _people_introduced(paragraph)
            if not set(surnames(phrase)) & spoken
        ]
        if not found and paragraph[:1] in _OPEN_QUOTE:
            self._continue_quotation(paragraph, start)
            return
        said_before = len(self.statements)
        for order, said_start, said_end, raw in sorted(found):
            current = self._speaker_at(raw, start + order, people)
            if current is None:
                continue
            self.named.append(current)
            self.latest = current
            self.statements.append(
                Statement(start + said_start, start + said_end, current.speaker, current.side)
            )
        self.named.extend(people)
        self.named.sort(key=lambda n: n.at)
        quoted = len(self.statements) > said_before
        self.newcomer = people[-1] if people and not quoted else None

    def _continue_quotation(self, paragraph: str, start: int) -> None:
        """A paragraph that is all quotation continues the speaker before it, or quotes
        the person the paragraph before introduced."""
        speaker = self.newcomer or self.latest
        close = max(paragraph.rfind(c) for c in '”"»')
        if close == -1:
            # A quotation that goes on into the next paragraph is left open: news
            # style reopens it there and closes it only at its end.
            close = len(paragraph.rstrip())
        if speaker is not None and close > 1:
            self.statements.append(
                Statement(start + 1, start + close, speaker.speaker, speaker.side)
            )
            self.latest = speaker
            self.newcomer = None

    def _speaker_at(self, raw: str, at: int, people: list[_Named]) -> _Named | None:
        """Who the raw phrase at ``at`` names, a pronoun or description resolved to the
        person or organisation named before it; None when it names no speaker."""
        speaker = _speaker_of(raw)
        if speaker is None:
            return None
        reference = _reference(speaker)
        if reference is None:
            return self.full(speaker, at)
        before = sorted([*self.named, *(p for p in people if p.at < at)], key=lambda n: n.at)
        resolved = _resolve(reference, speaker, before)
        if resolved is None:
            if reference != "person" or country_in(speaker) is None:
                return None
            resolved = self.full(speaker, at)  # "the Iranian minister", no one before
        return _Named(at, resolved.speaker, resolved.side, resolved.kind)


def _attributions(paragraph: str) -> list[tuple[int, int, int, str]]:
    """(order, said start, said end, raw speaker) of each attribution in a paragraph:
    quotations followed by their speaker, then speakers followed by what they said."""
    found = [
        (match.start(), match.start("quote"), match.end("quote"), match.group("speaker"))
        for pattern in (_QUOTE_THEN_VERB, _QUOTE_THEN_SPEAKER)
        for match in pattern.finditer(paragraph)
    ]
    for pattern in (_SPEAKER_THEN_VERB, _ACCORDING_TO):
        for match in pattern.finditer(paragraph):
            if any(s <= match.start("speaker") < e for _, s, e, _ in found):
                continue  # inside a quotation already attributed
            if pattern is _SPEAKER_THEN_VERB and _PASSIVE.search(match.group("speaker")):
                continue  # "employees were told": they did not speak
            said_start, said_end = _said_by(paragraph, match)
            found.append((match.start("speaker"), said_start, said_end, match.group("speaker")))
    return found


def _said_by(paragraph: str, match: re.Match) -> tuple[int, int]:
    """What the speaker of ``match`` said: after the verb, else the sentence before."""
    said_start, said_end = _what_was_said(paragraph, match.end())
    if re.search(r"\w", paragraph[said_start:said_end]):
        return said_start, said_end
    # "…, analysts said.": what was said comes before the speaker.
    sentence = re.split(r"(?<=[.!?])\s+", paragraph[: match.start("speaker")])
    said_end = match.start("speaker") - len(sentence[-1]) + len(sentence[-1].rstrip(" ,"))
    return said_end - len(sentence[-1].rstrip(" ,")), said_end


def _what_was_said(paragraph: str, after: int) -> tuple[int, int]:
    """After a speech verb: the quotation that follows, else the rest of the sentence."""
    skipped = re.match(rf",?\s*{_VERB}\b", paragraph[after:])  # "…, who led X states, said"
    after += skipped.end() if skipped else 0
    rest = paragraph[after:]
    quote = re.match(rf"[^.{_OPEN_QUOTE}]{{0,80}}?{_QUOTE}", rest)
    if quote:
        return after + quote.start("quote"), after + quote.end("quote")
    stop = re.search(r"[.!?](?:\s|$)", rest)
    end = after + (stop.start() + 1 if stop else len(rest))
    return after + (len(rest) - len(rest.lstrip(" ,:"))), end


def _without_overlaps(found: list[Statement]) -> list[Statement]:
    """One statement per stretch and speaker: a quotation inside the clause of the same
    speaker's reported speech is kept once, as the longer span first met."""
    kept: list[Statement] = []
    for statement in found:
        if any(k.speaker == statement.speaker and k.start <= statement.start < k.end for k in kept):
            continue
        kept.append(statement)
    return kept


# -- questions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeakerQuery:
    """Who a "what did X say" question asks about."""

    who: str
    side: str | None  # a country named ("Azerbaijan's foreign ministry" -> Azerbaijan)
    surnames: tuple[str, ...]  # people named
    offices: tuple[str, ...]  # offices named ("foreign ministry")
    # Whom the role belongs to, when not a country: "Transnet" in "Transnet's pipelines
    # executive", "TD Economics" in "TD Economics' senior economist" (folded words).
    owners: tuple[str, ...] = ()

    def matches(self, speaker: str, side: str | None) -> bool:
        if self.surnames:
            spoken = surnames(speaker)
            return any(same_surname(a, b) for a in self.surnames for b in spoken)
        if self.side is not None and side != self.side:
            return False
        lowered = fold(speaker)
        if self.owners and not all(re.search(rf"\b{re.escape(o)}", lowered) for o in self.owners):
            return False
        if self.offices:
            return any(_office_in(office, lowered) for office in self.offices)
        return self.side is not None or bool(self.owners)


def _office_in(office: str, speaker: str) -> bool:
    # "foreign ministry" also matches "Ministry of Foreign Affairs" and "Foreign Minister".
    words = [w.rstrip("y") for w in office.split()]
    return all(w[:6] in speaker for w in words)


def parse_question(question: str) -> SpeakerQuery | None:
    """Who a question asks about (see :func:`speaker_query`), from its text."""
    from ..query.question import analyze

    return speaker_query(analyze(question).speaker)


def speaker_query(who: str | None) -> SpeakerQuery | None:
    """The speaker the question's one reading (:mod:`assistant.query.question`) found, with
    the side, surnames and offices it names."""
    if who is None:
        return None
    lowered = fold(who)
    offices = [o for o in OFFICES if o in lowered and o not in ("military", "army")]
    # "foreign ministry" alone, not also every "ministry"
    offices = tuple(o for o in offices if not any(o != other and o in other for other in offices))
    side = country_in(who)
    owner, role = _owner_and_role(who)
    owners: tuple[str, ...] = ()
    if owner and offices and not surnames(role):
        # "Alabama's attorney general": Alabama is whose office it is, not a person.
        owners = tuple(
            w
            for w in re.findall(r"\w+", fold(owner))
            if w not in _STOP_NAMES and country_in(w) is None
        )
        names: tuple[str, ...] = ()
    else:
        names = tuple(surnames(who))
    if not (names or side or offices):
        return None
    return SpeakerQuery(who, side, names, offices, owners)


def _owner_and_role(who: str) -> tuple[str, str]:
    """ "Transnet's pipelines executive" -> ("Transnet", "pipelines executive");
    ("", who) when no one owns the role."""
    match = re.match(r"^(?P<owner>.*?[A-Z][\w.&-]*)(?:['’]s|(?<=s)['’])\s+(?P<role>\S.*)$", who)
    return (match["owner"], match["role"]) if match else ("", who)
