"""The kind of answer a question expects (money, count, date, person, ...), read from
its wh-word and the noun it asks about. Pure Python: the query path imports no spaCy.

"How much did the bridge cost?" -> money; "How many people died?" -> count; "How long
did the strike last?" -> duration; "What share of voters ...?" -> percentage; "When",
"what year" -> date; "Which country ...?" -> place; "Who will lead ...?" -> person;
"Which party ...?" -> organisation; "the name of the company" -> organisation; "How
tall ...?" -> quantity; anything else -> free.

The word lists are the 'questions' section of ``assistant/data/answer_types.json``.
Measured on the 389 hand-labelled questions of bench/data/news-dev-extra.jsonl with
bench/answer_types.py: 0.869 with the first word lists, 0.956 (372/389; 0.943 of the
265 typed ones) after one revision that read the misread questions and added general
rules only (change verbs, measurement and duration nouns, a head-noun window,
possessive owners). The second figure is optimistic for unseen questions.
"""

from __future__ import annotations

import re
from functools import cache

from ..data import load_rules

FREE = "free"
# How many words after 'which'/'what' may hold the head noun ('which Democratic FCC
# commissioner'); a longer phrase has run on into the verb and its object.
HEAD_WINDOW = 4
_WORD_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?|%")
_WH = ("what", "which", "who", "whom", "whose", "when", "where", "how", "why")
# Words that end the noun phrase after a wh-word: auxiliaries, prepositions, relatives.
_PHRASE_ENDS = frozenset(
    [
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "will",
        "would",
        "can",
        "could",
        "should",
        "has",
        "have",
        "had",
        "of",
        "in",
        "on",
        "at",
        "for",
        "to",
        "from",
        "by",
        "with",
        "about",
        "that",
        "who",
        "which",
        "whose",
        "as",
        "than",
    ]
)
_DETERMINERS = frozenset(
    ["the", "a", "an", "its", "his", "her", "their", "this", "that", "these", "those"]
)
_COPULAS = frozenset(["is", "are", "was", "were", "will", "be", "has", "have", "had"])


@cache
def _lists() -> dict[str, frozenset[str]]:
    section = load_rules("answer_types.json")["questions"]
    return {key: frozenset(value) for key, value in section.items() if isinstance(value, list)}


def _words(question: str) -> list[str]:
    return _WORD_RE.findall(question.lower())


