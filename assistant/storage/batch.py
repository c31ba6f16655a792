"""What a write hands a store: one whole index's documents, passages (with their
vectors), statements and source hashes, already read, split, marked and embedded.

A store writer (:mod:`.local_writer`, :mod:`.milvus.writer`) only stores it; how the
passages were made is the indexing package's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..types import SourceDocument, Statement
from .layout import Manifest, ModelSpec


class NewChunk(Protocol):
    """A passage's place and flags (an :class:`assistant.ingest.chunks.Chunk`)."""

    paragraph: int
    start: int
    end: int
    text: str
    is_boilerplate: bool
    sentences: tuple[tuple[int, int], ...]
    is_head: bool


class NewPassage(Protocol):
    """One passage to store: its document and source, its chunk, and (citable
    passages) its vector and one vector per sentence."""

    doc_id: str
    source: str
    chunk: NewChunk
    vector: np.ndarray | None
    sentence_vectors: np.ndarray | None
    language: str | None  # the source's stated language (primary subtag), or None


@dataclass
class WriteBatch:
    """The whole content of the index after this write. Passage ids are positions in
    ``passages``; citable passages (not boilerplate) get vector rows in that order."""

    documents: list[SourceDocument]
    passages: Sequence[NewPassage]
    statements: list[tuple[int, Statement]]
    # source -> SHA-256 of its file (or of a web page's body): what a store compares
    # to tell a source whose rows must be written again.
    source_hashes: dict[str, str]
    model: ModelSpec
    passage_vectors: np.ndarray  # float32, one row per citable passage
    sentence_vectors: np.ndarray  # float16, every citable passage's sentences in order


@dataclass
class Written:
    """What the manifest records of where a write went."""

    generation: str = ""  # the local generation folder; "" for a Milvus store
    artifacts: dict[str, dict] = field(default_factory=dict)
    vector_index: str = "milvus"


class StoreWriter(Protocol):
    """Stores a batch, then makes it the index's current content with its manifest."""

    def write(self, batch: WriteBatch) -> Written: ...

    def publish(self, manifest: Manifest) -> None: ...

    def open_current(self, manifest: Manifest): ...
