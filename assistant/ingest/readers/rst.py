"""reStructuredText, read as it is written (the text is the file, like Markdown).

The rules under and over section titles ("=====") are no passages; the document title
(the first section title) and the bibliographic fields under it (":Author:",
":Date:") are the document's head.
"""

from __future__ import annotations

import re

from ...types import SourceDocument
from ..metadata import set_metadata_field

# A line of one punctuation character, repeated: an over- or underline.
_ADORNMENT = re.compile(r"([!-/:-@\[-`{-~])\1{2,}[ \t]*")
_FIELD = re.compile(r":(?P<key>[A-Za-z][\w -]*):[ \t]+(?P<value>\S.*?)[ \t]*")


def _lines(text: str) -> list[tuple[int, int]]:
    """Every line's span, without its line break."""
    spans = []
    offset = 0
    for line in text.splitlines(keepends=True):
        spans.append((offset, offset + len(line.rstrip("\r\n"))))
        offset += len(line)
    return spans


def read_rst(document: SourceDocument) -> None:
    """Mark the adornments and the head of ``document`` (its text as read)."""
    text = document.text
    lines = _lines(text)
    titles: list[tuple[int, int]] = []
    for number, (start, end) in enumerate(lines):
        if not _ADORNMENT.fullmatch(text, start, end) or number == 0:
            continue
        above_start, above_end = lines[number - 1]
        title = text[above_start:above_end].strip()
        if title and not _ADORNMENT.fullmatch(title) and end - start >= min(len(title), 3):
            titles.append((above_start, above_end))
            document.meta_spans.append(_stripped(text, start, end))
            if number >= 2 and _ADORNMENT.fullmatch(text, *lines[number - 2]):
                document.meta_spans.append(_stripped(text, *lines[number - 2]))  # overline
    if not titles:
        return
    first_start, first_end = titles[0]
    document.title = document.title or text[first_start:first_end].strip()
    document.meta_spans.append(_stripped(text, first_start, first_end))
    _read_fields(document, lines, first_end)


def _read_fields(document: SourceDocument, lines: list[tuple[int, int]], after: int) -> None:
    """The field list right under the title (":Author: Jane Doe"): metadata, not text."""
    text = document.text
    started = False
    for start, end in lines:
        if start <= after or _ADORNMENT.fullmatch(text, start, end):
            continue
        field = _FIELD.fullmatch(text, start, end)
        if field:
            started = True
            if set_metadata_field(document, field.group("key"), field.group("value")):
                document.meta_spans.append(_stripped(text, start, end))
        elif text[start:end].strip() or started:
            return


def _stripped(text: str, start: int, end: int) -> tuple[int, int]:
    line = text[start:end]
    return start + len(line) - len(line.lstrip()), end - len(line) + len(line.rstrip())
