"""Keyword side: the text normalisation shared by indexing and querying.

SQLite FTS5 (porter stemmer, diacritics removed) does the matching and BM25. Before
text reaches it, both passages and questions go through :func:`normalize`, so that
"132-km", "132 kilometres" and "132-kilometers" all become "132 kilometer".
"""

from __future__ import annotations

import re
import unicodedata

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
    """a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can could did didn't do does doesn't doing
    don't down during each either else ever few for from further had has have having he her
    here hers herself him himself his how i if in into is isn't it its itself just let me
    more most much must my myself no nor not now of off on once only or other ought our ours
    ourselves out over own per same say said says she should so some such than that the their
    theirs them themselves then there these they this those through to too under until up
    upon us very was we were what when where whether which while who whom whose why will
    with within without would you your yours yourself yourselves according really tell told
    claim claimed claims accord""".split()
)
# Words that make a question but never its subject.
QUESTION_WORDS = frozenset("what who whom whose when where why how which".split())


def fold(text: str) -> str:
    """Lowercase, compatibility-normalised, without diacritics."""
    text = unicodedata.normalize("NFKD", text.casefold())
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


def fts_query(terms: list[str]) -> str | None:
    """An FTS5 query matching any of the terms (BM25 ranks those with more and rarer ones)."""
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms if term]
    return " OR ".join(quoted) if quoted else None
