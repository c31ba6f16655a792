"""Named collections in the user's data directory, and add / remove / sources / list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import IndexWriter, paths

BORDER = "Border Talks\n\nThe ministry said the border post at Lachin would reopen on Monday.\n"
RIVER = "River Report\n\nThe river flooded three villages near the capital after heavy rain.\n"
HARBOUR = "Harbour News\n\nA new ferry line links the two harbours from the first of May.\n"


@pytest.fixture
def user(tmp_path, monkeypatch) -> Path:
    """A fresh user data directory, no $ASSISTANT_INDEX, and a working directory of our
    own (bare names must not find a folder of the checkout)."""
    home = tmp_path / "user"
    monkeypatch.setenv("ASSISTANT_USER_DIR", str(home))
    monkeypatch.delenv("ASSISTANT_INDEX", raising=False)
    monkeypatch.delenv("ASSISTANT_SEEDS", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


@pytest.fixture
def installed(monkeypatch, tmp_path):
    """The package as pip installs it: nothing beside it (no seeds/, no pyproject.toml)."""
    site = tmp_path / "site-packages"
    (site / "assistant").mkdir(parents=True)
    monkeypatch.setattr(paths, "PROJECT_ROOT", site)
    return site


def docs(base: Path, **files: str) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (base / f"{name}.txt").write_text(text)
    return base


# -- where indexes live -------------------------------------------------------------------


def test_a_bare_name_is_a_collection_a_path_is_a_directory(user, tmp_path):
    assert paths.resolve_index("news") == user / "indexes" / "news"
    assert paths.resolve_index("./news") == Path("./news")
    assert paths.resolve_index(str(tmp_path / "x")) == tmp_path / "x"
    # A plain folder of that name (a corpus, say) is not taken for the index: writing
    # there would mix index files into the corpus.
    Path("here").mkdir()
    assert paths.resolve_index("here") == user / "indexes" / "here"
    # A folder here that holds an index is what was meant.
    (Path("here") / "manifest.json").write_text("{}")
    assert paths.resolve_index("here") == Path("here")


def test_installed_default_is_the_user_collection_and_never_site_packages(
    user, installed, monkeypatch
):
    assert paths.default_index_dir() == user / "indexes" / "default"
    assert paths.seeds_dir() is None  # an installed copy never builds from site-packages
    monkeypatch.setenv("ASSISTANT_INDEX", "work")
    assert paths.default_index_dir() == user / "indexes" / "work"


def test_in_the_checkout_the_default_stays_index(user):
    assert paths.in_checkout()
    assert paths.default_index_dir() == paths.PROJECT_ROOT / "index"


def test_user_dir_follows_the_platform_without_the_override(monkeypatch, tmp_path):
    monkeypatch.delenv("ASSISTANT_USER_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert paths.user_dir() == tmp_path / "data" / "assistant"


def test_ask_from_another_folder_uses_the_collection_not_the_cwd(cli, user, installed, tmp_path):
    corpus = docs(tmp_path / "corpus", border=BORDER)
    result = cli("index", "add", str(corpus))
    assert result.exit_code == 0, result.output
    assert (user / "indexes" / "default" / "manifest.json").is_file()
    assert not Path("index").exists()
    result = cli("ask", "When will the border post at Lachin reopen?")
    assert result.exit_code == 0, result.output
    assert "[1] Border Talks" in result.output


def test_missing_index_says_add(cli, user, installed):
    result = cli("ask", "anything")
    assert result.exit_code == 4
    assert "(add sources with: assistant index add PATH)" in result.output


# -- add, remove, sources -----------------------------------------------------------------


def test_add_embeds_only_the_new_files_and_update_keeps_their_roots(user, tmp_path, fake_encoder):
    first = docs(tmp_path / "a", border=BORDER)
    second = docs(tmp_path / "b", river=RIVER)
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir, encoder=fake_encoder).build([str(first)])
    report = IndexWriter(index_dir, encoder=fake_encoder).add([str(second)])
    assert (report.passages_embedded, report.passages_reused) == (1, 1)
    assert report.files_embedded == [str(second / "river.txt")]
    roots = json.loads((index_dir / "manifest.json").read_text())["roots"]
    assert [r["given"] for r in roots] == [str(first), str(second)]

    (second / "harbour.txt").write_text(HARBOUR)
    report = IndexWriter(
        index_dir, encoder=fake_encoder
    ).update()  # both roots re-read; only the new file embedded
    assert report.files_embedded == [str(second / "harbour.txt")]
    assert (report.documents, report.passages_embedded, report.passages_reused) == (3, 1, 2)


def test_add_keeps_what_was_indexed_without_reading_it(user, tmp_path, fake_encoder):
    first = docs(tmp_path / "a", border=BORDER)
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir, encoder=fake_encoder).build([str(first)])
    (first / "border.txt").write_text(BORDER + "\nA changed paragraph.\n")
    report = IndexWriter(index_dir, encoder=fake_encoder).add(
        [str(docs(tmp_path / "b", river=RIVER))]
    )
    assert report.files_embedded == [str(tmp_path / "b" / "river.txt")]
    assert report.passages_embedded == 1  # the changed file waits for `index update`


def test_remove_drops_a_root_and_its_documents_reembedding_nothing(user, tmp_path, fake_encoder):
    first = docs(tmp_path / "a", border=BORDER)
    second = docs(tmp_path / "b", river=RIVER, harbour=HARBOUR)
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir, encoder=fake_encoder).build([str(first), str(second)])
    report = IndexWriter(index_dir, encoder=fake_encoder).remove([str(first)])
    assert report.files_removed == [str(first / "border.txt")]
    assert (report.documents, report.passages_embedded, report.passages_reused) == (2, 0, 2)
    roots = json.loads((index_dir / "manifest.json").read_text())["roots"]
    assert [r["given"] for r in roots] == [str(second)]
    assert (
        IndexWriter(index_dir, encoder=fake_encoder).update().files_embedded == []
    )  # it does not come back


def test_an_update_names_a_recorded_folder_that_is_gone(cli, user, tmp_path):
    # A folder on a drive that is not mounted: its documents leave the index, and the
    # update says which folder and why, not only "1 removed".
    first = docs(tmp_path / "a", border=BORDER)
    second = docs(tmp_path / "b", river=RIVER)
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir).build([str(first), str(second)])
    second.rename(tmp_path / "b-unmounted")
    result = cli("index", "update", "--index", str(index_dir))
    assert result.exit_code == 0, result.output
    assert (
        f"warning: {second}: not found, so its documents were removed from the index"
        in result.output
    )
    assert f"assistant index remove {second}" in result.output


def test_remove_refuses_a_file_inside_an_indexed_folder_and_unknown_paths(cli, user, tmp_path):
    folder = docs(tmp_path / "a", border=BORDER, river=RIVER)
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir).build([str(folder)])
    result = cli("index", "remove", str(folder / "river.txt"), "--index", str(index_dir))
    assert result.exit_code == 2
    assert f"is inside the indexed folder {folder}" in result.output
    result = cli("index", "remove", str(tmp_path / "elsewhere"), "--index", str(index_dir))
    assert result.exit_code == 3
    assert "not in the index" in result.output
    result = cli("index", "remove", str(folder), "--index", str(index_dir))
    assert result.exit_code == 13  # it would empty the index
    result = cli("index", "remove", str(folder), "--index", str(index_dir), "--allow-empty")
    assert result.exit_code == 0, result.output


def test_add_of_nothing_indexable_fails_and_leaves_the_index(cli, user, tmp_path):
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir).build([str(docs(tmp_path / "a", border=BORDER))])
    before = (index_dir / "manifest.json").read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "picture.png").write_bytes(b"\x89PNG\r\n")
    result = cli("index", "add", str(empty), "--index", str(index_dir))
    assert result.exit_code == 13
    assert result.output.startswith("error: nothing to add: ")
    assert (index_dir / "manifest.json").read_bytes() == before
    result = cli("index", "add", str(tmp_path / "gone"), "--index", str(index_dir))
    assert result.exit_code == 3


def test_sources_lists_counts_dates_and_state(cli, user, tmp_path):
    folder = docs(tmp_path / "a", border=BORDER, river=RIVER)
    (folder / "dated.md").write_text(
        "---\ntitle: Dated\ndate: 2023-04-02\n---\n\nA dated paragraph about the harbour.\n"
    )
    (folder / "broken.txt").write_bytes(b"\xff\xfe not utf-8")
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir).build([str(folder)])
    (folder / "river.txt").unlink()
    (folder / "border.txt").write_text(BORDER + "\nMore.\n")
    found = {Path(s.source).name: s for s in IndexWriter(index_dir).sources()}
    assert {name: s.state for name, s in found.items()} == {
        "border.txt": "changed",
        "river.txt": "missing",
        "dated.md": "indexed",
        "broken.txt": "skipped",
    }
    assert (found["dated.md"].documents, found["dated.md"].passages) == (1, 1)
    assert found["dated.md"].published == "2023-04-02"
    assert "not valid UTF-8" in found["broken.txt"].reason
    result = cli("index", "sources", "--index", str(index_dir))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["state", "docs", "passages", "modified", "published", "source"]
    assert any(line.startswith("missing ") and line.endswith("river.txt") for line in lines)
    assert lines[-1] == "3 files, 3 documents, 3 passages (1 skipped)"


def test_index_list_shows_the_collections(cli, user, tmp_path):
    result = cli("index", "list")
    assert result.exit_code == 0
    assert "no collections in" in result.output
    corpus = docs(tmp_path / "a", border=BORDER, river=RIVER)
    assert cli("index", "add", str(corpus), "--index", "news").exit_code == 0
    result = cli("index", "list", "--json")
    data = json.loads(result.output)
    assert [(c["name"], c["documents"]) for c in data["collections"]] == [("news", 2)]
    assert data["collections"][0]["path"] == str(user / "indexes" / "news")
    assert "  news " in cli("index", "list").output


# -- the chat with no index ----------------------------------------------------------------


async def test_chat_without_index_or_seeds_asks_for_a_path_then_adds_it(user, installed, tmp_path):
    from textual.widgets import Input, Static

    from assistant.frontends.tui.app import AssistantApp
    from assistant.frontends.tui.screens import AddSourcesScreen, ChatScreen

    corpus = docs(tmp_path / "corpus", border=BORDER)
    app = AssistantApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, AddSourcesScreen)
        said = str(app.screen.query_one("#build-reason", Static).render())
        assert "assistant index add PATH" in said
        assert str(user / "indexes" / "default") in said
        box = app.screen.query_one("#add-path", Input)
        box.value = str(tmp_path / "nowhere")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, AddSourcesScreen)  # refused, says why, stays
        box.value = str(corpus)
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)
    assert (user / "indexes" / "default" / "manifest.json").is_file()


async def test_the_build_screen_shows_the_cli_figures(user, tmp_path, monkeypatch):
    from textual.widgets import Label

    from assistant.frontends.tui.app import AssistantApp
    from assistant.frontends.tui.screens import BuildScreen

    shown: list[str] = []
    original = BuildScreen.on_build_screen_progress

    def recording(self, message):
        original(self, message)
        shown.append(str(self.query_one("#build-stage", Label).render()))

    monkeypatch.setattr(BuildScreen, "on_build_screen_progress", recording)
    corpus = docs(tmp_path / "corpus", border=BORDER, river=RIVER)
    app = AssistantApp(tmp_path / "idx", seeds=corpus)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
    # The rate and time left join these once a stage has run for a fifth of a second.
    assert any(line.startswith("Reading 2 of 2 files") for line in shown)
    assert any(line.startswith("Embedding 2 of 2 passages") for line in shown)


def test_a_failed_add_to_a_new_collection_leaves_nothing_behind(cli, user, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    failed = cli("index", "add", str(empty), "--index", "never-made")
    assert failed.exit_code == 13, failed.output
    assert not (user / "indexes" / "never-made").exists()
    listed = cli("index", "list")
    assert "never-made" not in listed.output and "no collections" in listed.output
    # A directory given as the index is removed the same way.
    failed = cli("index", "add", str(empty), "--index", str(tmp_path / "idx"))
    assert failed.exit_code == 13 and not (tmp_path / "idx").exists()
    failed = cli("index", "build", str(empty), "--index", "never-made")
    assert failed.exit_code == 13 and not (user / "indexes" / "never-made").exists()


def test_a_failed_add_keeps_an_index_that_was_there(cli, user, tmp_path):
    made = cli("index", "add", str(docs(tmp_path / "docs", border=BORDER)), "--index", "kept")
    assert made.exit_code == 0, made.output
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("index", "add", str(empty), "--index", "kept").exit_code == 13
    listed = json.loads(cli("index", "list", "--json").output)["collections"]
    assert [(row["name"], row["documents"]) for row in listed] == [("kept", 1)]
