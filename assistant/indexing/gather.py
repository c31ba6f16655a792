"""What a write's index will hold, source by source: the passages and vectors of
unchanged sources taken from the current index, new and changed files read and split,
web pages fetched or kept. Unchanged files (same SHA-256) are not read again."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from ..ingest import chunks as chunking
from ..ingest.sources import ReadFigures, SkippedFile, SourceFile
from ..storage.layout import FileEntry, stat_signature
from ..types import SourceDocument
from .plan import (
    BuildReport,
    PendingPassage,
    ProgressCallback,
    ReusableRows,
    WriteOptions,
    progress_detail,
)
from .read import read_and_split, size_limit, too_big, unacceptable
from .web import web_fields, web_rows


@dataclass
class Gathered:
    """Every document and passage of the index after this write, and what the
    manifest will say of its sources."""

    previous: object | None  # the current index (a read store with its manifest), if any
    # Takes each source's documents and passages as they come (to the write's spool).
    keep: Callable[[list[SourceDocument], list[PendingPassage]], None]
    entries: dict[str, FileEntry] = field(default_factory=dict)
    # Skipped files go into the manifest with their size and mtime: until they change,
    # status and verify know them as skipped, not as new files waiting for an update.
    skipped: dict[str, dict] = field(default_factory=dict)
    pages: dict[str, dict] = field(default_factory=dict)
    web_fields: dict = field(default_factory=dict)
    read: set[str] = field(default_factory=set)  # the sources of the files given
    _reusable: ReusableRows | None = None  # read from the current index on first need

    @property
    def old_files(self) -> dict[str, FileEntry]:
        return self.previous.manifest.files if self.previous else {}

    @property
    def same_chunking(self) -> bool:
        """Passages split under other rules are not reused: the file is read again."""
        return (
            self.previous is not None
            and self.previous.manifest.chunking == chunking.CHUNKING_VERSION
        )

    def rows(self) -> ReusableRows:
        if self._reusable is None:
            self._reusable = ReusableRows(self.previous)
        return self._reusable

    def reuse(self, source: str) -> tuple[int, int]:
        """Take a source's documents and passages from the current index."""
        documents, passages = self.rows().for_source(source)
        self.keep(documents, passages)
        return len(documents), len(passages)

    def skip(self, file: SourceFile, reason: str, report: BuildReport) -> None:
        signature = stat_signature(file.path)
        before = self.previous.manifest.skipped.get(file.source) if self.previous else None
        known = bool(before) and before.get("stat") == signature  # listed when first met
        report.skipped.append(SkippedFile(file.source, reason, known=known))
        self.skipped[file.source] = {"path": str(file.path), "reason": reason, "stat": signature}


def gather(
    files: list[SourceFile],
    previous,
    options: WriteOptions,
    report: BuildReport,
    progress: ProgressCallback | None,
    keep: Callable[[list[SourceDocument], list[PendingPassage]], None],
) -> Gathered:
    """The index's content after this write: carried sources, ``files`` (reused when
    unchanged, else read), then web pages and feed articles, each source handed to
    ``keep`` as it is gathered."""
    gathered = Gathered(previous, keep, read={file.source for file in files})
    _carry(gathered, options, report)
    seen = set(gathered.entries)
    for number, file in enumerate(files, 1):
        if progress:
            progress_detail(progress, current=file.source)
            progress("reading", number, len(files))
        if file.source in seen:
            continue
        seen.add(file.source)
        _gather_file(gathered, file, report)
    documents, pending, pages = web_rows(
        previous, options.web, gathered.rows, gathered.same_chunking, report
    )
    for source_documents, source_passages in _by_source(documents, pending):
        keep(source_documents, source_passages)
    gathered.pages = pages
    gathered.web_fields = web_fields(previous, options.web, pages)
    return gathered


def _by_source(documents: list[SourceDocument], passages: list[PendingPassage]):
    """Web documents and passages grouped by page, in the order met."""
    grouped: dict[str, tuple[list, list]] = {}
    for document in documents:
        grouped.setdefault(document.source, ([], []))[0].append(document)
    for passage in passages:
        grouped.setdefault(passage.source, ([], []))[1].append(passage)
    return list(grouped.values())


def _carry(gathered: Gathered, options: WriteOptions, report: BuildReport) -> None:
    """Sources ``add`` and ``remove`` keep as they are, neither read nor hashed."""
    old_files = gathered.old_files
    for source in options.carried:
        if source in gathered.read or source not in old_files:
            continue  # read again: it was named again
        gathered.reuse(source)
        gathered.entries[source] = old_files[source]
        report.files_unchanged += 1
    old_skipped = gathered.previous.manifest.skipped if options.carried else {}
    for source, entry in old_skipped.items():
        if source in options.carried and source not in gathered.read:
            gathered.skipped[source] = entry  # still skipped, and still known as skipped


