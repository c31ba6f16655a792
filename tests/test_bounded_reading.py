"""Bounded reading of files: zip members (DOCX parts, EPUB chapters) inflated within
their limits whatever the zip declares, each EPUB chapter read once, extracted text
bounded, token counting in windows. A file over a limit is one ``skipped:`` line and
the rest of the write goes on. Peak memory is measured in a child process (its own
``ru_maxrss``), never time. The bombs are made by tests/bombs.py, small on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import IndexWriter
from assistant.ingest import limits
from assistant.ingest.sources import SourceFile, load_documents

from . import bombs

GIB = 1024 * bombs.MIB
GOOD_TEXT = "Harbour plan\n\nThe council approved the harbour plan on Tuesday.\n"


def _load(path: Path, problems: list[str] | None = None):
    return load_documents(SourceFile(str(path), path), problems)[0]


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text(GOOD_TEXT)
    return corpus


# -- DOCX -----------------------------------------------------------------------------------


def test_a_docx_part_over_the_member_limit_is_skipped_and_the_good_file_goes_in(
    tmp_path, fake_encoder
):
    corpus = _corpus(tmp_path)
    bombs.write_docx_bomb(corpus / "bomb.docx", 20 * bombs.MIB)  # over 16 MiB, 90 KB on disk
    report = IndexWriter(tmp_path / "idx", fake_encoder).build([corpus])
    assert [s.reason for s in report.skipped] == [
        f"{corpus / 'bomb.docx'}: word/document.xml unpacks to more than 16 MiB"
        " (the limit for one member)"
    ]
    assert report.files_embedded == [str(corpus / "good.txt")]


def test_the_cli_says_skipped_for_the_docx_bomb_and_writes_the_index(cli, fake_model, tmp_path):
    corpus = _corpus(tmp_path)
    bombs.write_docx_bomb(corpus / "bomb.docx", 20 * bombs.MIB)
    result = cli("index", "build", str(corpus), "--index", str(tmp_path / "idx"))
    assert result.exit_code == 0, result.output
    assert (
        f"skipped: {corpus / 'bomb.docx'}: word/document.xml unpacks to more than 16 MiB"
        " (the limit for one member)"
    ) in result.stderr.splitlines()


def test_a_docx_member_that_lies_about_its_size_is_refused(tmp_path):
    bomb = tmp_path / "lies.docx"
    bombs.write_docx_bomb(bomb, 256 * 1024, declared=1000)
    with pytest.raises(Exception, match=r"holds 26\d,\d{3} bytes but declares 1,000"):
        _load(bomb)


def test_a_sound_docx_still_reads(tmp_path):
    path = tmp_path / "report.docx"
    bombs.write_docx(path, ["Quarterly report", "Sales rose by a tenth in the north."])
    assert _load(path).text == "Quarterly report\n\nSales rose by a tenth in the north."


def test_all_the_parts_of_an_archive_together_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ARCHIVE_BYTES", 64 * 1024)
    path = tmp_path / "many.docx"
    filler = [bombs.member(f"customXml/item{n}.xml", b"<a/>" * 5000) for n in range(5)]
    bombs.write_zip(path, bombs.docx_members(["x"]) + filler)
    with pytest.raises(
        Exception, match=r"unpacks to more than 64 KiB \(the limit for one archive\)"
    ):
        _load(path)


def test_a_zip_listing_too_many_members_is_refused_before_its_directory_is_read(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(limits, "MAX_ARCHIVE_MEMBERS", 50)
    path = tmp_path / "crowded.epub"
    bombs.write_zip(path, [bombs.member(f"f{n}", b"x") for n in range(60)])
    with pytest.raises(Exception, match="lists 60 members or more"):
        _load(path)


# -- EPUB -----------------------------------------------------------------------------------


def test_a_chapter_named_400_times_under_other_spellings_is_read_once(tmp_path):
    chapter = bombs.chapter_html(["The lighthouse keeper logged every passing ship."])
    hrefs = bombs.spellings("chapter.xhtml", 400)
    assert len(set(hrefs)) == 400 and "c%68apter.xhtml" in hrefs
    path = tmp_path / "spine.epub"
    bombs.write_epub(path, {"chapter.xhtml": chapter.encode()}, hrefs)
    document = _load(path)
    assert document.text == "The lighthouse keeper logged every passing ship."
    assert [c.path for c in document.chapters] == ["OEBPS/chapter.xhtml"]


def test_an_epub_chapter_over_the_member_limit_is_skipped(tmp_path, fake_encoder):
    corpus = _corpus(tmp_path)
    bomb = bombs.chapter_bomb("c.xhtml", 20 * bombs.MIB)
    bombs.write_epub(corpus / "bomb.epub", {"c.xhtml": bomb}, ["c.xhtml"])
    report = IndexWriter(tmp_path / "idx", fake_encoder).build([corpus])
    assert [s.reason for s in report.skipped] == [
        f"{corpus / 'bomb.epub'}: OEBPS/c.xhtml unpacks to more than 16 MiB"
        " (the limit for one member)"
    ]
    assert report.files_embedded == [str(corpus / "good.txt")]


def test_a_book_whose_text_passes_the_limit_is_skipped_saying_so(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_TEXT_CHARS", 10_000)
    chapters = {
        f"c{n}.xhtml": bombs.chapter_html(
            [f"Paragraph {n}.{k} " + "word " * 60 for k in range(10)]
        ).encode()
        for n in range(5)
    }
    path = tmp_path / "long.epub"
    bombs.write_epub(path, chapters, list(chapters))
    with pytest.raises(Exception) as raised:
        _load(path)
    assert str(raised.value) == (
        f"{path}: its text is over the 10,000-character limit (reading stopped there)"
    )


def test_a_missing_chapter_costs_that_chapter_only_in_a_build(tmp_path, fake_encoder):
    corpus = _corpus(tmp_path)
    chapters = {
        "a.xhtml": bombs.chapter_html(["The first chapter is here."]).encode(),
        "c.xhtml": bombs.chapter_html(["The third chapter is here."]).encode(),
    }
    bombs.write_epub(corpus / "book.epub", chapters, ["a.xhtml", "b.xhtml", "c.xhtml"])
    report = IndexWriter(tmp_path / "idx", fake_encoder).build([corpus])
    assert str(corpus / "book.epub") in report.files_embedded
    assert [w.reason for w in report.warnings] == [
        f"{corpus / 'book.epub'}: the chapter OEBPS/b.xhtml is not in the book; skipped"
    ]


# -- token counting -------------------------------------------------------------------------


def test_token_counting_never_hands_the_tokenizer_more_than_a_window(monkeypatch):
    from assistant import embeddings

    real = embeddings._tokenizer()
    seen: list[int] = []

    class Spy:
        def encode(self, text, **options):
            seen.append(len(text))
            return real.encode(text, **options)

    monkeypatch.setattr(embeddings, "_tokenizer", lambda: Spy())
    paragraph = "The council met on Tuesday and approved the harbour plan. " * 20_000
    assert embeddings.count_tokens(paragraph) >= embeddings.MAX_SEQ_LENGTH
    assert max(seen) <= limits.TOKEN_WINDOW_CHARS
    short = "The council met on Tuesday."
    assert embeddings.count_tokens(short) == len(real.encode(short, add_special_tokens=False).ids)


def test_window_counts_add_up_to_the_whole():
    from assistant.embeddings import count_tokens, text_windows

    text = "Ships pass the lighthouse at dawn, and the keeper logs each one. " * 3
    spans = list(text_windows(text, 50))
    assert "".join(text[s:e] for s, e in spans) == text
    assert all(e - s <= 50 for s, e in spans)
    assert sum(count_tokens(text[s:e]) for s, e in spans) == count_tokens(text)


# -- peak memory, in a child process ---------------------------------------------------------


def test_peak_memory_of_the_bombs_stays_under_a_gib(tmp_path):
    """A DOCX whose document.xml unpacks to 2 GiB (7 MB on disk) beside a good file,
    an EPUB member that declares 1 KiB and holds 1.5 GiB, and an 8 MiB chapter named
    400 times in the spine: each under 1 GiB at its peak, the good file indexed."""
    code = f"""
