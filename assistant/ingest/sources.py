"""Sources: find files, decode them, and turn them into documents with news metadata.

Offsets everywhere in the engine are character offsets into ``SourceDocument.text``:
for ``.txt``/``.md``/``.rst`` that is the file decoded as UTF-8 with a BOM removed and
line endings left exactly as they are; for ``.html`` it is the extracted main text; for
``.jsonl`` it is the record's ``text`` field; for ``.pdf``, ``.docx`` and ``.epub`` it
is the text their reader extracts (:mod:`assistant.ingest.readers`).
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import SourceNotFoundError, UnreadableSource
from ..types import SourceDocument  # defined there, imported from here by the readers
from . import metadata

# Read as text as they are (front matter, headings and rules marked), or extracted.
_TEXT_SUFFIXES = (".txt", ".md", ".markdown", ".rst", ".rest", ".html", ".htm", ".jsonl")
_EXTRACTED_SUFFIXES = (".pdf", ".docx", ".epub")
SUPPORTED_SUFFIXES = _TEXT_SUFFIXES + _EXTRACTED_SUFFIXES
# Prose has paragraphs; a million characters without a line break is minified data,
# a dump or an attack on the splitter, and is reported rather than indexed.
MAX_LINE_CHARS = 1_000_000


@dataclass(frozen=True)
class SourceFile:
    """A file found under one of the roots given to ``index build``."""

    source: str  # the path as the user would write it (root as given + relative part)
    path: Path  # absolute path used to read it
    # Why it is not read at all (a link out of the indexed folders); None for a file to read.
    problem: str | None = None
    # A folder the walk could not list (its permissions): what it held is unknown, so
    # what the index holds from it stays (``index update``).
    unlisted: bool = False


@dataclass(frozen=True)
class SkippedFile:
    source: str
    reason: str
    # Skipped by an earlier write too, and unchanged since: it was listed then.
    known: bool = False


@dataclass
class ReadFigures:
    """What a reader was offered in one file and what it left out, and why, in
    characters (``index sources``). ``offered`` None: it kept all it read."""

    offered: int | None = None
    left_out: list[tuple[str, int]] = field(default_factory=list)  # (why, characters)

    def measure(self, offered: int, kept: int, why: str) -> None:
        self.offered = offered
        if offered > kept:
            self.left_out.append((why, offered - kept))


def skipped_summary(skipped: list[SkippedFile]) -> str | None:
    """One line for the skipped files, counted by type: "skipped 175 files: 120 .png,
    40 .css, 15 no extension"; None when none was skipped."""
    if not skipped:
        return None
    counts: dict[str, int] = {}
    for item in skipped:
        suffix = Path(item.source.split("?")[0]).suffix.lower() or "no extension"
        counts[suffix] = counts.get(suffix, 0) + 1
    kinds = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    total = len(skipped)
    listed = ", ".join(f"{count:,} {suffix}" for suffix, count in kinds)
    return f"skipped {total:,} file{'s' if total != 1 else ''}: {listed}"


