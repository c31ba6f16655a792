"""Who says what: quotations and reported statements, their speakers, and whom the
speakers speak for.

At index time each citable paragraph is scanned for statements:

* a quotation with its attribution on either side — ``“…,” said Abdullyeva``,
  ``“…,” he said``, ``Heydari told ParsToday that “…”``, ``the Ministry stated “…”``;
* reported speech — ``X said/warned/claimed/denied … that …``, ``according to X, …``.

The speaker is the phrase that does the saying ("Azerbaijan’s State Border Service",
"Azeri Foreign Ministry press manager Leyla Abdullyeva"). Pronouns and bare "the
ministry" / "the statement" take the latest speaker named before them in the same
document. The *side* is the country a speaker speaks for: named in the speaker phrase
("Iranian ground forces commander", "Azerbaijan’s Defence Ministry"), or, for a person,
learnt from how the corpus introduces them ("Iranian Foreign Minister Hossein
Amir-Abdollahian", "Brigadier General Kioumars Heydari, commander of Iran’s Ground
Force"); spelling variants of a surname share what is learnt.

At question time, "what did X say/claim/warn/deny …" is parsed into who X is (a side, a
person, an office) so the answerer can put passages where X or X's side speaks first.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from .keywords import edit_distance, fold

# Countries a speaker may speak for, with the words that name them in news text.
COUNTRIES: dict[str, tuple[str, ...]] = {
    "Azerbaijan": ("azerbaijan", "azerbaijani", "azerbaijanis", "azeri", "azeris", "baku"),
    "Iran": ("iran", "iranian", "iranians", "tehran", "irgc", "revolutionary guard"),
    "Israel": ("israel", "israeli", "israelis", "tel aviv", "jerusalem", "idf"),
    "Armenia": ("armenia", "armenian", "armenians", "yerevan"),
    "Turkey": ("turkey", "turkish", "türkiye", "ankara"),
    "Russia": ("russia", "russian", "moscow", "kremlin"),
    "United States": ("united states", "u.s.", "american", "washington", "pentagon"),
    "United Kingdom": ("united kingdom", "britain", "british", "london"),
    "France": ("france", "french", "paris", "elysee"),
    "Germany": ("germany", "german", "berlin"),
    "China": ("china", "chinese", "beijing"),
    "Ukraine": ("ukraine", "ukrainian", "kyiv"),
    "Georgia": ("georgian", "tbilisi"),
    "Syria": ("syria", "syrian", "damascus"),
    "Iraq": ("iraq", "iraqi", "baghdad"),
    "Pakistan": ("pakistan", "pakistani", "islamabad"),
    "India": ("india", "indian", "new delhi"),
    "Saudi Arabia": ("saudi", "riyadh"),
    "Egypt": ("egypt", "egyptian", "cairo"),
    "Lebanon": ("lebanon", "lebanese", "beirut", "hezbollah"),
}
_COUNTRY_WORD = {word: country for country, words in COUNTRIES.items() for word in words}
_COUNTRY_PATTERN = re.compile(
    r"\b(" + "|".join(sorted((re.escape(w) for w in _COUNTRY_WORD), key=len, reverse=True)) + r")"
    r"(?:['’]s)?\b",
    re.IGNORECASE,
)

SPEECH_VERBS = (
    "said|says|say|stated|states|told|tells|added|adds|warned|warns|claimed|claims|noted"
    "|stressed|stresses|insisted|insists|announced|announces|declared|declares|denied|denies"
    "|accused|accuses|rejected|rejects|replied|replies|responded|responds|wrote|writes"
    "|threatened|threatens|urged|urges|condemned|condemns|lamented|laments|emphasised"
    "|emphasized|addressed|argued|argues|explained|asserted|reiterated"
    "|denounced|called|calling|made the claim"
    "|(?:released|issued) an?(?: [\\w-]+){0,3} (?:statement|warning)"
)
_VERB = rf"(?:{SPEECH_VERBS})"
_OPEN_QUOTE = '“"«'
_QUOTE = r"[“\"«](?P<quote>[^”\"»]{3,}?)[”\"»]"
# A speaker phrase: up to twelve words, no sentence punctuation, not starting a quote.
_PHRASE = r"(?P<speaker>[^.;:!?“”\"«»()]{2,120}?)"

# “…,” said X / “…,” X said
_SPEAKER_ENDS = r"(?=[,.;]|\s+(?:at|in|on|during|while|after|before|to)\b|$)"
_QUOTE_THEN_VERB = re.compile(
    rf"{_QUOTE}[,\s]*\s*{_VERB}\s+{_PHRASE}{_SPEAKER_ENDS}", re.IGNORECASE
)
_QUOTE_THEN_SPEAKER = re.compile(rf"{_QUOTE}[,\s]*\s*{_PHRASE}\s+{_VERB}\b", re.IGNORECASE)
# X said (that) “…” / X said that …
_CLAUSE_START = r"(?:^|[,;]\s+|\b(?:that|when|as|while)\s+)"
_ADVERB = r"(?:also\s+|later\s+|then\s+|on \w+\s+)?"
_SPEAKER_THEN_VERB = re.compile(rf"{_CLAUSE_START}{_PHRASE}\s+{_ADVERB}{_VERB}\b", re.IGNORECASE)
_ACCORDING_TO = re.compile(rf"\baccording to\s+{_PHRASE}(?=[,.;]|$)", re.IGNORECASE)

# Phrases that refer back to a speaker named earlier.
_BACK_REFERENCES = re.compile(
    r"^(?:he|she|they|it|the (?:ministry|statement|spokesperson|spokesman|spokeswoman|"
    r"minister|president|commander|general|leader|official|officials|government|service|"
    r"office|army|military|agency))$",
    re.IGNORECASE,
)
# Leading words that are not part of the speaker ("Earlier today, ...", "In a statement, ...").
_LEADING = re.compile(
    r"^(?:(?:earlier|later|also|and|but|meanwhile|however|then|now|today|yesterday|"
    r"tonight|in regards? to|regarding)\b[\s,]*|"
    r"(?:on|in|at|during|last|earlier|this)\s[^,]{0,40},\s*)+",
    re.IGNORECASE,
)
# Office words that narrow "what did Azerbaijan's foreign ministry say".
OFFICES = (
    "foreign ministry", "defence ministry", "defense ministry", "ministry of defense",
    "ministry of defence", "ministry of foreign affairs", "border service", "president",
    "foreign minister", "supreme leader", "leader", "commander", "army", "ground force",
    "military", "government", "ministry", "analyst", "spokesperson", "spokesman",
)  # fmt: skip
_NAME = re.compile(r"\b[A-Z][a-zA-Z’'\-]+(?:\s+[A-Z][a-zA-Z’'\-]+)*")
_STOP_NAMES = {
    "the", "a", "an", "in", "on", "at", "and", "but", "earlier", "later", "brigadier",
    "general", "colonel", "president", "minister", "foreign", "defence", "defense",
    "supreme", "leader", "senior", "ministry", "state", "border", "service", "press",
    "manager", "commander", "republic", "islamic", "army", "ground", "force", "forces",
    "military", "iranian", "azerbaijani", "azeri", "israeli", "turkish", "russian",
    "news", "agency", "times", "post", "media", "television", "tv", "radio",
}  # fmt: skip
_FUNCTION_WORDS = {"in", "on", "at", "the", "a", "an", "and", "but", "however", "to", "of"}
_PRONOUNS = {"he", "she", "they", "it"}


@dataclass(frozen=True)
class Statement:
    start: int  # absolute offsets of what was said (the quotation, else the sentence)
    end: int
    speaker: str
    side: str | None


def country_in(text: str) -> str | None:
    """The first country a phrase names ("Azerbaijan’s Defence Ministry" -> Azerbaijan)."""
    match = _COUNTRY_PATTERN.search(text)
    return _COUNTRY_WORD[match.group(1).lower()] if match else None


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
    """Spelling variants count (Heydari, Heidari, Hedari)."""
    if a == b:
        return True
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
            country = country_in(match.group()) or country_in(before[-40:]) or country_in(after)
            if country:
                self.votes.setdefault(names[-1], Counter())[country] += 1

    def side_of(self, surname: str) -> str | None:
        tally: Counter = Counter()
        for known, votes in self.votes.items():
            if same_surname(known, surname):
                tally.update(votes)
        return tally.most_common(1)[0][0] if tally else None


def _clean_speaker(phrase: str) -> str:
    phrase = " ".join(phrase.split()).strip(" ,")
    phrase = _LEADING.sub("", phrase).strip(" ,")
    phrase = re.sub(r"^(?:that|who|which)\s+", "", phrase, flags=re.IGNORECASE)
    # "A statement issued on Thursday by Azerbaijan’s Defence Ministry" -> the ministry
    phrase = re.sub(
        r"^(?:an?|the)\s+(?:official\s+|written\s+)?statement\s+(?:issued\s+|released\s+)?"
        r"(?:on\s+\w+\s+|today\s+|yesterday\s+)?by\s+",
        "",
        phrase,
        flags=re.IGNORECASE,
    )
    phrase = re.sub(r"\s+(?:was|were|is|are|has|have|had|also|later)$", "", phrase)
    # The subject is the last clause that starts with a name or "the ...", with any
    # appositions after it ("Kioumars Heydari, commander of Iran’s Ground Force").
    segments = [part.strip() for part in phrase.split(",") if part.strip()]
    start = 0
    for index, segment in enumerate(segments):
        if segment[0].isupper() or segment.lower().startswith("the "):
            start = index
    words = phrase.split()
    if words and words[-1].lower() in _PRONOUNS:
        return words[-1].lower()  # "... when he" -> he
    return ", ".join(segments[start:])


def _plausible(speaker: str) -> bool:
    words = speaker.split()
    if not 1 <= len(words) <= 12:
        return False
    if _BACK_REFERENCES.match(speaker):
        return True
    # A speaker is named: a capitalised word, an office, or a country.
    named = any(w[0].isupper() and w.lower() not in _FUNCTION_WORDS for w in words)
    return bool(
        named or any(office in speaker.lower() for office in OFFICES) or country_in(speaker)
    )


def extract(text: str, spans: list[tuple[int, int]], book: SideBook) -> list[Statement]:
    """Statements in the paragraphs ``spans`` of one document, in reading order."""
    statements: list[Statement] = []
    latest: tuple[str, str | None] | None = None  # the last named speaker and side
    introduced: dict[str, str] = {}  # surname -> the fullest phrase that named them
    for start, end in spans:
        paragraph = text[start:end]
        found: list[tuple[int, int, int, str]] = []  # (order, said start, said end, speaker)
        for pattern in (_QUOTE_THEN_VERB, _QUOTE_THEN_SPEAKER):
            for match in pattern.finditer(paragraph):
                found.append(
                    (
                        match.start(),
                        match.start("quote"),
                        match.end("quote"),
                        match.group("speaker"),
                    )
                )
        for pattern in (_SPEAKER_THEN_VERB, _ACCORDING_TO):
            for match in pattern.finditer(paragraph):
                if any(s <= match.start("speaker") < e for _, s, e, _ in found):
                    continue  # inside a quotation already attributed
                said_start, said_end = _what_was_said(paragraph, match.end())
                found.append((match.start("speaker"), said_start, said_end, match.group("speaker")))
        if not found and latest is not None and paragraph[:1] in _OPEN_QUOTE:
            # A paragraph that is all quotation continues the speaker before it.
            close = max(paragraph.rfind(c) for c in '”"»')
            if close > 1:
                speaker, side = latest
                statements.append(Statement(start + 1, start + close, speaker, side))
            continue
        for _, said_start, said_end, raw in sorted(found):
            speaker = _clean_speaker(raw)
            if not _plausible(speaker):
                continue
            side = country_in(speaker)
            if _BACK_REFERENCES.match(speaker):
                if latest is None:
                    continue
                speaker, side = latest
            else:
                names = surnames(speaker)
                if len(names) == 1:
                    # "Abdullyeva" after "Azeri Foreign Ministry press manager Leyla
                    # Abdullyeva": the full introduction says who she speaks for.
                    fuller = introduced.get(names[0], "")
                    if len(fuller) > len(speaker):
                        speaker = fuller
                    else:
                        introduced[names[0]] = speaker
                side = country_in(speaker)
                for surname in names if side is None else ():
                    side = book.side_of(surname) or side
            latest = (speaker, side)
            statements.append(Statement(start + said_start, start + said_end, speaker, side))
    return _without_overlaps(statements)


def _what_was_said(paragraph: str, after: int) -> tuple[int, int]:
    """After a speech verb: the quotation that follows, else the rest of the sentence."""
    rest = paragraph[after:]
    quote = re.match(rf"[^.{_OPEN_QUOTE}]{{0,80}}?{_QUOTE}", rest)
    if quote:
        return after + quote.start("quote"), after + quote.end("quote")
    stop = re.search(r"[.!?](?:\s|$)", rest)
    end = after + (stop.start() + 1 if stop else len(rest))
    return after + (len(rest) - len(rest.lstrip(" ,:"))), end


def _without_overlaps(statements: list[Statement]) -> list[Statement]:
    kept: list[Statement] = []
    for statement in statements:
        if kept and statement.start < kept[-1].end and statement.speaker == kept[-1].speaker:
            continue
        kept.append(statement)
    return kept


# -- questions ---------------------------------------------------------------------------

_ASKS_WHAT_SAID = re.compile(
    r"^\s*(?:what|how)\s+(?:did|does|do|has|have|had)\s+(?P<who>.+?)\s+"
    r"(?:say|said|claim|warn|deny|state|tell|respond|reply|announce|declare|accuse|"
    r"allege|threaten|argue|insist|stress|think|reply)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SpeakerQuery:
    """Who a "what did X say" question asks about."""

    who: str
    side: str | None  # a country named ("Azerbaijan's foreign ministry" -> Azerbaijan)
    surnames: tuple[str, ...]  # people named
    offices: tuple[str, ...]  # offices named ("foreign ministry")

    def matches(self, speaker: str, side: str | None) -> bool:
        if self.surnames:
            spoken = surnames(speaker)
            return any(same_surname(a, b) for a in self.surnames for b in spoken)
        if self.side is not None and side != self.side:
            return False
        if self.offices:
            lowered = fold(speaker)
            return any(_office_in(office, lowered) for office in self.offices)
        return self.side is not None


def _office_in(office: str, speaker: str) -> bool:
    # "foreign ministry" also matches "Ministry of Foreign Affairs" and "Foreign Minister".
    words = [w.rstrip("y") for w in office.split()]
    return all(w[:6] in speaker for w in words)


def parse_question(question: str) -> SpeakerQuery | None:
    match = _ASKS_WHAT_SAID.match(question)
    if not match:
        return None
    who = match.group("who").strip()
    lowered = fold(who)
    offices = [o for o in OFFICES if o in lowered and o not in ("military", "army")]
    # "foreign ministry" alone, not also every "ministry"
    offices = tuple(o for o in offices if not any(o != other and o in other for other in offices))
    names = tuple(surnames(who))
    side = country_in(who)
    if not (names or side or offices):
        return None
    return SpeakerQuery(who, side, names, offices)
