"""PDF: the text of each page (pypdf, BSD-licensed), made into paragraphs.

The document's text is the extracted text: pages parted by a form feed (so a passage's
page is known from its offset), lines joined into paragraphs, a word hyphenated at a
line end joined again ("exam-" + "ple" is "example"), and the header and footer lines
every page repeats (running titles, "Page 3 of 9") left out as furniture. Offsets are
into that text, which is what the index stores.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..sources import SourceDocument, UnreadableSource
from . import TextBuilder, one_line

# A header or footer is among the first or last lines of a page.
_EDGE_LINES = 2
# ... and repeats (digits aside) at the edge of at least this share of the pages.
_REPEATED_SHARE = 0.5
_PAGE_NUMBER = re.compile(r"^[\W_]*(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?[\W_]*$", re.I)
_DIGITS = re.compile(r"\d+")
# A line that stops this short of the page's longest line ends its paragraph, when it
# ends a sentence (or is a heading: short, unpunctuated, and the next line starts anew).
_SHORT_LINE = 0.85
_HEADING_LINE = 0.6
_SENTENCE_END = re.compile(r"[.!?…:][\"'”’)\]]*$")
_HYPHENATED = re.compile(r"[^\W\d_]-$")


def read_pdf(path: Path, source: str) -> SourceDocument:
    pages, title = _extract(path, source)
    furniture = _furniture(pages)
    builder = TextBuilder()
    for number, lines in enumerate(pages):
        if number:
            builder.page_break()
        for paragraph in _paragraphs(_without_furniture(lines, furniture)):
            builder.paragraph(paragraph)
    text = builder.text
    if not text.replace("\f", "").strip():
        raise UnreadableSource(f"{source}: no text in the PDF (scanned pages need OCR first)")
    return SourceDocument(doc_id=source, source=source, text=text, title=title)


def _extract(path: Path, source: str) -> tuple[list[list[str]], str | None]:
    """Each page's lines (trimmed, blank lines kept as paragraph marks), and the title
    the file's metadata gives."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableSource(f"{source}: an encrypted PDF (needs a password)")
        pages = [(page.extract_text() or "").splitlines() for page in reader.pages]
        title = one_line(str((reader.metadata or {}).get("/Title") or "")) or None
    except (PyPdfError, DependencyError) as error:
        raise UnreadableSource(f"{source}: not a readable PDF ({error})") from None
    return [[line.strip() for line in lines] for lines in pages], title


def _edge_positions(lines: list[str]) -> set[int]:
    nonblank = [number for number, line in enumerate(lines) if line]
    return set(nonblank[:_EDGE_LINES] + nonblank[-_EDGE_LINES:])


def _key(line: str) -> str:
    """Header lines compared with their numbers blanked: "Page 3" repeats "Page 2"."""
    return _DIGITS.sub("#", one_line(line).lower())


def _furniture(pages: list[list[str]]) -> set[str]:
    """Keys of the lines repeated at the top or bottom of most pages."""
    with_text = [lines for lines in pages if any(lines)]
    if len(with_text) < 2:
        return set()
    counts: dict[str, int] = {}
    for lines in with_text:
        for key in {_key(lines[number]) for number in _edge_positions(lines)}:
            counts[key] = counts.get(key, 0) + 1
    needed = max(2, _REPEATED_SHARE * len(with_text))
    return {key for key, count in counts.items() if count >= needed}


def _without_furniture(lines: list[str], furniture: set[str]) -> list[str]:
    """The page's lines less its header and footer lines (and a bare page number)."""
    edges = _edge_positions(lines)
    return [
        line
        for number, line in enumerate(lines)
        if number not in edges or not (_key(line) in furniture or _PAGE_NUMBER.match(line))
    ]


def _paragraphs(lines: list[str]) -> list[str]:
    """Lines joined into paragraphs: a blank line, or a line that stops short of the
    margin after a sentence or as a heading, ends one."""
    longest = max((len(line) for line in lines), default=0)
    paragraphs: list[str] = []
    current = ""
    for number, line in enumerate(lines):
        if not line:
            current = _flush(current, paragraphs)
            continue
        current = _join(current, line)
        following = next((later for later in lines[number + 1 :] if later), "")
        if _ends_paragraph(line, following, longest):
            current = _flush(current, paragraphs)
    _flush(current, paragraphs)
    return paragraphs


def _join(current: str, line: str) -> str:
    if not current:
        return line
    if _HYPHENATED.search(current) and line[:1].islower():
        return current[:-1] + line  # "exam-" "ple": one word broken at the line end
    return f"{current} {line}"


def _ends_paragraph(line: str, following: str, longest: int) -> bool:
    if _HYPHENATED.search(line) or len(line) >= _SHORT_LINE * longest:
        return False
    if _SENTENCE_END.search(line):
        return True
    starts_anew = following[:1].isupper() or following[:1].isdigit()
    return len(line) < _HEADING_LINE * longest and starts_anew


def _flush(current: str, paragraphs: list[str]) -> str:
    if current:
        paragraphs.append(current)
    return ""
