"""Helpers for tests that run index writers as separate processes (the CLI), stop them
at a crash point, kill them, and change a corpus under them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import IndexWriter

from .conftest import ROOT, SEEDS

NEW_WORD = "Zanzibarian"

# The CLI as ``python -m assistant`` runs it, with the fake encoder: what is killed is the
# writer, whatever embeds the text (and a model load per process would make each
# test take a minute on a loaded 2-core machine).
CLI_WITH_FAKE_ENCODER = (
    "from tests.fakes import FakeEncoder, front_end_patches\n"
    "for module, name, replacement in front_end_patches(FakeEncoder()):\n"
    "    setattr(module, name, replacement)\n"
    "from assistant.frontends.cli import main\n"
    "main()\n"
)


def real_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "assistant", *args]


def fake_encoded_cli(*args: str) -> list[str]:
    return [sys.executable, "-c", CLI_WITH_FAKE_ENCODER, *args]


def shell(*args: str, command=real_cli, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command(*args),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
        env={**os.environ, **env},
    )


def start_until_fault(
    args: list[str], point: str, marker: Path, command=real_cli
) -> subprocess.Popen:
    """Start the CLI and return once it has stopped at ``point`` (still alive)."""
    process = subprocess.Popen(
        command(*args),
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


def changed_corpus(tmp_path: Path, encoder) -> tuple[Path, Path]:
    """A copy of the seeds, indexed by ``encoder``; then one article gains a paragraph."""
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    index_dir = tmp_path / "index"
    IndexWriter(index_dir, encoder=encoder).build([str(docs)])
    changed = next(docs.glob("003_*.txt"))
    changed.write_text(
        changed.read_text() + f"\n\nThe {NEW_WORD} delegation arrived late to the talks.\n"
    )
    return docs, index_dir
