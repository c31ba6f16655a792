"""One hostile file never aborts a build or an update: a write never empties a good
index by accident, an error in one file becomes that file's line while the rest is
indexed, and skipped files are not taken for changed ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant import Index, IndexWriter, verify_index

from .conftest import SEEDS
from .test_symlinks import linked_corpus

# -- a write never empties a good index by accident --------------------------------------


@pytest.fixture
def good_index(seeds_index_dir, tmp_path) -> Path:
    copy = tmp_path / "existing"
    shutil.copytree(seeds_index_dir, copy)
    return copy


def test_a_build_where_every_file_is_skipped_keeps_the_good_index(cli, good_index, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "utf16_bom.txt").write_bytes("Border talks\n".encode("utf-16"))

    result = cli("index", "build", str(bad / "utf16_bom.txt"), "--index", str(good_index))
    assert result.exit_code == 13, result.output
    assert result.stderr.startswith("error: nothing to index: 1 file skipped (")
    assert "utf16_bom.txt: looks like a binary file" in result.stderr
    assert "--allow-empty" in result.stderr and len(result.stderr.splitlines()) == 1
    with Index(good_index) as index:
        assert index.store.manifest.documents == 5
    assert verify_index(good_index).ok

    forced = cli(
        "index", "build", str(bad / "utf16_bom.txt"), "--index", str(good_index), "--allow-empty"
    )
    assert forced.exit_code == 0, forced.output
    with Index(good_index) as index:
        assert index.store.manifest.documents == 0
        assert index.search("border", k=3) == []


def test_an_update_that_would_remove_every_document_is_refused(cli, fake_model, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir, encoder=fake_model).build([str(docs)])
    for path in docs.iterdir():
        path.unlink()

    result = cli("index", "update", "--index", str(index_dir))
    assert result.exit_code == 13, result.output
    assert "would remove all 5 documents" in result.stderr
    with Index(index_dir, encoder=fake_model) as index:
        assert index.store.manifest.documents == 5
    assert cli("index", "update", "--index", str(index_dir), "--allow-empty").exit_code == 0
    with Index(index_dir, encoder=fake_model) as index:
        assert index.store.manifest.documents == 0


# -- per-file isolation; skipped files are not "changed" ----------------------------------


def test_any_error_in_one_file_becomes_its_line_and_the_rest_builds(
    tmp_path, monkeypatch, fake_encoder
):
    from assistant.ingest import chunks

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Good headline\n\nThe border crossing reopened.\n")
    (corpus / "trap.txt").write_text("Trap headline\n\nThis text makes the splitter fail.\n")
    split = chunks.split_document

    def failing_split(document, *args, **kwargs):
        if "splitter fail" in document.text:
            raise RuntimeError("splitter bug")
        return split(document, *args, **kwargs)

    monkeypatch.setattr(chunks, "split_document", failing_split)
    report = IndexWriter(tmp_path / "idx", encoder=fake_encoder).build([str(corpus)])
    assert [(Path(s.source).name, s.reason) for s in report.skipped] == [
        ("trap.txt", f"{corpus / 'trap.txt'}: could not be read (RuntimeError: splitter bug)")
    ]
    assert report.documents == 1


def test_skipped_files_are_not_changed_until_they_change(cli, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Good headline\n\nThe border crossing reopened.\n")
    (corpus / "latin1.txt").write_bytes(
        "Caf\xe9 society\n\nThe caf\xe9 reopened.\n".encode("latin-1")
    )
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir).build([str(corpus)])

    result = cli("index", "verify", "--index", str(index_dir))
    assert result.exit_code == 0, result.output
    assert "ok    skipped" in result.output and "latin1.txt: not valid UTF-8" in result.output
    with Index(index_dir) as index:  # what the chat checks before it opens
        status = index.status()
        assert (status.stale, status.missing, status.new) == ([], [], [])
    assert IndexWriter(index_dir).update().files_embedded == []

    # Once fixed, it is new again: the chat updates, and the update indexes it.
    (corpus / "latin1.txt").write_text("Cafe society\n\nThe cafe reopened.\n")
    with Index(index_dir) as index:
        assert index.status().new == [str((corpus / "latin1.txt").resolve())]
    assert IndexWriter(index_dir).update().files_embedded == [str(corpus / "latin1.txt")]
    assert verify_index(index_dir).ok


async def test_the_chat_does_not_update_at_every_start_for_skipped_files(tmp_path, monkeypatch):
    from assistant.frontends.tui.app import AssistantApp
    from assistant.frontends.tui.screens import BuildScreen, ChatScreen

    monkeypatch.setenv("ASSISTANT_USER_DIR", str(tmp_path / "user"))
    corpus, _ = linked_corpus(tmp_path)
    (corpus / "latin1.txt").write_bytes("Caf\xe9 society\n".encode("latin-1"))
    IndexWriter(tmp_path / "idx").build([str(corpus)])
    builds = []
    monkeypatch.setattr(BuildScreen, "on_mount", lambda screen: builds.append(screen.reason))

    app = AssistantApp(tmp_path / "idx")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert builds == [] and isinstance(app.screen, ChatScreen)