def _gather_file(gathered: Gathered, file: SourceFile, report: BuildReport) -> None:
    """One file: skipped, reused (same hash, same splitting rules), or read and split."""
    if file.problem:
        if file.unlisted:  # a folder that cannot be listed: what it held stays
            _keep_unlisted(gathered, file, report)
        gathered.skip(file, file.problem, report)
        return
    try:
        snapshot = _snapshot(file)
    except OSError as error:
        reason = f"{file.source}: {error.strerror or error}"
        if error.errno in KEPT_WHEN_UNREADABLE:
            _unreadable(gathered, file, reason, report)
        else:  # gone, say, since the walk found it: not indexed any more
            gathered.skip(file, reason, report)
        return
    if isinstance(snapshot, str):
        gathered.skip(file, f"{file.source}: {snapshot}", report)
        return
    entry, data = snapshot
    old = gathered.old_files.get(file.source)
    if old is not None and old.sha256 == entry.sha256 and gathered.same_chunking:
        entry.documents, entry.passages = gathered.reuse(file.source)
        entry.problems = list(old.problems)
        entry.source_chars, entry.kept_chars = old.source_chars, old.kept_chars
        entry.dropped = list(old.dropped)
        report.files_unchanged += 1
    elif not _read_file(gathered, file, entry, report, data):
        return
    gathered.entries[file.source] = entry


def _snapshot(file: SourceFile) -> tuple[FileEntry, bytes | None] | str:
    """The file opened once: its entry (size and time of what was opened, the SHA-256
    of the bytes read) and those bytes, which are the ones parsed: a file replaced
    between hashing and reading cannot be indexed under one version's hash with the
    other's text. A ``.jsonl`` file is hashed streaming (None: it is streamed again to
    be parsed, and hashed again then). A string: why the file is not read at all."""
    # Not blocking: a FIFO put in the file's place must not hang the write.
    with open(file.path, "rb", opener=_non_blocking) as handle:
        stat = os.fstat(handle.fileno())
        problem = unacceptable(file, stat)
        if problem:
            return problem
        digest = hashlib.sha256()
        data = None
        if file.path.suffix.lower() == ".jsonl":
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        else:
            data = handle.read(size_limit(file) + 1)
            if len(data) > size_limit(file):  # it grew since the check
                return too_big(file, len(data))
            digest.update(data)
    size = stat.st_size if data is None else len(data)
    entry = FileEntry(
        sha256=digest.hexdigest(), size=size, mtime_ns=stat.st_mtime_ns, path=str(file.path)
    )
    return entry, data


# Errors that say the file is there but cannot be read now (permissions, the disk):
# its indexed documents stay.
KEPT_WHEN_UNREADABLE = frozenset({errno.EACCES, errno.EPERM, errno.EIO})


def _non_blocking(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NONBLOCK)


def _unreadable(gathered: Gathered, file: SourceFile, reason: str, report: BuildReport) -> None:
    """A file that cannot be opened or read (its permissions, an I/O error): skipped
    when it is new; when the index holds it, its documents stay, and a warning names
    it (an update must not drop what it could not read again)."""
    if not _keep(gathered, file.source, reason, report):
        gathered.skip(file, reason, report)


def _keep_unlisted(gathered: Gathered, folder: SourceFile, report: BuildReport) -> None:
    """The indexed files inside a folder that cannot be listed now: kept, each named."""
    inside = str(folder.path).rstrip(os.sep) + os.sep
    for source, entry in gathered.old_files.items():
        if entry.path.startswith(inside) and source not in gathered.entries:
            _keep(gathered, source, folder.problem or "", report)


def _keep(gathered: Gathered, source: str, reason: str, report: BuildReport) -> bool:
    old = gathered.old_files.get(source)
    if old is None or not gathered.same_chunking:
        return False
    gathered.reuse(source)
    gathered.entries[source] = old
    report.files_unchanged += 1
    report.warnings.append(
        SkippedFile(source, f"{source}: could not be read again ({reason}); its documents stay")
    )
    return True


def _read_file(
    gathered: Gathered, file: SourceFile, entry: FileEntry, report, data: bytes | None
) -> bool:
    """A new or changed file read and split (from ``data``, the bytes hashed; a
    ``.jsonl`` file streamed again, its entry then taking the hash of what was
    parsed); False when it is skipped."""
    problems: list[str] = []
    figures = ReadFigures()
    parsed = hashlib.sha256() if data is None else None
    loaded, passages, reason = read_and_split(file, problems, figures, data=data, digest=parsed)
    if parsed is not None and reason is None:
        entry.sha256 = parsed.hexdigest()
    report.warnings.extend(SkippedFile(file.source, problem) for problem in problems)
    if reason is None and not any(document.text.strip() for document in loaded):
        reason = f"{file.source}: no text"
    if reason is not None:
        gathered.skip(file, reason, report)
        return False
    gathered.keep(loaded, passages)
    entry.documents, entry.passages = len(loaded), len(passages)
    entry.problems = problems
    _record_figures(entry, loaded, figures)
    report.files_embedded.append(file.source)
    return True


def _record_figures(entry: FileEntry, loaded: list[SourceDocument], figures: ReadFigures) -> None:
    """What the file offered, what its documents keep, and what was left out and why."""
    entry.kept_chars = sum(len(document.text) for document in loaded)
    entry.source_chars = entry.kept_chars if figures.offered is None else figures.offered
    entry.dropped = [f"{why} {count:,}" for why, count in figures.left_out]
