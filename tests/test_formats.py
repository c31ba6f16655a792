"""PDF, DOCX, EPUB, reStructuredText, Markdown titles, hard-wrapped text and unsupported
files. Every fixture is made here, in the test: a PDF written by hand (pypdf reads text
but cannot lay it out), a DOCX with python-docx, an EPUB with zipfile."""

from __future__ import annotations

import gzip
import json
import zipfile
from pathlib import Path

import pytest

from assistant.ingest.chunks import split_document
from assistant.ingest.sources import SIDECAR_NAME, SourceDocument, find_source_files, load_documents
from assistant.text.display import flowed
from assistant.text.textspans import iter_sentences
from assistant.types import Document, page_starts

# --- fixtures made in the tests --------------------------------------------------------


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A PDF with one Helvetica text object per page, one line per ``Tj``, 14 points
    apart; the cross-reference table holds each object's byte offset."""
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "",  # the page tree, once the pages are numbered
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for lines in pages:
        shown = [
            line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines
        ]
        stream = "\n".join(["BT /F1 11 Tf 14 TL 72 760 Td", *(f"({s}) Tj T*" for s in shown), "ET"])
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {len(objects)} 0 R"
            " /Resources << /Font << /F1 3 0 R >> >> >>"
        )
        kids.append(len(objects))
    objects[1] = (
        f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>"
    )
    info = ""
    if title:
        objects.append(f"<< /Title ({title}) >>")
        info = f" /Info {len(objects)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


REPORT_PAGES = [
    [
        "Quarterly Border Report",
        "Border Talks Resume",
        "The two governments agreed on Tuesday to reopen the crossing after a long",
        "and difficult negotiation that lasted several weeks and covered many exam-",
        "ple cases of trade disputes between the two neighbours.",
        "Page 1 of 3",
    ],
    [
        "Quarterly Border Report",
        "Azerbaijan said a 132-kilometer section of the state border with Iran had",
        "been occupied during the war, and its ministry repeated the claim on Monday.",
        "Page 2 of 3",
    ],
    ["Quarterly Border Report", "The talks will continue next month in Baku.", "Page 3 of 3"],
]


