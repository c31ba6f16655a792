"""The library's front door: ``Index`` builds, opens, searches and answers.

Nothing here imports click or Textual; heavy libraries load on first use.
"""

from __future__ import annotations

import threading
from pathlib import Path

from . import indexer
from .errors import UsageError
from .sources import file_sha256, find_source_files
from .store import StoredIndex
from .types import Answer, Hit, IndexStatus

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
        self._store = StoredIndex(self.path)
        self._lock = threading.RLock()
        self._retriever = None
        self._answerer = None

    # -- building ----------------------------------------------------------------

    @classmethod
    def build(
        cls,
        paths: list[str | Path],
        path: str | Path | None = None,
        progress: indexer.ProgressCallback | None = None,
    ) -> tuple[Index, indexer.BuildReport]:
        from .paths import default_index_dir

        target = Path(path) if path is not None else default_index_dir()
        report = indexer.build_index([str(p) for p in paths], target, progress)
        return cls(target), report

    def update(self, progress: indexer.ProgressCallback | None = None) -> indexer.BuildReport:
        report = indexer.update_index(self.path, progress)
        self.reload()
        return report

    def reload(self) -> None:
        with self._lock:
            old = self._store
            self._store = StoredIndex(self.path)
            encoder = self._retriever.encoder if self._retriever else None
            self._retriever = self._answerer = None
            if encoder is not None:
                self._make_engine(encoder)
            old.close()

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

    def search(self, query: str, k: int = 10) -> list[Hit]:
        if k < 1:
            raise UsageError("k must be at least 1")
        return self.retriever.search(_clean_question(query), k)

    def ask(self, question: str, k: int = 3) -> Answer:
        """Answer with up to ``k`` citations, or abstain."""
        if k < 1:
            raise UsageError("k must be at least 1")
        return self.answerer.answer(_clean_question(question), max_citations=k)

    # -- inspecting --------------------------------------------------------------

    @property
    def store(self) -> StoredIndex:
        return self._store

    def status(self, check_files: bool = True) -> IndexStatus:
        manifest = self._store.manifest
        stale, missing, new = [], [], []
        if check_files:
            stale, missing, new = _compare_with_disk(manifest)
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


def _compare_with_disk(manifest) -> tuple[list[str], list[str], list[str]]:
    stale, missing = [], []
    for source, entry in manifest.files.items():
        path = Path(entry.path)
        try:
            stat = path.stat()
        except OSError:
            missing.append(source)
            continue
        # Size and mtime unchanged: trust it without reading the file.
        changed_on_disk = (stat.st_size, stat.st_mtime_ns) != (entry.size, entry.mtime_ns)
        if changed_on_disk and file_sha256(path) != entry.sha256:
            stale.append(source)
    known = {entry.path for entry in manifest.files.values()}
    new = []
    for root in manifest.roots:
        if not Path(root["path"]).exists():
            continue
        for found in find_source_files([root["path"]]):
            if str(found.path) not in known:
                new.append(str(found.path))
    return stale, missing, new
