import json

import pytest

from assistant.errors import SourceNotFoundError
from assistant.ingest.sources import UnreadableSource, find_source_files, load_documents


def test_walks_directories_in_order_skips_hidden_and_reports_unknown(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "z.md").write_text("z")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / ".hidden.txt").write_text("h")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    found = [(f.source, f.problem) for f in find_source_files([str(tmp_path)])]
    png = str(tmp_path / "image.png")
    assert found == [
        (str(tmp_path / "a.txt"), None),
        (png, f"{png}: unsupported type (.png)"),  # reported and skipped, not read
        (str(tmp_path / "b" / "z.md"), None),
    ]


def test_symlink_loop_does_not_hang(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("a")
    (tmp_path / "d" / "loop").symlink_to(tmp_path / "d")
    assert [f.path.name for f in find_source_files([str(tmp_path)])] == ["a.txt"]


def test_missing_path_is_an_error():
    with pytest.raises(SourceNotFoundError, match="no such file or directory: nowhere"):
        list(find_source_files(["nowhere"]))


def test_bom_is_removed_and_line_endings_kept(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfHeadline Here\r\n\r\nBody text.\r\n")
    (doc,) = load_documents(next(find_source_files([str(path)])))
    assert doc.text == "Headline Here\r\n\r\nBody text.\r\n"
    assert doc.title == "Headline Here"


def test_invalid_utf8_and_binary_are_reported(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9 au lait")
    with pytest.raises(UnreadableSource, match="not valid UTF-8"):
        load_documents(next(find_source_files([str(bad)])))
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01\x02" * 10)
    with pytest.raises(UnreadableSource, match="binary"):
        load_documents(next(find_source_files([str(binary)])))


def test_html_keeps_main_text_only(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        """<html><head><title>Page</title><meta property="og:site_name" content="Example News">
        <meta property="article:published_time" content="2023-04-02T09:24:00Z"></head><body>
        <nav><a href="/">Home</a> <a href="/world">World news section</a></nav>
        <article><h1>Azerbaijan rejects accusation</h1>
        <p>Azerbaijan has condemned and rejected accusations by a senior Iranian commander.</p>
        <p>A statement issued on Thursday by the Defence Ministry rejected the remarks.</p>
        </article>
        <aside><h3>Related</h3><ul><li><a href="/x">Unrelated teaser story one</a></li></ul></aside>
        </body></html>"""
    )
    (doc,) = load_documents(next(find_source_files([str(page)])))
    assert "Azerbaijan has condemned" in doc.text
    assert "Defence Ministry rejected" in doc.text
    assert "World news section" not in doc.text
    assert "Unrelated teaser" not in doc.text
    assert doc.outlet == "Example News"
    assert doc.published == "2023-04-02"
    assert doc.title == "Azerbaijan rejects accusation"


def test_jsonl_records_become_documents(tmp_path):
    path = tmp_path / "corpus.jsonl"
    records = [
        {"_id": "d1", "title": "One", "text": "First text.", "published": "2021-10-03"},
        {"id": 7, "title": "Two", "text": "Second text.", "source": "Wire", "url": "https://x"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    docs = load_documents(next(find_source_files([str(path)])))
    # Record ids are namespaced by their file: never another file's path or record.
    assert [(d.doc_id, d.title, d.text, d.outlet, d.published) for d in docs] == [
        (f"{path}#d1", "One", "First text.", None, "2021-10-03"),
        (f"{path}#7", "Two", "Second text.", "Wire", None),
    ]
    assert all(d.source == str(path) for d in docs)


def test_jsonl_with_a_broken_line_is_reported(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"_id": "a", "text": "ok"}\n{not json\n')
    with pytest.raises(UnreadableSource, match=r"broken\.jsonl:2: invalid JSON"):
        load_documents(next(find_source_files([str(path)])))
