"""Passage vectors and their sentences' vectors from one model pass.

A build needs a vector for every passage and one for every sentence in it (the
best-sentence signal). Embedding each sentence on its own made the model read every
token twice (SciFact: the sentences were 48.6% of the word pieces a build embedded).
Here the passage is run once and each sentence's vector is the mean of the passage's
token states inside the sentence's characters (found through the tokenizer's
offsets), L2-normalised: the same pooling the model's own vectors use, over the
sentence's part of the sequence.

A sentence the model's window (``MAX_SEQ_LENGTH`` word pieces) cuts off, wholly or in
part, has no complete token states: it is embedded on its own, so every sentence gets
a vector.

Each text is tokenised once: a slice of ``SLICE`` texts at a time is tokenised, sorted
by length and run in batches of similar length, so memory holds one slice's
encodings, never a corpus's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# Texts tokenised, sorted by length and run together: enough for batches of even
# lengths (little padding), few enough that their encodings stay a few MB.
SLICE = 2048

Span = tuple[int, int]
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Tokenised:
    """One text as the model reads it: its word-piece ids ([CLS] and [SEP] included,
    cut to the window) and, for each sentence asked about, the positions of its word
    pieces (None: the window cuts the sentence, or it has no word piece)."""

    ids: np.ndarray
    sentences: tuple[Span | None, ...]


def tokenise(tokenizer, texts: Sequence[str], spans: Sequence[Sequence[Span]]) -> list[Tokenised]:
    """``texts`` tokenised once, with the token positions of each text's ``spans``
    (character offsets into that text)."""
    out = []
    for encoding, text_spans in zip(tokenizer.encode_batch(list(texts)), spans, strict=True):
        ids = np.asarray(encoding.ids, dtype=np.int64)
        cut = bool(encoding.overflowing)
        out.append(Tokenised(ids, token_spans(encoding.offsets, cut, text_spans)))
    return out


def token_spans(offsets: Sequence[Span], cut: bool, spans: Sequence[Span]) -> tuple:
    """The word-piece positions [first, end) of each character span in a sequence
    whose ``offsets`` are the encoding's ([CLS] first and [SEP] last, both (0, 0)).

    None for a span without word pieces, and, when the window ``cut`` the text, for
    one that reaches past the last character the window kept.
    """
    if not spans:
        return ()
    inner = offsets[1:-1]
    starts = np.fromiter((start for start, _ in inner), dtype=np.int64, count=len(inner))
    kept_until = inner[-1][1] if inner else 0
    found: list[Span | None] = []
    for start, end in spans:
        first = int(np.searchsorted(starts, start, side="left"))
        last = int(np.searchsorted(starts, end, side="left"))
        whole = not cut or end <= kept_until
        found.append((first + 1, last + 1) if last > first and whole else None)
    return tuple(found)


def padded(rows: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Ids of ``rows`` padded to the longest, and the attention mask."""
    width = max(len(row) for row in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, values in enumerate(rows):
        ids[row, : len(values)] = values
        mask[row, : len(values)] = 1
    return ids, mask


def mean_pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The model's sentence embedding: token states averaged over the mask, normalised."""
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return normalised(pooled)


def span_pooled(hidden: np.ndarray, rows: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """Token states of batch row ``rows[i]`` averaged over positions ``spans[i]``
    ([first, end)), normalised: running sums, one subtraction a span."""
    if not len(rows):
        return np.zeros((0, hidden.shape[2]), dtype=np.float32)
    running = np.zeros((hidden.shape[0], hidden.shape[1] + 1, hidden.shape[2]), np.float64)
    np.cumsum(hidden, axis=1, out=running[:, 1:])
    sums = running[rows, spans[:, 1]] - running[rows, spans[:, 0]]
    return normalised(sums / (spans[:, 1] - spans[:, 0])[:, None])


def normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


class PassageBatches:
    """Embeds texts (and their sentences) through ``run``: token ids and mask ->
    token states; ``tokenizer`` is the model's (truncating to the window)."""

    def __init__(self, tokenizer, run: Callable[[np.ndarray, np.ndarray], np.ndarray]):
        self.tokenizer = tokenizer
        self.run = run

    def encode(
        self,
        texts: Sequence[str],
        spans: Sequence[Sequence[Span]] | None = None,
        batch_size: int = 32,
        progress: Progress | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """A vector per text and, per text, one per span of ``spans`` (None: no spans).

        Sentences the window cut off are embedded on their own at the end."""
        spans = spans if spans is not None else [()] * len(texts)
        dimension = None
        vectors: np.ndarray | None = None
        sentence_vectors: list[np.ndarray | None] = [None] * len(texts)
        missing: list[tuple[int, int]] = []  # (text, sentence) left to embed alone
        for offset in range(0, len(texts), SLICE):
            part = tokenise(
                self.tokenizer, texts[offset : offset + SLICE], spans[offset : offset + SLICE]
            )
            order = sorted(range(len(part)), key=lambda row: len(part[row].ids))
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                pooled, sentences = self._batch([part[row] for row in rows])
                if vectors is None:
                    dimension = pooled.shape[1]
                    vectors = np.zeros((len(texts), dimension), dtype=np.float32)
                for row, vector, own in zip(rows, pooled, sentences, strict=True):
                    vectors[offset + row] = vector
                    sentence_vectors[offset + row] = own
                    missing.extend(
                        (offset + row, number)
                        for number, span in enumerate(part[row].sentences)
                        if span is None
                    )
                if progress:
                    progress(offset + min(start + batch_size, len(part)), len(texts))
        if vectors is None:
            return np.zeros((0, 0), dtype=np.float32), []
        self._embed_alone(texts, spans, missing, sentence_vectors, batch_size)
        return vectors, [own for own in sentence_vectors if own is not None]

    def _batch(self, items: Sequence[Tokenised]) -> tuple[np.ndarray, list[np.ndarray]]:
        """One model run: each item's vector and its sentences' (zero rows where the
        window cut a sentence off; filled in later)."""
        ids, mask = padded([item.ids for item in items])
        hidden = self.run(ids, mask)
        pooled = mean_pooled(hidden, mask)
        rows, positions = [], []
        for row, item in enumerate(items):
            for span in item.sentences:
                if span is not None:
                    rows.append(row)
                    positions.append(span)
        spans = np.asarray(positions, dtype=np.int64).reshape(-1, 2)
        found = iter(span_pooled(hidden, np.asarray(rows, dtype=np.int64), spans))
        zero = np.zeros(hidden.shape[2], dtype=np.float32)
        sentences = [
            np.asarray(
                [next(found) if span else zero for span in item.sentences], np.float32
            ).reshape(len(item.sentences), hidden.shape[2])
            for item in items
        ]
        return pooled, sentences

    def _embed_alone(self, texts, spans, missing, sentence_vectors, batch_size) -> None:
        """Sentences without complete token states in their passage's window: each
        embedded as a text of its own."""
        if not missing:
            return
        alone = [texts[text][slice(*spans[text][number])] for text, number in missing]
        vectors, _ = self.encode(alone, batch_size=batch_size)
        for (text, number), vector in zip(missing, vectors, strict=True):
            sentence_vectors[text][number] = vector