def find_source_files(
    roots: list[str], *, follow_links: bool = False, within: list[str] | None = None
) -> Iterator[SourceFile]:
    """Walk the given files and directories in a stable order.

    Directories are walked recursively; hidden entries are skipped, symlinked
    directories are followed once (a loop cannot make us walk forever). A link that
    leads out of the folders ``within`` (default: ``roots``) is yielded with a
    ``problem`` and not followed, unless ``follow_links``: indexing a folder must not
    read ``/etc/passwd`` because a link inside it says so. Paths named in ``roots``
    themselves are always read.
    """
    inside = [os.path.realpath(path) for path in (within if within is not None else roots)]
    for root in roots:
        root_path = Path(root)
        if not root_path.exists():
            raise SourceNotFoundError(f"no such file or directory: {root}")
        if root_path.is_file():
            yield SourceFile(source=root, path=root_path.resolve())
            continue
        seen: set[str] = set()
        unlisted: list[OSError] = []  # folders os.walk could not list, as it met them
        for dirpath, dirnames, filenames in os.walk(
            root_path, followlinks=True, onerror=unlisted.append
        ):
            yield from _unlisted_folders(unlisted, root, root_path)
            real = os.path.realpath(dirpath)
            if real in seen:
                dirnames[:] = []
                continue
            seen.add(real)
            walked = []
            for name in sorted(d for d in dirnames if not d.startswith(".")):
                outside = None if follow_links else _outside(Path(dirpath) / name, inside)
                if outside is None:
                    walked.append(name)
                else:
                    source = str(Path(root) / (Path(dirpath) / name).relative_to(root_path))
                    yield SourceFile(source, Path(real) / name, _link_problem(source, outside))
            dirnames[:] = walked
            for name in sorted(filenames):
                if name.startswith(".") or name == SIDECAR_NAME:
                    continue  # hidden files are nobody's sources; the sidecar is metadata
                full = Path(dirpath) / name
                source = str(Path(root) / full.relative_to(root_path))
                if not name.lower().endswith(SUPPORTED_SUFFIXES):
                    # Resolved as a read file's path is: status and verify match it.
                    yield SourceFile(source, full.resolve(), unsupported_problem(source))
                    continue
                outside = None if follow_links else _outside(full, inside)
                if outside is None:
                    yield SourceFile(source=source, path=full.resolve())
                else:
                    yield SourceFile(source, Path(real) / name, _link_problem(source, outside))
        yield from _unlisted_folders(unlisted, root, root_path)


def _unlisted_folders(errors: list[OSError], root: str, root_path: Path) -> Iterator[SourceFile]:
    """The folders the walk could not list (a folder without read permission): each is
    one skipped source with the reason, never a silent gap. ``errors`` is emptied."""
    while errors:
        error = errors.pop(0)
        folder = Path(error.filename or root_path)
        try:
            source = str(Path(root) / folder.relative_to(root_path))
        except ValueError:
            source = str(folder)
        reason = f"{source}: {error.strerror or error}"
        yield SourceFile(source, Path(os.path.realpath(folder)), reason, unlisted=True)


def unsupported_problem(source: str) -> str:
    """Why a file found in a folder is left out: "x.gz: unsupported type (.gz)"."""
    suffix = Path(source).suffix.lower()
    return f"{source}: unsupported type ({suffix or 'no extension'})"


def _outside(path: Path, folders: list[str]) -> str | None:
    """Where ``path`` really is when that is outside every one of ``folders``, else None."""
    real = os.path.realpath(path)
    for folder in folders:
        if real == folder or real.startswith(folder.rstrip(os.sep) + os.sep):
            return None
    return real


def _link_problem(source: str, target: str) -> str:
    return (
        f"{source}: a link to {target}, outside the indexed folders"
        " (give --follow-links to index what it points to)"
    )


def files_under_roots(roots: list[dict], follow_links: bool = False) -> Iterator[SourceFile]:
    """The files under an index's recorded roots (``{"given", "path"}``), named as the
    build named them: what ``update`` reads and what ``status``/``verify`` compare."""
    present = [root for root in roots if Path(root["path"]).exists()]
    within = [root["path"] for root in present]
    for root in present:
        absolute = root["path"]
        for found in find_source_files([absolute], follow_links=follow_links, within=within):
            if Path(absolute).is_dir():
                # Named from the walk, not from where a link leads (which may be elsewhere).
                relative = Path(found.source).relative_to(absolute)
                source = str(Path(root["given"]) / relative)
            else:
                source = root["given"]
            yield dataclasses.replace(found, source=source)


