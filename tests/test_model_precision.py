"""The int8 model: chosen by option or environment, named apart in the manifest, and
close to the fp32 vectors."""

import numpy as np
import pytest

from assistant import Index, IndexWriter, embeddings, verify_index
from assistant.errors import IndexIncompatibleError, UsageError
from assistant.indexing.plan import model_spec
from assistant.ingest.chunks import split_document
from assistant.ingest.sources import find_source_files, load_documents
from assistant.storage.layout import check_model

from .conftest import SEEDS
from .fakes import FakeEncoder


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


# -- the precision an index records is the one it is queried and updated with -------------


class PretendMiniLM(FakeEncoder):
    """Fake vectors under the bundled model's name, dimension and fingerprint: an index
    that claims to be the bundled model's at ``precision``, written in no time."""

    def __init__(self, precision: str) -> None:
        super().__init__(embeddings.MODEL_NAME, embeddings.DIMENSION)
        self.fingerprint = embeddings.model_fingerprint(precision)


def test_the_bundled_fingerprint_follows_the_index():
    fp32, int8 = embeddings.model_fingerprint("fp32"), embeddings.model_fingerprint("int8")
    assert embeddings.bundled_fingerprint(fp32) == fp32
    assert embeddings.bundled_fingerprint(int8) == int8
    assert embeddings.bundled_fingerprint("") == fp32  # written before fingerprints
    configured = embeddings.model_fingerprint()
    assert embeddings.bundled_fingerprint(None) == configured  # a build: the configured one
    assert embeddings.bundled_fingerprint("other-weights-1234") == configured  # refused later


@pytest.mark.parametrize("built, configured", [("fp32", "int8"), ("int8", "fp32")])
def test_an_index_opens_updates_and_verifies_at_its_own_precision(
    tmp_path, monkeypatch, built, configured
):
    target = tmp_path / "index"
    IndexWriter(target, encoder=PretendMiniLM(built)).build([SEEDS])
    recorded = Index.read_manifest(target).model_fingerprint
    assert recorded == embeddings.model_fingerprint(built)
    monkeypatch.setenv(embeddings.PRECISION_VARIABLE, configured)
    with Index(target) as index:  # no encoder loaded to open it
        encoder = index.retriever.encoder
        assert (encoder.fingerprint, encoder.precision) == (recorded, built)
    assert verify_index(target).ok
    writer = IndexWriter(target)
    assert writer._model_of(Index.read_manifest(target)).fingerprint == recorded
    writer.update()  # nothing changed: nothing embedded, and no refusal
    assert Index.read_manifest(target).model_fingerprint == recorded


@pytest.mark.model
def test_an_fp32_index_answers_and_grows_in_fp32_when_int8_is_chosen(tmp_path, monkeypatch):
    monkeypatch.delenv(embeddings.PRECISION_VARIABLE, raising=False)
    target = tmp_path / "old"
    IndexWriter(target).build([SEEDS])  # fp32, as every index built so far
    monkeypatch.setenv(embeddings.PRECISION_VARIABLE, "int8")
    with Index(target) as index:
        hits = index.search("the 132-km border", k=3)
        assert hits and index.retriever.encoder.precision == "fp32"
    added = tmp_path / "more.txt"
    added.write_text("The harbour council met on Tuesday to approve the new plan.\n")
    IndexWriter(target).add([added])  # embedded in fp32, like the rest
    assert Index.read_manifest(target).model_fingerprint == embeddings.model_fingerprint("fp32")
    fresh = tmp_path / "new"
    IndexWriter(fresh).build([SEEDS])  # a new index: the chosen precision
    assert Index.read_manifest(fresh).model_fingerprint == embeddings.model_fingerprint("int8")
