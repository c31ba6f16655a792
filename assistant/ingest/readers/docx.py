"""DOCX (python-docx): headings, paragraphs and table rows in the order of the body;
the title from the core properties, else from the first Title or Heading paragraph."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import BinaryIO

from ...errors import UnreadableSource
from ...extras import require_for_file
from ...types import SourceDocument
from . import TextBuilder, one_line


def read_docx(path: Path | BinaryIO, source: str) -> SourceDocument:
    docx = require_for_file("docx", "formats", "DOCX")
    from docx.opc.exceptions import OpcError

    try:
        document = docx.Document(str(path) if isinstance(path, Path) else path)  # or bytes
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError) as error:
        raise UnreadableSource(f"{source}: not a readable DOCX ({error})") from None
    title = one_line(document.core_properties.title or "") or None
    builder = TextBuilder()
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):  # a table: one paragraph per row
            for row in block.rows:
                builder.paragraph(_row_text(row))
            continue
        span = builder.paragraph(block.text)
        if span and title is None and _is_heading(block):
            title = builder.text[span[0] : span[1]]
    text = builder.text
    if not text.strip():
        raise UnreadableSource(f"{source}: no text in the DOCX")
    return SourceDocument(doc_id=source, source=source, text=text, title=title)


def _is_heading(paragraph) -> bool:
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    return name == "Title" or name.startswith("Heading")


def _row_text(row) -> str:
    """A table row's cells, " | " between them; a merged cell (python-docx repeats it
    for every grid column it spans) once."""
    cells: list[str] = []
    for cell in row.cells:
        text = one_line(cell.text)
        if text and (not cells or cells[-1] != text):
            cells.append(text)
    return " | ".join(cells)