def decode(data: bytes, source: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:8192]:
        raise UnreadableSource(f"{source}: looks like a binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnreadableSource(f"{source}: not valid UTF-8 (at byte {error.start})") from None


def load_documents(
    file: SourceFile,
    problems: list[str] | None = None,
    figures: ReadFigures | None = None,
    *,
    data: bytes | None = None,
    digest=None,
) -> list[SourceDocument]:
    """Read one file into documents. Raises :class:`UnreadableSource` on failure
    (a reader whose text passes ``limits.MAX_TEXT_CHARS`` included)."""
    from .readers import TextTooLong

    try:
        return _load_documents(file, problems, figures, data, digest)
    except TextTooLong as error:  # the text builder does not know the file's name
        raise UnreadableSource(f"{file.source}: {error}") from None


def _load_documents(
    file: SourceFile,
    problems: list[str] | None,
    figures: ReadFigures | None,
    data: bytes | None,
    digest,
) -> list[SourceDocument]:
    """Read one file into documents (see :func:`load_documents`).

    A ``.jsonl`` record that cannot be read costs that record only when ``problems`` is
    given: the reason (``file:line: ...``) is appended there and the other records
    load. Without it, the first bad record raises. ``figures``, when given, receives
    what an HTML page showed and what its reader left out; other readers keep all the
    text they read.

    ``data``: the file's bytes, read (and hashed) already: they are what is parsed, so
    the hash an index records is that of the text it holds, however the file changes
    meanwhile. Without it the file is read here, and ``digest`` (a hashlib object)
    receives every byte read (a ``.jsonl`` file is streamed, never held whole).
    """
    suffix = file.path.suffix.lower()
    if suffix == ".jsonl":
        return _load_jsonl(file, _LineProblems(file.source, problems), digest)
    if suffix in _EXTRACTED_SUFFIXES:
        document = _load_extracted(file, suffix, problems, data)
        _apply_sidecar(document, file.path)
        metadata.annotate(document)
        return [document]
    if data is None:
        try:
            data = file.path.read_bytes()
        except OSError as error:
            raise UnreadableSource(f"{file.source}: {error.strerror or error}") from None
        if digest is not None:
            digest.update(data)
    text = decode(data, file.source)
    longest = max((len(line) for line in text.splitlines()), default=0)
    if longest > MAX_LINE_CHARS and suffix not in (".html", ".htm"):
        raise UnreadableSource(
            f"{file.source}: a {longest:,}-character line (over {MAX_LINE_CHARS:,}); not prose"
        )
    if suffix in (".html", ".htm"):
        document = _load_html(text, file.source, figures=figures)
    else:
        document = SourceDocument(doc_id=file.source, source=file.source, text=text)
        _read_front_matter(document)
        if suffix in (".rst", ".rest"):
            from .readers.rst import read_rst

            read_rst(document)
        elif suffix in (".md", ".markdown"):
            _read_markdown_title(document)
    _apply_sidecar(document, file.path)
    metadata.annotate(document)
    return [document]


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?P<body>.*?)^(?:---|\.\.\.)[ \t]*$", re.S | re.M)
_KEY_VALUE = re.compile(r"^(?P<key>[A-Za-z_]+)[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$")
# One JSON file per folder gives metadata the files do not state: {"file name": {"date":
# ..., "outlet": ..., "title": ..., "author": ..., "url": ...}}. It is not indexed itself.
SIDECAR_NAME = "assistant-metadata.json"


def _load_extracted(
    file: SourceFile, suffix: str, problems: list[str] | None, data: bytes | None = None
) -> SourceDocument:
    """A PDF, DOCX or EPUB through its reader (each imports its library only here),
    from ``data`` when the file was read already. An EPUB chapter that cannot be read
    is reported in ``problems``; the book loads."""
    if suffix == ".pdf":
        from .readers.pdf import read_pdf as read
    elif suffix == ".docx":
        from .readers.docx import read_docx as read
    else:
        from .readers.epub import read_epub

        def read(path: Path, source: str) -> SourceDocument:
            return read_epub(path, source, problems)

    try:
        return read(file.path if data is None else io.BytesIO(data), file.source)
    except OSError as error:
        raise UnreadableSource(f"{file.source}: {error.strerror or error}") from None


