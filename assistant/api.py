"""The library's front door: ``Index`` builds, opens, searches and answers.

Nothing here imports click or Textual; heavy libraries load on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from . import indexer
from .errors import DatabaseCorruptError, UsageError
from .sources import file_sha256, files_under_roots, stat_signature
from .store import REBUILD, StoredIndex
from .types import Answer, Hit, IndexStatus

if TYPE_CHECKING:
    from .filters import SearchFilter
    from .llm import LLMConfig

# Beyond this, a "question" is a document: embed and match its beginning only.
MAX_QUESTION_CHARS = 2000


def _clean_question(text: str) -> str:
    if not isinstance(text, str):
        raise UsageError("the question must be text")
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if not cleaned:
        raise UsageError("the question is empty")
    return cleaned[:MAX_QUESTION_CHARS]


class Index:
    """An opened index. Thread-safe for concurrent ``search``/``ask`` calls."""

    def __init__(self, path: str | Path | None = None) -> None:
        from .paths import default_index_dir

        self.path = Path(path) if path is not None else default_index_dir()
        self._lock = threading.RLock()
        self._manifest_stamp = self._stamp()
        self._store = StoredIndex(self.path)
        self._retriever = None
        self._answerer = None
        self._generators: dict = {}  # LLMConfig -> GenerativeAnswerer

    # -- building ----------------------------------------------------------------

    @classmethod
    def build(
        cls,
        paths: list[str | Path],
        path: str | Path | None = None,
        progress: indexer.ProgressCallback | None = None,
        *,
        allow_empty: bool = False,
        follow_links: bool = False,
    ) -> tuple[Index, indexer.BuildReport]:
        from .paths import default_index_dir

        target = Path(path) if path is not None else default_index_dir()
        report = indexer.build_index(
            [str(p) for p in paths],
            target,
            progress,
            allow_empty=allow_empty,
            follow_links=follow_links,
        )
        return cls(target), report

    def update(
        self,
        progress: indexer.ProgressCallback | None = None,
        *,
        allow_empty: bool = False,
        follow_links: bool = False,
    ) -> indexer.BuildReport:
        report = indexer.update_index(
            self.path, progress, allow_empty=allow_empty, follow_links=follow_links
        )
        self.reload()
        return report

    def add(
        self,
        paths: list[str | Path],
        urls: list[str] = (),
        feeds: list[str] = (),
        progress: indexer.ProgressCallback | None = None,
        *,
        allow_empty: bool = False,
        follow_links: bool = False,
    ) -> indexer.BuildReport:
        """Add files and folders (and web pages, feeds) to this index; only what is new
        is embedded. See :func:`assistant.indexer.add_sources`."""
        report = indexer.add_sources(
            [str(p) for p in paths],
            self.path,
            progress,
            urls=list(urls),
            feeds=list(feeds),
            allow_empty=allow_empty,
            follow_links=follow_links,
        )
        self.reload()
        return report

    def remove(
        self,
        paths: list[str | Path],
        progress: indexer.ProgressCallback | None = None,
        *,
        allow_empty: bool = False,
    ) -> indexer.BuildReport:
        """Remove indexed files or folders and their documents; nothing is re-embedded."""
        report = indexer.remove_sources(
            [str(p) for p in paths], self.path, progress, allow_empty=allow_empty
        )
        self.reload()
        return report

    def sources(self) -> list[indexer.SourceInfo]:
        """Every indexed (or skipped) file with its counts, dates and state on disk."""
        return indexer.list_sources(self.path)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            stat = (self.path / "manifest.json").stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def _follow_writer(self) -> None:
        """Switch to the newest generation once a writer has swapped the manifest.

        Each query runs on one generation from start to end; the old one's open
        files stay readable after the writer deletes them, so nothing is mixed.
        """
        stamp = self._stamp()
        if stamp is not None and stamp != self._manifest_stamp:
            self.reload()

    def reload(self) -> None:
        with self._lock:
            self._manifest_stamp = self._stamp()
            # The old store is not closed here: a query in another thread may still be
            # reading it. Its connection closes when the last reference goes.
            self._store = StoredIndex(self.path)
            encoder = self._retriever.encoder if self._retriever else None
            self._retriever = self._answerer = None
            self._generators = {}
            if encoder is not None:
                self._make_engine(encoder)

    # -- querying ----------------------------------------------------------------

    def _make_engine(self, encoder=None):
        from .answer import ExtractiveAnswerer
        from .retrieval import Retriever

        self._retriever = Retriever(self._store, encoder)
        self._answerer = ExtractiveAnswerer(self._store, self._retriever)

    @property
    def retriever(self):
        with self._lock:  # a UI warm-up thread and the first question may race here
            if self._retriever is None:
                self._make_engine()
            return self._retriever

    @property
    def answerer(self):
        with self._lock:
            if self._answerer is None:
                self._make_engine()
            return self._answerer

    def warm_up(self) -> None:
        """Load the query encoder now, so the first question answers at full speed."""
        self.search("warm up", k=1)

    def search(
        self, query: str, k: int = 10, *, search_filter: SearchFilter | None = None
    ) -> list[Hit]:
        """The ``k`` best passages; ``search_filter`` restricts the search itself (by
        date or source), so it never empties a result that has matches."""
        if k < 1:
            raise UsageError("k must be at least 1")
        query = _clean_question(query)
        self._follow_writer()
        with _database_errors(self.path):
            return self.retriever.search(query, k, search_filter=search_filter)

    def ask(
        self,
        question: str,
        k: int = 3,
        *,
        llm: LLMConfig | None = None,
        on_text: Callable[[str], None] | None = None,
        search_filter: SearchFilter | None = None,
    ) -> Answer:
        """Answer with up to ``k`` citations, or abstain.

        With ``llm``, a language model writes the answer from the passages that fit its
        context window; ``on_text`` receives its text as it streams. The answer is then
        verified (``answer.llm`` holds the verdicts); when the model fails or nothing it
        wrote can be verified, the extractive answer comes back with ``answer.notice``.
        """
        if k < 1:
            raise UsageError("k must be at least 1")
        question = _clean_question(question)
        self._follow_writer()
        with _database_errors(self.path):
            if search_filter is not None and self._filter_matches_nothing(search_filter):
                reason = f"no document matches the filter ({search_filter.describe()})"
                text = f"The sources do not answer this: {reason}."
                return Answer(question, text, abstained=True, reason=reason)
            if llm is None:
                return self.answerer.answer(question, max_citations=k, search_filter=search_filter)
            return self._generator(llm).answer(
                question, max_citations=k, on_text=on_text, search_filter=search_filter
            )

    def _filter_matches_nothing(self, search_filter: SearchFilter) -> bool:
        """A filter no document passes (``--source CNN`` in an index without CNN): the
        answer says so, rather than that no passage covers the question."""
        return not len(self._store.restriction(search_filter).vector_rows)

    def condense(self, question: str, turns: list[tuple[str, str]], llm: LLMConfig) -> str:
        """A follow-up question rewritten by the model to stand on its own.

        ``turns`` are the earlier (question, answer text) pairs, oldest first. Raises
        :class:`~assistant.llm.LLMError` when the model cannot do it.
        """
        return self._generator(llm).condense(_clean_question(question), turns)

    def _generator(self, llm: LLMConfig):
        from .generative import GenerativeAnswerer

        answerer = self.answerer
        with self._lock:
            generator = self._generators.get(llm)
            if generator is None:
                generator = GenerativeAnswerer(self._store, self.retriever, answerer, llm)
                self._generators[llm] = generator
            return generator

    def changed_sources(self, sources) -> list[str]:
        """Which of these indexed sources changed on disk since they were indexed.

        Their citations still quote the indexed text, but the offsets may no longer
        match the file: front ends warn about them.
        """
        files = self._store.manifest.files
        return [
            source
            for source in dict.fromkeys(sources)
            if source in files and file_state(files[source]) is not None
        ]

    # -- inspecting --------------------------------------------------------------

    @property
    def store(self) -> StoredIndex:
        return self._store

    def status(self, check_files: bool = True) -> IndexStatus:
        manifest = self._store.manifest
        stale, missing, new = [], [], []
        if check_files:
            stale, missing, new = compare_with_disk(manifest)
        return IndexStatus(
            path=str(self.path),
            documents=manifest.documents,
            passages=manifest.passages,
            model=manifest.model,
            dimension=manifest.dimension,
            schema_version=manifest.schema_version,
            built_at=manifest.created_at,
            updated_at=manifest.updated_at,
            files={name: entry.sha256 for name, entry in manifest.files.items()},
            stale=stale,
            missing=missing,
            new=new,
        )

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextmanager
def _database_errors(index_dir: Path):
    """SQLite can find damage only when a query reaches it: report it like at open."""
    import sqlite3

    try:
        yield
    except sqlite3.DatabaseError as error:
        raise DatabaseCorruptError(
            f"the passage database of {index_dir} is damaged ({error})", hint=REBUILD
        ) from None


def file_state(entry, by_hash: bool = False) -> str | None:
    """One indexed file on disk now: "missing", "changed" or None (unchanged).

    A file whose size and mtime are unchanged is trusted without reading it, unless
    ``by_hash``; one whose size or mtime changed is hashed before calling it changed.
    """
    path = Path(entry.path)
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    touched = (stat.st_size, stat.st_mtime_ns) != (entry.size, entry.mtime_ns)
    if (touched or by_hash) and file_sha256(path) != entry.sha256:
        return "changed"
    return None


def compare_with_disk(manifest, by_hash: bool = False) -> tuple[list[str], list[str], list[str]]:
    """Sources (changed, missing, new) since the index was written; ``by_hash`` is
    what ``index verify`` uses (see :func:`file_state`).

    The chat decides to update with this too. A file skipped at the last write (and
    recorded in the manifest as such) is not new until it changes: otherwise every
    start would update for a file that will be skipped again.
    """
    stale, missing = [], []
    for source, entry in manifest.files.items():
        state = file_state(entry, by_hash)
        if state == "missing":
            missing.append(source)
        elif state == "changed":
            stale.append(source)
    known = {entry.path for entry in manifest.files.values()}
    skipped = {entry["path"]: entry.get("stat") for entry in manifest.skipped.values()}
    new = []
    for found in files_under_roots(manifest.roots, manifest.follow_links):
        path = str(found.path)
        if path in known or (path in skipped and skipped[path] == stat_signature(found.path)):
            continue
        new.append(path)
    return stale, missing, new
