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


def iter_sentences(
    text: str, start: int, end: int, *, join_wrapped: bool = False
) -> Iterator[tuple[int, int]]:
    """Sentence spans inside ``text[start:end]``. Line breaks end a sentence, unless
    ``join_wrapped``: then a line break inside hard-wrapped prose (see
    :func:`iter_wrapped_lines`) is a space, and a sentence runs on past it."""
    lines = iter_wrapped_lines(text, start, end) if join_wrapped else iter_lines(text, start, end)
    for line_start, line_end in lines:
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


# A line that starts a list item, a heading, a quotation or a table row starts anew,
# however long the line before it.
_OWN_LINE = re.compile(r"[^\S\r\n]*(?:[-*+•>#|]|\d{1,3}[.)])\s")
# Lines of hard-wrapped prose run to near the wrap width; a line much shorter than the
# longest of its paragraph ended where its author ended it (a heading, a list, a verse).
_WRAPPED_SHARE = 0.6
_WRAPPED_MIN_CHARS = 40


def iter_wrapped_lines(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Like :func:`iter_lines`, but lines of hard-wrapped prose come joined: a line at
    least 60% as long as the longest (and 40 characters) runs on into the next, unless
    that one starts a list item, heading, quotation or table row, or the break is a
    lone carriage return."""
    lines = list(iter_lines(text, start, end))
    if not lines:
        return
    longest = max(line_end - line_start for line_start, line_end in lines)
    wide = max(_WRAPPED_MIN_CHARS, _WRAPPED_SHARE * longest)
    run_start, run_end = lines[0]
    before = lines[0]
    for line_start, line_end in lines[1:]:
        wrapped = (
            before[1] - before[0] >= wide
            and "\n" in text[before[1] : line_start]  # a lone \r returns; it wraps nothing
            and not _OWN_LINE.match(text, line_start)
        )
        if not wrapped:
            yield run_start, run_end
            run_start = line_start
        run_end = line_end
        before = (line_start, line_end)
    yield run_start, run_end


def _ends_with_abbreviation(text: str, start: int, dot: int) -> bool:
    word_start = dot
    while word_start > start and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot].lstrip("\"'“‘([").lower()
    # Single letters are initials ("K. Heydari"), not sentence ends.
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())
