"""A full disk is a clear, typed error (one line, exit 14, how much to free) that leaves
no half-written generation and no half-made first index behind."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant import Index
from assistant.frontends.cli import exit_code
from assistant.storage import layout
from assistant.storage import vectors as vector_files

from .conftest import SMALL_EXPECTED as EXPECTED
from .conftest import SMALL_QUESTION as QUESTION


def generations(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))


# -- disk full ---------------------------------------------------------------------------


class FullFile:
    """A file on a disk with ``room`` bytes left: writes past it fail with ENOSPC."""

    def __init__(self, handle, room: int) -> None:
        self.handle, self.room = handle, room

    def write(self, data: bytes) -> int:
        if len(data) > self.room:
            self.handle.write(data[: self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()


def full_disk_for(monkeypatch, module, file_name: str, room: int) -> None:
    """``open`` in ``module`` gives a FullFile for ``file_name`` (names looked up in the
    module's globals first, so the rest of the program is untouched)."""

    def fake_open(path, mode="r", *args, **kwargs):
        handle = open(path, mode, *args, **kwargs)  # noqa: SIM115 (closed by the caller)
        return FullFile(handle, room) if Path(path).name.startswith(file_name) else handle

    monkeypatch.setattr(module, "open", fake_open, raising=False)


def sqlite_full(monkeypatch) -> None:
    """A database that may not grow past 5 pages: SQLite's own SQLITE_FULL."""
    real = sqlite3.connect

    def connect(path, *args, **kwargs):
        db = real(path, *args, **kwargs)
        if not str(path).startswith("file:"):  # the writer's, not a read-only reader's
            db.execute("PRAGMA max_page_count = 5")
        return db

    monkeypatch.setattr(sqlite3, "connect", connect)


DISK_FULL = {
    # The vector files are appended a part at a time (vectors.ArrayFile), not np.save-d.
    "vectors.npy ENOSPC": lambda mp: full_disk_for(mp, vector_files, "vectors.npy", 200),
    "sentences.npy ENOSPC": lambda mp: full_disk_for(mp, vector_files, "sentences.npy", 200),
    "vectors.faiss ENOSPC": lambda mp: full_disk_for(mp, vector_files, "vectors.faiss", 200),
    "passages.sqlite SQLITE_FULL": lambda mp: sqlite_full(mp),
    "manifest.json ENOSPC": lambda mp: full_disk_for(mp, layout, "manifest.json", 100),
}


@pytest.mark.parametrize("fault", list(DISK_FULL))
def test_disk_full_is_a_typed_error_and_the_half_written_generation_goes(
    cli, fake_model, index_copy, monkeypatch, fault
):
    """Issue: exit 70 "unexpected OSError: 2413056 requested and 948160 written", and
    the half-written generation left filling the disk until the next write."""
    before = generations(index_copy)
    manifest = (index_copy / "manifest.json").read_bytes()
    docs = Path(layout.read_manifest(index_copy).roots[0]["path"])
    (docs / "new.txt").write_text("Harbour news\n\nThe ferry to Aktau sailed on time today.\n")
    DISK_FULL[fault](monkeypatch)

    result = cli("index", "update", "--index", str(index_copy))
    monkeypatch.undo()
    assert result.exit_code == 14, result.output
    assert result.stderr.startswith(f"error: no space left on device for the index at {index_copy}")
    assert "writing it needs about 1 MB" in result.stderr and "MB are free" in result.stderr
    assert "or move the index elsewhere with --index DIR)" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    # Removed at once: only the previous generation, its manifest, the lock.
    assert generations(index_copy) == before
    assert sorted(p.name for p in index_copy.iterdir()) == [*before, "lock", "manifest.json"]
    assert (index_copy / "manifest.json").read_bytes() == manifest
    with Index(index_copy, encoder=fake_model) as index:  # the previous index still answers
        assert EXPECTED in index.search("132-km border", k=1)[0].passage.text


def test_disk_full_on_a_first_build_leaves_no_index(cli, fake_model, tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(f"Border talks\n\n{EXPECTED}\n")
    full_disk_for(monkeypatch, vector_files, "vectors.npy", 200)
    result = cli("index", "build", str(docs), "--index", str(tmp_path / "index"))
    monkeypatch.undo()
    assert result.exit_code == 14, result.output
    assert not (tmp_path / "index").exists()  # the failed first write made it, and took it away
    assert cli("ask", QUESTION, "--index", str(tmp_path / "index")).exit_code == 4


def test_disk_full_outside_the_index_write_is_one_line_and_exit_14(
    cli, fake_model, index_copy, monkeypatch
):
    full_disk_for(monkeypatch, layout, "lock", 0)  # the writer's pid in the lock file
    result = cli("index", "update", "--index", str(index_copy))
    monkeypatch.undo()
    assert result.exit_code == 14, result.output
    assert result.stderr == (
        "error: no space left on device ([Errno 28] No space left on device)"
        " (free some space and try again)\n"
    )


def test_disk_full_message_says_how_much_to_free(tmp_path, monkeypatch):
    megabyte = 1024 * 1024
    free = SimpleNamespace(total=0, used=0, free=100 * megabyte)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: free)
    error = layout.disk_full_error(tmp_path, 300 * megabyte)
    assert exit_code(error) == 14
    assert str(error) == (
        f"no space left on device for the index at {tmp_path}: writing it needs about"
        " 300 MB, 100 MB are free (free 200 MB or move the index elsewhere with --index DIR)"
    )
