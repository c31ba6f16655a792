"""DOCX (python-docx): headings, paragraphs and table rows in the order of the body;
the title from the core properties, else from the first Title or Heading paragraph.

python-docx inflates the parts it reads whole, trusting the sizes the zip states, so
every member is first inflated within the limits of :mod:`..archives` (and checked
to hold what it declares) from the same open file that python-docx then reads: a zip
bomb is skipped after at most ``MAX_ARCHIVE_BYTES`` of inflating, in bounded steps.
"""

from __future__ import annotations

import zipfile
from contextlib import nullcontext
from pathlib import Path
from typing import BinaryIO

from ...errors import UnreadableSource
from ...extras import require_for_file
from ...types import SourceDocument
from ..archives import Archive
from . import TextBuilder, one_line


def read_docx(path: Path | BinaryIO, source: str) -> SourceDocument:
    docx = require_for_file("docx", "formats", "DOCX")
    from docx.opc.exceptions import OpcError

    # A path is opened here; bytes already read (and hashed) come as a file object.
    opened = path.open("rb") if isinstance(path, Path) else nullcontext(path)
    with opened as handle:
        try:
            Archive(handle, source).check_all()
            handle.seek(0)
            document = docx.Document(handle)
        except (OpcError, zipfile.BadZipFile, KeyError, ValueError) as error:
            raise UnreadableSource(f"{source}: not a readable DOCX ({error})") from None
    title = one_line(document.core_properties.title or "") or None
    builder = TextBuilder()
    headings: dict[str | None, bool] = {}  # by style id: looking a style up is slow
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):  # a table: one paragraph per row
            for row in block.rows:
                builder.paragraph(_row_text(row))
            continue
        span = builder.paragraph(block.text)
        if span and title is None and _is_heading(block, headings):
            title = builder.text[span[0] : span[1]]
    text = builder.text
    if not text.strip():
        raise UnreadableSource(f"{source}: no text in the DOCX")
    return SourceDocument(doc_id=source, source=source, text=text, title=title)


def _is_heading(paragraph, known: dict[str | None, bool]) -> bool:
    style_id = paragraph._p.style
    if style_id not in known:
        style = paragraph.style
        name = (style.name if style is not None else "") or ""
        known[style_id] = name == "Title" or name.startswith("Heading")
    return known[style_id]


def _row_text(row) -> str:
    """A table row's cells, " | " between them; a merged cell (python-docx repeats it
    for every grid column it spans) once."""
    cells: list[str] = []
    for cell in row.cells:
        text = one_line(cell.text)
        if text and (not cells or cells[-1] != text):
            cells.append(text)
    return " | ".join(cells)
