"""A writer killed at any point leaves a usable index, and a first build killed leaves
none: the CLI (with the fake encoder, except for the random moments, which are timed
for the real writer) runs in a subprocess that stops at a named point inside the writer
(``ASSISTANT_FAULT_POINT``) and is SIGKILLed there: during embedding, half-way through
writing the FAISS file, before the SQLite commit, after the new generation is renamed
into place and after the manifest swap."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest

from assistant import Index, IndexWriter, verify_index
from assistant.errors import IndexNotFoundError

from .conftest import ROOT, SEEDS
from .writers import NEW_WORD, changed_corpus, fake_encoded_cli, kill
from .writers import shell as run_shell
from .writers import start_until_fault as run_until_fault

# What is killed is the writer, whatever embeds: the CLI runs with the fake encoder.
shell = partial(run_shell, command=fake_encoded_cli)
start_until_fault = partial(run_until_fault, command=fake_encoded_cli)

QUESTION = "What did Azerbaijan say about the 132-km border?"
FAULT_POINTS = [
    "embedding",
    "vectors-write",
    "database-commit",
    "generation-renamed",
    "manifest-written",
]


def generation_dirs(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))


@pytest.fixture
def corpus(tmp_path) -> tuple[Path, Path]:
    """A copy of the seeds, indexed; then one article gains a paragraph."""
    return changed_corpus(tmp_path, None)


@pytest.fixture
def fake_corpus(tmp_path, fake_encoder) -> tuple[Path, Path]:
    """``corpus``, embedded by the fake encoder."""
    return changed_corpus(tmp_path, fake_encoder)


def assert_answers(index_dir: Path, encoder=None) -> Index:
    index = Index(index_dir, encoder=encoder)
    answer = index.ask(QUESTION)
    assert not answer.abstained and answer.citations
    for citation in answer.citations:  # offsets still reproduce the quoted text
        text = index.store.document_text(citation.passage.doc_id)
        assert text[citation.passage.start : citation.passage.end] == citation.passage.text
    return index


def finds_new_word(index: Index) -> bool:
    return any(NEW_WORD in hit.passage.text for hit in index.search(NEW_WORD, k=3))


# -- crash safety ------------------------------------------------------------------------


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_update_killed_at_any_point_leaves_a_usable_index(
    fake_corpus, fake_encoder, tmp_path, point
):
    _docs, index_dir = fake_corpus
    before = json.loads((index_dir / "manifest.json").read_text())["generation"]

    writer = start_until_fault(
        ["index", "update", "--index", str(index_dir)], point, tmp_path / "marker"
    )
    # While the writer is stopped mid-way, readers still get complete answers.
    assert_answers(index_dir, fake_encoder).close()
    kill(writer)

    after = json.loads((index_dir / "manifest.json").read_text())["generation"]
    swapped = point == "manifest-written"
    assert (after != before) is swapped
    index = assert_answers(index_dir, fake_encoder)
    assert finds_new_word(index) is swapped
    index.close()
    checks = {c.name: c.ok for c in verify_index(index_dir, encoder=fake_encoder).checks}
    assert checks["manifest"] and checks["model"] and checks["database"] and checks["vectors"]
    assert checks["sources"] is swapped  # the changed file is still pending

    # The next update finishes the job and clears what the killed writer left.
    report = IndexWriter(index_dir, encoder=fake_encoder).update()
    if not swapped:
        assert report.files_embedded == [str(next(_docs.glob("003_*.txt")))]
    assert verify_index(index_dir, encoder=fake_encoder).ok
    assert len(generation_dirs(index_dir)) == 1
    assert not list(index_dir.glob("*.partial"))
    with Index(index_dir, encoder=fake_encoder) as index:
        assert finds_new_word(index)


def test_update_killed_at_random_moments_never_breaks_the_index(corpus):
    """Besides the named points: SIGKILL after random delays, wherever the writer is."""
    import random

    _docs, index_dir = corpus
    moments = random.Random(11).sample(range(50, 1500, 10), 6)
    for delay_ms in sorted(moments):
        writer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistant.frontends.cli",
                "index",
                "update",
                "--index",
                str(index_dir),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay_ms / 1000)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        checks = {c.name: c.ok for c in verify_index(index_dir).checks}
        assert checks["database"] and checks["vectors"], (delay_ms, checks)
        assert_answers(index_dir).close()
    IndexWriter(index_dir).update()
    assert verify_index(index_dir).ok
    with Index(index_dir) as index:
        assert finds_new_word(index)


@pytest.mark.parametrize("point", ["embedding", "database-commit"])
def test_first_build_killed_leaves_no_index_and_the_next_build_works(tmp_path, fake_encoder, point):
    index_dir = tmp_path / "index"
    writer = start_until_fault(
        ["index", "build", str(SEEDS), "--index", str(index_dir)], point, tmp_path / "marker"
    )
    kill(writer)
    with pytest.raises(IndexNotFoundError):
        Index(index_dir, encoder=fake_encoder)
    result = shell("ask", QUESTION, "--index", str(index_dir))
    assert result.returncode == 4 and result.stderr.startswith("error: no index at ")

    IndexWriter(index_dir, encoder=fake_encoder).build([str(SEEDS)])
    assert verify_index(index_dir, encoder=fake_encoder).ok
    assert not list(index_dir.glob("*.partial"))
    assert_answers(index_dir, fake_encoder).close()
