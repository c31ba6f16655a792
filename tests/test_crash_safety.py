"""A writer killed at any point leaves a usable index, and a first build killed leaves
none: the real CLI runs in a subprocess that stops at a named point inside the writer
(``ASSISTANT_FAULT_POINT``) and is SIGKILLed there: during embedding, half-way through
writing the FAISS file, before the SQLite commit, after the new generation is renamed
into place and after the manifest swap."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import Index, IndexWriter, verify_index
from assistant.errors import IndexNotFoundError

from .conftest import ROOT, SEEDS

QUESTION = "What did Azerbaijan say about the 132-km border?"
NEW_WORD = "Zanzibarian"
FAULT_POINTS = [
    "embedding",
    "vectors-write",
    "database-commit",
    "generation-renamed",
    "manifest-written",
]


def shell(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
        env={**os.environ, **env},
    )


def start_until_fault(args: list[str], point: str, marker: Path) -> subprocess.Popen:
    """Start the CLI and return once it has stopped at ``point`` (still alive)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "ASSISTANT_FAULT_POINT": point, "ASSISTANT_FAULT_MARKER": str(marker)},
    )
    deadline = time.monotonic() + 180
    while not marker.exists():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the writer ended before {point}: {out.decode()} {err.decode()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the writer never reached {point}")
        time.sleep(0.05)
    return process


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    process.stderr.close()


def generation_dirs(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))


@pytest.fixture
def corpus(tmp_path) -> tuple[Path, Path]:
    """A copy of the seeds, indexed; then one article gains a paragraph."""
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    index_dir = tmp_path / "index"
    IndexWriter(index_dir).build([str(docs)])
    changed = next(docs.glob("003_*.txt"))
    changed.write_text(
        changed.read_text() + f"\n\nThe {NEW_WORD} delegation arrived late to the talks.\n"
    )
    return docs, index_dir


def assert_answers(index_dir: Path) -> Index:
    index = Index(index_dir)
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
def test_update_killed_at_any_point_leaves_a_usable_index(corpus, tmp_path, point):
    _docs, index_dir = corpus
    before = json.loads((index_dir / "manifest.json").read_text())["generation"]

    writer = start_until_fault(
        ["index", "update", "--index", str(index_dir)], point, tmp_path / "marker"
    )
    # While the writer is stopped mid-way, readers still get complete answers.
    assert_answers(index_dir).close()
    kill(writer)

    after = json.loads((index_dir / "manifest.json").read_text())["generation"]
    swapped = point == "manifest-written"
    assert (after != before) is swapped
    index = assert_answers(index_dir)
    assert finds_new_word(index) is swapped
    index.close()
    checks = {c.name: c.ok for c in verify_index(index_dir).checks}
    assert checks["manifest"] and checks["model"] and checks["database"] and checks["vectors"]
    assert checks["sources"] is swapped  # the changed file is still pending

    # The next update finishes the job and clears what the killed writer left.
    report = IndexWriter(index_dir).update()
    if not swapped:
        assert report.files_embedded == [str(next(_docs.glob("003_*.txt")))]
    assert verify_index(index_dir).ok
    assert len(generation_dirs(index_dir)) == 1
    assert not list(index_dir.glob("*.partial"))
    with Index(index_dir) as index:
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
def test_first_build_killed_leaves_no_index_and_the_next_build_works(tmp_path, point):
    index_dir = tmp_path / "index"
    writer = start_until_fault(
        ["index", "build", str(SEEDS), "--index", str(index_dir)], point, tmp_path / "marker"
    )
    kill(writer)
    with pytest.raises(IndexNotFoundError):
        Index(index_dir)
    result = shell("ask", QUESTION, "--index", str(index_dir))
    assert result.returncode == 4 and result.stderr.startswith("error: no index at ")

    IndexWriter(index_dir).build([str(SEEDS)])
    assert verify_index(index_dir).ok
    assert not list(index_dir.glob("*.partial"))
    assert_answers(index_dir).close()
