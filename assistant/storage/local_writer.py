"""Writing a generation of a local index: the database (:mod:`.database`) and the
vector files (:mod:`.vectors`) in a folder written beside the current one, renamed
into place, then named by a new manifest (:mod:`.layout`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from ..paths import make_private, private_dir
from . import database, layout, vectors
from .batch import WriteBatch, Written
from .layout import DB_NAME, Manifest, ModelSpec
from .local import StoredIndex


class LocalStoreWriter:
    """The store writer of an index whose passages live in its own directory."""

    def __init__(self, index_dir: Path, expected: ModelSpec) -> None:
        self.index_dir = index_dir
        self.expected = expected
        self.generation = ""
        self.needed = 0  # bytes the write takes, for a disk-full message

    def open_current(self, manifest: Manifest) -> StoredIndex:
        """The current generation, whose rows a write reuses."""
        return StoredIndex(self.index_dir, expected=self.expected)

    def write(self, batch: WriteBatch) -> Written:
        """A complete new generation, renamed into place (no manifest names it yet)."""
        index_dir = self.index_dir
        self.generation = generation = layout.new_generation_name()
        partial = layout.partial_path(index_dir, generation)
        self.needed = generation_bytes(batch)
        with layout.unfinished_removed(index_dir, generation, self.needed):
            shutil.rmtree(partial, ignore_errors=True)
            private_dir(partial)
            database.write_database(
                partial / DB_NAME, batch.documents, batch.passages, batch.statements
            )
            make_private(partial / DB_NAME)  # SQLite creates it 0644
            vector_index = vectors.write_vectors(partial, batch.passage_vectors)
            vectors.write_sentence_vectors(partial, batch.sentence_vectors)
            artifacts = layout.artifact_records(partial)
            layout.publish_generation(index_dir, generation)
            layout.fault_point("generation-renamed")
        return Written(generation, artifacts, vector_index)

    def publish(self, manifest: Manifest) -> None:
        """The manifest names the new generation; the older ones go."""
        with layout.unfinished_removed(self.index_dir, self.generation, self.needed):
            layout.write_manifest(self.index_dir, manifest)
        layout.fault_point("manifest-written")
        layout.remove_old_generations(self.index_dir, keep=self.generation)


def generation_bytes(batch: WriteBatch) -> int:
    """About how much disk a generation takes, for the disk-full message: the arrays
    exactly (vectors.npy, vectors.faiss, sentences.npy); the database from its text
    (64 KiB of empty tables, then about 10 bytes per byte of text: the seeds take 10.6,
    the 39 MB news-dev pages 7.8, with passages, FTS indexes and statements)."""
    text = sum(len(document.text.encode("utf-8", "surrogatepass")) for document in batch.documents)
    passage_vectors: np.ndarray = batch.passage_vectors
    return 2 * passage_vectors.nbytes + batch.sentence_vectors.nbytes + 65_536 + 10 * text
