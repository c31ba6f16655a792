"""EPUB: the chapters in reading order (the package's spine), each content file read
once, block by block like a documentation page (:mod:`.html`: every paragraph, list
item, table row and code block, navigation left out); title, author and date from the
package metadata (Dublin Core).

A spine that points into one file several times (``ch1.xhtml#s1``, ``ch1.xhtml#s2``,
or the same file under another spelling, ``c%68.xhtml``) reads that file once, where it
first comes. A chapter missing from the zip costs that chapter only (the reason goes to
``problems``). Every member is inflated within the limits of :mod:`..archives` and the
book's text within ``MAX_TEXT_CHARS``: a zip bomb or a spine bomb is skipped, saying
why, never held whole. Each chapter's language
(``xml:lang``/``lang`` on its ``<html>`` or ``<body>``, else the book's
``dc:language``) is kept with its span of the text: a book whose chapters are in
several languages says which is which (:attr:`BookDocument.chapters`).
"""

from __future__ import annotations

import posixpath
import zipfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from xml.etree import ElementTree

from ...errors import UnreadableSource
from ...types import SourceDocument
from .. import metadata
from ..archives import Archive
from . import TextBuilder, one_line
from . import html as html_reader

_CONTAINER = "META-INF/container.xml"
_CONTAINER_NS = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF_NS = "{http://www.idpf.org/2007/opf}"
_DC_NS = "{http://purl.org/dc/elements/1.1/}"
_CHAPTER_TYPES = ("application/xhtml+xml", "text/html")
_LANGUAGE_ATTRIBUTES = ("{http://www.w3.org/XML/1998/namespace}lang", "xml:lang", "lang")


@dataclass(frozen=True)
class Chapter:
    """Where one content file's text is in the book's text, and its language."""

    path: str  # inside the zip
    start: int
    end: int
    language: str | None


@dataclass
class BookDocument(SourceDocument):
    chapters: list[Chapter] = field(default_factory=list)

    @property
    def languages(self) -> list[str]:
        """The chapters' languages, each once, in reading order."""
        return list(dict.fromkeys(c.language for c in self.chapters if c.language))


def read_epub(
    path: Path | BinaryIO, source: str, problems: list[str] | None = None
) -> BookDocument:
    """The book as one document. A chapter the spine names but the zip lacks is
    skipped, with a line in ``problems`` when given. ``path`` may be the bytes already
    read (and hashed) as a file object."""
    opened = path.open("rb") if isinstance(path, Path) else nullcontext(path)
    try:
        with opened as handle:
            book = Archive(handle, source)
            package_path = _package_path(book)
            package = _xml(book, package_path)
            book_language = _dc(package, "language")
            spine = _members(book, _spine(package, posixpath.dirname(package_path)))
            builder, chapters = _read_spine(book, spine, book_language, problems)
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError) as error:
        raise UnreadableSource(f"{source}: not a readable EPUB ({error})") from None
    text = builder.text
    if not text.strip():
        raise UnreadableSource(f"{source}: no text in the EPUB")
    return BookDocument(
        doc_id=source,
        source=source,
        text=text,
        title=_dc(package, "title"),
        byline=_dc(package, "creator"),
        published=metadata.parse_date((_dc(package, "date") or "")[:10]),
        outlet=_dc(package, "publisher"),
        chapters=chapters,
        language=book_language,
        language_spans=[(c.start, c.end, c.language) for c in chapters if c.language],
    )


def _read_spine(
    book: Archive,
    spine: list[zipfile.ZipInfo | str],
    book_language: str | None,
    problems: list[str] | None,
) -> tuple[TextBuilder, list[Chapter]]:
    """Each chapter's blocks into one text; a chapter missing from the zip is a line in
    ``problems``, and the others are read."""
    builder, chapters = TextBuilder(), []
    for member in spine:
        if isinstance(member, str):
            if problems is not None:
                problems.append(f"{book.source}: the chapter {member} is not in the book; skipped")
            continue
        html = book.read(member).decode("utf-8", errors="replace")
        chapter = _read_chapter(builder, html, member.filename, book_language)
        if chapter is not None:
            chapters.append(chapter)
    return builder, chapters


def _members(book: Archive, names: list[str]) -> list[zipfile.ZipInfo | str]:
    """The zip members the spine's paths name, each once (two spellings of one file
    are one chapter); a name the zip lacks stays a name."""
    from urllib.parse import unquote

    members: dict[str, zipfile.ZipInfo | str] = {}
    for name in names:
        info = _find(book, name) or _find(book, unquote(name))  # hrefs are URLs
        key = info.filename if info is not None else name
        members.setdefault(key, info if info is not None else name)
    return list(members.values())


def _find(book: Archive, name: str) -> zipfile.ZipInfo | None:
    try:
        return book.info(name)
    except KeyError:
        return None


def _read_chapter(
    builder: TextBuilder, html: str, name: str, book_language: str | None
) -> Chapter | None:
    root = html_reader.parse(html)
    if root is None:
        return None
    start = end = None
    for block in html_reader.blocks(html_reader.body(root)):
        span = builder.paragraph(block.text, keep_lines=block.kind == "pre")
        if span is not None:
            start = span[0] if start is None else start
            end = span[1]
    if start is None:
        return None
    return Chapter(name, start, end, _language(root) or book_language)


def _language(root) -> str | None:
    for element in (root, html_reader.body(root)):
        for attribute in _LANGUAGE_ATTRIBUTES:
            value = (element.get(attribute) or "").strip()
            if value:
                return value
    return None


def chapter_paragraphs(html: str) -> list[str]:
    """A chapter's paragraphs (its blocks), as :func:`read_epub` reads them."""
    root = html_reader.parse(html)
    if root is None:
        return []
    return [block.text for block in html_reader.blocks(html_reader.body(root))]


def _package_path(book: Archive) -> str:
    container = _xml(book, _CONTAINER)
    rootfile = container.find(f".//{_CONTAINER_NS}rootfile")
    if rootfile is None or not rootfile.get("full-path"):
        raise UnreadableSource(f"{book.source}: not a readable EPUB (no package file named)")
    return rootfile.get("full-path")


def _spine(package: ElementTree.Element, folder: str) -> list[str]:
    """The chapters' paths inside the zip, in reading order, each once."""
    items = {
        item.get("id"): item
        for item in package.iter(f"{_OPF_NS}item")
        if item.get("media-type") in _CHAPTER_TYPES
    }
    chapters: dict[str, None] = {}  # each file once, where the spine first names it
    for reference in package.iter(f"{_OPF_NS}itemref"):
        item = items.get(reference.get("idref"))
        if item is not None and item.get("href"):
            href = item.get("href").split("#")[0]
            chapters.setdefault(posixpath.normpath(posixpath.join(folder, href)))
    return list(chapters)


def _xml(book: Archive, name: str) -> ElementTree.Element:
    return ElementTree.fromstring(book.read(name))


def _dc(package: ElementTree.Element, name: str) -> str | None:
    element = package.find(f".//{_DC_NS}{name}")
    return one_line(element.text or "") or None if element is not None else None
