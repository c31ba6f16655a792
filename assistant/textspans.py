"""Offset-preserving text walking: blocks (paragraphs), lines and sentences.

Every function returns ``(start, end)`` pairs into the text it was given, so callers
can always recover the exact characters with ``text[start:end]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# A blank line: a line break, then any horizontal whitespace, then another line break.
_BLANK_LINE = re.compile(r"\r?\n[^\S\r\n]*(?:\r?\n|\r)|\r[^\S\r\n]*\r")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink a span so it starts and ends on non-whitespace (empty spans stay empty)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def iter_blocks(text: str) -> Iterator[tuple[int, int]]:
    """Paragraph spans: text separated by one or more blank lines, trimmed."""
    position = 0
    for match in _BLANK_LINE.finditer(text):
        start, end = strip_span(text, position, match.start())
        if start < end:
            yield start, end
        position = match.end()
    start, end = strip_span(text, position, len(text))
    if start < end:
        yield start, end


def iter_lines(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Non-empty, trimmed line spans inside ``text[start:end]``."""
    position = start
    for match in _LINE_BREAK.finditer(text, start, end):
        line = strip_span(text, position, match.start())
        if line[0] < line[1]:
            yield line
        position = match.end()
    line = strip_span(text, position, end)
    if line[0] < line[1]:
        yield line


# Words that end with a period without ending a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "gen", "col", "lt", "maj", "capt", "sgt", "adm", "cmdr",
    "st", "jr", "sr", "rev", "gov", "sen", "rep", "pres", "no", "vs", "etc", "inc", "ltd",
    "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "fig", "al", "approx", "dept", "est", "mt", "ft", "u.s", "u.k", "u.n",
    "e.g", "i.e", "a.m", "p.m",
}  # fmt: skip
_SENTENCE_END = re.compile(
    r"[.!?…]+[\"'”’)\]]*(?=\s+[\"'“‘(\[]*[A-Z0-9\u00C0-\u024F\u0400-\u04FF])"
)


def iter_sentences(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Sentence spans inside ``text[start:end]``; line breaks always end a sentence."""
    for line_start, line_end in iter_lines(text, start, end):
        position = line_start
        for match in _SENTENCE_END.finditer(text, line_start, line_end):
            if text[match.start()] == "." and _ends_with_abbreviation(
                text, position, match.start()
            ):
                continue
            sentence = strip_span(text, position, match.end())
            if sentence[0] < sentence[1]:
                yield sentence
            position = match.end()
        sentence = strip_span(text, position, line_end)
        if sentence[0] < sentence[1]:
            yield sentence


def _ends_with_abbreviation(text: str, start: int, dot: int) -> bool:
    word_start = dot
    while word_start > start and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot].lstrip("\"'“‘([").lower()
    # Single letters are initials ("K. Heydari"), not sentence ends.
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())
