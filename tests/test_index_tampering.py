"""An index directory that was copied, unpacked or edited by hand: its lock, its
manifest's generation and its recorded files are never trusted to point where they
should. A write never follows a linked lock; a manifest naming a generation outside
the index is refused; ``verify`` checks that each recorded file has its documents."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from assistant import Index, IndexWriter
from assistant.errors import IndexCorruptError
from assistant.storage.layout import LOCK_NAME, MANIFEST_NAME, write_lock


@pytest.mark.parametrize("link", ["symbolic", "hard"])
def test_a_linked_lock_is_replaced_never_written_through(index_copy, tmp_path, link, fake_encoder):
    precious = tmp_path / "precious.txt"
    precious.write_text("the user's own file\n")
    lock = index_copy / LOCK_NAME
    lock.unlink(missing_ok=True)
    if link == "symbolic":
        lock.symlink_to(precious)
    else:
        os.link(precious, lock)

    IndexWriter(index_copy, encoder=fake_encoder).update()

    assert precious.read_text() == "the user's own file\n"
    assert not lock.is_symlink() and os.stat(lock).st_nlink == 1
    assert lock.read_text() == f"{os.getpid()}\n"


def test_a_dangling_lock_link_creates_nothing_where_it_points(index_copy, tmp_path):
    target = tmp_path / "elsewhere" / "made-by-the-lock"
    target.parent.mkdir()
    lock = index_copy / LOCK_NAME
    lock.unlink(missing_ok=True)
    lock.symlink_to(target)
    with write_lock(index_copy):
        pass
    assert not target.exists()
    assert lock.is_file() and not lock.is_symlink()


# -- the manifest's generation --------------------------------------------------------


def edit_manifest(index_dir, **changes) -> None:
    path = index_dir / MANIFEST_NAME
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def other_index(tmp_path, fake_encoder):
    """A second index, of other files: its generation is whole and healthy."""
    docs = tmp_path / "other-docs"
    docs.mkdir()
    (docs / "ferry.txt").write_text("Ferry news\n\nThe ferry to Aktau sails again.\n")
    IndexWriter(tmp_path / "other", encoder=fake_encoder).build([str(docs)])
    return tmp_path / "other"


def point_at(index_dir, other, generation_name: str) -> None:
    """The manifest names ``generation_name`` and takes ``other``'s figures for it, so
    that every size and hash check of the generation's files passes."""
    theirs = json.loads((other / MANIFEST_NAME).read_text())
    figures = ("artifacts", "passages", "vectors", "vector_index")
    edit_manifest(index_dir, generation=generation_name, **{k: theirs[k] for k in figures})


@pytest.mark.parametrize("how", ["path", "absolute", "symlink"])
def test_a_generation_outside_the_index_is_refused(index_copy, tmp_path, fake_encoder, cli, how):
    other = other_index(tmp_path, fake_encoder)
    theirs = json.loads((other / MANIFEST_NAME).read_text())["generation"]
    name = {"path": f"../other/{theirs}", "absolute": str(other / theirs)}.get(how)
    if how == "symlink":
        name = "gen-20990101T000000000000-1"
        (index_copy / name).symlink_to(other / theirs)
    point_at(index_copy, other, name)

    with pytest.raises(IndexCorruptError, match="which is not a folder of this index"):
        Index(index_copy, encoder=fake_encoder)
    with pytest.raises(IndexCorruptError, match="which is not a folder of this index"):
        IndexWriter(index_copy, encoder=fake_encoder).update()
    from assistant.storage.verify import verify_index

    report = verify_index(index_copy)
    assert not report.ok
    (files,) = [check for check in report.checks if check.name == "files"]
    assert "which is not a folder of this index" in files.detail
    # The other index was not touched by the refused update.
    assert (other / theirs).is_dir()


def test_verify_checks_each_recorded_file_has_its_documents(
    index_copy, tmp_path, fake_encoder, fake_model, cli
):
    # Another index's generation, copied in under a proper name: every file check
    # passes, but the files the manifest records have no documents there.
    other = other_index(tmp_path, fake_encoder)
    theirs = json.loads((other / MANIFEST_NAME).read_text())["generation"]
    shutil.copytree(other / theirs, index_copy / theirs)
    point_at(index_copy, other, theirs)

    result = cli("index", "verify", "--index", index_copy)
    assert result.exit_code == 5, result.output
    lines = {line.split()[1]: line for line in result.output.splitlines() if line[:4].strip()}
    assert lines["documents"].startswith("FAIL  documents 2 recorded sources do not have")
    assert "border.txt (0 of 1)" in lines["documents"]