# An ATX heading ("## Title ##") or a setext one (a line over "====" or "----").
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(?P<title>.+?)(?:[ \t]+#+)?[ \t]*$", re.M)
_SETEXT_HEADING = re.compile(r"^(?P<title>[^\s#>|-].*?)[ \t]*\r?\n {0,3}(?:=+|-+)[ \t]*$", re.M)


def _read_markdown_title(document: SourceDocument) -> None:
    """A Markdown file's first heading is its title (when front matter names none)."""
    if document.title is not None:
        return
    start = document.meta_spans[-1][1] if document.meta_spans else 0  # after front matter
    found = [
        match
        for pattern in (_ATX_HEADING, _SETEXT_HEADING)
        if (match := pattern.search(document.text, start))
    ]
    if found:
        first = min(found, key=lambda match: match.start())
        document.title = first.group("title").strip()


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
        if pair:
            metadata.set_metadata_field(document, pair.group("key"), pair.group("value"))
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
        if isinstance(value, str):
            metadata.set_metadata_field(document, str(key), value)


# A record longer than this is not news; it is skipped without being held in memory.
MAX_RECORD_BYTES = 32 * 1024 * 1024
# Bad lines listed per file; beyond that, one line says how many more there were.
MAX_LISTED_PROBLEMS = 20
# Fields of a record kept as metadata: record key -> SourceDocument field.
_RECORD_FIELDS = {
    "title": "title",
    "source": "outlet",
    "published": "published",
    "url": "url",
    "language": "language",
}
_SURROGATE = re.compile("[\ud800-\udfff]")


class _LineProblems:
    """Collects ``file:line: reason`` for a ``.jsonl`` file, or raises at the first."""

    def __init__(self, source: str, sink: list[str] | None) -> None:
        self.source, self.sink, self.count = source, sink, 0

    def add(self, line_number: int, reason: str) -> None:
        message = f"{self.source}:{line_number}: {reason}"
        if self.sink is None:
            raise UnreadableSource(message)
        self.count += 1
        if self.count <= MAX_LISTED_PROBLEMS:
            self.sink.append(message)

    def finish(self) -> None:
        if self.sink is not None and self.count > MAX_LISTED_PROBLEMS:
            more = self.count - MAX_LISTED_PROBLEMS
            self.sink.append(f"{self.source}: {more:,} more bad lines (not listed)")


def _load_jsonl(file: SourceFile, problems: _LineProblems, digest=None) -> list[SourceDocument]:
    """One document per line, read line by line: memory follows the records kept, not
    the file (a 200 MB corpus is never held whole), and a bad line loses that line.
    ``digest`` receives the bytes read, once each."""
    documents: list[SourceDocument] = []
    first_line_of: dict[str, int] = {}  # document id -> line, to report repeats
    with _open_source(file, digest) as handle:
        if b"\x00" in handle.read(8192):
            raise UnreadableSource(f"{file.source}: looks like a binary file")
        handle.seek(0)
        for line_number, raw in _raw_lines(handle):
            if raw is None:
                limit = MAX_RECORD_BYTES // (1024 * 1024)
                problems.add(line_number, f"a record over {limit} MiB; not news")
                continue
            if line_number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            read = _read_record(raw, file.source, line_number, problems)
            if read is None:
                continue
            document, record_id = read
            earlier = first_line_of.get(document.doc_id)
            if earlier is not None:
                document.doc_id = f"{file.source}:{line_number}"
                problems.add(
                    line_number,
                    f"the id {_clip(repr(record_id))} is also on line {earlier};"
                    f" this record's id is {document.doc_id}",
                )
            first_line_of.setdefault(document.doc_id, line_number)
            documents.append(document)
    problems.finish()
    if not documents and problems.count:
        raise UnreadableSource(f"{file.source}: no record could be read")
    return documents


def _raw_lines(handle) -> Iterator[tuple[int, bytes | None]]:
    """Lines split at ``\\n`` only (a JSON string may hold U+2028, which
    ``str.splitlines`` would split at); None for a line over ``MAX_RECORD_BYTES``,
    which is read past in pieces, never whole."""
    line_number = 0
    while True:
        line = handle.readline(MAX_RECORD_BYTES + 1)
        if not line:
            return
        line_number += 1
        if len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = handle.readline(1 << 20)
            yield line_number, None
        else:
            yield line_number, line


def _read_record(
    raw: bytes, source: str, line_number: int, problems: _LineProblems
) -> tuple[SourceDocument, str | int | None] | None:
    """One line as a document and its record id, or None after reporting why not."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        problems.add(line_number, f"not valid UTF-8 (at byte {error.start} of the line)")
        return None
    try:
        record = json.loads(line)
    except RecursionError:
        problems.add(line_number, "invalid JSON (nested too deeply)")
        return None
    except json.JSONDecodeError as error:
        problems.add(line_number, f"invalid JSON ({error.msg})")
        return None
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        problems.add(line_number, f"invalid JSON ({error})")
        return None
    if not isinstance(record, dict):
        problems.add(line_number, "not a JSON object")
        return None
    text = record.get("text")
    if not isinstance(text, str):
        problems.add(line_number, "no 'text' string")
        return None
    fields: dict[str, str | None] = {}
    for key, field_name in _RECORD_FIELDS.items():
        value = record.get(key)
        if value is not None and not isinstance(value, str):
            problems.add(line_number, f"{key!r} is {_describe(value)}, not a string; left out")
            value = None
        fields[field_name] = value
    record_id = record.get("_id", record.get("id"))
    if isinstance(record_id, bool) or not isinstance(record_id, str | int | None):
        problems.add(line_number, f"the id is {_describe(record_id)}; the line number is used")
        record_id = None
    for key, value in [("text", text), ("id", record_id), *fields.items()]:
        if isinstance(value, str) and _SURROGATE.search(value):
            problems.add(line_number, f"{key!r} is not valid Unicode (a lone surrogate)")
            return None
    # Ids are namespaced by their file: one can never be another file's path or
    # another file's record ("#" for the record's id, ":" for its line number).
    has_id = record_id is not None and str(record_id) != ""
    document = SourceDocument(
        doc_id=f"{source}#{record_id}" if has_id else f"{source}:{line_number}",
        source=source,
        text=text,
        title=_str_or_none(fields["title"]),
        outlet=_str_or_none(fields["outlet"]),
        published=metadata.parse_date(fields["published"] or ""),
        url=_str_or_none(fields["url"]),
        detect_metadata=False,
        language=_str_or_none(fields["language"]),
    )
    return document, record_id


@contextmanager
def _open_source(file: SourceFile, digest=None) -> Iterator[BinaryIO]:
    try:
        handle = open(file.path, "rb")  # noqa: SIM115 (closed below; open's error is ours)
    except OSError as error:
        raise UnreadableSource(f"{file.source}: {error.strerror or error}") from None
    with handle:
        yield handle if digest is None else _HashingReader(handle, digest)


class _HashingReader:
    """A file read front to back whose bytes go into ``digest`` once each, even where
    the reader looks at its head and seeks back to the start."""

    def __init__(self, handle: BinaryIO, digest) -> None:
        self._handle = handle
        self._digest = digest
        self._hashed = 0  # bytes from the start already in the digest

    def _seen(self, start: int, chunk: bytes) -> bytes:
        end = start + len(chunk)
        if end > self._hashed:
            self._digest.update(chunk[max(0, self._hashed - start) :])
            self._hashed = end
        return chunk

    def read(self, size: int = -1) -> bytes:
        return self._seen(self._handle.tell(), self._handle.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._seen(self._handle.tell(), self._handle.readline(size))

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)


def _describe(value: object) -> str:
    if isinstance(value, bool | int | float):
        return _clip(json.dumps(value))
    return f"a {type(value).__name__}" if value is not None else "null"


def _clip(text: str, limit: int = 80) -> str:
    """A value quoted in a report line: a record may hold megabytes where a word belongs."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _str_or_none(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def document_from_html(
    html: str,
    source: str,
    *,
    url: str | None = None,
    title: str | None = None,
    byline: str | None = None,
    published: str | None = None,
) -> SourceDocument:
    """A fetched web page (or a feed entry's HTML) as a document, exactly as an
    ``.html`` file would be read: ``source`` names it (the URL), ``url`` is where it
    was found in the end, and ``title``/``byline``/``published`` (e.g. from a news
    feed) fill what the page itself does not state, head lines included. Raises
    :class:`UnreadableSource` when the page has no main text."""
    document = _load_html(html, source, title=title, byline=byline, published=published)
    document.url = url or document.url
    metadata.annotate(document)
    return document


