"""A build streams: what it holds at once does not grow with the corpus; its progress
tells the time left from tokens and names the file at hand; Ctrl-C says what was kept.
"""

from __future__ import annotations

import gc
import io
import json

import numpy as np
import pytest

from assistant import IndexWriter, WriteInterrupted
from assistant.indexing import stream
from assistant.indexing.plan import PendingPassage
from assistant.storage import layout
from assistant.storage.vectors import ArrayFile
from assistant.types import SourceDocument

from .fakes import FakeEncoder


def write_articles(folder, files: int, paragraphs: int = 5) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(files):
        body = [
            f"Paragraph {j} of article {number} says the ferry {number * 7 + j} left the"
            f" harbour of Aktau on time, and the port authority {j} counted cargo."
            for j in range(paragraphs)
        ]
        (folder / f"a{number:04d}.txt").write_text(f"Article {number}\n\n" + "\n\n".join(body))


class CountingEncoder(FakeEncoder):
    """Counts, at each encode, the passages and documents alive in the process."""

    def __init__(self) -> None:
        super().__init__()
        self.alive: list[tuple[int, int]] = []

    def encode(self, texts):
        gc.collect()
        objects = gc.get_objects()
        passages = sum(1 for o in objects if type(o) is PendingPassage)
        documents = sum(1 for o in objects if type(o) is SourceDocument)
        self.alive.append((passages, documents))
        return super().encode(texts)


@pytest.mark.parametrize("files", [8, 40])
def test_a_build_holds_one_part_whatever_the_corpus(tmp_path, monkeypatch, files):
    """Issue 25: every passage, vector and statement was held until one batch went to
    the store. Now a part: with parts of 12 passages, no more than a part and one
    document's passages (6: a title line and five paragraphs) are alive at any encode,
    for 48 passages as for 240."""
    monkeypatch.setattr(stream, "PART_PASSAGES", 12)
    write_articles(tmp_path / "docs", files)
    encoder = CountingEncoder()
    report = IndexWriter(tmp_path / "index", encoder=encoder).build([str(tmp_path / "docs")])
    assert report.passages == files * 5 and report.passages_embedded == files * 5
    assert len(encoder.alive) >= files * 5 // 18  # one encode per part at least
    assert max(passages for passages, _ in encoder.alive) <= 12 + 6
    assert max(documents for _, documents in encoder.alive) <= 12 // 6 + 2


def test_parts_keep_ids_and_vectors_in_order(tmp_path, monkeypatch, fake_encoder):
    """A build in parts of 7 passages stores what a build in one part stores."""
    write_articles(tmp_path / "docs", 9)
    one = IndexWriter(tmp_path / "one", encoder=fake_encoder).build([str(tmp_path / "docs")])
    monkeypatch.setattr(stream, "PART_PASSAGES", 7)
    parts = IndexWriter(tmp_path / "parts", encoder=fake_encoder).build([str(tmp_path / "docs")])
    assert (one.documents, one.passages) == (parts.documents, parts.passages)
    from assistant.storage.local import StoredIndex

    first, second = StoredIndex(tmp_path / "one"), StoredIndex(tmp_path / "parts")
    try:
        query = "SELECT id, doc_id, text, vector_row, sentence_row FROM passages ORDER BY id"
        assert first.db.execute(query).fetchall() == second.db.execute(query).fetchall()
        np.testing.assert_allclose(np.asarray(first.raw_vectors), np.asarray(second.raw_vectors))
        np.testing.assert_allclose(
            np.asarray(first.sentence_vectors, np.float32),
            np.asarray(second.sentence_vectors, np.float32),
        )
    finally:
        first.close()
        second.close()


def test_an_array_file_is_what_numpy_saves(tmp_path):
    rows = np.arange(3 * 384, dtype=np.float32).reshape(3, 384)
    appended = ArrayFile(tmp_path / "a.npy", 384, np.float32)
    appended.append(rows[:2])
    appended.append(rows[2:])
    appended.append(np.zeros((0, 384)))
    appended.close()
    saved = io.BytesIO()
    np.save(saved, rows)
    assert (tmp_path / "a.npy").read_bytes() == saved.getvalue()


# -- progress ------------------------------------------------------------------------------


