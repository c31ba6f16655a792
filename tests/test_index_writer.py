"""IndexWriter, the one write API, with an injected encoder: what the manifest records
of it, and that the vectors are its own."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from assistant import IndexIncompatibleError, IndexWriter
from assistant.storage.layout import ModelSpec, read_manifest
from assistant.storage.local import StoredIndex

from .conftest import SEEDS
from .fakes import FakeEncoder


@pytest.fixture
def seeds_copy(tmp_path):
    corpus = tmp_path / "seeds"
    shutil.copytree(SEEDS, corpus)
    return corpus


def test_a_build_with_an_injected_encoder_records_it_in_the_manifest(seeds_copy, tmp_path):
    fake = FakeEncoder()
    report = IndexWriter(tmp_path / "index", encoder=fake).build([seeds_copy])
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert (manifest["model"], manifest["dimension"]) == ("test-fake", 64)
    assert manifest["model_fingerprint"] == fake.fingerprint
    assert report.documents == 5 and report.passages_embedded > 0
    # Every citable passage and each of its sentences went through the fake.
    assert fake.calls > report.passages_embedded


def test_the_stored_vectors_are_the_encoders(seeds_copy, tmp_path):
    fake = FakeEncoder()
    IndexWriter(tmp_path / "index", encoder=fake).build([seeds_copy])
    spec = ModelSpec(fake.name, fake.dimension, fake.fingerprint)
    store = StoredIndex(tmp_path / "index", expected=spec)
    try:
        rows = store.manifest.vectors
        vectors = np.stack([store.vector(row) for row in range(rows)])
        assert vectors.shape == (rows, 64)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        first = store.passages_for_vector_rows([0])
        passage = next(iter(first.values()))
        title = store.document(passage.doc_id).title
        expected = fake.encode([f"{title} {passage.text}" if title else passage.text])[0]
        assert np.allclose(vectors[0], expected, atol=1e-6)
    finally:
        store.close()


def test_an_update_embeds_only_the_changed_file_with_the_same_encoder(seeds_copy, tmp_path):
    fake = FakeEncoder()
    writer = IndexWriter(tmp_path / "index", encoder=fake)
    writer.build([seeds_copy])
    fake.calls = 0
    assert writer.update().files_embedded == [] and fake.calls == 0
    changed = sorted(seeds_copy.glob("*.txt"))[1]
    changed.write_text(changed.read_text() + "\n\nThe ministry added one more paragraph.\n")
    report = writer.update()
    assert report.files_embedded == [str(changed)]
    assert 0 < report.passages_embedded < report.passages
    assert read_manifest(tmp_path / "index").model == "test-fake"


def test_another_encoder_cannot_update_the_index(seeds_copy, tmp_path):
    IndexWriter(tmp_path / "index", encoder=FakeEncoder()).build([seeds_copy])
    other = FakeEncoder(name="test-fake", dimension=32)
    with pytest.raises(IndexIncompatibleError, match="32 dimensions"):
        IndexWriter(tmp_path / "index", encoder=other).update()
    # A build replaces it, recording the new encoder.
    IndexWriter(tmp_path / "index", encoder=other).build([seeds_copy])
    assert read_manifest(tmp_path / "index").dimension == 32


def test_sources_lists_what_the_writer_indexed(seeds_copy, tmp_path):
    writer = IndexWriter(tmp_path / "index", encoder=FakeEncoder())
    writer.build([seeds_copy])
    listed = writer.sources()
    assert sorted(info.source for info in listed) == sorted(
        str(path) for path in seeds_copy.iterdir() if path.suffix in (".txt", ".md")
    )
    assert all(info.state == "indexed" and info.passages > 0 for info in listed)
