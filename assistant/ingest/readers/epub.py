"""EPUB: the chapters in reading order (the package's spine), each read with the same
HTML extractor as web pages (trafilatura), chapter titles kept; title, author and date
from the package metadata (Dublin Core)."""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from .. import metadata
from ..sources import SourceDocument, UnreadableSource
from . import TextBuilder, one_line

_CONTAINER = "META-INF/container.xml"
_CONTAINER_NS = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF_NS = "{http://www.idpf.org/2007/opf}"
_DC_NS = "{http://purl.org/dc/elements/1.1/}"
_CHAPTER_TYPES = ("application/xhtml+xml", "text/html")
# A chapter is text: a member that unpacks to more than this is a zip bomb, not a book.
MAX_MEMBER_BYTES = 32 * 1024 * 1024


def read_epub(path: Path, source: str) -> SourceDocument:
    try:
        with zipfile.ZipFile(path) as book:
            package_path = _package_path(book, source)
            package = _xml(book, package_path, source)
            builder = TextBuilder()
            for chapter in _spine(package, posixpath.dirname(package_path)):
                html = _member(book, chapter, source).decode("utf-8", errors="replace")
                for paragraph in chapter_paragraphs(html):
                    builder.paragraph(paragraph)
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError) as error:
        raise UnreadableSource(f"{source}: not a readable EPUB ({error})") from None
    text = builder.text
    if not text.strip():
        raise UnreadableSource(f"{source}: no text in the EPUB")
    return SourceDocument(
        doc_id=source,
        source=source,
        text=text,
        title=_dc(package, "title"),
        byline=_dc(package, "creator"),
        published=metadata.parse_date((_dc(package, "date") or "")[:10]),
        outlet=_dc(package, "publisher"),
    )


def chapter_paragraphs(html: str) -> list[str]:
    """A chapter's paragraphs, its title first: trafilatura's main text, one paragraph a
    line; a title it took for page furniture is put back from the first heading."""
    import trafilatura

    extracted = trafilatura.bare_extraction(
        html, with_metadata=False, include_comments=False, include_tables=True
    )
    lines = [one_line(line) for line in ((extracted and extracted.text) or "").splitlines()]
    paragraphs = [line for line in lines if line]
    heading = _first_heading(html)
    if heading and (not paragraphs or paragraphs[0] != heading):
        paragraphs.insert(0, heading)
    return paragraphs


def _first_heading(html: str) -> str | None:
    import lxml.html

    try:
        root = lxml.html.fromstring(html.encode("utf-8"))
    except (ValueError, lxml.etree.ParserError):
        return None
    for element in root.iter("h1", "h2", "h3"):
        text = one_line(element.text_content())
        if text:
            return text
    return None


def _package_path(book: zipfile.ZipFile, source: str) -> str:
    container = _xml(book, _CONTAINER, source)
    rootfile = container.find(f".//{_CONTAINER_NS}rootfile")
    if rootfile is None or not rootfile.get("full-path"):
        raise UnreadableSource(f"{source}: not a readable EPUB (no package file named)")
    return rootfile.get("full-path")


def _spine(package: ElementTree.Element, folder: str) -> list[str]:
    """The chapters' paths inside the zip, in reading order."""
    items = {
        item.get("id"): item
        for item in package.iter(f"{_OPF_NS}item")
        if item.get("media-type") in _CHAPTER_TYPES
    }
    chapters = []
    for reference in package.iter(f"{_OPF_NS}itemref"):
        item = items.get(reference.get("idref"))
        if item is not None and item.get("href"):
            href = item.get("href").split("#")[0]
            chapters.append(posixpath.normpath(posixpath.join(folder, href)))
    return chapters


def _member(book: zipfile.ZipFile, name: str, source: str) -> bytes:
    from urllib.parse import unquote

    try:
        info = book.getinfo(name)
    except KeyError:
        info = book.getinfo(unquote(name))  # hrefs are URLs: "Chapter%201.xhtml"
    if info.file_size > MAX_MEMBER_BYTES:
        raise UnreadableSource(f"{source}: {name} unpacks to {info.file_size:,} bytes; not a book")
    return book.read(info)


def _xml(book: zipfile.ZipFile, name: str, source: str) -> ElementTree.Element:
    return ElementTree.fromstring(_member(book, name, source))


def _dc(package: ElementTree.Element, name: str) -> str | None:
    element = package.find(f".//{_DC_NS}{name}")
    return one_line(element.text or "") or None if element is not None else None
