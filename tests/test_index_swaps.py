"""Readers during a swap: a reader that meets a manifest and files of different
generations (a writer moved on) opens the new one; damage is still reported as damage
when no writer moved on."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from assistant.storage import layout
from assistant.storage import vectors as vector_files

from .conftest import SMALL_EXPECTED as EXPECTED
from .conftest import SMALL_QUESTION as QUESTION


def generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))


def current_generation(index_dir: Path) -> str:
    return json.loads((index_dir / "manifest.json").read_text())["generation"]


# -- readers during a swap ---------------------------------------------------------------


def swap_generation(index_dir: Path) -> str:
    """What a writer does: a new complete generation, the manifest replaced, the old
    generation deleted."""
    manifest = layout.read_manifest(index_dir)
    new = manifest.generation + "-next"
    shutil.copytree(index_dir / manifest.generation, index_dir / new)
    manifest.generation = new
    layout.write_manifest(index_dir, manifest)
    layout.remove_old_generations(index_dir, keep=new)
    return new


def swap_before_first_call(monkeypatch, owner, name: str, index_dir: Path) -> list[str]:
    """Replace ``owner.name`` so that its first call finds the generation swapped away."""
    real = getattr(owner, name)
    swapped: list[str] = []

    def patched(*args, **kwargs):
        if not swapped:
            swapped.append(swap_generation(index_dir))
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, patched)
    return swapped


@pytest.mark.parametrize(
    "moment",
    ["before-database", "before-vectors", "before-full-precision-vectors"],
)
def test_a_swap_between_manifest_and_files_is_not_damage(
    cli, fake_model, index_copy, monkeypatch, moment
):
    """Issue: CLI readers during updates got exit 9 "vectors.faiss is truncated or
    corrupt": they read manifest N, the writer swapped in N+1 and deleted N's files."""
    owner, name = {
        "before-database": (sqlite3, "connect"),
        "before-vectors": (vector_files, "load_vectors"),
        "before-full-precision-vectors": (vector_files, "load_raw_vectors"),
    }[moment]
    swapped = swap_before_first_call(monkeypatch, owner, name, index_copy)
    result = cli("ask", QUESTION, "--index", str(index_copy), "--json")
    assert swapped, "the swap never happened"
    assert result.exit_code == 0, result.stderr
    assert EXPECTED in json.loads(result.stdout)["citations"][0]["text"]
    assert generations(index_copy) == swapped


def test_damage_is_still_reported_when_no_writer_moved_on(cli, fake_model, index_copy, monkeypatch):
    """The retry is for swaps only: with a stable manifest, a bad file is reported at once."""
    vectors = index_copy / current_generation(index_copy) / "vectors.faiss"
    vectors.write_bytes(b"\0" * vectors.stat().st_size)  # same size, not a FAISS file
    reads = []
    real = layout.read_manifest
    monkeypatch.setattr(layout, "read_manifest", lambda path: reads.append(path) or real(path))
    result = cli("search", "border", "--index", str(index_copy))
    assert result.exit_code == 9, result.output
    assert "vectors.faiss is truncated or corrupt" in result.stderr
    # Which store the manifest names, the open, and the check that the generation is
    # unchanged: no retry.
    assert len(reads) == 3
