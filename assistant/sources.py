"""Sources: find files, decode them, and turn them into documents with news metadata.

Offsets everywhere in the engine are character offsets into ``SourceDocument.text``:
for ``.txt``/``.md`` that is the file decoded as UTF-8 with a BOM removed and line
endings left exactly as they are; for ``.html`` it is the extracted main text; for
``.jsonl`` it is the record's ``text`` field.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import metadata
from .errors import SourceNotFoundError

SUPPORTED_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".jsonl")
# Prose has paragraphs; a million characters without a line break is minified data,
# a dump or an attack on the splitter, and is reported rather than indexed.
MAX_LINE_CHARS = 1_000_000


@dataclass(frozen=True)
class SourceFile:
    """A file found under one of the roots given to ``index build``."""

    source: str  # the path as the user would write it (root as given + relative part)
    path: Path  # absolute path used to read it


@dataclass
class SourceDocument:
    doc_id: str
    source: str
    text: str
    title: str | None = None
    outlet: str | None = None
    byline: str | None = None
    published: str | None = None
    url: str | None = None
    # Offsets of lines that are metadata (headline, byline, date): not passages.
    meta_spans: list[tuple[int, int]] = field(default_factory=list)
    detect_metadata: bool = True


@dataclass(frozen=True)
class SkippedFile:
    source: str
    reason: str


class UnreadableSource(Exception):
    """Raised for one file that cannot be read or decoded; the build skips it."""


def find_source_files(roots: list[str]) -> Iterator[SourceFile]:
    """Walk the given files and directories in a stable order.

    Directories are walked recursively; hidden entries are skipped, symlinked
    directories are followed once (a loop cannot make us walk forever).
    """
    for root in roots:
        root_path = Path(root)
        if not root_path.exists():
            raise SourceNotFoundError(f"no such file or directory: {root}")
        if root_path.is_file():
            yield SourceFile(source=root, path=root_path.resolve())
            continue
        seen: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(root_path, followlinks=True):
            real = os.path.realpath(dirpath)
            if real in seen:
                dirnames[:] = []
                continue
            seen.add(real)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith(".") or not name.lower().endswith(SUPPORTED_SUFFIXES):
                    continue
                full = Path(dirpath) / name
                relative = full.relative_to(root_path)
                yield SourceFile(source=str(Path(root) / relative), path=full.resolve())


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def decode(data: bytes, source: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:8192]:
        raise UnreadableSource(f"{source}: looks like a binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableSource(f"{source}: not valid UTF-8 (at byte {error.start})") from None


def load_documents(file: SourceFile) -> list[SourceDocument]:
    """Read one file into documents. Raises :class:`UnreadableSource` on failure."""
    try:
        data = file.path.read_bytes()
    except OSError as error:
        raise UnreadableSource(f"{file.source}: {error.strerror or error}") from None
    suffix = file.path.suffix.lower()
    if suffix == ".jsonl":
        return list(_load_jsonl(data, file.source))
    text = decode(data, file.source)
    longest = max((len(line) for line in text.splitlines()), default=0)
    if longest > MAX_LINE_CHARS and suffix not in (".html", ".htm"):
        raise UnreadableSource(
            f"{file.source}: a {longest:,}-character line (over {MAX_LINE_CHARS:,}); not prose"
        )
    if suffix in (".html", ".htm"):
        document = _load_html(text, file.source)
    else:
        document = SourceDocument(doc_id=file.source, source=file.source, text=text)
        _read_front_matter(document)
    _apply_sidecar(document, file.path)
    metadata.annotate(document)
    return [document]


# YAML front matter keys (as Jekyll, Hugo and Pandoc write them) and the field each fills.
_FRONT_MATTER_KEYS = {
    "title": "title",
    "date": "published",
    "published": "published",
    "author": "byline",
    "authors": "byline",
    "byline": "byline",
    "outlet": "outlet",
    "publisher": "outlet",
    "source": "outlet",
    "site": "outlet",
    "url": "url",
    "link": "url",
}
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<body>.*?)^(?:---|\.\.\.)[ \t]*$", re.S | re.M)
_KEY_VALUE = re.compile(r"^(?P<key>[A-Za-z_]+)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$")
# One JSON file per folder gives metadata the files do not state: {"file name": {"date":
# ..., "outlet": ..., "title": ..., "author": ..., "url": ...}}. It is not indexed itself.
SIDECAR_NAME = "assistant-metadata.json"


def _metadata_value(field_name: str, value: str) -> str | None:
    value = value.strip().strip("\"'").strip()
    if not value:
        return None
    if field_name == "published":
        return metadata.parse_date(value) or metadata.parse_date(value[:10])
    return value


def _read_front_matter(document: SourceDocument) -> None:
    """Title, date, author, outlet and url from a leading ``---`` block: its lines are
    the document's head (citable for questions about the report), not passages."""
    match = _FRONT_MATTER.match(document.text)
    if not match:
        return
    offset = 0
    for line in document.text[: match.end()].splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        pair = _KEY_VALUE.match(bare)
        field_name = _FRONT_MATTER_KEYS.get(pair.group("key").lower()) if pair else None
        if field_name and getattr(document, field_name) is None:
            setattr(document, field_name, _metadata_value(field_name, pair.group("value")))
        if bare.strip():
            document.meta_spans.append((offset, offset + len(bare)))
        offset += len(line)


