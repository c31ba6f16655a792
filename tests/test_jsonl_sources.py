"""JSON Lines sources: a bad line loses that line only and is reported with its number,
records are read one at a time, and record ids never collide with each other or with
file paths."""

from __future__ import annotations

import json
import tracemalloc

from assistant import Index, IndexWriter, verify_index
from assistant.ingest.sources import SourceFile, load_documents


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


def test_each_bad_line_is_reported_with_its_number_and_the_rest_is_indexed(tmp_path, fake_encoder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    data = corpus / "data.jsonl"
    lines = [record(1)] + [BAD_LINES[n] for n in sorted(BAD_LINES)]
    lines += [record(10, published=2023), record(11), ""]
    data.write_text("\n".join(lines))
    (corpus / "other.txt").write_text("Other report\n\nThe river crossing reopened today.\n")

    report = IndexWriter(tmp_path / "idx", encoder=fake_encoder).build([str(corpus)])
    assert report.skipped == []
    reasons = [w.reason for w in report.warnings]
    for number, reason in BAD_REASONS.items():
        assert any(r.startswith(f"{data}:{number}: ") and reason in r for r in reasons), number
    # A number where a date belongs: the record stays, the field is left out, and said so.
    assert f"{data}:10: 'published' is 2023, not a string; left out" in reasons
    assert len(reasons) == len(BAD_LINES) + 1
    assert report.documents == 4  # lines 1, 10, 11 and other.txt
    assert verify_index(tmp_path / "idx", encoder=fake_encoder).ok


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


# -- ids never collide -------------------------------------------------------------------


def test_duplicate_ids_keep_both_records_and_say_so(tmp_path, fake_encoder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    data = corpus / "data.jsonl"
    data.write_text(record(1) + "\n" + record(1).replace("round 1", "round one") + "\n")
    report = IndexWriter(tmp_path / "idx", encoder=fake_encoder).build([str(corpus)])
    assert report.documents == 2
    assert [w.reason for w in report.warnings] == [
        f"{data}:2: the id 'a1' is also on line 1; this record's id is {data}:2"
    ]
    with Index(tmp_path / "idx", encoder=fake_encoder) as index:
        ids = sorted(d.doc_id for d in index.store.documents())
    assert ids == [f"{data}#a1", f"{data}:2"]


def test_a_record_id_equal_to_another_files_path_loses_neither(tmp_path, fake_encoder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    article = corpus / "z-article.txt"
    article.write_text("Article headline\n\nThe article about the Araz river crossing.\n")
    hostile = json.dumps({"id": str(article), "text": "A record about something else."})
    (corpus / "a.jsonl").write_text(hostile + "\n")
    report = IndexWriter(tmp_path / "idx", encoder=fake_encoder).build([str(corpus)])
    assert report.documents == 2
    with Index(tmp_path / "idx", encoder=fake_encoder) as index:
        assert index.search("Araz river crossing", k=1)[0].passage.source == str(article)
        sources = sorted(d.source for d in index.store.documents())
    assert sources == [str(corpus / "a.jsonl"), str(article)]
    assert verify_index(tmp_path / "idx", encoder=fake_encoder).ok


def test_a_path_that_spells_a_namespaced_id_is_renamed_not_dropped(tmp_path, fake_encoder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.jsonl").write_text(json.dumps({"id": "x.txt", "text": "The record."}) + "\n")
    spelled = corpus / "a.jsonl#x.txt"  # its path is the record's namespaced id
    spelled.write_text("A file\n\nWhose name spells the record's id.\n")
    report = IndexWriter(tmp_path / "idx", encoder=fake_encoder).build([str(corpus)])
    assert report.documents == 2
    assert [w.reason for w in report.warnings] == [
        f"{spelled}: the document id '{spelled}' is also one in {corpus / 'a.jsonl'};"
        f" this one's id is '{spelled}~2'"
    ]
    with Index(tmp_path / "idx", encoder=fake_encoder) as index:
        assert index.search("name spells the record", k=1)[0].passage.doc_id == f"{spelled}~2"
    assert verify_index(tmp_path / "idx", encoder=fake_encoder).ok
