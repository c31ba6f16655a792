"""What each reader kept of the text its file offered, and what it left out and why:
recorded per file in the manifest at read time, listed by ``index sources``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def indexed(tmp_path, fake_model):
    """A documentation page and a plain text file, indexed with the fake encoder."""
    from assistant import IndexWriter

    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(DATA / "docbook-section.html", folder / "section.html")
    (folder / "notes.txt").write_text(
        "The pump is checked every spring.\n\nIts filter is changed in autumn.\n"
    )
    target = tmp_path / "index"
    IndexWriter(target, encoder=fake_model).build([str(folder)])
    return target


def _sources(cli, index: Path) -> dict[str, dict]:
    result = cli("index", "sources", "--index", index, "--json")
    assert result.exit_code == 0, result.output
    return {Path(s["source"]).name: s for s in json.loads(result.output)["sources"]}


def test_documentation_page_keeps_its_text_and_names_the_navigation_left_out(cli, indexed):
    page = _sources(cli, indexed)["section.html"]
    assert page["source_chars"] > page["kept_chars"] > 0
    assert page["kept_chars"] / page["source_chars"] >= 0.9
    left_out = [why for why in page["dropped"] if why.startswith("navigation")]
    assert len(left_out) == 1
    # The count it states is the whole difference: nothing else was left out unsaid.
    count = int(left_out[0].rsplit(" ", 1)[1].replace(",", ""))
    assert count == page["source_chars"] - page["kept_chars"]


def test_plain_text_is_kept_whole(cli, indexed):
    notes = _sources(cli, indexed)["notes.txt"]
    text = (indexed.parent / "docs" / "notes.txt").read_text()
    assert notes["kept_chars"] == notes["source_chars"] == len(text)
    assert notes["dropped"] == []


def test_plain_listing_states_kept_share_and_verbose_the_reasons(cli, indexed):
    plain = cli("index", "sources", "--index", indexed)
    assert plain.exit_code == 0, plain.output
    page = _sources(cli, indexed)["section.html"]
    share = round(100 * page["kept_chars"] / page["source_chars"])
    assert f"kept {page['kept_chars']:,} of {page['source_chars']:,} characters ({share}%)" in (
        plain.output
    )
    assert "left out:" not in plain.output
    verbose = cli("index", "sources", "--index", indexed, "--verbose")
    assert verbose.exit_code == 0, verbose.output
    assert f"left out: {page['dropped'][0]}" in verbose.output


def test_unchanged_file_keeps_its_figures_on_update(indexed, fake_model):
    from assistant import IndexWriter
    from assistant.storage.layout import Manifest

    def files() -> dict:
        data = json.loads((indexed / "manifest.json").read_text())
        return Manifest.from_json(data).files

    before = files()
    # A new file makes the update write; the two files already indexed are reused.
    (indexed.parent / "docs" / "more.txt").write_text("The boiler is serviced in May.\n")
    report = IndexWriter(indexed, encoder=fake_model).update()
    assert report.files_unchanged == 2
    after = files()
    for source, entry in before.items():
        assert entry.source_chars > 0
        assert (after[source].source_chars, after[source].kept_chars, after[source].dropped) == (
            entry.source_chars,
            entry.kept_chars,
            entry.dropped,
        )


def test_index_written_before_the_figures_lists_no_kept_line(cli, indexed):
    manifest_path = indexed / "manifest.json"
    data = json.loads(manifest_path.read_text())
    for entry in data["files"].values():
        for name in ("source_chars", "kept_chars", "dropped"):
            del entry[name]
    manifest_path.write_text(json.dumps(data))
    plain = cli("index", "sources", "--index", indexed, "--verbose")
    assert plain.exit_code == 0, plain.output
    assert "section.html" in plain.output
    assert "kept " not in plain.output and "%)" not in plain.output
    page = _sources(cli, indexed)["section.html"]
    assert (page["source_chars"], page["kept_chars"], page["dropped"]) == (0, 0, [])
