"""The HTML reader: paragraphs are blocks, and documentation pages are read whole.

The saved page (tests/data/docbook-section.html) follows the markup of a Publican /
DocBook XSL manual section: ``div.para`` paragraphs full of inline ``code``, ``em`` and
links, sidebars and admonitions, a definition list, a table, a program listing, and
navigation bars above and below.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest.readers import html as html_reader
from assistant.ingest.sources import SourceFile, load_documents

DOCBOOK_PAGE = Path(__file__).parent / "data" / "docbook-section.html"


def _paragraphs(text: str) -> list[str]:
    return [paragraph for paragraph in text.split("\n\n") if paragraph.strip()]


@pytest.fixture(scope="module")
def docbook_document():
    return load_documents(SourceFile(str(DOCBOOK_PAGE), DOCBOOK_PAGE))[0]


def test_inline_markup_never_breaks_a_paragraph(docbook_document):
    paragraphs = _paragraphs(docbook_document.text)
    assert (
        "Log files grow without end unless something trims them. The logrotate program"
        " renames the current file, starts a new one and deletes the oldest, as its"
        " /etc/logrotate.conf file says."
    ) in paragraphs
    assert (
        "Each rule names a file with pattern and says how often to rotate it, for instance"
        " weekly, and how many old copies to keep; see the manual page for the rest."
    ) in paragraphs


def test_list_items_terms_and_definitions_are_paragraphs(docbook_document):
    paragraphs = _paragraphs(docbook_document.text)
    assert "rotate count" in paragraphs
    assert "keeps count old copies before the oldest is deleted." in paragraphs
    assert "rotation by size with size 100k;" in paragraphs


def test_a_table_row_is_one_paragraph_with_its_cells_joined(docbook_document):
    paragraphs = _paragraphs(docbook_document.text)
    assert "Keyword | Period" in paragraphs
    assert "weekly | every week, on Sunday" in paragraphs


def test_a_code_block_keeps_its_lines(docbook_document):
    assert "/var/log/web/*.log {\nweekly\nrotate 4\n}" in _paragraphs(docbook_document.text)


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>A <a href='#'>linked</a> word.</p>", ["A linked word."]),
        ("<p>Press <kbd>Ctrl</kbd>+<kbd>C</kbd> or <var>n</var> <abbr>etc</abbr>.</p>",
         ["Press Ctrl+C or n etc."]),
        ("<blockquote>Quoted <i>words</i></blockquote><p>after</p>", ["Quoted words", "after"]),
        ("<div>outer <div>inner</div> tail</div>", ["outer", "inner", "tail"]),
        ("<h3>Title <tt>x</tt></h3><p>Body <b>bold</b> <strong>strong</strong></p>",
         ["Title x", "Body bold strong"]),
        ("<p>seen<script>hidden()</script> <span hidden>no</span>too</p>", ["seen too"]),
    ],
)  # fmt: skip
def test_blocks_of_small_pages(markup, expected):
    root = html_reader.parse(f"<html><body>{markup}</body></html>")
    assert [block.text for block in html_reader.blocks(html_reader.body(root))] == expected
