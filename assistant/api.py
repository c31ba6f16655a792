"""The library's front door: ``Index`` opens, searches and answers (writes go through
:class:`assistant.IndexWriter`).

Nothing here imports click or Textual; heavy libraries load on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .embeddings import bundled_encoder
from .errors import AssistantError, IndexIncompatibleError, UsageError
from .indexing.plan import SourceInfo, model_spec, source_paths
from .storage import layout
from .storage.backend import open_reader
from .storage.database import database_errors
from .storage.layout import compare_with_disk, file_state, is_disk_full
from .types import Answer, Document, Hit, IndexStatus, Passage, WhoSaid

if TYPE_CHECKING:
    from .embeddings import Encoder
    from .filters import SearchFilter
    from .query.llm import LLMConfig
    from .storage.base import ReadStore
    from .storage.layout import Manifest
    from .storage.verify import VerifyReport

# Where they were before the storage package; front ends import them from here.
__all__ = ["Index", "compare_with_disk", "file_state", "is_disk_full", "verify_index"]

# Beyond this, a "question" is a document: embed and match its beginning only.
MAX_QUESTION_CHARS = 2000
# ``Index.statements``: most speakers listed (a dispute's articles quote a dozen or so).
MOST_SPEAKERS = 20


def clean_question(text: str) -> str:
    """The question on one line, controls as spaces, cut to the longest allowed; a
    UsageError when it is empty (front ends check it before opening an index)."""
    if not isinstance(text, str):
        raise UsageError("the question must be text")
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    if not cleaned:
        raise UsageError("the question is empty")
    return cleaned[:MAX_QUESTION_CHARS]


class Index:
    """An opened index. Thread-safe for concurrent ``search``/``ask`` calls."""

    def __init__(self, path: str | Path | None = None, *, encoder: Encoder | None = None) -> None:
        """Open the index at ``path``. ``encoder`` embeds the questions (default: the
        bundled model, loaded on the first question); the index must have been built
        with the same model and dimension (IndexIncompatibleError, exit 6, if not)."""
        from .paths import default_index_dir

        self.path = Path(path) if path is not None else default_index_dir()
        self._encoder = encoder
        self._lock = threading.RLock()
        self._manifest_stamp = self._stamp()
        self._open_store()
        self._retriever = None
        self._answerer = None
        self._generators: dict = {}  # LLMConfig -> GenerativeAnswerer

    @staticmethod
    def exists(path: str | Path) -> bool:
        """Whether there is an index (a manifest) at ``path``; nothing is opened."""
        return layout.index_exists(Path(path))

    @staticmethod
    def read_manifest(path: str | Path) -> Manifest:
        """The manifest of the index at ``path`` (counts, dates, model), without
        opening its files: for listing collections."""
        return layout.read_manifest(Path(path))

    def sources(self) -> list[SourceInfo]:
        """Every indexed (or skipped) file with its counts, dates and state on disk."""
        self.refresh()
        with database_errors(self.path):
            from .indexing.writer import sources_of  # the write side, only when asked

            return sources_of(self._store, self._manifest)

    def _stamp(self) -> tuple[int, int] | None:
        return layout.manifest_stamp(self.path)

    def refresh(self) -> None:
        """Switch to the newest generation once a writer has swapped the manifest
        (cheap: one stat; every query does it first).

        Each query runs on one generation from start to end; the old one's open
        files stay readable after the writer deletes them, so nothing is mixed.
        """
        stamp = self._stamp()
        if stamp is not None and stamp != self._manifest_stamp:
            self.reload()

    def _open_store(self) -> None:
        """The store the directory's manifest names, that manifest, and the encoder
        questions are embedded with: the injected one, else the bundled model at the
        precision the index was embedded with (an fp32 index stays fp32)."""
        for attempt in (1, 2):
            manifest = layout.read_manifest(self.path)
            encoder = self._encoder or bundled_encoder(manifest.model_fingerprint)
            try:
                expected = model_spec(encoder)
                self._store: ReadStore = open_reader(self.path, manifest, expected=expected)
                break
            except IndexIncompatibleError:
                # A writer may have swapped in an index of the other precision between
                # the two reads of the manifest: read it again, once.
                if attempt == 2 or layout.read_manifest(self.path) == manifest:
                    raise
        self._query_encoder = encoder
        self._manifest = self._store.manifest

    def reload(self) -> None:
        with self._lock:
            self._manifest_stamp = self._stamp()
            # The old store is not closed here: a query in another thread may still be
            # reading it. Its connection closes when the last reference goes.
            self._open_store()
            engine = self._retriever is not None
            self._retriever = self._answerer = None
            self._generators = {}
            if engine:  # the bundled model's sessions are shared: nothing loads again
                self._make_engine()

    # -- querying ----------------------------------------------------------------

    def _make_engine(self, encoder=None):
        from .query.extractive import ExtractiveAnswerer
        from .query.retrieval import Retriever

        self._retriever = Retriever(self._store, encoder or self._query_encoder)
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
        date, source or language), so it never empties a result that has matches.
        Passages stated to be in another language than the query's come after those in
        it, or are left out when enough are (:mod:`assistant.query.language`)."""
        if k < 1:
            raise UsageError("k must be at least 1")
        query = clean_question(query)
        self.refresh()
        with database_errors(self.path):
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
        question = clean_question(question)
        self.refresh()
        with database_errors(self.path):
            if search_filter is not None and self._filter_matches_nothing(search_filter):
                reason = f"no document matches the filter ({search_filter.describe()})"
                text = f"The sources do not answer this: {reason}."
                return Answer(question, text, abstained=True, reason=reason)
            if llm is None:
                answer = self.answerer.answer(
                    question, max_citations=k, search_filter=search_filter
                )
            else:
                answer = self._generator(llm).answer(
                    question, max_citations=k, on_text=on_text, search_filter=search_filter
                )
            from .query.language import with_languages

            return with_languages(answer)

    def statements(
        self,
        topic: str,
        *,
        since: str | None = None,
        until: str | None = None,
        source: str | list[str] | tuple[str, ...] = (),
        k: int = MOST_SPEAKERS,
        search_filter: SearchFilter | None = None,
    ) -> WhoSaid:
        """Who said what on ``topic``: up to ``k`` speakers (most statements first),
        each with their statements on it in date order, verbatim with their sources.

        A statement is on the topic by the evidence ``ask`` uses, and the same
        abstention applies (``abstained``, ``reason`` and the ``nearest`` passages when
        nobody is quoted on it). ``since``, ``until`` and ``source`` restrict the search
        as ``--since``/``--until``/``--source`` do (or pass a ``search_filter``)."""
        from .query.said import SaidFinder

        if k < 1:
            raise UsageError("k must be at least 1")
        topic = clean_question(topic)
        if search_filter is None:
            from .filters import SearchFilter

            sources = [source] if isinstance(source, str) else list(source)
            search_filter = SearchFilter.parse(since, until, sources)
        self.refresh()
        with database_errors(self.path):
            if search_filter is not None and self._filter_matches_nothing(search_filter):
                reason = f"no document matches the filter ({search_filter.describe()})"
                return WhoSaid(topic, abstained=True, reason=reason)
            return SaidFinder(self.answerer).find(topic, k, search_filter)

    def _filter_matches_nothing(self, search_filter: SearchFilter) -> bool:
        """A filter no document passes (``--source CNN`` in an index without CNN): the
        answer says so, rather than that no passage covers the question."""
        return not len(self._store.restriction(search_filter).vector_rows)

    def condense(self, question: str, turns: list[tuple[str, str]], llm: LLMConfig) -> str:
        """A follow-up question rewritten by the model to stand on its own.

        ``turns`` are the earlier (question, answer text) pairs, oldest first. Raises
        :class:`~assistant.query.llm.LLMError` when the model cannot do it.
        """
        return self._generator(llm).condense(clean_question(question), turns)

    def _generator(self, llm: LLMConfig):
        from .query.generative import GenerativeAnswerer

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
        files = self._manifest.files
        return [
            source
            for source in dict.fromkeys(sources)
            if source in files and file_state(files[source]) is not None
        ]

    # -- inspecting --------------------------------------------------------------

    @property
    def manifest(self) -> Manifest:
        """The index directory's manifest as last read: roots, files and their hashes,
        counts, model, and ``store`` (where passages live; "" for this directory)."""
        return self._manifest

    @property
    def store(self) -> ReadStore:
        """The store of the current generation (the read protocol of
        :mod:`assistant.storage`), for library users and tests; front ends use the
        methods of this class."""
        return self._store

    def document(self, doc_id: str) -> Document:
        """A document's metadata (title, outlet, date, pages) by its id."""
        with database_errors(self.path):
            return self._store.document(doc_id)

    def document_text(self, doc_id: str) -> str:
        """A document's whole text as indexed (what citation offsets point into)."""
        with database_errors(self.path):
            return self._store.document_text(doc_id)

    def document_passages(self, doc_id: str) -> list[Passage]:
        """A document's passages in reading order (head lines and boilerplate too)."""
        with database_errors(self.path):
            return self._store.document_passages(doc_id)

    def document_whole(self, doc_id: str) -> tuple[Document, str, list[Passage]] | None:
        """A document, its text and its passages, all read from the newest version of
        the index (one store for the three); None when the index has no such document."""
        self.refresh()
        store = self._store
        with database_errors(self.path):
            # Every indexed document has passages, so none means no such document
            # (asking for the document itself would call a missing one damage).
            passages = store.document_passages(doc_id)
            if not passages:
                return None
            return store.document(doc_id), store.document_text(doc_id), passages

    def documents(self) -> list[Document]:
        with database_errors(self.path):
            return self._store.documents()

    def document_ids(self, name: str) -> list[str]:
        """``[name]`` when it is a document id, else the ids of the documents of the
        source ``name`` (a file as indexed, a URL); [] when the index has neither."""
        self.refresh()
        with database_errors(self.path):
            return self._store.document_ids(name)

    def status(self, check_files: bool = True) -> IndexStatus:
        manifest = self._manifest
        stale, missing, new = [], [], []
        if check_files:
            stale, missing, new = compare_with_disk(manifest, source_paths(manifest))
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
            **self._store.store_facts(),
        )

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def verify_index(index_dir: str | Path, encoder=None) -> VerifyReport:
    """``index verify``: the index at ``index_dir`` checked deeply against its manifest,
    the model it is searched with (``encoder``; None: the bundled one) and its sources
    on disk (see :mod:`assistant.storage.verify`)."""
    from .storage.verify import verify_index as verify_store

    try:
        recorded = layout.read_manifest(Path(index_dir)).model_fingerprint
    except AssistantError:
        recorded = None  # the check of the manifest itself says what is wrong
    return verify_store(index_dir, model_spec(encoder, recorded), source_paths)