def _forms(word: str) -> tuple[str, ...]:
    """The word and its likely singulars ('countries' -> 'country', 'years' -> 'year')."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    forms = [word]
    if word.endswith("ies"):
        forms.append(word[:-3] + "y")
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s"):
        forms.append(word[:-1])
    return tuple(forms)


def _in(word: str | None, name: str) -> bool:
    return word is not None and any(form in _lists()[name] for form in _forms(word))


def _noun_type(noun: str | None) -> str | None:
    """The answer type a head noun asks for, None when it names none."""
    for name, kind in (
        ("percentage_nouns", "percentage"),
        ("duration_nouns", "duration"),
        ("money_nouns", "money"),
        ("date_nouns", "date"),
        ("count_nouns", "count"),
        ("place_nouns", "place"),
        ("organisation_nouns", "organisation"),
        ("person_nouns", "person"),
        ("quantity_units", "quantity"),
    ):
        if _in(noun, name):
            return kind
    return None


def _noun_phrase(words: list[str], start: int) -> list[str]:
    """The words from ``start`` (determiners skipped) up to an auxiliary, a preposition
    or a relative word: 'what prison sentence did' -> ['prison', 'sentence']."""
    phrase = []
    for word in words[start:]:
        if word in _PHRASE_ENDS:
            break
        if not phrase and word in _DETERMINERS:
            continue
        phrase.append(word)
    return phrase


def _phrase_type(phrase: list[str]) -> str | None:
    """The type the noun phrase asks for. Without a tagger the verb after the subject
    ('which country hosted the cup') is not told from a noun, so the head is the last
    typed word of the first four ('which design firm redesigned' -> 'firm'); a
    possessive owner wins ('which university's researchers' -> the university)."""
    window = phrase[:HEAD_WINDOW]
    if window and window[0].endswith(("'s", "’s")) and (kind := _noun_type(window[0])):
        return kind
    for word in reversed(window):
        kind = _noun_type(word)
        if kind is not None:
            return kind
    return None


def _how_type(words: list[str], at: int) -> str:
    """'how much', 'how many', 'how long', 'how old', 'how tall', ... at ``at``."""
    after = words[at + 1] if at + 1 < len(words) else ""
    following = words[at + 2 : at + 4]
    rest = words[at + 2 :]
    if after in ("much", "far") and any(_in(word, "change_verbs") for word in rest):
        return "percentage"  # 'how much did the economy grow', 'how far had shares fallen'
    if after == "much":
        return _how_much_type(words, at)
    if after == "many":
        if any(_in(word, "time_units") for word in following):
            return "duration"
        if any(_in(word, "quantity_units") for word in following):
            return "quantity"
        return "count"
    if after in ("long", "soon"):
        return "duration"
    if after == "old":
        return "count"  # an age in years
    if after in _lists()["quantity_adjectives"]:
        return "quantity"
    return FREE  # 'how did', 'how often', 'how does'


def _how_much_type(words: list[str], at: int) -> str:
    following = words[at + 2 : at + 4]
    if (at and words[at - 1] == "by") or (following and following[0] == "of"):
        return "percentage"  # 'by how much did prices rise', 'how much of the land'
    if any(_in(word, "quantity_units") for word in following) or any(
        _in(word, "quantity_verbs") for word in words[at + 2 :]
    ):
        return "quantity"  # 'how much weight', 'how much does it weigh'
    return "money"


def _what_type(words: list[str], at: int) -> str:
    """'what/which' + head noun; 'what is the N of'; 'what did it cost'."""
    rest = words[at + 1 :]
    if rest and _in(words[-1], "money_verbs"):
        return "money"  # 'what is the house worth', 'what will the phone cost'
    copula = bool(rest) and rest[0] in _COPULAS
    start = at + 2 if copula else at + 1
    phrase = _noun_phrase(words, start)
    if phrase and _in(phrase[-1], "name_nouns"):
        return _name_type(words, start)
    # After a copula the phrase is the subject, whole: its head is its last word ('what
    # were the club's gross revenues in'); else the head is looked for in a window.
    kind = (_noun_type(phrase[-1]) if copula and phrase else None) or _phrase_type(phrase)
    if kind is not None:
        return kind
    if not phrase and any(_in(word, "money_verbs") for word in rest):
        return "money"  # 'what did the company pay for the start-up'
    return FREE


def _name_type(words: list[str], start: int) -> str:
    """'the name of the company' -> organisation; 'of the man' -> person; default person.
    A name with no 'of' ('what new name did they give the plane') names a thing: free."""
    try:
        of = words.index("of", start)
    except ValueError:
        return FREE
    kind = _phrase_type(_noun_phrase(words, of + 1))
    return kind if kind in ("organisation", "place", "person") else "person"


def expected_answer_type(question: str) -> str:
    """money, count, quantity, percentage, date, duration, person, organisation, place
    or free (anything else: explanations, statements, yes/no)."""
    words = _words(question)
    lists = _lists()
    if "name" in words and "of" in words[words.index("name") :]:
        return _name_type(words, words.index("name"))
    for at, word in enumerate(words):
        if word not in _WH:
            continue
        if word == "how":
            return _how_type(words, at)
        if word in ("what", "which"):
            return _what_type(words, at)
        if word in lists["wh_person"]:
            return "person"
        if word in lists["wh_date"]:
            return "date"
        if word in lists["wh_place"]:
            return "place"
        return FREE  # why
    return FREE
