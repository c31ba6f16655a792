"""Stand-ins for the tests: a tiny deterministic encoder (no model files needed)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np


class FakeEncoder:
    """A hashed bag of words: each lowercase word adds 1 to one of 64 dimensions (by
    its SHA-1), rows L2-normalised. Texts sharing words are close; nothing is learned."""

    name = "test-fake"
    dimension = 64
    fingerprint = ""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.sha1(word.encode("utf-8")).digest()
                vectors[row, int.from_bytes(digest[:4], "big") % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.clip(norms, 1e-12, None)