def _load_html(
    html: str,
    source: str,
    *,
    title: str | None = None,
    byline: str | None = None,
    published: str | None = None,
    figures: ReadFigures | None = None,
) -> SourceDocument:
    """A page as a document: a documentation page read whole, block by block; an
    article page through the main-text extractor. ``figures`` receives what the
    page's body shows and what was left out of it."""
    from .readers import html as html_reader

    root = html_reader.parse(html)
    # Measured only when asked for: a fetched page's reading needs no second walk.
    measured = figures is not None and root is not None
    shown = html_reader.shown_length(root) if measured else 0
    if root is not None and html_reader.is_documentation(root):
        document = html_reader.read_documentation(root, source)
        if document.text.strip():
            if measured:
                figures.measure(shown, len(document.text), html_reader.NAVIGATION_LEFT_OUT)
            document.title = document.title or _str_or_none(title)
            document.byline = document.byline or _str_or_none(byline)
            document.published = document.published or metadata.parse_date(published or "")
            return document
    document = _load_article(html, root, source, title=title, byline=byline, published=published)
    if measured:
        figures.measure(shown, len(document.text), "outside the article's main text")
    return document


def _load_article(
    html: str,
    root,
    source: str,
    *,
    title: str | None = None,
    byline: str | None = None,
    published: str | None = None,
) -> SourceDocument:
    # trafilatura keeps the main text and drops navigation, ads and link lists.
    import trafilatura

    from .readers import html as html_reader

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
    # What the markup states wins; the fallbacks (a feed's entry) fill the gaps. The
    # date comes from markup that states it, never from a year found in the page.
    title = _str_or_none(extracted.title) or _str_or_none(title)
    byline = _str_or_none(extracted.author) or _str_or_none(byline)
    stated = html_reader.markup_date(root) if root is not None else None
    published = stated or metadata.parse_date(published or "")
    head, text = _headed_text(root, body, title, byline)
    document = SourceDocument(
        doc_id=source,
        source=source,
        text=text,
        title=title,
        outlet=_str_or_none(extracted.sitename),
        byline=byline,
        published=published,
        url=_str_or_none(extracted.url),
        language=html_reader.page_language(root) if root is not None else None,
    )
    offset = 0
    for line in head:
        document.meta_spans.append((offset, offset + len(line)))
        offset += len(line) + 2
    return document


