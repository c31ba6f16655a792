"""Keyword side: the text normalisation shared by indexing and querying.

SQLite FTS5 (porter stemmer, diacritics removed) does the matching and BM25. Before
text reaches it, both passages and questions go through :func:`normalize`, so that
"132-km", "132 kilometres" and "132-kilometers" all become "132 kilometer".
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable

# Units written short or in British spelling, mapped to one spelling.
_UNIT_WORDS = {
    "km": "kilometer",
    "kms": "kilometer",
    "kilometre": "kilometer",
    "kilometres": "kilometer",
    "kilometers": "kilometer",
    "sq": "square",
    "metre": "meter",
    "metres": "meter",
    "kg": "kilogram",
    "kgs": "kilogram",
    "kilogrammes": "kilogram",
    "mln": "million",
    "bln": "billion",
    "bn": "billion",
    "pct": "percent",
    "%": "percent",
}
_NUMBER_UNIT = re.compile(r"(\d)([a-z%]+)\b")
_TOKEN = re.compile(r"[^\W_]+|%", re.UNICODE)

STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can could did didn't do does doesn't doing
    don't down during each either else ever few for from further had has have having he her
    here hers herself him himself his how i if in into is isn't it its itself just let me
    more most much must my myself no nor not now of off on once only or other ought our ours
    ourselves out over own per same say said says she should so some such than that the
    their theirs them themselves then there these they this those through to too under until
    up upon us very was we were what when where whether which while who whom whose why will
    with within without would you your yours yourself yourselves according really tell told
    claim claimed claims accord
    """.split()  # noqa: SIM905 (a word list reads best as text)
)


class _DigitTable(dict):
    """For str.translate: any decimal digit (Persian, Arabic-Indic, Devanagari, ...) to
    0-9, other characters unchanged; filled in as characters are met."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        self[code] = value = str(unicodedata.decimal(char)) if char.isdecimal() else char
        return value


_DIGITS = _DigitTable()


def fold(text: str) -> str:
    """Lowercase, compatibility-normalised, without diacritics, digits of any script
    as ASCII digits ("۱۳۲" and "१३२" are 132)."""
    if text.isascii():
        return text.lower()  # the common case, and NFKD cannot change ASCII
    text = unicodedata.normalize("NFKD", text.casefold()).translate(_DIGITS)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def tokens(text: str) -> list[str]:
    """Normalised word tokens, units unified; numbers stay as they are written."""
    folded = _NUMBER_UNIT.sub(r"\1 \2", fold(text))
    return [_UNIT_WORDS.get(token, token) for token in _TOKEN.findall(folded)]


def normalize(text: str) -> str:
    """The form stored in FTS5 and searched with: tokens joined by spaces."""
    return " ".join(tokens(text))


def content_terms(question: str) -> list[str]:
    """The question's words that carry meaning, in order, without repeats."""
    seen: dict[str, None] = {}
    for token in tokens(question):
        if token not in STOP_WORDS and (len(token) > 1 or token.isdigit()):
            seen.setdefault(token, None)
    return list(seen)


def frequent_title_words(titles: Iterable[str | None], count: int = 3) -> list[str]:
    """The words most titles share, most shared first, spelled as the titles spell them:
    what a collection is about in a few words (``["Azerbaijan", "Iran", "border"]``).

    A word counts once per title; stop words, numbers and one-letter words do not
    count. Words in as many titles keep the order in which they first appear.
    """
    titles_with: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for title in titles:
        counted: set[str] = set()
        for written in _TOKEN.findall(title or ""):
            found = tokens(written)
            if len(found) != 1:  # "132km": a number and a unit, not a word
                continue
            word = found[0]
            if word in STOP_WORDS or len(word) < 2 or not word.isalpha():
                continue
            spellings.setdefault(word, Counter())[written] += 1
            if word not in counted:
                counted.add(word)
                titles_with[word] += 1
    ranked = sorted(titles_with, key=lambda word: -titles_with[word])  # stable for ties
    return [spellings[word].most_common(1)[0][0] for word in ranked[:count]]


def fts_query(terms: list[str]) -> str | None:
    """An FTS5 query matching any of the terms (BM25 ranks those with more and rarer ones)."""
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms if term]
    return " OR ".join(quoted) if quoted else None


def deletion_keys(term: str, depth: int) -> set[str]:
    """The term and every string made by deleting up to ``depth`` characters from it."""
    keys = {term}
    frontier = {term}
    for _ in range(depth):
        frontier = {word[:i] + word[i + 1 :] for word in frontier for i in range(len(word))}
        keys |= frontier
    return keys


def variant_depth(term: str) -> int:
    """How many edits a spelling variant of this name may be away (0: none sought)."""
    if not term.isalpha() or len(term) < 5:
        return 0
    return 2 if len(term) >= 7 else 1


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


_NAME = re.compile(r"\b[A-Z\u00C0-\u00DE][^\W\d_]{4,}")


def names_in(text: str) -> set[str]:
    """Folded capitalised words: the names whose spelling variants a search should find."""
    return {fold(match.group()) for match in _NAME.finditer(text)}
