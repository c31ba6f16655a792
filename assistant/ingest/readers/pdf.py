"""PDF: the text of each page (pypdf, BSD-licensed), made into paragraphs.

The document's text is the extracted text: pages parted by a form feed (so a passage's
page is known from its offset), lines joined into paragraphs, a word hyphenated at a
line end joined again ("exam-" + "ple" is "example"), and the header and footer lines
every page repeats (running titles, "Page 3 of 9") left out as furniture. Offsets are
into that text, which is what the index stores.

Headings are known by their type (larger than the body text, or bold on a short line
of its own, where pypdf reports fonts) or, in a file whose text is all one font, by
their numbering ("2.3 Installing", "Chapter 4"). A heading leads the paragraph after
it as its first line: the title of that passage, never its answer sentence. Table of
contents lines (a title, dot leaders, a page number) are kept, marked as contents.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ...errors import UnreadableSource
from ...extras import require_for_file
from ..boilerplate import is_contents_line
from . import StructuredDocument, TextBuilder, one_line

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
# A heading's type is at least this much larger than the body text's.
_HEADING_SIZE = 1.12
HEADING_MAX_WORDS = 15
_BOLD_FONT = re.compile(r"bold|black|heavy|semibold|demi|cmbx|sfbx|-bd|\bbd\b", re.I)
# Numbered headings, for files whose fonts say nothing: "2.3 Installing", "4. Results",
# "Chapter 4: Data", "Appendix B Tables", "Part II".
_NUMBERED_HEADING = re.compile(
    r"^(?:\d{1,2}(?:\.\d{1,2}){0,3}\.?|(?:chapter|section|appendix|part)\s+(?:\d+|[A-Z]|[IVXLC]+)"
    r"[.:]?)\s+[A-Z\"“‘(]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Line:
    """One extracted line and the type most of its characters are set in."""

    text: str
    size: float = 0.0  # 0 where pypdf reports no font
    bold: bool = False


def read_pdf(path: Path, source: str) -> StructuredDocument:
    pages, title = _extract(path, source)
    furniture = _furniture([[line.text for line in lines] for lines in pages])
    body_size = _body_size(pages)
    fonts_vary = _fonts_vary(pages)
    builder = TextBuilder()
    for number, lines in enumerate(pages):
        if number:
            builder.page_break()
        kept = _without_furniture(lines, furniture)
        for kind, run in _runs(kept, body_size, fonts_vary):
            if kind == "heading":
                builder.heading(" ".join(line for line in run))
            elif kind == "contents":
                builder.paragraph("\n".join(run), keep_lines=True, contents=True)
            else:
                for paragraph in _paragraphs(run):
                    builder.paragraph(paragraph)
    text = builder.text
    if not text.replace("\f", "").strip():
        raise UnreadableSource(f"{source}: no text in the PDF (scanned pages need OCR first)")
    return StructuredDocument(
        doc_id=source,
        source=source,
        text=text,
        title=title,
        headings=builder.headings,
        contents=builder.contents,
    )


def _extract(path: Path, source: str) -> tuple[list[list[Line]], str | None]:
    """Each page's lines (trimmed, blank lines kept as paragraph marks) with their
    type, and the title the file's metadata gives."""
    PdfReader = require_for_file("pypdf", "formats", "PDF").PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableSource(f"{source}: an encrypted PDF (needs a password)")
        pages = [_page_lines(page) for page in reader.pages]
        title = one_line(str((reader.metadata or {}).get("/Title") or "")) or None
    except (PyPdfError, DependencyError) as error:
        raise UnreadableSource(f"{source}: not a readable PDF ({error})") from None
    return pages, title