import sys
from pathlib import Path
from tests import bombs
from tests.fakes import FakeEncoder
from assistant import IndexWriter
from assistant.ingest.sources import SourceFile, load_documents
root = Path({str(tmp_path)!r})
corpus = root / "corpus"
corpus.mkdir()
(corpus / "good.txt").write_text({GOOD_TEXT!r})
bombs.write_docx_bomb(corpus / "bomb.docx", 2 * 1024 ** 3)
lies = bombs.chapter_bomb("c.xhtml", 1536 * 1024 ** 2, declared=1024)
bombs.write_epub(corpus / "lies.epub", {{"c.xhtml": lies}}, ["c.xhtml"])
report = IndexWriter(root / "idx", FakeEncoder()).build([corpus])
spine = root / "spine.epub"
bombs.write_epub(spine, {{"c.xhtml": bombs.chapter_bomb("c.xhtml", 8 * 1024 ** 2)}},
                 bombs.spellings("c.xhtml", 400))
text = load_documents(SourceFile(str(spine), spine))[0].text
result = {{"skipped": [s.reason for s in report.skipped], "embedded": report.files_embedded,
          "docx_bytes": (corpus / "bomb.docx").stat().st_size, "spine_chars": len(text)}}
"""
    peak, result = bombs.peak_mib(code)
    print(f"peak {peak} MiB; {result}")
    assert peak < 1024
    assert result["embedded"] == [str(tmp_path / "corpus" / "good.txt")]
    assert len(result["skipped"]) == 2
    assert "word/document.xml unpacks to more than 16 MiB" in result["skipped"][0]
    assert "OEBPS/c.xhtml unpacks to more than 16 MiB" in result["skipped"][1]
    assert result["spine_chars"] < 8 * bombs.MIB  # read once, not 400 times


def test_peak_memory_of_a_huge_paragraph_stays_under_a_gib():
    """Counting the tokens of a 12 MiB paragraph, then splitting a 1 MiB one: encoded
    whole, the first alone cost about 140 bytes per character."""
    code = """
from assistant import embeddings
from assistant.ingest.chunks import split_document
from assistant.types import SourceDocument
sentence = "The council met on Tuesday and approved the harbour plan after a debate. "
count = embeddings.count_tokens(sentence * (12 * 1024 * 1024 // len(sentence)))
text = "Title\\n\\n" + sentence * (1024 * 1024 // len(sentence))
chunks = split_document(SourceDocument(doc_id="x", source="x", text=text), embeddings.count_tokens)
result = {"count": count, "chunks": len(chunks)}
"""
    peak, result = bombs.peak_mib(code)
    print(f"peak {peak} MiB; {result}")
    assert peak < 1024
    assert result["count"] >= 256 and result["chunks"] > 500
