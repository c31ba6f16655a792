"""What the assistant writes is private: the index, the question history and exports
are created 0700/0600 under the usual 022 umask, unless a setting shares the index."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from assistant import IndexWriter
from assistant.frontends.history import QuestionHistory, history_file

from .conftest import SMALL_EXPECTED as EXPECTED
from .conftest import SMALL_QUESTION as QUESTION

# -- private files -----------------------------------------------------------------------


def modes(root: Path) -> dict[str, str]:
    """Mode of ``root`` and everything below it, as octal strings, by relative path."""
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def assert_private(root: Path, directory: str = "0o700", file: str = "0o600") -> None:
    for name, mode in modes(root).items():
        expected = directory if (root / name).is_dir() else file
        assert mode == expected, (name, mode)


@pytest.fixture
def usual_umask():
    """The tests run under a 022 umask, the usual one, whatever the caller's was."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_the_index_is_private(cli, fake_model, tmp_path, usual_umask, monkeypatch):
    """Issue: index files were created 0644; a 0600 source was readable by another
    user through passages.sqlite."""
    docs = tmp_path / "docs"
    docs.mkdir()
    secret = docs / "secret.txt"
    secret.write_text(f"Border talks\n\n{EXPECTED}\n")
    secret.chmod(0o600)
    monkeypatch.delenv("ASSISTANT_UMASK", raising=False)
    index_dir = tmp_path / "new" / "index"
    IndexWriter(index_dir, encoder=fake_model).build([str(docs)])
    assert_private(tmp_path / "new")
    secret.write_text(f"Border talks\n\n{EXPECTED}\n\nMore of it.\n")
    result = cli("index", "update", "--index", str(index_dir))
    assert result.exit_code == 0, result.output
    assert_private(tmp_path / "new")


def test_umask_setting_shares_the_index(tmp_path, usual_umask, monkeypatch, fake_encoder):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(f"Border talks\n\n{EXPECTED}\n")
    monkeypatch.setenv("ASSISTANT_UMASK", "022")
    IndexWriter(tmp_path / "shared", encoder=fake_encoder).build([str(docs)])
    assert_private(tmp_path / "shared", directory="0o755", file="0o644")
    # A stricter process umask still wins over the setting.
    os.umask(0o077)
    IndexWriter(tmp_path / "strict", encoder=fake_encoder).build([str(docs)])
    assert_private(tmp_path / "strict")


def test_history_and_exports_are_private(tmp_path, usual_umask, monkeypatch):
    from assistant.paths import write_private_text

    monkeypatch.setenv("ASSISTANT_USER_DIR", str(tmp_path / "user"))
    history = QuestionHistory(tmp_path / "some-index", limit=2)
    for question in ("one?", "two?", "three?", "four?", "five?"):
        history.add(question)
    assert_private(tmp_path / "user")
    QuestionHistory(tmp_path / "some-index", limit=2)  # five lines > 2 * limit: rewritten
    assert history_file(tmp_path / "some-index").read_text().count("\n") == 2
    assert_private(tmp_path / "user")

    write_private_text(tmp_path / "exports" / "conversation.md", "# Conversation\n")
    assert_private(tmp_path / "exports")


async def test_the_chat_exports_privately(
    small_index, fake_model, tmp_path, usual_umask, monkeypatch
):
    from assistant.frontends.tui.app import AssistantApp
    from assistant.frontends.tui.widgets import QuestionInput

    monkeypatch.setenv("ASSISTANT_USER_DIR", str(tmp_path / "user"))
    monkeypatch.setenv("ASSISTANT_EXPORT_DIR", str(tmp_path / "exports"))
    app = AssistantApp(small_index)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        box = app.screen.query_one(QuestionInput)
        box.focus()
        box.value = QUESTION
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("ctrl+e")
        await pilot.pause()
    assert len(list((tmp_path / "exports").glob("conversation-*.md"))) == 1
    assert_private(tmp_path / "exports")
    assert_private(tmp_path / "user")


# -- an index that cannot be written ---------------------------------------------------


def refuse_writes_in(monkeypatch, folder: Path) -> None:
    """Creating anything in ``folder`` fails with EACCES: ``chmod a-w`` for a normal
    user; root ignores permission bits, so there the refusal is simulated at os.open
    and os.mkdir (the two ways files and folders are made)."""
    if os.geteuid() != 0:
        folder.chmod(0o500)
        return
    import errno

    real_open, real_mkdir = os.open, os.mkdir

    def inside(path) -> bool:
        return Path(os.fspath(path)).parent == folder

    def guarded_open(path, flags, *args, **kwargs):
        if inside(path) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    def guarded_mkdir(path, *args, **kwargs):
        if inside(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    monkeypatch.setattr(os, "mkdir", guarded_mkdir)


def test_a_read_only_index_is_said_before_anything_is_embedded(
    cli, fake_model, index_copy, small_index, monkeypatch
):
    """Issue: a read-only index dir gave exit 70 "unexpected PermissionError", after
    embedding."""
    docs = small_index.parent / "docs"
    manifest = json.loads((index_copy / "manifest.json").read_text())
    # A changed file is waiting: the update would embed it.
    changed = docs.parent / "changed-docs"
    shutil.copytree(docs, changed, dirs_exist_ok=True)
    (changed / "new.txt").write_text("New file\n\nSomething to embed about rivers.\n")
    manifest["roots"] = [{"given": str(changed), "path": str(changed)}]
    (index_copy / "manifest.json").write_text(json.dumps(manifest))
    embedded = []
    monkeypatch.setattr(fake_model, "encode", lambda texts, *a, **k: embedded.append(texts))
    refuse_writes_in(monkeypatch, index_copy)
    try:
        result = cli("index", "update", "--index", index_copy)
    finally:
        index_copy.chmod(0o700)
    assert result.exit_code == 17, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: cannot write the index at {index_copy}: Permission denied")
    assert embedded == []


def test_an_index_whose_folder_cannot_be_made_is_said(cli, fake_model, tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Title\n\nSome text about the border.\n")
    parent = tmp_path / "locked"
    parent.mkdir()
    refuse_writes_in(monkeypatch, parent)
    try:
        result = cli("index", "build", docs, "--index", parent / "index")
    finally:
        parent.chmod(0o700)
    assert result.exit_code == 17, result.output
    assert result.stderr.startswith(f"error: cannot write the index at {parent / 'index'}")
