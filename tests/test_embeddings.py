"""The torch-free query encoder agrees with sentence-transformers."""

import numpy as np
import pytest

from assistant.embeddings import OnnxEncoder, shared_document_encoder
from assistant.ingest.chunks import split_document
from assistant.ingest.sources import find_source_files, load_documents

from .conftest import SEEDS


@pytest.mark.model
def test_onnx_query_encoder_matches_sentence_transformers(seeds_index_dir):
    texts = [
        chunk.text
        for file in find_source_files([str(SEEDS)])
        for doc in load_documents(file)
        for chunk in split_document(doc)
    ]
    texts.append("What did Azerbaijan say about the 132-km border?")
    reference = shared_document_encoder().encode(texts)
    encoder = OnnxEncoder()
    onnx = encoder.encode(texts)
    cosine = (reference * onnx).sum(axis=1)
    assert cosine.min() >= 0.9999, float(cosine.min())
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    # Builds embed in length-sorted batches (padding differs): same vectors, same order.
    batched = encoder.encode_many(texts, batch_size=7)
    assert (reference * batched).sum(axis=1).min() >= 0.9999


@pytest.mark.model
def test_texts_go_in_slices_and_each_is_tokenised_once(monkeypatch):
    """A build's texts are tokenised a slice at a time (bounded memory), once each,
    sorted by length, batched and put back: every text still gets its own vector."""
    from assistant import passage_vectors

    texts = [" ".join(["word"] * n) + f" number {n}" for n in (40, 3, 17, 1, 60, 8, 25)]
    encoder = OnnxEncoder()
    single = np.concatenate([encoder.encode([text]) for text in texts])
    seen: list[str] = []
    real = encoder.tokenizer

    class Counting:
        def encode_batch(self, batch):
            seen.extend(batch)
            return real.encode_batch(batch)

    monkeypatch.setattr(passage_vectors, "SLICE", 3)
    monkeypatch.setattr(encoder, "tokenizer", Counting())
    sliced = encoder.encode_many(texts, batch_size=2)
    assert (sliced * single).sum(axis=1).min() >= 0.9999
    assert sorted(seen) == sorted(texts)  # each text tokenised once
