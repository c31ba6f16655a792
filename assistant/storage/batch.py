"""What a write hands a store, one part at a time: documents, passages (with their
vectors), statements and source hashes of whole sources, already read, split, marked
and embedded.

A write streams: the store writer is begun, given the index's content in bounded
parts (:class:`WriteBatch`, whole sources each, passage ids continuing from one part
to the next), finished, then published with its manifest; or aborted, which leaves
the current index as it was. A store writer (:mod:`.local_writer`,
:mod:`.milvus.writer`) only stores what it is given; how the passages were made is
the indexing package's business.
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
    """One part of the index after this write: whole sources. Passage ids are
    ``first_passage`` plus positions in ``passages`` (they continue across parts);
    citable passages (not boilerplate) get vector rows in that order, after those of
    the parts before."""

    documents: list[SourceDocument]
    passages: Sequence[NewPassage]
    statements: list[tuple[int, Statement]]
    # source -> SHA-256 of its file (or of a web page's body): what a store compares
    # to tell a source whose rows must be written again.
    source_hashes: dict[str, str]
    model: ModelSpec
    passage_vectors: np.ndarray  # float32, one row per citable passage
    sentence_vectors: np.ndarray  # float16, every citable passage's sentences in order
    first_passage: int = 0  # the id of ``passages[0]``


@dataclass
class Written:
    """What the manifest records of where a write went."""

    generation: str = ""  # the local generation folder; "" for a Milvus store
    artifacts: dict[str, dict] = field(default_factory=dict)
    vector_index: str = "milvus"


class StoreWriter(Protocol):
    """Stores an index part by part aside, then makes it the index's current content
    with its manifest. Until :meth:`publish`, the current index is untouched; after
    :meth:`abort` (any failure, Ctrl-C) nothing of the write is left."""

    def begin(self, model: ModelSpec, needed: int = 0) -> None:
        """Start a new generation (``needed``: about how many bytes it takes)."""

    def add(self, batch: WriteBatch) -> None: ...

    def finish(self) -> Written: ...

    def abort(self) -> None: ...

    def publish(self, manifest: Manifest) -> None: ...

    def open_current(self, manifest: Manifest): ...
