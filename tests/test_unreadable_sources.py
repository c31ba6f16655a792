"""Folders and files that cannot be read, and files that change while they are read.

An unreadable folder or file is a ``skipped: … Permission denied`` line, never a
silent gap; on ``update`` the documents of files that could not be read again stay,
and a warning names each. The bytes an index hashes are the bytes it indexes.

Root ignores permission bits (and CI runs as root), so there the refusal is made where
the walk lists a folder (``os.scandir``) and where a file is opened (``os.open``).
"""

from __future__ import annotations

import builtins
import errno
import hashlib
import json
import os
from pathlib import Path

import pytest

from assistant import Index, IndexWriter
from assistant.storage.layout import read_manifest

BORDER = "Border talks\n\nAzerbaijan said the border would open in May after the talks.\n"
RIVER = "River report\n\nThe Araz river rose by two metres after the rain in the hills.\n"


@pytest.fixture
def deny(monkeypatch):
    """``deny(path)``: reading ``path`` (a folder or a file) fails with EACCES."""
    denied: list[Path] = []
    if os.geteuid() == 0:
        real_scandir, real_open = os.scandir, os.open

        def refused(path) -> bool:
            return any(os.path.realpath(os.fspath(path)) == str(d) for d in denied)

        def scandir(path="."):
            if refused(path):
                raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
            return real_scandir(path)

        def guarded_open(path, flags, *args, **kwargs):
            if refused(path):
                raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "scandir", scandir)
        monkeypatch.setattr(os, "open", guarded_open)

    def refuse(path: Path) -> None:
        denied.append(path.resolve())
        if os.geteuid() != 0:
            path.chmod(0)

    yield refuse
    for path in denied:
        if path.exists() and os.geteuid() != 0:
            path.chmod(0o700 if path.is_dir() else 0o600)


@pytest.fixture
def docs(tmp_path) -> Path:
    folder = tmp_path / "docs"
    (folder / "private").mkdir(parents=True)
    (folder / "border.txt").write_text(BORDER)
    (folder / "private" / "river.txt").write_text(RIVER)
    return folder


def reasons(items) -> dict[str, str]:
    return {item.source: item.reason for item in items}


def test_an_unreadable_folder_is_a_skipped_line(
    docs, deny, tmp_path, fake_encoder, cli, fake_model
):
    deny(docs / "private")
    report = IndexWriter(tmp_path / "idx", encoder=fake_encoder).build([str(docs)])
    private = str(docs / "private")
    assert reasons(report.skipped) == {private: f"{private}: Permission denied"}
    assert report.documents == 1
    # Recorded as skipped: status does not call it new, verify says why.
    manifest = read_manifest(tmp_path / "idx")
    assert manifest.skipped[private]["reason"] == f"{private}: Permission denied"

    result = cli("index", "build", docs, "--index", tmp_path / "cli-idx")
    assert result.exit_code == 0, result.output
    assert f"skipped: {private}: Permission denied" in result.stderr.splitlines()


def test_an_unreadable_file_is_a_skipped_line(docs, deny, tmp_path, fake_encoder):
    deny(docs / "border.txt")
    report = IndexWriter(tmp_path / "idx", encoder=fake_encoder).build([str(docs)])
    border = str(docs / "border.txt")
    assert reasons(report.skipped) == {border: f"{border}: Permission denied"}


def test_update_keeps_what_it_could_not_read_again(docs, deny, tmp_path, fake_encoder):
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir, encoder=fake_encoder).build([str(docs)])
    deny(docs / "private")
    deny(docs / "border.txt")

    report = IndexWriter(index_dir, encoder=fake_encoder).update()

    border, river = str(docs / "border.txt"), str(docs / "private" / "river.txt")
    private = str(docs / "private")
    assert report.files_removed == []
    assert report.documents == 2
    assert reasons(report.warnings) == {
        border: f"{border}: could not be read again ({border}: Permission denied);"
        " its documents stay",
        river: f"{river}: could not be read again ({private}: Permission denied);"
        " its documents stay",
    }
    assert set(reasons(report.skipped)) == {private}
    with Index(index_dir, encoder=fake_encoder) as index:
        assert {d.source for d in index.store.documents()} == {border, river}
    assert set(read_manifest(index_dir).files) == {border, river}


class ReplacedAfterFirstRead:
    """The file at ``path`` is replaced (a new file renamed over it, as an editor
    saves) the first time a handle that read it is closed: between a write's hashing
    and its reading, were they two reads."""

    def __init__(self, monkeypatch, path: Path, new_bytes: bytes) -> None:
        self.path, self.new_bytes, self.done = path.resolve(), new_bytes, False
        real_open = builtins.open

        def tracked_open(file, *args, **kwargs):
            handle = real_open(file, *args, **kwargs)
            if self.done or not isinstance(file, str | Path) or Path(file) != self.path:
                return handle
            real_close = handle.close

            def close():
                real_close()
                self.replace()

            handle.close = close
            return handle

        monkeypatch.setattr(builtins, "open", tracked_open)

    def replace(self) -> None:
        if self.done:
            return
        self.done = True
        fresh = self.path.with_name(self.path.name + ".new")
        fresh.write_bytes(self.new_bytes)
        os.replace(fresh, self.path)


def jsonl(text: str) -> bytes:
    return (json.dumps({"id": "r1", "title": "Report", "text": text}) + "\n").encode()


@pytest.mark.parametrize("suffix", [".txt", ".jsonl"])
def test_the_bytes_hashed_are_the_bytes_indexed(tmp_path, monkeypatch, fake_encoder, suffix):
    folder = tmp_path / "docs"
    folder.mkdir()
    path = folder / f"report{suffix}"
    old, new = (BORDER.encode(), RIVER.encode())
    if suffix == ".jsonl":
        old, new = jsonl("The border will open in May."), jsonl("The river rose by two metres.")
    path.write_bytes(old)
    index_dir = tmp_path / "idx"
    replaced = ReplacedAfterFirstRead(monkeypatch, path, new)

    IndexWriter(index_dir, encoder=fake_encoder).build([str(folder)])
    assert replaced.done

    entry = read_manifest(index_dir).files[str(path)]
    with Index(index_dir, encoder=fake_encoder) as index:
        (document,) = index.store.documents()
        text = index.store.document_text(document.doc_id)
    # Whichever version was indexed, the recorded hash is that version's.
    indexed = old if ("border" in text.lower()) else new
    assert entry.sha256 == hashlib.sha256(indexed).hexdigest()

    # And the file on disk now is the new version: update reads it.
    monkeypatch.undo()
    IndexWriter(index_dir, encoder=fake_encoder).update()
    assert read_manifest(index_dir).files[str(path)].sha256 == hashlib.sha256(new).hexdigest()
    with Index(index_dir, encoder=fake_encoder) as index:
        (document,) = index.store.documents()
        assert "river" in index.store.document_text(document.doc_id).lower()