def _apply_sidecar(document: SourceDocument, path: Path) -> None:
    """Fill what the text does not state from the folder's sidecar file, if any."""
    sidecar = path.parent / SIDECAR_NAME
    try:
        entries = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # no sidecar, or one that cannot be read: the text alone counts
    entry = entries.get(path.name) if isinstance(entries, dict) else None
    if not isinstance(entry, dict):
        return
    for key, value in entry.items():
        field_name = _FRONT_MATTER_KEYS.get(str(key).lower())
        if field_name and isinstance(value, str) and getattr(document, field_name) is None:
            setattr(document, field_name, _metadata_value(field_name, value))


def _load_jsonl(data: bytes, source: str) -> Iterator[SourceDocument]:
    text = decode(data, source)
    for line_number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UnreadableSource(f"{source}:{line_number}: invalid JSON ({error.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise UnreadableSource(f"{source}:{line_number}: a record needs a string 'text'")
        record_id = record.get("_id", record.get("id"))
        doc_id = str(record_id) if record_id is not None else f"{source}#{line_number}"
        document = SourceDocument(
            doc_id=doc_id,
            source=source,
            text=record["text"],
            title=_str_or_none(record.get("title")),
            outlet=_str_or_none(record.get("source")),
            published=metadata.parse_date(record.get("published") or ""),
            url=_str_or_none(record.get("url")),
            detect_metadata=False,
        )
        yield document


def _str_or_none(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _load_html(html: str, source: str) -> SourceDocument:
    # trafilatura keeps the main text and drops navigation, ads and link lists.
    import trafilatura

    extracted = trafilatura.bare_extraction(
        html,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
    )
    if extracted is None or not (extracted.text or "").strip():
        raise UnreadableSource(f"{source}: no main text found in the HTML")
    # One paragraph per line in trafilatura's output; blank lines are our paragraph mark.
    body = "\n\n".join(line.strip() for line in extracted.text.splitlines() if line.strip())
    title = _str_or_none(extracted.title)
    byline = _str_or_none(extracted.author)
    published = metadata.parse_date(extracted.date or "")
    # The page states its headline, author and date in its markup, not in the main
    # text: they head the text as lines of their own, so that "who wrote ..." and
    # "when was ... published" can be answered with a citation like anything else.
    head = [line for line in (title, byline and f"By {byline}", _date_line(published)) if line]
    text = "\n\n".join([" ".join(line.split()) for line in head] + [body])
    document = SourceDocument(
        doc_id=source,
        source=source,
        text=text,
        title=title,
        outlet=_str_or_none(extracted.sitename),
        byline=byline,
        published=published,
        url=_str_or_none(extracted.url),
    )
    offset = 0
    for line in head:
        line = " ".join(line.split())
        document.meta_spans.append((offset, offset + len(line)))
        offset += len(line) + 2
    return document


def _date_line(published: str | None) -> str | None:
    """ "Published 25 April 2023": the page's date, in words a question uses."""
    if not published:
        return None
    year, month, day = (int(part) for part in published.split("-"))
    return f"Published {day} {calendar.month_name[month]} {year}"
