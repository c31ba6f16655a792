"""Boilerplate: page furniture that must never be cited as an answer.

Three kinds are recognised: known furniture lines ("Sign up for our Newsletter",
"Print Friendly, PDF & Email", "Skip to content"), teasers of other stories (a
cut-off blurb ending in "..." and the headline above it, "READ: ..." links), and
menus (several short lines with no sentence in them). Once a page's furniture
starts ("More News", "Related", a newsletter box), short lines after it are furniture too.
"""

from __future__ import annotations

import re

from .metadata import SITE_SLOGANS

_FURNITURE = [
    r"sign up (?:for|to) .*",
    r"subscribe(?: to| now| for)?.*",
    r"print friendly(?:, pdf (?:&|and) email)?",
    r"skip to (?:main )?content",
    r"more (?:news|stories)",
    r"related(?: articles| stories| posts| news)?:?",
    r"(?:also )?read(?: more| also)?:.*",
    r"read more.*",
    r"advertisement",
    r"share(?: this(?: article)?)?(?: on \w+)?:?",
    r"follow us(?: on .*)?",
    r"guest writer",
    r"send (?:us )?your (?:videos|photos|tips).*",
    r"(?:copyright|©).*",
    r"all rights reserved.*",
    r"click here.*",
    r"leave a (?:comment|reply)",
    r"(?:previous|next) (?:article|post|story)",
]
_FURNITURE_LINE = re.compile(r"^(?:" + "|".join(_FURNITURE) + r")$", re.IGNORECASE)
# These open the tail of a page: what follows is furniture unless it is real prose.
_TAIL_OPENERS = re.compile(
    r"^(?:more (?:news|stories)|related.*|sign up.*|print friendly.*|skip to.*|read more.*)$",
    re.IGNORECASE,
)
_TEASER_END = re.compile(r"(?:\.\.\.|…)[\"'”’]?$")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")
# A teaser is a blurb: a sentence or two cut off. A long paragraph ending in "..." is a
# text that was cut short (an abstract, an excerpt) and is still worth citing.
TEASER_MAX_WORDS = 60


def is_furniture_line(line: str) -> bool:
    line = line.strip()
    return bool(_FURNITURE_LINE.match(line)) or line.lower().rstrip(".!") in SITE_SLOGANS


def _is_menu(lines: list[str]) -> bool:
    return len(lines) >= 2 and all(
        len(line.split()) <= 8 and not _SENTENCE_END.search(line) for line in lines
    )


def _words(lines: list[str]) -> int:
    return sum(len(line.split()) for line in lines)


def _is_short(lines: list[str]) -> bool:
    return _words(lines) < 15


def _is_headline(lines: list[str]) -> bool:
    return len(lines) == 1 and len(lines[0].split()) <= 20 and not _SENTENCE_END.search(lines[0])


def mark(paragraphs: list[list[str]]) -> list[bool]:
    """For each paragraph (given as its lines), whether it is boilerplate."""
    flags = [False] * len(paragraphs)
    in_tail = False
    for index, lines in enumerate(paragraphs):
        if any(is_furniture_line(line) for line in lines) and (_is_short(lines) or _is_menu(lines)):
            flags[index] = True
            in_tail = in_tail or any(_TAIL_OPENERS.match(line.strip()) for line in lines)
            continue
        if _TEASER_END.search(lines[-1].strip()) and _words(lines) <= TEASER_MAX_WORDS:
            flags[index] = True
            # The headline right above a teaser belongs to the same teaser.
            if index > 0 and _is_headline(paragraphs[index - 1]):
                flags[index - 1] = True
            continue
        if _is_menu(lines) or (
            in_tail and _is_short(lines) and not _SENTENCE_END.search(lines[-1])
        ):
            flags[index] = True
    return flags