def _page_lines(page) -> list[Line]:
    """The page's text as pypdf extracts it, each line with the size and weight of
    most of its characters (pypdf hands its visitor the text piece by piece, with the
    font each piece is set in; the pieces make up the extracted text exactly)."""
    pieces: list[tuple[str, float, bool]] = []

    def visit(text, cm, tm, font, size) -> None:
        if text:
            base = str((font or {}).get("/BaseFont", "")) if hasattr(font, "get") else ""
            pieces.append((text, _effective_size(size, cm, tm), bool(_BOLD_FONT.search(base))))

    text = page.extract_text(visitor_text=visit) or ""
    if "".join(piece[0] for piece in pieces) != text:
        return [Line(line.strip()) for line in text.splitlines()]  # no type to go by
    lines: list[Line] = []
    weights: Counter = Counter()
    current: list[str] = []
    for piece, size, bold in pieces:
        parts = piece.split("\n")
        for number, part in enumerate(parts):
            if number:
                lines.append(_typed_line("".join(current), weights))
                current, weights = [], Counter()
            current.append(part)
            weights[(size, bold)] += len(part.strip())
    lines.append(_typed_line("".join(current), weights))
    return lines


def _effective_size(size, cm, tm) -> float:
    try:
        scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
        return round(float(size) * (scale or 1.0), 1)
    except (TypeError, ValueError, IndexError):
        return 0.0


def _typed_line(text: str, weights: Counter) -> Line:
    text = text.strip()
    if not text or not weights or not sum(weights.values()):
        return Line(text)
    (size, _), _ = max(weights.items(), key=lambda item: item[1])
    bold_share = sum(n for (_, bold), n in weights.items() if bold) / sum(weights.values())
    return Line(text, size, bold_share >= 0.9)


def _body_size(pages: list[list[Line]]) -> float:
    """The size most characters are set in: the body text's."""
    sizes: Counter = Counter()
    for lines in pages:
        for line in lines:
            sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _fonts_vary(pages: list[list[Line]]) -> bool:
    """Whether the file's type says anything: more than one size, or some bold."""
    sizes = {line.size for lines in pages for line in lines if line.text}
    return len(sizes) > 1 or any(line.bold for lines in pages for line in lines)


def is_heading(line: Line, body_size: float, fonts_vary: bool) -> bool:
    """A short line set larger than the body (or all bold) where fonts are known; a
    numbered title where they are not."""
    words = line.text.split()
    if not words or len(words) > HEADING_MAX_WORDS or not re.search(r"[^\W\d_]", line.text):
        return False
    if is_contents_line(line.text):
        return False
    if fonts_vary:
        if body_size and line.size >= _HEADING_SIZE * body_size:
            return True
        return line.bold and not _SENTENCE_END.search(line.text) and len(words) <= 12
    return bool(_NUMBERED_HEADING.match(line.text)) and not _SENTENCE_END.search(line.text)


def _runs(lines: list[Line], body_size: float, fonts_vary: bool):
    """(kind, texts) runs of a page's lines: "heading" (one heading, its lines joined
    when it wraps), "contents" (table-of-contents lines) or "text"."""
    kind_of = []
    for line in lines:
        if not line.text:
            kind_of.append("text")
        elif is_contents_line(line.text):
            kind_of.append("contents")
        elif is_heading(line, body_size, fonts_vary):
            kind_of.append("heading")
        else:
            kind_of.append("text")
    run: list[str] = []
    previous: tuple[str, float] | None = None
    for line, kind in zip(lines, kind_of, strict=True):
        key = (kind, line.size if kind == "heading" else 0.0)
        if run and key != previous:
            yield previous[0], run
            run = []
        run.append(line.text)
        previous = key
    if run:
        yield previous[0], run


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


def _without_furniture(lines: list[Line], furniture: set[str]) -> list[Line]:
    """The page's lines less its header and footer lines (and a bare page number)."""
    edges = _edge_positions([line.text for line in lines])
    return [
        line
        for number, line in enumerate(lines)
        if number not in edges
        or not (_key(line.text) in furniture or _PAGE_NUMBER.match(line.text))
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
