"""The fake encoder the tests inject: an Encoder, deterministic, and keyword-similar
texts close, so that searches on a fake-encoded index still find their passages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from assistant.embeddings import Encoder

from .conftest import ROOT
from .fakes import FakeEncoder

TEXTS = ["Azerbaijan and the 132-km border", "The border is 132 km long", "Oil prices rose", ""]


def test_it_meets_the_encoder_protocol_with_unit_float32_rows():
    fake = FakeEncoder()
    assert isinstance(fake, Encoder)
    assert (fake.name, fake.dimension, fake.fingerprint) == ("test-fake", 64, "")
    rows = fake.encode(TEXTS)
    assert rows.dtype == np.float32 and rows.shape == (len(TEXTS), 64)
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-6)


def test_texts_sharing_words_are_closer_than_unrelated_ones():
    question, related, unrelated = FakeEncoder().encode(
        ["what about the 132-km border", TEXTS[1], TEXTS[2]]
    )
    assert float(question @ related) > float(question @ unrelated)
    assert float(FakeEncoder().encode(["Oil PRICES rose"])[0] @ unrelated) > 0.999


def test_the_same_vectors_in_another_process():
    code = (
        "import sys; from tests.fakes import FakeEncoder\n"
        "sys.stdout.write(FakeEncoder().encode(sys.argv[1:]).tobytes().hex())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *TEXTS], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert bytes.fromhex(out.stdout) == FakeEncoder().encode(TEXTS).tobytes()
