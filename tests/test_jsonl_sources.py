"""Hard to break, round two: no silent loss of documents, and one hostile file never
aborts a build or an update (RELIABILITY.md, "Faults and bad inputs")."""

from __future__ import annotations

import json
import shutil
import tracemalloc
from pathlib import Path

import pytest

from assistant import Index, IndexWriter, verify_index
from assistant.ingest.sources import SourceFile, load_documents

from .conftest import SEEDS


def record(number: int, **extra) -> str:
    text = f"Report {number} on the border talks in Baku.\n\nNegotiators met for round {number}."
    return json.dumps({"id": f"a{number}", "title": f"Round {number}", "text": text, **extra})


# -- one bad line loses that line only -------------------------------------------------


def test_a_half_written_line_loses_that_line_only(cli, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    data = corpus / "data.jsonl"
    data.write_text("".join(record(n) + "\n" for n in range(40)))
    index_dir = tmp_path / "idx"
    assert cli("index", "build", str(corpus), "--index", str(index_dir)).exit_code == 0
    with open(data, "a") as handle:  # a writer killed mid-line
        handle.write('{"id":"a40","text":"half')

    result = cli("index", "update", "--index", str(index_dir), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["documents"] == 40 and report["files_removed"] == []
    assert [w["reason"] for w in report["warnings"]] == [
        f"{data}:41: invalid JSON (Unterminated string starting at)"
    ]
    plain = cli("index", "update", "--index", str(index_dir))  # nothing changed since
    assert plain.exit_code == 0 and "warning:" not in plain.stderr
    with Index(index_dir) as index:
        assert index.store.manifest.documents == 40


BAD_LINES = {
    2: "{not json",
    3: "[1, 2, 3]",
    4: '{"id": "no-text", "title": "Only a title"}',
    5: '{"id": "number", "text": 42}',
    6: '{"id": "surrogate", "text": "Broken \\ud800 text"}',
    7: "[" * 100_000 + "]" * 100_000,
    8: '{"id": "deep", "text": "x", "meta": ' + "[" * 100_000 + "]" * 100_000 + "}",
    9: '{"id": "title-surrogate", "text": "Fine text.", "title": "\\udfff"}',
}
BAD_REASONS = {
    2: "invalid JSON",
    3: "not a JSON object",
    4: "no 'text' string",
    5: "no 'text' string",
    6: "not valid Unicode",
    7: "nested too deeply",
    8: "nested too deeply",
    9: "not valid Unicode",
}


def test_each_bad_line_is_reported_with_its_number_and_the_rest_is_indexed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    data = corpus / "data.jsonl"
    lines = [record(1)] + [BAD_LINES[n] for n in sorted(BAD_LINES)]
    lines += [record(10, published=2023), record(11), ""]
    data.write_text("\n".join(lines))
    (corpus / "other.txt").write_text("Other report\n\nThe river crossing reopened today.\n")

    report = IndexWriter(tmp_path / "idx").build([str(corpus)])
    assert report.skipped == []
    reasons = [w.reason for w in report.warnings]
    for number, reason in BAD_REASONS.items():
        assert any(r.startswith(f"{data}:{number}: ") and reason in r for r in reasons), number
    # A number where a date belongs: the record stays, the field is left out, and said so.
    assert f"{data}:10: 'published' is 2023, not a string; left out" in reasons
    assert len(reasons) == len(BAD_LINES) + 1
    assert report.documents == 4  # lines 1, 10, 11 and other.txt
    assert verify_index(tmp_path / "idx").ok


def test_a_line_separator_inside_a_string_is_valid_json(tmp_path):
    path = tmp_path / "u2028.jsonl"
    text = "First sentence.\u2028Second sentence after a line separator."
    path.write_text(json.dumps({"id": "x", "text": text}, ensure_ascii=False) + "\r\n")
    (document,) = load_documents(SourceFile(source=str(path), path=path))
    assert document.text == text


def test_jsonl_is_read_record_by_record(tmp_path):
    """Memory follows what is kept, not the file: a 6 MB file whose records carry a
    big field the index does not use must not be held whole (nor decoded whole)."""
    path = tmp_path / "big.jsonl"
    with open(path, "w") as handle:
        for number in range(1_200):
            handle.write(record(number, abstract_html="<p>unused</p>" * 400) + "\n")
    assert path.stat().st_size > 6_000_000
    problems: list[str] = []
    tracemalloc.start()
    try:
        documents = load_documents(SourceFile(source=str(path), path=path), problems)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(documents) == 1_200 and problems == []
    assert peak < 3_000_000, peak


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


def test_an_update_that_would_remove_every_document_is_refused(cli, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir).build([str(docs)])
    for path in docs.iterdir():
        path.unlink()

    result = cli("index", "update", "--index", str(index_dir))
    assert result.exit_code == 13, result.output
    assert "would remove all 5 documents" in result.stderr
    with Index(index_dir) as index:
        assert index.store.manifest.documents == 5
    assert cli("index", "update", "--index", str(index_dir), "--allow-empty").exit_code == 0
    with Index(index_dir) as index:
        assert index.store.manifest.documents == 0


# -- ids never collide -------------------------------------------------------------------


def test_duplicate_ids_keep_both_records_and_say_so(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    data = corpus / "data.jsonl"
    data.write_text(record(1) + "\n" + record(1).replace("round 1", "round one") + "\n")
    report = IndexWriter(tmp_path / "idx").build([str(corpus)])
    assert report.documents == 2
    assert [w.reason for w in report.warnings] == [
        f"{data}:2: the id 'a1' is also on line 1; this record's id is {data}:2"
    ]
    with Index(tmp_path / "idx") as index:
        ids = sorted(d.doc_id for d in index.store.documents())
    assert ids == [f"{data}#a1", f"{data}:2"]


def test_a_record_id_equal_to_another_files_path_loses_neither(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    article = corpus / "z-article.txt"
    article.write_text("Article headline\n\nThe article about the Araz river crossing.\n")
    hostile = json.dumps({"id": str(article), "text": "A record about something else."})
    (corpus / "a.jsonl").write_text(hostile + "\n")
    report = IndexWriter(tmp_path / "idx").build([str(corpus)])
    assert report.documents == 2
    with Index(tmp_path / "idx") as index:
        assert index.search("Araz river crossing", k=1)[0].passage.source == str(article)
        sources = sorted(d.source for d in index.store.documents())
    assert sources == [str(corpus / "a.jsonl"), str(article)]
    assert verify_index(tmp_path / "idx").ok


def test_a_path_that_spells_a_namespaced_id_is_renamed_not_dropped(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(json.dumps({"id": "x.txt", "text": "The record."}) + "\n")
    spelled = corpus / "a.jsonl#x.txt"  # its path is the record's namespaced id
    spelled.write_text("A file\n\nWhose name spells the record's id.\n")
    report = IndexWriter(tmp_path / "idx").build([str(corpus)])
    assert report.documents == 2
    assert [w.reason for w in report.warnings] == [
        f"{spelled}: the document id '{spelled}' is also one in {corpus / 'a.jsonl'};"
        f" this one's id is '{spelled}~2'"
    ]
    with Index(tmp_path / "idx") as index:
        assert index.search("name spells the record", k=1)[0].passage.doc_id == f"{spelled}~2"
    assert verify_index(tmp_path / "idx").ok


# -- symlinks ----------------------------------------------------------------------------


def linked_corpus(tmp_path: Path) -> tuple[Path, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret notes\n\nNot part of the news corpus at all.\n")
    corpus = tmp_path / "corpus"
    (corpus / "real").mkdir(parents=True)
    (corpus / "real" / "story.txt").write_text("Story\n\nNegotiators met in Baku again.\n")
    (corpus / "passwd_link.txt").symlink_to(outside / "secret.txt")
    (corpus / "outside_folder").symlink_to(outside)
    (corpus / "z_inner_folder").symlink_to(corpus / "real")
    return corpus, outside


def test_links_out_of_the_corpus_are_skipped_on_build_and_update(tmp_path):
    corpus, _ = linked_corpus(tmp_path)
    index_dir = tmp_path / "idx"
    report = IndexWriter(index_dir).build([str(corpus)])
    reasons = {Path(s.source).name: s.reason for s in report.skipped}
    assert set(reasons) == {"passwd_link.txt", "outside_folder"}
    assert "outside the indexed folders" in reasons["passwd_link.txt"]
    assert "--follow-links" in reasons["outside_folder"]
    assert report.documents == 1
    # Skipped on purpose is not "changed": verify passes and reports them.
    verified = verify_index(index_dir)
    assert verified.ok, [c.detail for c in verified.checks]
    assert "2 skipped" in verified.checks[-1].detail
    (corpus / "real" / "story.txt").write_text("Story\n\nNegotiators met in Baku twice.\n")
    updated = IndexWriter(index_dir).update()
    assert updated.files_embedded == [str(corpus / "real" / "story.txt")]
    assert verify_index(index_dir).ok


def test_follow_links_indexes_what_links_point_to_on_build_and_update(cli, tmp_path):
    corpus, outside = linked_corpus(tmp_path)
    index_dir = tmp_path / "idx"
    result = cli("index", "build", str(corpus), "--index", str(index_dir), "--follow-links")
    assert result.exit_code == 0, result.output
    with Index(index_dir) as index:
        sources = sorted(Path(d.source).relative_to(corpus) for d in index.store.documents())
    assert [str(s) for s in sources] == [
        "outside_folder/secret.txt",
        "passwd_link.txt",
        "real/story.txt",
    ]
    (outside / "secret.txt").write_text("Secret notes\n\nNow edited outside the corpus.\n")
    updated = cli("index", "update", "--index", str(index_dir), "--json")
    assert updated.exit_code == 0, updated.output
    assert sorted(json.loads(updated.stdout)["files_embedded"]) == [
        str(corpus / "outside_folder" / "secret.txt"),
        str(corpus / "passwd_link.txt"),
    ]
    assert verify_index(index_dir).ok


# -- per-file isolation; skipped files are not "changed" ----------------------------------


def test_any_error_in_one_file_becomes_its_line_and_the_rest_builds(tmp_path, monkeypatch):
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
    report = IndexWriter(tmp_path / "idx").build([str(corpus)])
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
