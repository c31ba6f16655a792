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


def test_sidebars_admonitions_and_examples_are_kept(docbook_document):
    paragraphs = _paragraphs(docbook_document.text)
    assert "BACK TO BASICS Compressed rotations" in paragraphs
    assert (
        "Old copies are usually compressed with gzip; the delaycompress option leaves the"
        " newest copy readable for one more cycle."
    ) in paragraphs
    assert "Note" in paragraphs
    assert (
        "A service that keeps its log open must be told to reopen it after a rotation."
        in paragraphs
    )
    assert "Example 4.1. A rule for a web server's logs" in paragraphs


def test_navigation_and_the_site_banner_are_left_out(docbook_document):
    text = docbook_document.text
    assert "Prev" not in text and "Next" not in text
    assert "Get the book" not in text
    assert _paragraphs(text)[0] == "4.2. Rotating Logs"


def test_a_documentation_page_takes_its_metadata_from_markup_only(docbook_document):
    assert docbook_document.title == "4.2. Rotating Logs"
    assert docbook_document.published is None  # "2014" in its text is no date
    assert docbook_document.meta_spans == []


_SPHINX_PAGE = (
    '<html><head><meta name="generator" content="Docutils 0.19: https://docutils.org/" />'
    "<title>Install &#8212; Tool 2.0 documentation</title>"
    '<link rel="index" href="genindex.html"/><link rel="next" href="usage.html"/></head>'
    '<body><div class="related" role="navigation"><ul><li><a href="genindex.html">index</a>'
    '</li></ul></div><div class="document"><div class="body" role="main"><section>'
    '<h1>Install<a class="headerlink" href="#install">¶</a></h1><p>Run <code class="docutils'
    ' literal"><span class="pre">pip</span> <span class="pre">install</span></code> first.'
    '</p><div class="admonition warning"><p class="admonition-title">Warning</p>'
    "<p>Needs Python 3.</p></div></section></div></div>"
    '<div class="sphinxsidebar" role="navigation"><h3>Navigation</h3><ul><li>Usage</li>'
    '</ul></div><div class="footer">&#169; Copyright 2024.</div></body></html>'
)


@pytest.mark.parametrize(
    ("page", "documentation"),
    [
        (_SPHINX_PAGE.replace("Docutils 0.19", "Sphinx 7.2"), True),
        # No generator named: the theme's structure (a Sphinx sidebar) says so.
        (_SPHINX_PAGE, True),
        ("<html><head><link rel='up' href='index.html'></head><body><p>x</p></body></html>", True),
        (
            "<html><head><meta property='og:type' content='article'>"
            "<link rel='next' href='page2.html'></head><body><p>News.</p></body></html>",
            False,
        ),
        ("<html><body><article><p>A story.</p></article></body></html>", False),
    ],
)
def test_documentation_is_told_from_articles(page, documentation):
    assert html_reader.is_documentation(html_reader.parse(page)) is documentation


def test_a_sphinx_page_is_read_whole_without_its_navigation(tmp_path):
    page = tmp_path / "install.html"
    page.write_text(_SPHINX_PAGE, encoding="utf-8")
    document = load_documents(SourceFile(str(page), page))[0]
    assert _paragraphs(document.text) == [
        "Install",
        "Run pip install first.",
        "Warning",
        "Needs Python 3.",
    ]


@pytest.mark.parametrize(
    "lines",
    [
        ["$ mkdir test", "$ ls", "Desktop Downloads test"],
        ["username = user", "password = password"],
        ["/var/log/web/*.log {", "weekly", "rotate 4", "}"],
    ],
)
def test_a_code_block_is_content_not_a_menu(lines):
    from assistant.ingest.boilerplate import mark

    assert mark([lines, ["Home", "World", "Sports"]]) == [False, True]


def test_the_code_block_of_a_manual_page_can_be_cited(docbook_document):
    from assistant.ingest.chunks import split_document

    code = next(c for c in split_document(docbook_document) if c.text.startswith("/var/log"))
    assert not code.is_boilerplate
