"""EPUB books: each content file once in spine order, every block kept, chapters'
languages, a missing chapter costing that chapter only. Books are made in the test."""

from __future__ import annotations

import zipfile
from pathlib import Path

from assistant.ingest.sources import SourceFile, load_documents

_CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf"
    media-type="application/oebps-package+xml"/></rootfiles>
</container>"""


def _chapter(body: str, language: str | None = None) -> str:
    lang = f' xml:lang="{language}" lang="{language}"' if language else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml"{lang}><head><title>t</title></head>'
        f"<body>{body}</body></html>"
    )


def make_book(path: Path, chapters: dict[str, str], spine: list[str], missing=()) -> None:
    """A book whose manifest names ``spine`` (hrefs, fragments allowed) in that order;
    the files in ``missing`` are named but left out of the zip."""
    items = "".join(
        f'<item id="i{n}" href="{href}" media-type="application/xhtml+xml"/>'
        for n, href in enumerate(spine)
    )
    refs = "".join(f'<itemref idref="i{n}"/>' for n in range(len(spine)))
    opf = (
        '<?xml version="1.0" encoding="utf-8"?>\n<package xmlns="http://www.idpf.org/2007/opf"'
        ' version="2.0" unique-identifier="id"><metadata'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:x</dc:identifier>'
        "<dc:title>Field Manual</dc:title><dc:language>en</dc:language></metadata>"
        f"<manifest>{items}</manifest><spine>{refs}</spine></package>"
    )
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr("META-INF/container.xml", _CONTAINER)
        book.writestr("OEBPS/content.opf", opf)
        for name, html in chapters.items():
            if name not in missing:
                book.writestr(f"OEBPS/{name}", html)


def _load(path: Path, problems: list[str] | None = None):
    return load_documents(SourceFile(str(path), path), problems)[0]


def test_a_file_the_spine_points_into_several_times_is_read_once(tmp_path):
    chapters = {
        "one.xhtml": _chapter(
            '<h1 id="a">Setup</h1><p>Install the tools before the first build.</p>'
            '<h2 id="b">Options</h2><p>Every option has a default value.</p>'
        ),
        "two.xhtml": _chapter("<h1>Use</h1><p>Run the build from the top folder.</p>"),
    }
    spine = ["one.xhtml", "one.xhtml#a", "one.xhtml#b", "two.xhtml", "one.xhtml#b"]
    make_book(tmp_path / "book.epub", chapters, spine)
    document = _load(tmp_path / "book.epub")
    assert document.text.count("Every option has a default value.") == 1
    assert document.text.split("\n\n") == [
        "Setup",
        "Install the tools before the first build.",
        "Options",
        "Every option has a default value.",
        "Use",
        "Run the build from the top folder.",
    ]


def test_list_items_without_a_list_and_inline_markup_survive(tmp_path):
    body = (
        "<p>Steps:</p><li>Mount the <code>image</code> file.</li><li>Copy the files.</li>"
        "<dl><dt>boot</dt><dd>the <em>first</em> stage</dd></dl>"
    )
    make_book(tmp_path / "book.epub", {"c.xhtml": _chapter(body)}, ["c.xhtml"])
    assert _load(tmp_path / "book.epub").text.split("\n\n") == [
        "Steps:",
        "Mount the image file.",
        "Copy the files.",
        "boot",
        "the first stage",
    ]


def test_each_chapter_of_a_book_in_several_languages_has_its_language(tmp_path):
    chapters = {
        "en.xhtml": _chapter("<p>The live system starts from a USB stick.</p>", "en"),
        "de.xhtml": _chapter("<p>Das Live-System startet von einem USB-Stick.</p>", "de"),
        "plain.xhtml": _chapter("<p>No language is stated here.</p>"),
    }
    make_book(tmp_path / "book.epub", chapters, ["en.xhtml", "de.xhtml", "plain.xhtml"])
    document = _load(tmp_path / "book.epub")
    tagged = [(document.text[c.start : c.end], c.language) for c in document.chapters]
    assert tagged == [
        ("The live system starts from a USB stick.", "en"),
        ("Das Live-System startet von einem USB-Stick.", "de"),
        ("No language is stated here.", "en"),  # the book's dc:language
    ]
    assert document.languages == ["en", "de"]


def test_a_missing_chapter_costs_that_chapter_only(tmp_path):
    chapters = {
        "a.xhtml": _chapter("<p>First chapter text.</p>"),
        "b.xhtml": _chapter("<p>Lost chapter text.</p>"),
        "c.xhtml": _chapter("<p>Third chapter text.</p>"),
    }
    path = tmp_path / "book.epub"
    make_book(path, chapters, ["a.xhtml", "b.xhtml", "c.xhtml"], missing={"b.xhtml"})
    problems: list[str] = []
    document = _load(path, problems)
    assert document.text == "First chapter text.\n\nThird chapter text."
    assert problems == [f"{path}: the chapter OEBPS/b.xhtml is not in the book; skipped"]
