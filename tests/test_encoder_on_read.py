"""An injected encoder on the read side: ``Index(path, encoder=...)`` embeds questions
with it, and opening an index checks the manifest's model and dimension against the
encoder's (not against the bundled model's)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant import Index, IndexIncompatibleError, IndexWriter

from .conftest import SEEDS
from .fakes import FakeEncoder


@pytest.fixture(scope="module")
def fake_index_dir(tmp_path_factory):
    """The seeds embedded by FakeEncoder, through the one write API."""
    target = tmp_path_factory.mktemp("fake-encoder") / "index"
    IndexWriter(target, encoder=FakeEncoder()).build([SEEDS])
    return target


def test_the_fake_encoder_is_deterministic_and_normalised():
    first = FakeEncoder().encode(["the 132-km border", "Azerbaijan"])
    again = FakeEncoder().encode(["the 132-km border", "Azerbaijan"])
    assert first.shape == (2, 64) and first.dtype == np.float32
    assert np.array_equal(first, again)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0)


def test_an_index_opens_with_the_encoder_it_was_built_with(fake_index_dir):
    manifest = Index.read_manifest(fake_index_dir)
    assert (manifest.model, manifest.dimension) == ("test-fake", 64)
    with Index(fake_index_dir, encoder=FakeEncoder()) as index:
        assert index.retriever.encoder.name == "test-fake"
        hits = index.search("the 132-km border with Armenia", k=3)
        assert hits and all(len(hit.passage.text) for hit in hits)
        answer = index.ask("What did Azerbaijan say about the 132-km border?")
        assert answer.question and (answer.abstained or answer.citations)


def test_the_questions_are_embedded_by_the_injected_encoder(fake_index_dir):
    class Counting(FakeEncoder):
        def __init__(self) -> None:
            super().__init__()
            self.texts: list[str] = []

        def encode(self, texts):
            self.texts.extend(texts)
            return super().encode(texts)

    encoder = Counting()
    with Index(fake_index_dir, encoder=encoder) as index:
        index.search("Kioumars Heidari", k=1)
    assert "Kioumars Heidari" in encoder.texts


def test_the_default_encoder_refuses_an_index_of_another_model(fake_index_dir):
    with pytest.raises(IndexIncompatibleError, match="test-fake"):
        Index(fake_index_dir)


def test_an_injected_encoder_refuses_an_index_of_the_bundled_model(seeds_index_dir):
    with pytest.raises(IndexIncompatibleError, match="64 dimensions"):
        Index(seeds_index_dir, encoder=FakeEncoder())
