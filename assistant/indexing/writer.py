"""The one write API of an index: :class:`IndexWriter` builds, updates, adds to and
removes from the index in a directory, and lists its sources.

Each write reads what is new or changed, splits and embeds it, keeps the passages and
vectors of what did not change, and hands the whole to the index's store writer
(:mod:`.pipeline`); a local index gets a new generation beside the current one before
the manifest is replaced. Unchanged files (same SHA-256) are not read again.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from .. import embeddings
from ..errors import (
    AssistantError,
    NothingToIndexError,
    SourceNotFoundError,
    UsageError,
    WriteInterrupted,
)
from ..ingest import chunks as chunking
from ..ingest.limits import DEFAULT_FEED_LIMIT
from ..ingest.sources import SkippedFile, files_under_roots, find_source_files
from ..storage import layout
from ..storage.backend import open_writer, recorded_store
from ..storage.layout import Manifest, ModelSpec, index_exists, read_manifest, write_lock
from .pipeline import Write, write_generation
from .plan import (
    BuildReport,
    ProgressCallback,
    SourceInfo,
    WriteOptions,
    absolute,
    is_url,
    merged_roots,
    missing_roots,
    model_spec,
    within,
)
from .web import fetch_web, web_removed

__all__ = ["BuildReport", "IndexWriter", "ProgressCallback", "SourceInfo", "sources_of"]


def _says_what_was_kept(write):
    """Ctrl-C during a write becomes :class:`WriteInterrupted`, whose one line says
    what the index directory holds now (:func:`kept_after_interrupt`)."""

    @functools.wraps(write)
    def interruptible(self, *args, **kwargs):
        before = _manifest_or_none(self.path)
        try:
            return write(self, *args, **kwargs)
        except WriteInterrupted:
            raise  # said already (``add`` of a new index is a build)
        except KeyboardInterrupt:
            raise WriteInterrupted(kept_after_interrupt(self.path, before)) from None

    return interruptible


def _manifest_or_none(path: Path) -> Manifest | None:
    try:
        return read_manifest(path)
    except AssistantError:
        return None


def kept_after_interrupt(path: Path, before: Manifest | None) -> str:
    """What an interrupted write kept: the index as it was (a new generation is
    written aside and only a new manifest makes it current), or nothing at all."""
    after = _manifest_or_none(path)
    if after is None:
        return f"nothing was written; there is no index at {path}"
    documents = f"{after.documents:,} document{'s' if after.documents != 1 else ''}"
    if before is not None and (after.generation, after.updated_at, after.store_index) == (
        before.generation,
        before.updated_at,
        before.store_index,
    ):
        return f"nothing of this write was kept; the index at {path} is as it was ({documents})"
    return f"the index at {path} was written before the interrupt ({documents})"


class IndexWriter:
    """The writes of the index in the directory ``path``, embedded by ``encoder``: any
    object with ``name``, ``dimension``, ``fingerprint`` and ``encode(texts)``
    (:class:`assistant.embeddings.Encoder`); None is the bundled MiniLM, loaded only
    when something is embedded. The manifest records the encoder's name, dimension and
    fingerprint; an update or add with another encoder is refused.

    Nothing is opened for queries: a build replaces an index that is damaged or was
    made by another model, and a first ``add`` creates one.
    """

    def __init__(self, path: str | Path, encoder: embeddings.Encoder | None = None) -> None:
        self.path = Path(path)
        self.encoder = encoder
        self.model = model_spec(encoder)

    # -- the writes ------------------------------------------------------------------

    @_says_what_was_kept
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
        allow_private_urls: bool = False,
        feed_limit: int = DEFAULT_FEED_LIMIT,
    ) -> BuildReport:
        """Index everything under ``paths`` (and web pages ``urls``, RSS/Atom
        ``feeds``, at most ``feed_limit`` entries of each), replacing what the index held.

        ``store`` is where passages and vectors go: "local" (this directory's
        generations) or a Milvus URI (``milvus:PATH.db``, ``milvus://HOST:PORT``,
        ``https://…``); None keeps what the index had (local for a new one). A build
        that finds nothing raises :class:`NothingToIndexError` and leaves the index as
        it was, unless ``allow_empty``. Links out of ``paths`` are skipped unless
        ``follow_links`` (recorded, so that updates do the same). Redirects and feed
        entries that lead to private addresses are refused unless ``allow_private_urls``.
        """
        paths = [str(p) for p in paths]
        if not paths and not (urls or feeds):
            raise UsageError("give at least one file or directory to index")
        present = [p for p in paths if Path(p).exists() or Path(p).is_symlink()]
        if paths and not present:
            raise SourceNotFoundError(f"no such file or directory: {', '.join(paths)}")
        roots = [{"given": p, "path": str(Path(p).resolve())} for p in present]
        files = list(find_source_files(present, follow_links=follow_links))
        store_uri, store_index = self._store_for(store)
        created = not self.path.exists()
        try:
            with write_lock(self.path):
                layout.remove_leftovers(self.path)
                web = None
                if urls or feeds:
                    web = fetch_web(
                        list(urls), list(feeds), None, progress, allow_private_urls, feed_limit
                    )
                options = WriteOptions(
                    allow_empty,
                    follow_links,
                    web=web,
                    store=store_uri,
                    store_index=store_index,
                    fresh=bool(store_uri),  # a Milvus store's collections are replaced
                )
                report = self._write(roots, files, None, progress, options)
        except BaseException:
            if created:  # a failed first write leaves no empty index behind
                layout.remove_unwritten_index(self.path)
            raise
        report.skipped[:0] = [
            SkippedFile(p, f"{p}: no such file or directory") for p in paths if p not in present
        ]
        return report

    @_says_what_was_kept
    def update(
        self,
        progress: ProgressCallback | None = None,
        *,
        allow_empty: bool = False,
        follow_links: bool = False,
        allow_private_urls: bool = False,
        feed_limit: int = DEFAULT_FEED_LIMIT,
    ) -> BuildReport:
        """Bring the index up to date with its recorded paths, URLs and feeds (at most
        ``feed_limit`` new entries of each feed): embed only what changed. An update
        that would remove every document raises :class:`NothingToIndexError` unless
        ``allow_empty``; ``follow_links`` (or the build's) follows links out of the
        indexed folders."""
        read_manifest(self.path)  # no index: say so without creating the directory
        with write_lock(self.path):
            layout.remove_leftovers(self.path)
            manifest = read_manifest(self.path)
            web = None
            if manifest.urls or manifest.feeds:  # pages fetched again, feeds' new articles
                web = fetch_web(
                    manifest.urls,
                    list(manifest.feeds),
                    manifest,
                    progress,
                    allow_private_urls,
                    feed_limit,
                )
            options = _same_store(
                WriteOptions(allow_empty, follow_links or manifest.follow_links, web=web), manifest
            )
            # A root that is gone has no files here: its files are dropped as removed.
            files = list(files_under_roots(manifest.roots, options.follow_links))
            report = self._rewrite(manifest, manifest.roots, files, progress, options)
            report.warnings.extend(missing_roots(manifest.roots))
            return report

    @_says_what_was_kept
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
        allow_private_urls: bool = False,
        feed_limit: int = DEFAULT_FEED_LIMIT,
    ) -> BuildReport:
        """Add files and folders, web pages and feeds (the index is created if missing,
        in ``store``); what it held stays as it is, and only the new sources are read
        and embedded. The paths join the index's roots, so ``update`` re-reads them.
        Paths that bring no document raise :class:`NothingToIndexError` (unless
        ``allow_empty``); a missing path is :class:`SourceNotFoundError`."""
        paths = [str(p) for p in paths]
        if not paths and not (urls or feeds):
            raise UsageError("give at least one file, directory, URL or feed to add")
        missing = [p for p in paths if not (Path(p).exists() or Path(p).is_symlink())]
        if missing:
            raise SourceNotFoundError(f"no such file or directory: {', '.join(missing)}")
        if not index_exists(self.path):
            return self.build(
                paths,
                progress,
                allow_empty=allow_empty,
                follow_links=follow_links,
                urls=urls,
                feeds=feeds,
                store=store,
                allow_private_urls=allow_private_urls,
                feed_limit=feed_limit,
            )
        if store is not None and self._store_for(store)[0] != read_manifest(self.path).store:
            raise UsageError(
                f"the index at {self.path} keeps its passages elsewhere; --store applies when"
                " an index is created",
                hint="to move it, rebuild it with: assistant index build PATH --store URI",
            )
        with write_lock(self.path):
            layout.remove_leftovers(self.path)
            manifest = read_manifest(self.path)
            roots = merged_roots(manifest.roots, paths)
            links = follow_links or manifest.follow_links
            files = list(find_source_files(paths, follow_links=links))
            carried: tuple[str, ...] = tuple(manifest.files) + tuple(manifest.skipped)
            if manifest.chunking != chunking.CHUNKING_VERSION:
                # Passages split under other rules cannot be kept: read everything again.
                files = list(files_under_roots(roots, links))
                carried = ()
            # Only the URLs and feeds given are fetched; indexed pages stay as they are.
            web = None
            if urls or feeds:
                web = fetch_web(
                    list(urls), list(feeds), manifest, progress, allow_private_urls, feed_limit
                )
            options = WriteOptions(allow_empty, links, carried=carried, adding=True, web=web)
            return self._rewrite(manifest, roots, files, progress, _same_store(options, manifest))

    @_says_what_was_kept
    def remove(
        self,
        paths: Sequence[str | Path],
        progress: ProgressCallback | None = None,
        *,
        allow_empty: bool = False,
    ) -> BuildReport:
        """Remove indexed files or whole indexed folders, pages or feeds, and their
        documents; nothing else is read or embedded.

        A path may name a root given to build/add, or anything under one that is not
        inside a root that stays (``update`` would bring it back): removing a file from
        an indexed folder is refused with :class:`UsageError`. A path the index does
        not hold is :class:`SourceNotFoundError`. Removing every document needs
        ``allow_empty``.
        """
        paths = [str(p) for p in paths]
        if not paths:
            raise UsageError("give at least one indexed file or directory to remove")
        read_manifest(self.path)  # no index: say so without creating the directory
        with write_lock(self.path):
            layout.remove_leftovers(self.path)
            manifest = read_manifest(self.path)
            web = web_removed(manifest, [given for given in paths if is_url(given)])
            roots, carried = _removal(self.path, manifest, paths)
            options = WriteOptions(allow_empty, manifest.follow_links, carried=carried, web=web)
            try:
                return self._rewrite(manifest, roots, [], progress, _same_store(options, manifest))
            except NothingToIndexError:
                raise NothingToIndexError(
                    f"removing {', '.join(paths)} would leave the index at {self.path}"
                    " without a document; it is unchanged",
                    hint="add --allow-empty to write an empty index",
                ) from None

    def sources(self) -> list[SourceInfo]:
        """Every source the index holds or skipped, with counts, dates and its state on
        disk now (``changed`` and ``missing`` as ``status`` finds them)."""
        manifest = read_manifest(self.path)
        current = self._store(manifest).open_current(manifest)
        try:
            return sources_of(current, manifest)
        finally:
            current.close()

    # -- inside ------------------------------------------------------------------------

    def _store_for(self, store: str | None) -> tuple[str, str]:
        """The store a build goes to, as the manifest records it ("" = local), and the
        index's name there: ``store`` as given, else what the index has."""
        if store is None:
            if not index_exists(self.path):
                return "", ""
            store = read_manifest(self.path).store
        return recorded_store(self.path, store)

    def _store(self, where: Manifest | WriteOptions, model: ModelSpec | None = None):
        """The store writer of the store ``where`` names (a manifest, or a write's
        options, which say whether the store is replaced), for vectors of ``model``
        (default: the manifest's precision of the bundled model, or this writer's)."""
        fresh = isinstance(where, WriteOptions) and where.fresh
        if model is None:
            model = self._model_of(where) if isinstance(where, Manifest) else self.model
        return open_writer(self.path, where.store, where.store_index, model, fresh=fresh)

    def _model_of(self, manifest: Manifest) -> ModelSpec:
        """The model a write that starts from ``manifest``'s index embeds with: the
        bundled model keeps the precision the index was built with (an fp32 index
        updates in fp32 whatever the default); an injected encoder is itself."""
        if self.encoder is not None:
            return self.model
        return model_spec(None, manifest.model_fingerprint)

    def _write(self, roots, files, previous, progress, options: WriteOptions) -> BuildReport:
        write = Write(self.path, self._store(options), self.model, self.encoder, progress)
        return write_generation(write, roots, files, previous, options)

    def _rewrite(
        self, manifest: Manifest, roots, files, progress, options: WriteOptions
    ) -> BuildReport:
        """A write that starts from the index as it is (update, add, remove)."""
        model = self._model_of(manifest)
        store = self._store(options, model)
        previous = store.open_current(manifest)
        try:
            write = Write(self.path, store, model, self.encoder, progress)
            return write_generation(write, roots, files, previous, options)
        finally:
            previous.close()


def _same_store(options: WriteOptions, manifest: Manifest) -> WriteOptions:
    """An update, add or remove writes where the index is."""
    return dataclasses.replace(options, store=manifest.store, store_index=manifest.store_index)


# -- remove: what goes, what stays ----------------------------------------------------------


def _removal(
    index_dir: Path, manifest: Manifest, paths: list[str]
) -> tuple[list[dict], tuple[str, ...]]:
    """The roots that stay and the sources carried over when ``paths`` go. A path
    inside a root that stays, or one the index does not hold, is refused."""
    targets = {given: absolute(given) for given in paths if not is_url(given)}
    roots = _roots_staying(manifest.roots, targets)
    known = {source: entry["path"] for source, entry in manifest.skipped.items()}
    known.update({source: entry.path for source, entry in manifest.files.items()})
    gone = {
        source
        for source in known
        if any(_names(source, known[source], target) for target in targets.items())
    }
    unmatched = [
        given for given in targets if not _holds(manifest, gone, known, (given, targets[given]))
    ]
    unmatched += [
        given
        for given in paths
        if is_url(given) and given not in manifest.pages and given not in manifest.feeds
    ]
    if unmatched:
        raise SourceNotFoundError(
            f"not in the index at {index_dir}: {', '.join(unmatched)}",
            hint="see what it holds with: assistant index sources",
        )
    return roots, tuple(source for source in known if source not in gone)


def _roots_staying(roots: list[dict], targets: dict[str, str]) -> list[dict]:
    """The roots not removed; a target inside one of them is refused (the next update
    would bring it back)."""
    staying = [root for root in roots if not any(within(root["path"], t) for t in targets.values())]
    for given, target in targets.items():
        holder = next((r for r in staying if within(target, r["path"])), None)
        if holder is not None:
            raise UsageError(
                f"{given} is inside the indexed folder {holder['given']},"
                " which would bring it back at the next update",
                hint=f"remove {holder['given']}, or move the file out of it",
            )
    return staying


def _names(source: str, path: str, target: tuple[str, str]) -> bool:
    """Whether the path given to ``remove`` (as given, and absolute) names ``source``
    (whose file is at ``path``): the source itself, or a folder it lies in."""
    given, absolute_target = target
    return source == given or within(path, absolute_target)


def _holds(manifest: Manifest, gone: set[str], known: dict, target: tuple[str, str]) -> bool:
    """Whether the index holds what a path given to ``remove`` names: a source, or a
    root (which may hold no file any more)."""
    return any(_names(source, known[source], target) for source in gone) or any(
        within(root["path"], target[1]) for root in manifest.roots
    )


# -- listing sources -----------------------------------------------------------------------


def sources_of(store, manifest: Manifest | None = None) -> list[SourceInfo]:
    """Every source of an index already open (``manifest``: the directory's, needed
    when the store is a Milvus one, whose own manifest lists no files)."""
    manifest = manifest or store.manifest
    dates = store.publication_dates()
    counts = store.passage_counts()

    def published(source: str) -> str | None:
        days = sorted(dates.get(source, []))
        return None if not days else "–".join(dict.fromkeys((days[0], days[-1])))

    found = [
        SourceInfo(
            source=source,
            state=layout.file_state(entry) or "indexed",
            documents=entry.documents,
            passages=counts.get(source, 0),
            modified=_iso(entry.mtime_ns),
            published=published(source),
            source_chars=entry.source_chars,
            kept_chars=entry.kept_chars,
            dropped=list(entry.dropped),
        )
        for source, entry in manifest.files.items()
    ]
    found += [  # web pages: "modified" is the fetch
        SourceInfo(
            source=source,
            state="indexed",
            documents=entry["documents"],
            passages=counts.get(source, 0),
            modified=entry["fetched_at"],
            published=published(source),
        )
        for source, entry in manifest.pages.items()
    ]
    found += [
        SourceInfo(
            source=source,
            state="skipped",
            modified=_iso(entry["stat"][1]) if entry.get("stat") else None,
            reason=entry.get("reason"),
        )
        for source, entry in manifest.skipped.items()
    ]
    return sorted(found, key=lambda info: info.source)


def _iso(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).isoformat(timespec="seconds")
