"""An index directory that was copied, unpacked or edited by hand: its lock, its
manifest's generation and its recorded files are never trusted to point where they
should. A write never follows a linked lock; a manifest naming a generation outside
the index is refused; ``verify`` checks that each recorded file has its documents."""

from __future__ import annotations

import json
import os

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
