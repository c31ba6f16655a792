"""A question's language, told by its function words (no model), and the preference
for passages in it.

Each word of the question that a language's list holds (``data/languages.json``: the
most frequent entries of the Snowball stopword lists, and question words) counts for
that language; a word several languages list ("de", "la", "in") is shared among them.
The best language must lead the runner-up by ``min_margin`` (a word's worth) and
``min_ratio`` times its score, else the question's language is unknown: no passage is
set back for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from functools import cache
from typing import TypeVar

from ..data import load_rules
from ..types import Answer

_WORD = re.compile(r"[^\W\d_]+")
# Enough passages in the question's language (or stating none) among the candidates to
# leave out those stated to be in another: below it, they stay, ranked after.
ENOUGH_SAME_LANGUAGE = 3

H = TypeVar("H")


@cache
def _word_languages() -> dict[str, tuple[str, ...]]:
    """Each function word and the languages that list it."""
    found: dict[str, list[str]] = {}
    for code, entry in load_rules("languages.json")["function_words"].items():
        for word in entry["words"]:
            found.setdefault(word.casefold(), []).append(code)
    return {word: tuple(codes) for word, codes in found.items()}


def scores(text: str) -> dict[str, float]:
    """Each language's share of the text's function words (shared words split)."""
    lists = _word_languages()
    totals: dict[str, float] = {}
    for word in _WORD.findall(text.casefold()):
        codes = lists.get(word, ())
        for code in codes:
            totals[code] = totals.get(code, 0.0) + 1.0 / len(codes)
    return totals


def detect(text: str) -> str | None:
    """The language of a question ("en", "es", ...), or None when no language leads
    clearly (too few function words, or two languages close)."""
    rules = load_rules("languages.json")["detect"]
    ranking = sorted(scores(text).items(), key=lambda item: -item[1])
    if not ranking:
        return None
    best, runner_up = ranking[0][1], ranking[1][1] if len(ranking) > 1 else 0.0
    if best - runner_up < rules["min_margin"] or best < rules["min_ratio"] * runner_up:
        return None
    return ranking[0][0]


def name(code: str) -> str:
    """How a source line names a language ("es" -> "Spanish"; an unlisted code as is)."""
    return load_rules("languages.json")["names"].get(code, code)


def other_language(passage_language: str | None, question_language: str | None) -> str | None:
    """The passage's language when it is stated and is not the question's (known)."""
    if passage_language and question_language and passage_language != question_language:
        return passage_language
    return None


def prefer_language(
    hits: Sequence[H], language: str | None, enough: int = ENOUGH_SAME_LANGUAGE
) -> list[H]:
    """Hits (best first) with those stated to be in another language than ``language``
    left out when at least ``enough`` others remain, else moved after them; as they
    are when the language is unknown. Hits are anything with a ``.passage``."""
    if language is None:
        return list(hits)
    same = [h for h in hits if other_language(h.passage.language, language) is None]
    other = [h for h in hits if other_language(h.passage.language, language) is not None]
    if same and len(same) >= min(enough, len(hits)):
        return same
    return same + other


def with_languages(answer: Answer) -> Answer:
    """The answer with its question's language, and each citation of a passage in
    another language marked so (:attr:`~assistant.types.Citation.other_language`)."""
    language = detect(answer.question)
    citations = tuple(
        replace(c, other_language=other_language(c.passage.language, language))
        for c in answer.citations
    )
    return replace(answer, language=language, citations=citations)
