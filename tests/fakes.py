"""Stand-ins the tests inject instead of the real thing."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np


class FakeEncoder:
    """A tiny deterministic encoder: a hashed bag of lower-cased words, L2-normalised.

    Meets :class:`assistant.embeddings.Encoder` without a model; texts sharing words
    get close vectors, so searches still find the passage a question's words are in.
    """

    def __init__(self, name: str = "test-fake", dimension: int = 64) -> None:
        self.name = name
        self.dimension = dimension
        self.fingerprint = f"{name}-{dimension}-v1"
        self.calls = 0  # texts encoded so far

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode("utf-8"), digest_size=4).digest()
                vectors[row, int.from_bytes(digest, "little") % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.clip(norms, 1e-12, None)
