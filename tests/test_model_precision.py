"""The int8 model: chosen by option or environment, named apart in the manifest, and
close to the fp32 vectors."""

import numpy as np
import pytest

from assistant import embeddings
from assistant.errors import IndexIncompatibleError, UsageError
from assistant.indexing.plan import model_spec
from assistant.ingest.chunks import split_document
from assistant.ingest.sources import find_source_files, load_documents
from assistant.storage.layout import check_model

from .conftest import SEEDS


def test_precision_comes_from_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv(embeddings.PRECISION_VARIABLE, raising=False)
    assert embeddings.model_precision() == "fp32"
    monkeypatch.setenv(embeddings.PRECISION_VARIABLE, "INT8")
    assert embeddings.model_precision() == "int8"
    assert embeddings.model_precision("fp32") == "fp32"
    monkeypatch.setenv(embeddings.PRECISION_VARIABLE, "fp16")
    with pytest.raises(UsageError, match="fp16"):
        embeddings.model_precision()


def test_int8_vectors_are_named_apart_and_fp32_keeps_its_name():
    weights = embeddings.weights_fingerprint()
    assert embeddings.model_fingerprint("fp32") == weights  # indexes built before open
    assert embeddings.model_fingerprint("int8") == f"{weights}-int8"
    assert embeddings.onnx_model_path("int8") != embeddings.onnx_model_path("fp32")
    assert embeddings.onnx_model_path("int8").parent == embeddings.onnx_model_path("fp32").parent


def test_an_int8_index_is_only_queried_with_the_int8_model(monkeypatch):
    """The bundled model's spec (what Index and IndexWriter check against when no
    encoder is given) follows the precision chosen for this process."""
    int8 = embeddings.model_fingerprint("int8")
    model, dimension = embeddings.MODEL_NAME, embeddings.DIMENSION
    monkeypatch.setenv(embeddings.PRECISION_VARIABLE, "fp32")
    with pytest.raises(IndexIncompatibleError, match="int8"):
        check_model("index at x", model, dimension, int8, model_spec(None))
    check_model("index at x", model, dimension, embeddings.model_fingerprint(), model_spec(None))
    monkeypatch.setenv(embeddings.PRECISION_VARIABLE, "int8")
    check_model("index at x", model, dimension, int8, model_spec(None))
    with pytest.raises(IndexIncompatibleError):
        fp32 = embeddings.model_fingerprint("fp32")
        check_model("index at x", model, dimension, fp32, model_spec(None))


@pytest.mark.model
def test_int8_vectors_stay_close_to_fp32_on_the_seeds():
    texts = [
        chunk.text
        for file in find_source_files([str(SEEDS)])
        for doc in load_documents(file)
        for chunk in split_document(doc)
    ]
    full = embeddings.OnnxEncoder(threads=2, precision="fp32")
    small = embeddings.OnnxEncoder(threads=2, precision="int8")
    assert (full.fingerprint, small.fingerprint) == (
        embeddings.model_fingerprint("fp32"),
        embeddings.model_fingerprint("int8"),
    )
    assert embeddings.onnx_model_path("int8").stat().st_size < (
        embeddings.onnx_model_path("fp32").stat().st_size / 2
    )
    reference, quantised = full.encode_many(texts), small.encode_many(texts)
    cosine = (reference * quantised).sum(axis=1)
    assert np.allclose(np.linalg.norm(quantised, axis=1), 1.0, atol=1e-5)
    # Per-channel scales: 0.993 mean, 0.990 least (per-tensor scales gave 0.957, 0.940).
    assert cosine.mean() >= 0.985, float(cosine.mean())
    assert cosine.min() >= 0.97, float(cosine.min())
    assert cosine.max() < 0.99999  # the weights really are other ones