def test_time_left_comes_from_tokens_not_passages():
    """Issue 25: "about 6 min left" became 37 min, as short passages went first. With
    the work in tokens told, a quarter of the passages that are a tenth of the tokens
    leave nine times the time spent."""
    from assistant.frontends.render import ProgressFigures

    now = [100.0]
    figures = ProgressFigures(clock=lambda: now[0])
    figures.detail(current="docs/a.txt")
    figures.update("reading", 1, 2)
    figures.detail(work=(0, 50_000))
    figures.update("embedding", 0, 1_000)
    now[0] += 60
    figures.detail(current="docs/long-report.txt", work=(5_000, 50_000))
    figures.update("embedding", 250, 1_000)
    assert figures.line() == (
        "Embedding 250 of 1,000 passages · 4.2/s · about 9 min 00 s left · long-report.txt"
    )
    assert figures.fraction == 0.1
    figures.detail(work=(50_000, 50_000))
    figures.update("embedding", 1_000, 1_000)
    assert figures.line() == "Embedding 1,000 of 1,000 passages · 17/s"


class Recorder:
    """A progress callback with details, as the CLI's line is."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []
        self.details: dict = {}

    def detail(self, current=None, work=None) -> None:
        self.details = {"current": current, "work": work}

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.calls.append(
            (stage, done, total, self.details.get("current"), self.details.get("work"))
        )
        self.details = {}


def test_a_build_tells_the_file_at_hand_and_the_tokens(tmp_path, monkeypatch, fake_encoder):
    monkeypatch.setattr(stream, "PART_PASSAGES", 10)
    write_articles(tmp_path / "docs", 6)
    progress = Recorder()
    IndexWriter(tmp_path / "index", encoder=fake_encoder).build([str(tmp_path / "docs")], progress)
    reading = [call for call in progress.calls if call[0] == "reading"]
    assert [call[3].rsplit("/", 1)[-1] for call in reading] == [f"a{n:04d}.txt" for n in range(6)]
    embedding = [call for call in progress.calls if call[0] == "embedding"]
    assert embedding[0][1:3] == (0, 30) and embedding[-1][1:3] == (30, 30)
    works = [call[4] for call in embedding]
    total = works[0][1]
    assert total > 30 and works[-1] == (total, total)
    assert [w[0] for w in works] == sorted(w[0] for w in works)  # tokens only go forward
    assert [call[0] for call in progress.calls][-2:] == ["writing", "writing"]


# -- Ctrl-C --------------------------------------------------------------------------------


def interrupting(encoder, after: int = 0):
    calls = [0]
    real = encoder.encode

    def encode(texts):
        calls[0] += 1
        if calls[0] > after:
            raise KeyboardInterrupt
        return real(texts)

    return encode


def test_ctrl_c_during_an_update_keeps_the_index_and_says_so(
    cli, fake_model, index_copy, monkeypatch
):
    before = sorted(p.name for p in index_copy.iterdir())
    manifest = (index_copy / "manifest.json").read_bytes()
    docs = layout.read_manifest(index_copy).roots[0]["path"]
    with open(f"{docs}/new.txt", "w") as handle:
        handle.write("Harbour news\n\nThe ferry to Aktau sailed on time today.\n")
    monkeypatch.setattr(fake_model, "encode", interrupting(fake_model))
    result = cli("index", "update", "--index", index_copy)
    assert result.exit_code == 130
    assert result.stderr == (
        f"interrupted: nothing of this write was kept; the index at {index_copy}"
        " is as it was (2 documents)\n"
    )
    assert (index_copy / "manifest.json").read_bytes() == manifest
    assert sorted(p.name for p in index_copy.iterdir()) == before  # no partial, no spool
    monkeypatch.undo()
    assert json.loads(manifest)["documents"] == 2


def test_ctrl_c_during_a_first_build_leaves_no_index(cli, fake_model, tmp_path, monkeypatch):
    write_articles(tmp_path / "docs", 2)
    monkeypatch.setattr(fake_model, "encode", interrupting(fake_model))
    result = cli("index", "build", tmp_path / "docs", "--index", tmp_path / "index")
    assert result.exit_code == 130
    assert result.stderr == (
        f"interrupted: nothing was written; there is no index at {tmp_path / 'index'}\n"
    )
    assert not (tmp_path / "index").exists()


def test_the_library_raises_a_keyboard_interrupt_that_says_what_was_kept(
    index_copy, fake_encoder, monkeypatch
):
    monkeypatch.setattr(stream, "PART_PASSAGES", 1)
    monkeypatch.setattr(fake_encoder, "encode", interrupting(fake_encoder, after=1))
    docs = layout.read_manifest(index_copy).roots[0]["path"]
    with pytest.raises(KeyboardInterrupt) as raised:
        IndexWriter(index_copy, encoder=fake_encoder).build([docs])
    assert isinstance(raised.value, WriteInterrupted)
    assert "is as it was (2 documents)" in str(raised.value)
