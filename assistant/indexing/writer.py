"""The writer: ``build``, ``update``, ``add`` and ``remove`` of an index.

Each write reads what is new or changed, splits and embeds it, keeps the passages and
vectors of what did not change from the current generation, and writes a whole new
generation (:mod:`.database`, :mod:`.vectors`) beside the current one before the
manifest is replaced (:mod:`.layout`). Unchanged files (same SHA-256) keep their
passages and vectors; only new or changed files are read, split and embedded.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .. import embeddings
from ..errors import (
    AssistantError,
    NothingToIndexError,
    SourceNotFoundError,
    UsageError,
)
from ..ingest import boilerplate, speakers
from ..ingest import chunks as chunking
from ..ingest.sources import (
    SUPPORTED_SUFFIXES,
    SkippedFile,
    SourceFile,
    UnreadableSource,
    file_sha256,
    files_under_roots,
    find_source_files,
    load_documents,
    stat_signature,
)
from ..paths import make_private, private_dir
from ..storage import database, layout, vectors
from ..storage.layout import (
    DB_NAME,
    SCHEMA_VERSION,
    FileEntry,
    Manifest,
    fault_point,
    index_exists,
    read_manifest,
    write_lock,
    write_manifest,
)
from ..storage.local import StoredIndex
from ..types import SourceDocument, Statement

# stage name, done, total
ProgressCallback = Callable[[str, int, int], None]

# Larger files are reported and skipped: a news corpus has no 32 MB article, and
# reading one whole would make memory grow with the input. JSON Lines corpora
# (one record per line) may be bigger.
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_JSONL_BYTES = 512 * 1024 * 1024


@dataclass
class BuildReport:
    index: str
    files_total: int = 0
    files_embedded: list[str] = field(default_factory=list)  # new or changed
    files_unchanged: int = 0
    files_removed: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    # Records left out of files that were indexed (``file:line: reason``), fields left
    # out of records, and document ids that had to change: nothing is lost unsaid.
    warnings: list[SkippedFile] = field(default_factory=list)
    documents: int = 0
    passages: int = 0
    passages_embedded: int = 0
    passages_reused: int = 0
    boilerplate: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        data = self.__dict__.copy()
        data["skipped"] = [{"source": s.source, "reason": s.reason} for s in self.skipped]
        data["warnings"] = [{"source": w.source, "reason": w.reason} for w in self.warnings]
        return data


@dataclass
class _PendingPassage:
    doc_id: str
    source: str
    chunk: chunking.Chunk
    vector: np.ndarray | None = None  # reused from the old index
    sentence_vectors: np.ndarray | None = None  # likewise, one row per sentence


def build_index(
    paths: list[str],
    index_dir: Path,
    progress: ProgressCallback | None = None,
    *,
    allow_empty: bool = False,
    follow_links: bool = False,
    urls: Sequence[str] = (),
    feeds: Sequence[str] = (),
    store: str | None = None,
) -> BuildReport:
    """Index everything under ``paths`` into ``index_dir``, replacing what was there.

    ``store`` is where passages and vectors go: "local" (this directory's generations)
    or a Milvus URI (``milvus:PATH.db``, ``milvus://HOST:PORT``, ``https://…``); None
    keeps what the index had (local for a new one).

    A build that finds nothing to index raises :class:`NothingToIndexError` and leaves
    the index as it was, unless ``allow_empty``. Links out of ``paths`` are skipped
    unless ``follow_links`` (recorded, so that updates do the same). ``urls`` (web
    pages) and ``feeds`` (RSS/Atom) are fetched and indexed too, and recorded for
    ``update``.
    """
    if not paths and not (urls or feeds):
        raise UsageError("give at least one file or directory to index")
    present = [p for p in paths if Path(p).exists() or Path(p).is_symlink()]
    if paths and not present:
        missing = ", ".join(paths)
        raise SourceNotFoundError(f"no such file or directory: {missing}")
    roots = [{"given": p, "path": str(Path(p).resolve())} for p in present]
    files = list(find_source_files(present, follow_links=follow_links))
    recorded = _store_for(index_dir, store)
    with write_lock(index_dir):
        layout.remove_leftovers(index_dir)
        web = _fetch_web(list(urls), list(feeds), None, progress) if urls or feeds else None
        options = _Options(allow_empty=allow_empty, follow_links=follow_links, web=web)
        if recorded:
            name = _milvus().index_name_for(index_dir)
            options = dataclasses.replace(options, store=recorded, store_index=name, fresh=True)
        report = _write_generation(index_dir, roots, files, None, progress, options)
    report.skipped[:0] = [
        SkippedFile(p, f"{p}: no such file or directory") for p in paths if p not in present
    ]
    return report


def update_index(
    index_dir: Path,
    progress: ProgressCallback | None = None,
    *,
    allow_empty: bool = False,
    follow_links: bool = False,
) -> BuildReport:
    """Bring the index up to date with its source paths: embed only what changed.

    An update that would remove every document raises :class:`NothingToIndexError`
    unless ``allow_empty``; ``follow_links`` (or the build's) follows links out of the
    indexed folders.
    """
    read_manifest(index_dir)  # no index: say so without creating the directory
    with write_lock(index_dir):
        layout.remove_leftovers(index_dir)
        manifest = read_manifest(index_dir)
        web = None
        if manifest.urls or manifest.feeds:  # pages fetched again, feeds' new articles
            web = _fetch_web(manifest.urls, list(manifest.feeds), manifest, progress)
        options = _Options(allow_empty, follow_links or manifest.follow_links, web=web)
        options = _same_store(options, manifest)
        # A root that is gone has no files here: its files are dropped as removed.
        files = list(files_under_roots(manifest.roots, options.follow_links))
        previous = open_previous(index_dir, manifest)
        try:
            report = _write_generation(
                index_dir, manifest.roots, files, previous, progress, options
            )
            report.warnings.extend(_missing_roots(manifest.roots))
            return report
        finally:
            previous.close()


def add_sources(
    paths: list[str],
    index_dir: Path,
    progress: ProgressCallback | None = None,
    *,
    urls: list[str] = (),
    feeds: list[str] = (),
    allow_empty: bool = False,
    follow_links: bool = False,
    store: str | None = None,
) -> BuildReport:
    """Add files and directories to the index (created if missing); what it held stays
    as it is, and only the new files are read and embedded.

    The paths join the index's roots, so ``update`` re-reads them too. Paths that bring
    no document raise :class:`NothingToIndexError` (unless ``allow_empty``); a missing
    path is :class:`SourceNotFoundError`, as for a build. ``urls`` (web pages) and
    ``feeds`` (RSS/Atom) are fetched by :mod:`assistant.ingest.web` and
    :mod:`assistant.ingest.feeds`.
    """
    if not paths and not (urls or feeds):
        raise UsageError("give at least one file, directory, URL or feed to add")
    missing = [p for p in paths if not (Path(p).exists() or Path(p).is_symlink())]
    if missing:
        raise SourceNotFoundError(f"no such file or directory: {', '.join(missing)}")
    if not index_exists(index_dir):
        return build_index(
            paths,
            index_dir,
            progress,
            allow_empty=allow_empty,
            follow_links=follow_links,
            urls=urls,
            feeds=feeds,
            store=store,
        )
    if store is not None and _store_for(index_dir, store) != read_manifest(index_dir).store:
        raise UsageError(
            f"the index at {index_dir} keeps its passages elsewhere; --store applies when"
            " an index is created",
            hint="to move it, rebuild it with: assistant index build PATH --store URI",
        )
    with write_lock(index_dir):
        layout.remove_leftovers(index_dir)
        manifest = read_manifest(index_dir)
        roots = _merged_roots(manifest.roots, paths)
        links = follow_links or manifest.follow_links
        files = list(find_source_files(paths, follow_links=links))
        carried: tuple[str, ...] = tuple(manifest.files) + tuple(manifest.skipped)
        if manifest.chunking != chunking.CHUNKING_VERSION:
            # Passages split under other rules cannot be kept: read everything again.
            files = list(files_under_roots(roots, links))
            carried = ()
        # Only the URLs and feeds given are fetched; indexed pages stay as they are.
        web = _fetch_web(list(urls), list(feeds), manifest, progress) if urls or feeds else None
        options = _Options(allow_empty, links, carried=carried, adding=True, web=web)
        options = _same_store(options, manifest)
        previous = open_previous(index_dir, manifest)
        try:
            return _write_generation(index_dir, roots, files, previous, progress, options)
        finally:
            previous.close()


def remove_sources(
    paths: list[str],
    index_dir: Path,
    progress: ProgressCallback | None = None,
    *,
    allow_empty: bool = False,
) -> BuildReport:
    """Remove indexed files, or whole indexed folders, and their documents; nothing
    else is read or embedded.

    A path may name a root given to build/add, or anything under one that is not
    inside a root that stays (``update`` would bring it back): removing a file from an
    indexed folder is refused with :class:`UsageError`. A path the index does not hold
    is :class:`SourceNotFoundError`. Removing every document needs ``allow_empty``.
    """
    if not paths:
        raise UsageError("give at least one indexed file or directory to remove")
    read_manifest(index_dir)  # no index: say so without creating the directory
    with write_lock(index_dir):
        layout.remove_leftovers(index_dir)
        manifest = read_manifest(index_dir)
        web = _web_removed(manifest, [given for given in paths if _is_url(given)])
        targets = {given: _absolute(given) for given in paths if not _is_url(given)}
        roots = [
            root
            for root in manifest.roots
            if not any(_within(root["path"], target) for target in targets.values())
        ]
        for given, target in targets.items():
            holder = next((r for r in roots if _within(target, r["path"])), None)
            if holder is not None:
                raise UsageError(
                    f"{given} is inside the indexed folder {holder['given']},"
                    " which would bring it back at the next update",
                    hint=f"remove {holder['given']}, or move the file out of it",
                )
        known = {source: entry["path"] for source, entry in manifest.skipped.items()}
        known.update({source: entry.path for source, entry in manifest.files.items()})

        def named(source: str, given: str) -> bool:
            return source == given or _within(known[source], targets[given])

        gone = {source for source in known if any(named(source, given) for given in targets)}
        unmatched = [
            given
            for given, target in targets.items()
            if not any(named(source, given) for source in gone)
            and not any(_within(root["path"], target) for root in manifest.roots)
        ]
        unmatched += [
            given
            for given in paths
            if _is_url(given) and given not in manifest.pages and given not in manifest.feeds
        ]
        if unmatched:
            raise SourceNotFoundError(
                f"not in the index at {index_dir}: {', '.join(unmatched)}",
                hint="see what it holds with: assistant index sources",
            )
        carried = tuple(source for source in known if source not in gone)
        options = _Options(allow_empty, manifest.follow_links, carried=carried, web=web)
        options = _same_store(options, manifest)
        previous = open_previous(index_dir, manifest)
        try:
            return _write_generation(index_dir, roots, [], previous, progress, options)
        except NothingToIndexError:
            raise NothingToIndexError(
                f"removing {', '.join(paths)} would leave the index at {index_dir} without"
                " a document; it is unchanged",
                hint="add --allow-empty to write an empty index",
            ) from None
        finally:
            previous.close()


@dataclass
class SourceInfo:
    """One source of an index as ``index sources`` lists it."""

    source: str
    state: str  # "indexed", "changed", "missing" or "skipped"
    documents: int = 0
    passages: int = 0
    modified: str | None = None  # the file's modification time when it was read (ISO)
    published: str | None = None  # its documents' publication dates: "2023-04-02" or a range
    reason: str | None = None  # why it is skipped

    def to_json(self) -> dict:
        return dict(self.__dict__)


def list_sources(index_dir: Path) -> list[SourceInfo]:
    """Every file the index holds or skipped, with counts, dates and its state on disk
    now (``changed`` and ``missing`` as ``status`` finds them; hashed only when touched)."""
    manifest = read_manifest(index_dir)
    store = open_previous(index_dir, manifest)
    try:
        return sources_of(store, manifest)
    finally:
        store.close()


def sources_of(store, manifest: Manifest | None = None) -> list[SourceInfo]:
    """:func:`list_sources` of an index already open (``manifest``: the directory's,
    needed when the store is a Milvus one, whose own manifest lists no files)."""
    manifest = manifest or store.manifest
    dates = store.publication_dates()
    counts = store.passage_counts()
    found = []
    for source, entry in manifest.files.items():
        days = sorted(dates.get(source, []))
        found.append(
            SourceInfo(
                source=source,
                state=layout.file_state(entry) or "indexed",
                documents=entry.documents,
                passages=counts.get(source, 0),
                modified=_iso(entry.mtime_ns),
                published=None if not days else "–".join(dict.fromkeys((days[0], days[-1]))),
            )
        )
    for source, entry in manifest.pages.items():  # web pages: "modified" is the fetch
        days = sorted(dates.get(source, []))
        found.append(
            SourceInfo(
                source=source,
                state="indexed",
                documents=entry["documents"],
                passages=counts.get(source, 0),
                modified=entry["fetched_at"],
                published=None if not days else "–".join(dict.fromkeys((days[0], days[-1]))),
            )
        )
    for source, entry in manifest.skipped.items():
        stat = entry.get("stat")
        found.append(
            SourceInfo(
                source=source,
                state="skipped",
                modified=_iso(stat[1]) if stat else None,
                reason=entry.get("reason"),
            )
        )
    return sorted(found, key=lambda info: info.source)


def _iso(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).isoformat(timespec="seconds")


def _absolute(path: str) -> str:
    """As the manifest records paths: absolute, links resolved (a missing path too)."""
    return os.path.realpath(os.path.expanduser(path))


def _within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (as strings: either may be gone)."""
    path, folder = os.path.normpath(path), os.path.normpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _merged_roots(roots: list[dict], paths: list[str]) -> list[dict]:
    """The index's roots and the new paths, each once; a path under a root already
    there adds nothing to update (the root's walk finds it)."""
    merged = list(roots)
    for given in paths:
        absolute = str(Path(given).resolve())
        if not any(_within(absolute, root["path"]) for root in merged):
            merged.append({"given": given, "path": absolute})
    return merged


@dataclass(frozen=True)
class _Options:
    allow_empty: bool = False
    follow_links: bool = False
    # Indexed sources kept as they are, neither read nor hashed (``add``, ``remove``).
    carried: tuple[str, ...] = ()
    # ``add``: the files read must bring at least one document (else NothingToIndexError).
    adding: bool = False
    # Web pages and feed articles fetched for this write (``_fetch_web``); indexed pages
    # not fetched again are kept as they are.
    web: _Web | None = None
    # A Milvus store (``--store``, as the manifest records it) and the index's name
    # there; "" writes a local generation. ``fresh``: the collections are replaced.
    store: str = ""
    store_index: str = ""
    fresh: bool = False


def _write_generation(
    index_dir: Path,
    roots: list[dict],
    files: list[SourceFile],
    previous: StoredIndex | None,
    progress: ProgressCallback | None,
    options: _Options,
) -> BuildReport:
    started = time.perf_counter()
    report = BuildReport(index=str(index_dir), files_total=len(files))
    old_files = previous.manifest.files if previous else {}
    seen_sources: set[str] = set()

    documents: list[SourceDocument] = []
    pending: list[_PendingPassage] = []
    entries: dict[str, FileEntry] = {}
    # Skipped files go into the manifest with their size and mtime: until they change,
    # status and verify know them as skipped, not as new files waiting for an update.
    skipped: dict[str, dict] = {}
    reusable: _ReusableRows | None = None  # read from the old index on first need
    # Passages split under other rules are not reused: the file is read again.
    same_chunking = previous is not None and previous.manifest.chunking == chunking.CHUNKING_VERSION

    def rows() -> _ReusableRows:
        nonlocal reusable
        if reusable is None:
            reusable = _ReusableRows(previous)
        return reusable

    def skip(file: SourceFile, reason: str) -> None:
        signature = stat_signature(file.path)
        before = previous.manifest.skipped.get(file.source) if previous else None
        known = bool(before) and before.get("stat") == signature  # listed when first met
        report.skipped.append(SkippedFile(file.source, reason, known=known))
        skipped[file.source] = {"path": str(file.path), "reason": reason, "stat": signature}

    read = {file.source for file in files}
    for source in options.carried:
        if source in read or source not in old_files:
            continue  # read again below: it was named again
        if reusable is None:
            reusable = _ReusableRows(previous)
        reused_docs, reused = reusable.for_source(source)
        documents.extend(reused_docs)
        pending.extend(reused)
        entries[source] = old_files[source]
        seen_sources.add(source)
        report.files_unchanged += 1
    for source, entry in (previous.manifest.skipped if options.carried else {}).items():
        if source in options.carried and source not in read:
            skipped[source] = entry  # still skipped, and still known as skipped

    for number, file in enumerate(files, 1):
        if progress:
            progress("reading", number, len(files))
        if file.source in seen_sources:
            continue
        seen_sources.add(file.source)
        if file.problem:
            skip(file, file.problem)
            continue
        try:
            stat = file.path.stat()
            problem = _unacceptable(file, stat)
            if problem:
                skip(file, f"{file.source}: {problem}")
                continue
            digest = file_sha256(file.path)
        except OSError as error:
            skip(file, f"{file.source}: {error.strerror or error}")
            continue
        entry = FileEntry(
            sha256=digest, size=stat.st_size, mtime_ns=stat.st_mtime_ns, path=str(file.path)
        )
        old = old_files.get(file.source)
        if old is not None and old.sha256 == digest and same_chunking:
            if reusable is None:
                reusable = _ReusableRows(previous)
            reused_docs, reused = reusable.for_source(file.source)
            documents.extend(reused_docs)
            pending.extend(reused)
            entry.documents, entry.passages = len(reused_docs), len(reused)
            entry.problems = list(old.problems)
            report.files_unchanged += 1
        else:
            problems: list[str] = []
            loaded, passages, reason = _read_and_split(file, problems)
            report.warnings.extend(SkippedFile(file.source, problem) for problem in problems)
            if reason is None and not any(document.text.strip() for document in loaded):
                reason = f"{file.source}: no text"
            if reason is not None:
                skip(file, reason)
                continue
            documents.extend(loaded)
            pending.extend(passages)
            entry.documents, entry.passages = len(loaded), len(passages)
            entry.problems = problems
            report.files_embedded.append(file.source)
        entries[file.source] = entry
    # Web pages and feed articles, fetched before the write (``_fetch_web``).
    web_docs, web_pending, pages = _web_rows(previous, options.web, rows, same_chunking, report)
    documents.extend(web_docs)
    pending.extend(web_pending)
    old_pages = previous.manifest.pages if previous else {}
    report.files_removed = sorted(set(old_files) - set(entries))
    report.files_removed += sorted(set(old_pages) - set(pages))
    web_fields = _web_fields(previous, options.web, pages)
    fetched = set(options.web.documents) if options.web else set()
    added = read & set(entries) or fetched & set(pages)
    if options.adding and not options.allow_empty and not added:
        raise _nothing_to_add(index_dir, report)
    # An update of an index that is already empty (allowed once) loses nothing.
    loses = previous is None or previous.manifest.documents > 0
    if not entries and not pages and loses and not options.allow_empty:
        raise _nothing_to_index(index_dir, report, previous)
    if previous is not None and not report.files_embedded and not report.files_removed:
        # Nothing changed: keep the current generation rather than rewrite it.
        _record_skipped(index_dir, previous.manifest, entries, skipped, options, roots, web_fields)
        report.documents = previous.manifest.documents
        report.passages = previous.manifest.passages
        report.passages_reused = previous.manifest.vectors
        report.boilerplate = previous.manifest.passages - previous.manifest.vectors
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    unique_docs = _unique_ids(documents, pending, report)
    _mark_site_boilerplate(pending, unique_docs)

    citable = [p for p in pending if not p.chunk.is_boilerplate]
    to_embed = [p for p in citable if p.vector is None or p.sentence_vectors is None]
    passage_vectors = np.zeros((len(citable), embeddings.DIMENSION), dtype=np.float32)
    if to_embed:
        _embed(to_embed, unique_docs, progress)
    for row, passage in enumerate(citable):
        passage_vectors[row] = passage.vector
    sentence_vectors = np.concatenate(
        [p.sentence_vectors for p in citable] or [np.zeros((0, embeddings.DIMENSION))]
    ).astype(np.float16)

    report.documents = len(unique_docs)
    # Head lines (headline, byline, date) are kept, but they are not passages of the text.
    body = len(pending) - sum(1 for p in pending if p.chunk.is_head)
    report.passages = body
    report.boilerplate = body - len(citable)
    report.passages_embedded = len(to_embed)
    report.passages_reused = len(citable) - len(to_embed)

    if progress:
        progress("writing", 0, 1)
    generation, artifacts, vector_index, needed = "", {}, "milvus", 0
    if options.store:
        _write_milvus(unique_docs, pending, entries, pages, options)
    else:
        generation = layout.new_generation_name()
        partial = layout.partial_path(index_dir, generation)
        needed = _generation_bytes(unique_docs.values(), passage_vectors, sentence_vectors)
        with layout.unfinished_removed(index_dir, generation, needed):
            shutil.rmtree(partial, ignore_errors=True)
            private_dir(partial)
            documents = list(unique_docs.values())
            statements = _statements(documents, pending)
            database.write_database(partial / DB_NAME, documents, pending, statements)
            make_private(partial / DB_NAME)  # SQLite creates it 0644
            vector_index = vectors.write_vectors(partial, passage_vectors)
            vectors.write_sentence_vectors(partial, sentence_vectors)
            artifacts = layout.artifact_records(partial)
            layout.publish_generation(index_dir, generation)
            fault_point("generation-renamed")

    now = datetime.now(UTC).isoformat(timespec="seconds")
    manifest = Manifest(
        schema_version=SCHEMA_VERSION,
        model=embeddings.MODEL_NAME,
        dimension=embeddings.DIMENSION,
        generation=generation,
        created_at=previous.manifest.created_at if previous else now,
        updated_at=now,
        roots=roots,
        files=entries,
        documents=len(unique_docs),
        passages=body,
        vectors=len(citable),
        model_fingerprint=embeddings.model_fingerprint(),
        artifacts=artifacts,
        vector_index=vector_index,
        chunking=chunking.CHUNKING_VERSION,
        skipped=skipped,
        follow_links=options.follow_links,
        store=options.store,
        store_index=options.store_index,
        **web_fields,
    )
    if options.store:  # no generation here to remove when the manifest fails
        write_manifest(index_dir, manifest)
    else:
        with layout.unfinished_removed(index_dir, generation, needed):
            write_manifest(index_dir, manifest)
    fault_point("manifest-written")
    layout.remove_old_generations(index_dir, keep=generation)
    if progress:
        progress("writing", 1, 1)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _read_and_split(
    file: SourceFile, problems: list[str]
) -> tuple[list[SourceDocument], list[_PendingPassage], str | None]:
    """One file's documents and passages, or why it is skipped.

    Whatever goes wrong inside one file (a decoder, the splitter, a bug that only
    its text triggers) costs that file, never the build: its reason is reported
    and the other files are indexed. Errors of the engine itself (the model cannot
    be loaded) still stop the write.
    """
    try:
        loaded = load_documents(file, problems)
        passages = [
            _PendingPassage(document.doc_id, document.source, chunk)
            for document in loaded
            for chunk in chunking.split_document(document, embeddings.count_tokens)
        ]
    except UnreadableSource as error:
        return [], [], str(error)
    except AssistantError:
        raise
    except Exception as error:
        return [], [], f"{file.source}: could not be read ({type(error).__name__}: {error})"
    return loaded, passages, None


def _nothing_to_index(
    index_dir: Path, report: BuildReport, previous: StoredIndex | None
) -> NothingToIndexError:
    """A write that would leave the index empty is refused: an empty index answers
    nothing, and it replaces a good one without a word (``allow_empty`` to insist)."""
    reasons = [skipped.reason for skipped in report.skipped]
    shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
    count = f"{len(reasons)} file{'s' if len(reasons) != 1 else ''} skipped ({shown})"
    if previous is not None:
        gone = [f"{len(report.files_removed)} files gone"] if report.files_removed else []
        parts = ", ".join(gone + ([count] if reasons else []))
        what = f"the update would remove all {previous.manifest.documents} documents ({parts})"
    else:
        none = f"no file of a supported type ({', '.join(SUPPORTED_SUFFIXES)})"
        what = "nothing to index: " + (count if reasons else none)
    kept = "is unchanged" if index_exists(index_dir) else "was not written"
    return NothingToIndexError(
        f"{what}; the index at {index_dir} {kept}",
        hint="add --allow-empty to write an empty index",
    )


def _nothing_to_add(index_dir: Path, report: BuildReport) -> NothingToIndexError:
    """``add`` of paths that bring no document: refused, the index stays as it was."""
    reasons = [skipped.reason for skipped in report.skipped]
    shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
    what = (
        f"{len(reasons)} file{'s' if len(reasons) != 1 else ''} skipped ({shown})"
        if reasons
        else "no .txt, .md, .html or .jsonl file in them"
    )
    return NothingToIndexError(
        f"nothing to add: {what}; the index at {index_dir} is unchanged",
        hint="add --allow-empty to record the paths anyway",
    )


def _record_skipped(
    index_dir: Path,
    manifest: Manifest,
    entries: dict[str, FileEntry],
    skipped: dict[str, dict],
    options: _Options,
    roots: list[dict],
    web_fields: dict,
) -> None:
    """No passage changed, but what is skipped, the link rule or the roots (``add`` of
    files already indexed) did: the manifest alone is replaced, so that status stops
    listing those files as new and ``update`` keeps the roots. Web pages found unchanged
    are recorded too (when they were checked; feeds added)."""
    now = (skipped, options.follow_links, roots, web_fields)
    web_then = {name: getattr(manifest, name) for name in web_fields}
    if now == (manifest.skipped, manifest.follow_links, manifest.roots, web_then):
        return
    updated = dataclasses.replace(
        manifest,
        **web_fields,
        roots=roots,
        files=entries,
        skipped=skipped,
        follow_links=options.follow_links,
        updated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    write_manifest(index_dir, updated)


def _unique_ids(
    documents: list[SourceDocument], pending: list[_PendingPassage], report: BuildReport
) -> dict[str, SourceDocument]:
    """Documents by id, every one kept.

    Ids are namespaced by file (``data.jsonl#a40``), so two meet only when a path
    spells another file's record id, or in an index written before ids were
    namespaced. The later document then gets a new id, and a warning says so.
    """
    unique: dict[str, SourceDocument] = {}
    renamed: dict[tuple[str, str], str] = {}
    for document in documents:
        doc_id = document.doc_id
        if doc_id in unique:
            number = 2
            while f"{doc_id}~{number}" in unique:
                number += 1
            new_id = f"{doc_id}~{number}"
            report.warnings.append(
                SkippedFile(
                    document.source,
                    f"{document.source}: the document id {doc_id!r} is also one in"
                    f" {unique[doc_id].source}; this one's id is {new_id!r}",
                )
            )
            renamed[(document.source, doc_id)] = new_id
            document = dataclasses.replace(document, doc_id=new_id)
        unique[document.doc_id] = document
    for passage in pending:
        passage.doc_id = renamed.get((passage.source, passage.doc_id), passage.doc_id)
    return unique


def _mark_site_boilerplate(
    pending: list[_PendingPassage], documents: dict[str, SourceDocument]
) -> None:
    """Flag what several documents of one site share (``boilerplate.mark_corpus``).

    Worked out on every write for every document, reused or new, so an update flags
    what a build would; a passage that stops being boilerplate has no vector and is
    embedded like a new one.
    """
    by_doc: dict[str, list[_PendingPassage]] = {}
    for passage in pending:
        by_doc.setdefault(passage.doc_id, []).append(passage)
    flags = boilerplate.mark_corpus(
        {doc_id: (documents[doc_id], [p.chunk for p in items]) for doc_id, items in by_doc.items()}
    )
    for doc_id, items in by_doc.items():
        for passage, flag in zip(items, flags[doc_id], strict=True):
            if flag != passage.chunk.is_boilerplate:
                passage.chunk = dataclasses.replace(passage.chunk, is_boilerplate=flag)


def embedding_text(title: str | None, passage_text: str) -> str:
    """What a passage's vector is made from: the document title, then the passage.

    A paragraph often leaves its subject to the headline ("The ministry said ...");
    with the title in front, the vector knows what it is about (SciFact train split:
    nDCG@10 of dense retrieval 0.651 without, 0.664 with).
    """
    title = " ".join((title or "").split())
    return f"{title} {passage_text}" if title else passage_text


def _embed(
    passages: list[_PendingPassage],
    documents: dict[str, SourceDocument],
    progress: ProgressCallback | None,
) -> None:
    """Passage vectors (title-prefixed) and sentence vectors, in one encoder pass."""
    # Exported with torch the first time on this machine, then torch-free.
    encoder = embeddings.shared_onnx_encoder()
    texts: list[str] = []
    for passage in passages:
        texts.append(embedding_text(documents[passage.doc_id].title, passage.chunk.text))
        texts.extend(_sentence_texts(passage.chunk))

    def embedding_progress(done: int, total: int) -> None:
        if progress:
            # Counted in passages, as users count them: each passage's sentences are
            # embedded with it (texts go by length, so this is the share done).
            passages_done = len(passages) * done // total if total else len(passages)
            progress("embedding", passages_done, len(passages))
        fault_point("embedding")

    fresh = encoder.encode_many(texts, progress=embedding_progress)
    row = 0
    for passage in passages:
        count = len(passage.chunk.sentences)
        passage.vector = fresh[row]
        passage.sentence_vectors = fresh[row + 1 : row + 1 + count]
        row += 1 + count


def _sentence_texts(chunk: chunking.Chunk) -> list[str]:
    return [chunk.text[start - chunk.start : end - chunk.start] for start, end in chunk.sentences]


def _generation_bytes(documents, passage_vectors: np.ndarray, sentence_vectors: np.ndarray) -> int:
    """About how much disk a generation takes, for the disk-full message: the arrays
    exactly (vectors.npy, vectors.faiss, sentences.npy); the database from its text
    (64 KiB of empty tables, then about 10 bytes per byte of text: the seeds take 10.6,
    the 39 MB news-dev pages 7.8, with passages, FTS indexes and statements)."""
    text = sum(len(document.text.encode("utf-8", "surrogatepass")) for document in documents)
    return 2 * passage_vectors.nbytes + sentence_vectors.nbytes + 65_536 + 10 * text


class _ReusableRows:
    """Documents and passages (with vectors) of the old generation, grouped by source.

    Read in one pass over each table: asking per file would scan the tables once per
    file (there is no index on ``source``), which made updates of 1,000-file corpora
    quadratic.
    """

    def __init__(self, previous: StoredIndex) -> None:
        self.previous = previous
        self.documents: dict[str, list[SourceDocument]] = {}
        for document in previous.stored_documents():
            self.documents.setdefault(document.source, []).append(document)
        self.passages: dict[str, list[tuple]] = {}
        for passage, vector_row, sentence_row in previous.stored_passages():
            self.passages.setdefault(passage.source, []).append((passage, vector_row, sentence_row))

    def for_source(self, source: str) -> tuple[list[SourceDocument], list[_PendingPassage]]:
        passages = []
        for passage, vector_row, first in self.passages.get(source, []):
            chunk = chunking.Chunk(
                paragraph=passage.paragraph,
                start=passage.start,
                end=passage.end,
                text=passage.text,
                is_boilerplate=passage.is_boilerplate,
                sentences=tuple((span.start, span.end) for span in passage.sentences),
                is_head=passage.is_head,
            )
            vector = self.previous.vector(vector_row) if vector_row is not None else None
            reused = None
            if vector is not None and first is not None:
                reused = self.previous.stored_sentence_vectors(first, len(chunk.sentences))
            passages.append(_PendingPassage(passage.doc_id, source, chunk, vector, reused))
        return self.documents.get(source, []), passages


def _statements(
    documents: list[SourceDocument], passages: list[_PendingPassage]
) -> list[tuple[int, Statement]]:
    """Who says what in each citable passage (see :mod:`assistant.ingest.speakers`), as
    (passage id, statement); passage ids are positions in ``passages``.

    Sides of people are learnt from the whole corpus first, so a speaker introduced in
    one article ("Iranian Foreign Minister Hossein Amir-Abdollahian") is known in another.
    """
    by_document: dict[str, list[tuple[int, _PendingPassage]]] = {}
    for passage_id, passage in enumerate(passages):
        if not passage.chunk.is_boilerplate:
            by_document.setdefault(passage.doc_id, []).append((passage_id, passage))
    book = speakers.SideBook()
    texts = {document.doc_id: document.text for document in documents}
    for items in by_document.values():
        for _, passage in items:
            book.learn(passage.chunk.text)
    found = []
    for doc_id, items in by_document.items():
        spans = [(p.chunk.start, p.chunk.end) for _, p in items]
        for statement in speakers.extract(texts[doc_id], spans, book):
            for passage_id, passage in items:
                if passage.chunk.start <= statement.start < passage.chunk.end:
                    found.append((passage_id, statement))
                    break
    return found


def _unacceptable(file: SourceFile, stat: os.stat_result) -> str | None:
    """Why a file is not read at all (before hashing it), or None."""
    import stat as stat_module

    if not stat_module.S_ISREG(stat.st_mode):
        return "not a regular file"
    limit = MAX_JSONL_BYTES if file.path.suffix.lower() == ".jsonl" else MAX_FILE_BYTES
    if stat.st_size > limit:
        return f"{stat.st_size / 1e6:.0f} MB is over the {limit // (1024 * 1024)} MiB limit"
    return None


# -- web pages and news feeds ------------------------------------------------------


@dataclass
class _Web:
    """What one write fetched from the web, and the URLs the manifest will record."""

    urls: list[str]  # pages re-fetched by ``update``
    feeds: dict[str, dict]  # feed URL -> {"title", "url", "fetched_at", "entries"}
    documents: dict[str, list[SourceDocument]] = field(default_factory=dict)  # by source
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[SkippedFile] = field(default_factory=list)
    dropped: set[str] = field(default_factory=set)  # indexed pages removed (``remove``)


def _missing_roots(roots: list[dict]) -> list[SkippedFile]:
    """A recorded folder or file that is gone (deleted, or on a drive not mounted now):
    its documents leave the index with the update, and the report says which and why,
    not only a count of removed files."""
    return [
        SkippedFile(
            root["given"],
            f"{root['given']}: not found, so its documents were removed from the index"
            f" (if it comes back, run update again; to stop indexing it: assistant index"
            f" remove {root['given']})",
        )
        for root in roots
        if not Path(root["path"]).exists()
    ]


def _is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def _web_removed(manifest: Manifest, urls: list[str]) -> _Web | None:
    """What ``remove`` of these pages and feeds leaves: a feed goes with its articles.
    An article of a feed that stays is refused, as a file inside an indexed folder is:
    the next ``update`` would bring it back."""
    if not urls:
        return None
    for url in urls:
        feed = manifest.pages.get(url, {}).get("feed")
        if feed and feed not in urls:
            raise UsageError(
                f"{url} is an article of the feed {feed},"
                " which would bring it back at the next update",
                hint=f"remove {feed}",
            )
    return _Web(
        urls=[url for url in manifest.urls if url not in urls],
        feeds={feed: info for feed, info in manifest.feeds.items() if feed not in urls},
        dropped={s for s, page in manifest.pages.items() if s in urls or page["feed"] in urls},
    )


def _fetch_web(
    urls: list[str],
    feeds: list[str],
    manifest: Manifest | None,
    progress: ProgressCallback | None,
) -> _Web:
    """Fetch ``urls`` and read ``feeds`` (only their entries not indexed yet). A page or
    feed that fails and was indexed before keeps its indexed copy, with a warning (a
    server down for an hour must not empty the index); one never indexed is skipped.
    Each failure is one line with its URL."""
    from ..ingest.feeds import fetch_feed
    from ..ingest.web import fetch_pages

    old_pages = manifest.pages if manifest else {}
    web = _Web(
        urls=list(manifest.urls) if manifest else [],
        feeds=dict(manifest.feeds) if manifest else {},
    )

    def failed(item: SkippedFile, indexed: bool) -> None:
        if indexed:
            web.warnings.append(SkippedFile(item.source, f"{item.reason}; the indexed copy stays"))
        else:
            web.skipped.append(item)

    documents, skipped = fetch_pages(urls, progress=progress)
    for document in documents:
        web.documents.setdefault(document.source, []).append(document)
        if document.source not in web.urls:
            web.urls.append(document.source)
    for item in skipped:
        failed(item, item.source in old_pages)
    for feed in dict.fromkeys(feeds):
        known = {source for source, entry in old_pages.items() if entry["feed"] == feed}
        documents, skipped, info = fetch_feed(feed, known=known, progress=progress)
        if info.fetched_at is None:  # the feed itself could not be read
            for item in skipped:
                failed(item, feed in web.feeds)
            continue
        web.feeds[feed] = {
            "title": info.title,
            "url": info.final_url,
            "fetched_at": info.fetched_at,
            "entries": info.entries,
        }
        for document in documents:
            if document.source not in web.documents:  # also given as a page: once
                web.documents[document.source] = [document]
        web.skipped.extend(skipped)
        web.warnings.extend(SkippedFile(feed, note) for note in info.notes)
    return web


def _web_rows(
    previous: StoredIndex | None,
    web: _Web | None,
    rows: Callable[[], _ReusableRows],
    same_chunking: bool,
    report: BuildReport,
) -> tuple[list[SourceDocument], list[_PendingPassage], dict[str, dict]]:
    """The web documents of this write with their passages, and the manifest's page
    entries. A page fetched again whose body hash is unchanged keeps its passages and
    vectors; a changed or new one is split (and embedded later). Pages not fetched this
    time (a feed's older articles, a page whose fetch failed, every page when files are
    added) are kept as they are."""
    old_pages = previous.manifest.pages if previous else {}
    fresh = web.documents if web else {}
    documents: list[SourceDocument] = []
    pending: list[_PendingPassage] = []
    pages: dict[str, dict] = {}
    report.skipped.extend(web.skipped if web else [])
    report.warnings.extend(web.warnings if web else [])
    for source, loaded in fresh.items():
        first = loaded[0]
        old = old_pages.get(source)
        if old and old["sha256"] == first.sha256 and same_chunking:
            kept_docs, kept = rows().for_source(source)
            documents.extend(kept_docs)
            pending.extend(kept)
            pages[source] = {**old, "checked_at": first.fetched_at}
            report.files_unchanged += 1
            continue
        try:
            passages = _split(loaded)
        except UnreadableSource as error:
            report.skipped.append(SkippedFile(source, str(error)))
            continue
        documents.extend(loaded)
        pending.extend(passages)
        pages[source] = {
            "url": first.url,
            "sha256": first.sha256,
            "size": first.size,
            "fetched_at": first.fetched_at,
            "checked_at": first.fetched_at,
            "feed": first.feed,
            "documents": len(loaded),
            "passages": len(passages),
        }
        report.files_embedded.append(source)
    for source, old in old_pages.items():
        if source in pages or source in fresh or (web and source in web.dropped):
            continue
        kept_docs, kept = rows().for_source(source)
        if not same_chunking:
            kept = _split(_with_head_spans(kept_docs, kept))
        documents.extend(kept_docs)
        pending.extend(kept)
        pages[source] = old
        report.files_unchanged += 1
    report.files_total += len(fresh)
    return documents, pending, pages


def _web_fields(previous: StoredIndex | None, web: _Web | None, pages: dict[str, dict]) -> dict:
    """The manifest's record of the web sources: the URLs and feeds this write fetched
    (old and new), else those it had; and every web document kept."""
    manifest = previous.manifest if previous else None
    urls = web.urls if web else list(manifest.urls) if manifest else []
    feeds = web.feeds if web else dict(manifest.feeds) if manifest else {}
    return {"urls": urls, "feeds": feeds, "pages": pages}


def _split(documents: list[SourceDocument]) -> list[_PendingPassage]:
    """Passages of documents already read (fetched pages); a splitter failure on one
    page's text costs that page, as for a file."""
    try:
        return [
            _PendingPassage(document.doc_id, document.source, chunk)
            for document in documents
            for chunk in chunking.split_document(document, embeddings.count_tokens)
        ]
    except AssistantError:
        raise
    except Exception as error:
        source = documents[0].source if documents else "?"
        raise UnreadableSource(f"{source}: could not be split ({type(error).__name__})") from None


def _with_head_spans(
    documents: list[SourceDocument], passages: list[_PendingPassage]
) -> list[SourceDocument]:
    """Stored documents with their head lines (headline, byline, date) marked again from
    their stored passages, so that splitting them under new rules keeps those lines out
    of the body: the page is not fetched again for it."""
    for document in documents:
        document.meta_spans = [
            (p.chunk.start, p.chunk.end)
            for p in passages
            if p.doc_id == document.doc_id and p.chunk.is_head
        ]
    return documents


# -- a Milvus store ---------------------------------------------------------------------


def _milvus():
    from ..storage.milvus import (
        backend as milvus_backend,  # pymilvus only when a Milvus store is used
    )

    return milvus_backend


def _store_for(index_dir: Path, store: str | None) -> str:
    """The store a write goes to, as the manifest records it ("" = local): ``store``
    as given, else what the index has."""
    if store is None:
        return read_manifest(index_dir).store if index_exists(index_dir) else ""
    if store.strip() in ("", "local"):
        return ""
    return _milvus().recorded_uri(_milvus().parse_store_uri(store))


class _MilvusPrevious:
    """The current Milvus rows as the writer reuses them: the directory's manifest,
    and the reader's documents, passages and vectors (StoredIndex's calls)."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.reader = _milvus().open_reader(manifest.store, manifest.store_index)

    def __getattr__(self, name: str):
        return getattr(self.reader, name)

    def close(self) -> None:
        self.reader.close()


def _same_store(options: _Options, manifest: Manifest) -> _Options:
    """An update, add or remove writes where the index is."""
    return dataclasses.replace(options, store=manifest.store, store_index=manifest.store_index)


def open_previous(index_dir: Path, manifest: Manifest):
    """The index as it is, for the writer (and ``index sources``): a StoredIndex, or the
    Milvus rows when the manifest names a store."""
    if not manifest.store:
        return StoredIndex(index_dir)
    return _MilvusPrevious(manifest)


def _write_milvus(
    documents: dict[str, SourceDocument],
    pending: list[_PendingPassage],
    entries: dict[str, FileEntry],
    pages: dict[str, dict],
    options: _Options,
) -> None:
    """Write the index's rows to Milvus, source by source: a source whose rows changed
    (its file's hash, or what the corpus-wide passes made of it: ids, site boilerplate,
    speakers' sides) is deleted and written again; the others stay as they are.

    Passage ids are the positions in ``pending`` on a fresh write, as the local
    database numbers them; an update gives the rewritten sources new ids.
    """
    import hashlib
    import json

    from ..types import Document, Passage, Span

    mb = _milvus()
    target = mb.parse_store_uri(options.store)
    writer = mb.MilvusWriter(mb.connect(target), options.store_index, target)
    try:
        writer.create(
            embeddings.MODEL_NAME,
            embeddings.DIMENSION,
            embeddings.model_fingerprint(),
            replace=options.fresh,
        )
        said: dict[int, list[Statement]] = {}
        for passage_id, statement in _statements(list(documents.values()), pending):
            said.setdefault(passage_id, []).append(statement)
        rows: dict[str, tuple[list, list]] = {}
        for document in documents.values():
            meta = Document(
                document.doc_id,
                document.source,
                document.title,
                document.outlet,
                document.byline,
                document.published,
                document.url,
            )
            rows.setdefault(document.source, ([], []))[0].append(
                mb.DocumentRecord(meta, document.text)
            )
        for passage_id, item in enumerate(pending):
            chunk = item.chunk
            citable = not chunk.is_boilerplate
            sentences = None
            if citable:
                # float16, as the local sentences.npy keeps them: the same cosines.
                sentences = np.asarray(item.sentence_vectors, np.float16).astype(np.float32)
            passage = Passage(
                passage_id=passage_id,
                doc_id=item.doc_id,
                source=item.source,
                paragraph=chunk.paragraph,
                start=chunk.start,
                end=chunk.end,
                text=chunk.text,
                is_boilerplate=chunk.is_boilerplate,
                sentences=tuple(Span(s, e) for s, e in chunk.sentences),
                is_head=chunk.is_head,
            )
            record = mb.PassageRecord(
                passage, item.vector if citable else None, sentences, said.get(passage_id, [])
            )
            rows.setdefault(item.source, ([], []))[1].append(record)
        stored = {} if options.fresh else writer.source_hashes()
        for source in set(stored) - set(rows):
            writer.delete_source(source)
        for source, (document_records, passage_records) in rows.items():
            file_hash = entries[source].sha256 if source in entries else pages[source]["sha256"]
            # What the source's rows are made of, beside the file: a change of either
            # writes the source again.
            made = [
                [d.document.__dict__, hashlib.sha256(d.text.encode()).hexdigest()]
                for d in document_records
            ]
            made += [
                [
                    *(r.passage.doc_id, r.passage.start, r.passage.end),
                    *(r.passage.is_boilerplate, [s.__dict__ for s in r.statements]),
                ]
                for r in passage_records
            ]
            digest = hashlib.sha256(
                json.dumps([file_hash, made], default=str).encode("utf-8")
            ).hexdigest()
            if stored.get(source) != digest:
                writer.write_source(
                    source, digest, document_records, passage_records, keep_ids=options.fresh
                )
        writer.finish()
    finally:
        writer.client.close()


class IndexWriter:
    """The writes of one index directory (:class:`assistant.Index` hands these out).

    Nothing is opened for queries: a build replaces an index that is damaged or was
    made by another model, and a first ``add`` creates one.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def build(
        self,
        paths: Sequence[str | Path],
        progress: ProgressCallback | None = None,
        *,
        allow_empty: bool = False,
        follow_links: bool = False,
        urls: Sequence[str] = (),
        feeds: Sequence[str] = (),
        store: str | None = None,
    ) -> BuildReport:
        """A new index from these paths (and web pages, feeds): see :func:`build_index`
        (``store``: "local" or a Milvus URI; None keeps the index's)."""
        return build_index(
            [str(p) for p in paths],
            self.path,
            progress,
            allow_empty=allow_empty,
            follow_links=follow_links,
            urls=urls,
            feeds=feeds,
            store=store,
        )

    def update(
        self,
        progress: ProgressCallback | None = None,
        *,
        allow_empty: bool = False,
        follow_links: bool = False,
    ) -> BuildReport:
        """Re-read the recorded paths and URLs: see :func:`update_index`."""
        return update_index(self.path, progress, allow_empty=allow_empty, follow_links=follow_links)

    def add(
        self,
        paths: Sequence[str | Path],
        progress: ProgressCallback | None = None,
        *,
        urls: Sequence[str] = (),
        feeds: Sequence[str] = (),
        allow_empty: bool = False,
        follow_links: bool = False,
        store: str | None = None,
    ) -> BuildReport:
        """Add paths, pages and feeds (the index is created if missing, in ``store``):
        see :func:`add_sources`."""
        return add_sources(
            [str(p) for p in paths],
            self.path,
            progress,
            urls=list(urls),
            feeds=list(feeds),
            allow_empty=allow_empty,
            follow_links=follow_links,
            store=store,
        )

    def remove(
        self,
        paths: Sequence[str | Path],
        progress: ProgressCallback | None = None,
        *,
        allow_empty: bool = False,
    ) -> BuildReport:
        """Remove indexed paths, pages or feeds: see :func:`remove_sources`."""
        return remove_sources([str(p) for p in paths], self.path, progress, allow_empty=allow_empty)
