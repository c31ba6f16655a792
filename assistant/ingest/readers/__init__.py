"""Readers for formats whose text must be extracted: PDF, DOCX, EPUB (and reStructuredText,
which is read as it is written, like Markdown).

An extracted document's text is laid out by :class:`TextBuilder`: one paragraph per
block, blank lines between them, and a form feed between pages (as ``pdftotext``
writes it). That text is what the index stores, so offsets into it are exact like any
other source's. Each reader imports its library only when called: ``assistant --help``
never loads pypdf or python-docx.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import UnreadableSource
from ...types import PAGE_BREAK, SourceDocument
from .. import limits


class TextTooLong(UnreadableSource):
    """A reader's text passed ``limits.MAX_TEXT_CHARS``: reading stopped there."""


@dataclass
class StructuredDocument(SourceDocument):
    """A document whose reader knows its structure: heading lines (each the title of
    the passage that follows it, never an answer sentence) and table-of-contents
    lines (a list of headings and page numbers, not text to cite)."""

    headings: list[tuple[int, int]] = field(default_factory=list)
    contents: list[tuple[int, int]] = field(default_factory=list)


def one_line(text: str) -> str:
    """A paragraph's text with every run of whitespace (soft breaks, tabs, a stray form
    feed, which would read as a page break) as one space."""
    return " ".join(text.split())


class TextBuilder:
    """A document's text built paragraph by paragraph, remembering where each went.
    Past ``max_chars`` (``limits.MAX_TEXT_CHARS``) it raises :class:`TextTooLong` at
    once, so that a file whose text outgrows its size (an archive, a PDF) is never
    held whole."""

    def __init__(self, max_chars: int | None = None) -> None:
        self.max_chars = limits.MAX_TEXT_CHARS if max_chars is None else max_chars
        self._parts: list[str] = []
        self._length = 0
        self._pages_pending = 0  # page breaks waiting for the next paragraph
        self._headings_pending: list[str] = []  # they head the next paragraph
        self.meta_spans: list[tuple[int, int]] = []
        self.headings: list[tuple[int, int]] = []
        self.contents: list[tuple[int, int]] = []

    def heading(self, text: str) -> None:
        """A heading: the first line of the next paragraph, the title of its passage."""
        text = one_line(text)
        if text:
            self._headings_pending.append(text)

    def paragraph(
        self, text: str, *, meta: bool = False, keep_lines: bool = False, contents: bool = False
    ) -> tuple[int, int] | None:
        """Add one paragraph (whitespace collapsed); its span, or None when empty.

        ``meta`` marks it as a head line (title, author, date): not a passage.
        ``keep_lines`` keeps its line breaks (a code block), blank lines left out.
        ``contents`` marks table-of-contents lines. Pending headings lead it.
        """
        if keep_lines:
            text = "\n".join(line for line in map(one_line, text.splitlines()) if line)
        else:
            text = one_line(text)
        if not text:
            return None
        self._start_paragraph()
        start = self._length
        self._append(text)
        if meta:
            self.meta_spans.append((start, self._length))
        if contents:
            self.contents.append((start, self._length))
        return start, self._length

    def _start_paragraph(self) -> None:
        """The blank line (or page breaks) before a paragraph, then its headings."""
        # Page breaks are written even around empty pages: page numbers must count them.
        breaks = f"{PAGE_BREAK}\n" * self._pages_pending
        if self._length:
            self._append("\n" + (breaks or "\n"))
        else:
            self._append(breaks)
        self._pages_pending = 0
        headings, self._headings_pending = self._headings_pending, []
        for heading in headings:
            start = self._length
            self._append(heading)
            self.headings.append((start, self._length))
            self._append("\n")

    def flush_headings(self) -> None:
        """Headings with no paragraph after them stand as a paragraph of their own."""
        if self._headings_pending:
            last = self._headings_pending.pop()
            self._start_paragraph()
            start = self._length
            self._append(last)
            self.headings.append((start, self._length))

    def page_break(self) -> None:
        self._pages_pending += 1

    @property
    def text(self) -> str:
        self.flush_headings()
        return "".join(self._parts)

    def _append(self, part: str) -> None:
        self._parts.append(part)
        self._length += len(part)
        if self._length > self.max_chars:
            raise TextTooLong(
                f"its text is over the {self.max_chars:,}-character limit (reading stopped there)"
            )
