"""Stand-ins for the tests that are not about the embedding model.

:class:`FakeEncoder` meets :class:`assistant.embeddings.Encoder` without loading any
weights: a text's vector is its lower-cased words and word pairs hashed into 64
buckets, so texts that share words are close and a text is always as close to itself
as it can be. It is deterministic across processes (hashlib, not ``hash()``, which is
salted per process), so an index built in one process is searched alike in another.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
from collections.abc import Sequence

import numpy as np

WORD = re.compile(r"\w+")


class FakeEncoder:
    """A hashed bag of words and word pairs: keyword-similar texts get close vectors.

    ``name`` and ``dimension`` are what the manifest records (another of either is
    another model); :attr:`calls` counts the texts encoded so far.
    """

    def __init__(self, name: str = "test-fake", dimension: int = 64) -> None:
        self.name = name
        self.dimension = dimension
        self.fingerprint = ""  # nothing to tell beyond the name
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in zip(rows, texts, strict=True):
            for feature in features(text):
                bucket, sign = _bucket(feature, self.dimension)
                row[bucket] += sign
            norm = float(np.linalg.norm(row))
            if norm:
                row /= norm
            else:
                row[0] = 1.0  # no words: still a unit vector, as every encoder's rows are
        return rows


def features(text: str) -> list[str]:
    """The lower-cased words of ``text`` and each pair of neighbouring words."""
    words = WORD.findall(text.lower())
    return words + [f"{first} {second}" for first, second in itertools.pairwise(words)]


def _bucket(feature: str, dimension: int) -> tuple[int, float]:
    """Where a feature adds to the vector, and with which sign (the sign halves the
    crowding of 64 buckets: unrelated features cancel as often as they add)."""
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return value % dimension, 1.0 if (value >> 32) & 1 else -1.0


class FakeClock:
    """A monotonic clock that moves only when a test says so: a limit measured on it
    passes when the test decides, however slow the machine."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def front_end_patches(encoder) -> list[tuple[object, str, object]]:
    """(module, name, replacement) that make the front ends of this process (the CLI,
    the chat) open, write and verify indexes with ``encoder``: they import ``Index``,
    ``IndexWriter`` and ``verify_index`` when called, so replacing those names where
    they are defined reaches every command. For ``monkeypatch.setattr``, or ``setattr``
    in a child process that runs the CLI."""
    from assistant import api
    from assistant.indexing import writer

    class FakeEncodedIndex(api.Index):
        def __init__(self, path=None, *, encoder=None) -> None:
            super().__init__(path, encoder=encoder or default)

    class FakeEncodedWriter(writer.IndexWriter):
        def __init__(self, path, encoder=None) -> None:
            super().__init__(path, encoder=encoder or default)

    def verify_index(path, encoder=None):
        return verify(path, encoder or default)

    default, verify = encoder, api.verify_index
    return [
        (api, "Index", FakeEncodedIndex),
        (writer, "IndexWriter", FakeEncodedWriter),
        (api, "verify_index", verify_index),
    ]
