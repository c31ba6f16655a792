"""What retrieval and answering need from a store: the read protocol a backend
implements (the local SQLite + FAISS store, :class:`~.local.StoredIndex`, and the
Milvus reader, :class:`~.milvus.reader.MilvusReader`, are the two).

Kept apart from the implementations so that importing it loads neither SQLite nor
faiss; see the package docstring for what each method promises. The query path asks
through the batched calls (``term_statistics``, ``search``, ``read``: a few calls per
question); the single-purpose ones serve front ends, ``index sources`` and the
batched calls' default implementation (:class:`~.reads.BatchedReads`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np

    from ..errors import AssistantError
    from ..filters import SearchFilter
    from ..types import Document, Passage, Statement
    from .layout import Manifest
    from .reads import Found, ReadResult, Reads, SpeakerMatcher, TermStatistics


class CheckReport(Protocol):
    """Where ``index verify``'s checks go (:class:`~.verify.VerifyReport`)."""

    def passed(self, name: str, detail: str) -> None: ...
    def failed(self, name: str, error: AssistantError) -> None: ...


@runtime_checkable
class ReadStore(Protocol):
    """One consistent version of an index, read-only, safe for concurrent readers."""

    manifest: Manifest  # the index directory's (files, counts, model, store)
    common_term_limit: int

    # -- batched: what the query path asks, a few calls per question

    def term_statistics(
        self, terms: Sequence[str], wants_variants: Callable[[str, int], bool]
    ) -> dict[str, TermStatistics]: ...
    def search(self, query: np.ndarray, match: str, k: int, restriction: Any = None) -> Found: ...
    def read(self, reads: Reads) -> ReadResult: ...

    # -- counts and where the rows are

    def citable_passage_count(self) -> int: ...
    def store_facts(self) -> dict[str, object]: ...

    # -- restriction (a search filter resolved once per query, passed to both searches)

    def restriction(self, search_filter: SearchFilter) -> Any: ...
    def allowed_passages(
        self, passage_ids: list[int], search_filter: SearchFilter
    ) -> list[int]: ...

    # -- dense search (``known``: cosines already computed, by passage id)

    def dense_search(
        self, query: np.ndarray, k: int, restriction: Any = None
    ) -> list[tuple[int, float]]: ...
    def dense_scores(
        self, query: np.ndarray, ids: list[int], known: dict[int, float] | None = None
    ) -> dict[int, tuple[float, float]]: ...
    def sentence_cosines(self, query: np.ndarray, ids: list[int]) -> dict[int, np.ndarray]: ...

    # -- keyword search

    def keyword_search(
        self, match: str, k: int, restriction: Any = None
    ) -> list[tuple[int, float]]: ...
    def document_bm25(self, match: str, doc_ids: list[str]) -> dict[str, float]: ...
    def passage_frequency(self, forms: tuple[str, ...]) -> int: ...
    def passages_containing(self, passage_ids: list[int], forms: tuple[str, ...]) -> set[int]: ...
    def name_variants(self, term: str) -> list[str]: ...

    # -- passages and documents by id

    def passages(self, ids: list[int]) -> dict[int, Passage]: ...
    def passages_for_vector_rows(self, rows: list[int]) -> dict[int, Passage]: ...
    def document(self, doc_id: str) -> Document: ...
    def documents(self) -> list[Document]: ...
    def document_ids(self, name: str) -> list[str]: ...
    def document_text(self, doc_id: str) -> str: ...
    def document_passages(self, doc_id: str) -> list[Passage]: ...

    # -- statements

    def statements(self, passage_ids: list[int]) -> dict[int, list[Statement]]: ...
    def passages_quoting(self, wanted: SpeakerMatcher, limit: int = 200) -> list[int]: ...

    # -- metadata terms

    def metadata_terms(self) -> dict[str, set[str]]: ...
    def metadata_vocabulary(self) -> frozenset[str]: ...

    # -- ``index sources``

    def publication_dates(self) -> dict[str, list[str]]: ...
    def passage_counts(self) -> dict[str, int]: ...

    def close(self) -> None: ...