def make_docx(path: Path, *, title: str | None) -> None:
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    document.add_heading("Ministers Meet at the Crossing", level=1)
    document.add_paragraph("The foreign ministers met at the crossing on Friday morning.")
    document.add_heading("Trade", level=2)
    document.add_paragraph("Trucks waited for  three days\tat the gate.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Trucks"
    table.rows[0].cells[1].text = "412"
    document.save(str(path))


def make_epub(path: Path) -> None:
    chapter = (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        "<head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    )
    opf = """<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="id">urn:uuid:1</dc:identifier>
    <dc:title>A History of the Crossing</dc:title>
    <dc:creator>Jane Doe</dc:creator>
    <dc:date>2021-10-05</dc:date>
  </metadata>
  <manifest>
    <item id="c2" href="text/two.xhtml" media-type="application/xhtml+xml"/>
    <item id="c1" href="text/one.xhtml" media-type="application/xhtml+xml"/>
    <item id="css" href="style.css" media-type="text/css"/>
  </manifest>
  <spine><itemref idref="c1"/><itemref idref="c2"/></spine>
</package>"""
    container = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf"
    media-type="application/oebps-package+xml"/></rootfiles>
</container>"""
    one = "<p>The bridge over the Araz river was built in 1890 by merchants from Tabriz.</p>"
    two = "<p>Customs officers checked every caravan that crossed the bridge at dawn.</p>"
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr("META-INF/container.xml", container)
        book.writestr("OEBPS/content.opf", opf)
        book.writestr(
            "OEBPS/text/one.xhtml", chapter.format(title="Chapter One: The Bridge", body=one)
        )
        book.writestr(
            "OEBPS/text/two.xhtml", chapter.format(title="Chapter Two: Customs", body=two)
        )
        book.writestr("OEBPS/style.css", "p { margin: 0 }")


RST = """=========================
Ceasefire Along the River
=========================

:Author: Jane Doe
:Date: 2023-04-02

The two armies agreed to a ceasefire along the river on Sunday evening.

Background
----------

Fighting had gone on for three weeks before the agreement was signed.
"""

WRAPPED = (
    "The committee met on Tuesday to discuss the new border plan that lets us\n"
    "build three more crossings before winter. Officials said the plan would cost\n"
    "more than expected.\n"
    "\n"
    "A second paragraph, also wrapped at seventy or so characters, says that\n"
    "trucks waited for three days at the gate.\n"
)


def load(path: Path) -> SourceDocument:
    [file] = list(find_source_files([str(path)]))
    [document] = load_documents(file)
    return document


def assert_exact(document: SourceDocument) -> list:
    """The contract: every passage and sentence is ``text[start:end]`` of the stored text."""
    chunks = split_document(document)
    assert chunks
    for chunk in chunks:
        assert chunk.text == document.text[chunk.start : chunk.end]
        for start, end in chunk.sentences:
            assert chunk.start <= start < end <= chunk.end
    return chunks


# --- PDF --------------------------------------------------------------------------------


def test_pdf_text_is_paged_dehyphenated_and_without_headers_or_footers(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf(REPORT_PAGES, title="Border Report"))
    document = load(path)
    text = document.text
    assert document.title == "Border Report"  # from the file's metadata
    assert "Quarterly Border Report" not in text and "Page 2 of 3" not in text
    assert "covered many example cases" in text and "exam-" not in text
    # Wrapped lines are one paragraph; pages are parted by a form feed.
    assert "Iran had been occupied" in text
    assert text.count("\f") == 2
    chunks = assert_exact(document)
    pages = Document(doc_id="d", source="s", page_starts=page_starts(text))
    assert [(c.text[:12], pages.page_at(c.start)) for c in chunks] == [
        ("Border Talks", 1),
        ("The two gove", 1),
        ("Azerbaijan s", 2),
        ("The talks wi", 3),
    ]


def test_pdf_page_numbers_count_empty_pages(tmp_path):
    path = tmp_path / "gap.pdf"
    path.write_bytes(make_pdf([["First page text."], [], ["Third page text."]]))
    document = load(path)
    pages = Document(doc_id="d", source="s", page_starts=page_starts(document.text))
    assert pages.page_at(document.text.index("Third")) == 3
    assert Document(doc_id="d", source="s").page_at(0) is None  # no pages: no "p. N"


def test_a_broken_pdf_is_reported_not_fatal(tmp_path):
    from assistant.ingest.sources import UnreadableSource

    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not a pdf at all")
    with pytest.raises(UnreadableSource, match=r"broken\.pdf"):
        load(path)


# --- DOCX, EPUB, reStructuredText, Markdown --------------------------------------------------


def test_docx_headings_paragraphs_and_core_title(tmp_path):
    path = tmp_path / "talks.docx"
    make_docx(path, title="Talks at the Crossing")
    document = load(path)
    assert document.title == "Talks at the Crossing"
    assert document.text.split("\n\n") == [
        "Ministers Meet at the Crossing",
        "The foreign ministers met at the crossing on Friday morning.",
        "Trade",
        "Trucks waited for three days at the gate.",
        "Trucks | 412",
    ]
    assert_exact(document)


def test_docx_without_a_core_title_takes_its_first_heading(tmp_path):
    path = tmp_path / "untitled.docx"
    make_docx(path, title=None)
    assert load(path).title == "Ministers Meet at the Crossing"


def test_epub_chapters_in_spine_order_with_their_titles(tmp_path):
    path = tmp_path / "crossing.epub"
    make_epub(path)
    document = load(path)
    assert (document.title, document.byline, document.published) == (
        "A History of the Crossing",
        "Jane Doe",
        "2021-10-05",
    )
    text = document.text
    order = ["Chapter One: The Bridge", "built in 1890", "Chapter Two: Customs", "at dawn"]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions)
    assert "margin" not in text  # the stylesheet is not a chapter
    assert_exact(document)


def test_rst_title_fields_and_rules(tmp_path):
    path = tmp_path / "ceasefire.rst"
    path.write_text(RST)
    document = load(path)
    assert document.text == RST  # read as written: offsets are into the file
    assert (document.title, document.byline, document.published) == (
        "Ceasefire Along the River",
        "Jane Doe",
        "2023-04-02",
    )
    chunks = assert_exact(document)
    shown = [c.text for c in chunks]
    assert not any(set(t) <= set("=-") for t in shown)  # rules are no passages
    body = [c.text for c in chunks if not c.is_boilerplate]
    assert body[0].startswith("The two armies") and "Background" in body
    assert next(c.text for c in chunks if c.is_head) == "Ceasefire Along the River"


def test_markdown_first_heading_is_the_title(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text(
        "Draft\n\n## Talks resume on the river border\n\nThe two sides met again on Monday.\n"
    )
    assert load(path).title == "Talks resume on the river border"
    (tmp_path / "setext.md").write_text("Border Notes\n============\n\nThe crossing reopened.\n")
    document = load(tmp_path / "setext.md")
    assert document.title == "Border Notes"
    front = tmp_path / "front.md"
    front.write_text("---\ntitle: From Front Matter\n---\n\n# A Heading\n\nText here.\n")
    assert load(front).title == "From Front Matter"  # front matter wins


# --- hard-wrapped plain text -----------------------------------------------------------------


def test_a_wrapped_first_line_is_not_a_title_but_a_heading_is(tmp_path):
    (tmp_path / "wrapped.txt").write_text(WRAPPED)
    assert load(tmp_path / "wrapped.txt").title is None  # shown by its file name
    (tmp_path / "headed.txt").write_text("New Crossings Planned\n\n" + WRAPPED)
    assert load(tmp_path / "headed.txt").title == "New Crossings Planned"


def test_wrapped_sentences_run_across_line_breaks_with_exact_offsets(tmp_path):
    (tmp_path / "wrapped.txt").write_text(WRAPPED)
    document = load(tmp_path / "wrapped.txt")
    assert document.text == WRAPPED  # the stored text is the file's
    chunks = assert_exact(document)
    assert [c.paragraph for c in chunks] == [1, 2]
    sentences = [document.text[s:e] for c in chunks for s, e in c.sentences]
    assert sentences[0] == (
        "The committee met on Tuesday to discuss the new border plan that lets us\n"
        "build three more crossings before winter."
    )
    assert flowed(sentences[1]) == "Officials said the plan would cost more than expected."


def test_short_lines_still_end_sentences():
    text = (
        "Contents\nThe border\nA list item that is long enough to look like wrapped prose\n- next"
    )
    assert [text[s:e] for s, e in iter_sentences(text, 0, len(text), join_wrapped=True)] == [
        "Contents",
        "The border",
        "A list item that is long enough to look like wrapped prose",
        "- next",
    ]


# --- unsupported files, and the whole path through the CLI -------------------------------------


def test_unsupported_files_are_reported_hidden_ones_and_the_sidecar_are_not(tmp_path):
    (tmp_path / "a.txt").write_text("A story about the border.")
    (tmp_path / "archive.gz").write_bytes(gzip.compress(b"x"))
    (tmp_path / "Makefile").write_text("all:")
    (tmp_path / ".hidden.gz").write_bytes(b"x")
    (tmp_path / SIDECAR_NAME).write_text("{}")
    found = {Path(f.source).name: f.problem for f in find_source_files([str(tmp_path)])}
    assert found == {
        "Makefile": f"{tmp_path / 'Makefile'}: unsupported type (no extension)",
        "a.txt": None,
        "archive.gz": f"{tmp_path / 'archive.gz'}: unsupported type (.gz)",
    }


def _folder_of_every_kind(folder: Path) -> None:
    folder.mkdir()
    (folder / "report.pdf").write_bytes(make_pdf(REPORT_PAGES, title="Border Report"))
    make_docx(folder / "talks.docx", title="Talks at the Crossing")
    make_epub(folder / "crossing.epub")
    (folder / "ceasefire.rst").write_text(RST)
    (folder / "notes.md").write_text("# Harbour Notes\n\nThe harbour reopened to ferries.\n")
    (folder / "wrapped.txt").write_text(WRAPPED)
    (folder / "page.html").write_text(
        "<html><head><title>Market Day</title></head><body><article><h1>Market Day</h1>"
        "<p>Farmers from both sides of the river sold apples and walnuts at the market"
        " that opened beside the old customs house on Saturday morning.</p>"
        "<p>The market will open again on the first Saturday of every month, the"
        " organisers said, weather permitting.</p></article></body></html>"
    )
    (folder / "dump.gz").write_bytes(gzip.compress(b"not text"))


@pytest.mark.model
def test_index_build_reads_every_kind_and_reports_the_unsupported_one(cli, tmp_path):
    folder, index = tmp_path / "sources", str(tmp_path / "index")
    _folder_of_every_kind(folder)

    built = cli("index", "build", str(folder), "--index", index, "--json")
    assert built.exit_code == 0, built.output
    report = json.loads(built.stdout)
    assert report["documents"] == 7
    gz = str(folder / "dump.gz")
    assert report["skipped"] == [{"source": gz, "reason": f"{gz}: unsupported type (.gz)"}]

    again = cli("index", "build", str(folder), "--index", index)
    assert again.exit_code == 0, again.output
    assert ", 1 skipped" in again.stdout
    assert f"skipped: {gz}: unsupported type (.gz)" in again.stderr
    status = json.loads(cli("index", "status", "--index", index, "--json").stdout)
    assert status["new"] == [] and status["stale"] == []  # the .gz is known as skipped

    question = "What did Azerbaijan say about the 132-kilometer section of the border?"
    asked = cli("ask", question, "--index", index, "--json")
    assert asked.exit_code == 0, asked.output
    first = json.loads(asked.stdout)["citations"][0]
    assert (first["source"], first["page"]) == (str(folder / "report.pdf"), 2)
    shown = cli("ask", question, "--index", index)
    assert f"{folder / 'report.pdf'} p. 2 ¶" in shown.stdout

    searched = cli("search", "crossings before winter", "--index", index)
    assert "lets us build three" in " ".join(searched.stdout.split())  # joined, no \\x0a
    assert "\\x0a" not in searched.stdout
