"""Writing a generation of a local index: the database (:mod:`.database`) and the
vector files (:mod:`.vectors`) in a folder written beside the current one, part by
part, renamed into place, then named by a new manifest (:mod:`.layout`)."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import numpy as np

from ..paths import make_private, private_dir
from . import database, layout, vectors
from .batch import WriteBatch, Written
from .layout import DB_NAME, RAW_VECTORS_NAME, SENTENCE_VECTORS_NAME, Manifest, ModelSpec
from .local import StoredIndex


class LocalStoreWriter:
    """The store writer of an index whose passages live in its own directory.

    :meth:`begin` opens the new generation's files in ``gen-….partial``; each
    :meth:`add` inserts a part's rows and appends its vectors; :meth:`finish` makes the
    search structure from the vector file and renames the folder into place. A failure
    at any step removes the folder at once (``layout.unfinished_removed``)."""

    def __init__(self, index_dir: Path, expected: ModelSpec) -> None:
        self.index_dir = index_dir
        self.expected = expected
        self.generation = ""
        self.needed = 0  # bytes the write takes, for a disk-full message
        self._database: database.DatabaseWriter | None = None
        self._arrays: list[vectors.ArrayFile] = []

    def open_current(self, manifest: Manifest) -> StoredIndex:
        """The current generation, whose rows a write reuses."""
        return StoredIndex(self.index_dir, expected=self.expected)

    @property
    def partial(self) -> Path:
        return layout.partial_path(self.index_dir, self.generation)

    def _unfinished(self):
        return layout.unfinished_removed(self.index_dir, self.generation, self.needed)

    def begin(self, model: ModelSpec, needed: int = 0) -> None:
        self.generation = layout.new_generation_name()
        self.needed = needed
        with self._unfinished():
            shutil.rmtree(self.partial, ignore_errors=True)
            private_dir(self.partial)
            self._database = database.DatabaseWriter(self.partial / DB_NAME)
            self._arrays = [
                vectors.ArrayFile(self.partial / RAW_VECTORS_NAME, model.dimension, np.float32),
                vectors.ArrayFile(
                    self.partial / SENTENCE_VECTORS_NAME, model.dimension, np.float16
                ),
            ]

    def add(self, batch: WriteBatch) -> None:
        """One part's rows and vectors, in the order of the parts before."""
        with self._unfinished():
            self._database.add(batch.documents, batch.passages, batch.statements)
            passage_vectors, sentence_vectors = self._arrays
            passage_vectors.append(batch.passage_vectors)
            sentence_vectors.append(batch.sentence_vectors)

    def finish(self) -> Written:
        """The complete generation, renamed into place (no manifest names it yet)."""
        with self._unfinished():
            for array in self._arrays:
                array.close()
            self._arrays = []
            self._database.finish()
            make_private(self.partial / DB_NAME)  # SQLite creates it 0644
            vector_index = vectors.write_vector_index(self.partial)
            artifacts = layout.artifact_records(self.partial)
            layout.publish_generation(self.index_dir, self.generation)
            layout.fault_point("generation-renamed")
        return Written(self.generation, artifacts, vector_index)

    def abort(self) -> None:
        """Close what is open and remove the unfinished generation."""
        for array in self._arrays:
            with contextlib.suppress(OSError):
                array.discard()
        self._arrays = []
        if self._database is not None:
            self._database.close()
        if self.generation:
            shutil.rmtree(self.partial, ignore_errors=True)

    def publish(self, manifest: Manifest) -> None:
        """The manifest names the new generation; the older ones go."""
        with self._unfinished():
            layout.write_manifest(self.index_dir, manifest)
        layout.fault_point("manifest-written")
        layout.remove_old_generations(self.index_dir, keep=self.generation)


def generation_bytes(text_bytes: int, vectors: int, sentences: int, dimension: int) -> int:
    """About how much disk a generation takes, for the disk-full message: the arrays
    exactly (vectors.npy, vectors.faiss, sentences.npy); the database from its text
    (64 KiB of empty tables, then about 10 bytes per byte of text: the seeds take 10.6,
    the 39 MB news-dev pages 7.8, with passages, FTS indexes and statements)."""
    return 2 * 4 * vectors * dimension + 2 * sentences * dimension + 65_536 + 10 * text_bytes