def _headed_text(root, body: str, title: str | None, byline: str | None):
    """The head lines (headline, byline) and the text they head. The extractor leaves
    the headline and byline out of the main text. Where the page shows them, they head
    the text as lines of their own, so that "who wrote ..." can be answered with a
    citation; what the page does not show is metadata only."""
    from .readers import html as html_reader

    shown = html_reader.shown_text(root) if root is not None else ""
    head = [_shown_headline(root, title, shown), _shown_byline(byline, shown)]
    head = [line for line in head if line]
    for line in head:
        if body == line or body.startswith(f"{line}\n"):
            body = body[len(line) :].lstrip("\n")  # the extractor kept it: not twice
    return head, ("\n\n".join([*head, body]) if body else "\n\n".join(head))


def _shown_headline(root, title: str | None, shown: str) -> str | None:
    """The headline as the page shows it: the title when the page shows it, else an
    ``<h1>`` that the title holds ("Headline | Site"); None when neither is shown."""
    from .readers import html as html_reader

    line = " ".join((title or "").split())
    if not line:
        return None
    if line.casefold() in shown.casefold():
        return line
    for heading in html_reader.headings(root, "h1") if root is not None else ():
        if len(heading.split()) >= 2 and heading.casefold() in line.casefold():
            return heading
    return None


def _shown_byline(byline: str | None, shown: str) -> str | None:
    """The byline as the page shows it ("By Jane Doe", or the name alone), or None."""
    name = " ".join((byline or "").split())
    if not name:
        return None
    match = re.search(rf"\bby:?\s+{re.escape(name)}", shown, re.IGNORECASE)
    if match:
        return match.group()
    return name if name.casefold() in shown.casefold() else None
