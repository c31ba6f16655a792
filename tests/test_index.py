"""Index files, build and update: the real model where the test is about its vectors or
ranking (marked ``model``), the fake encoder elsewhere."""

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from assistant import Index, IndexLockedError, IndexNotFoundError, IndexWriter
from assistant.ingest.chunks import CHUNKING_VERSION
from assistant.storage.layout import SCHEMA_VERSION, write_lock

from .conftest import SEEDS


@pytest.mark.model
def test_index_directory_holds_plain_versioned_files(seeds_index_dir):
    manifest = json.loads((seeds_index_dir / "manifest.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["dimension"] == 384
    assert len(manifest["files"]) == 5
    for entry in manifest["files"].values():
        assert len(entry["sha256"]) == 64
    generation = seeds_index_dir / manifest["generation"]
    names = ["passages.sqlite", "sentences.npy", "vectors.faiss", "vectors.npy"]
    assert sorted(p.name for p in generation.iterdir()) == names
    assert sorted(manifest["artifacts"]) == names
    assert manifest["vector_index"] == "flat"
    raw = np.load(generation / "vectors.npy")
    assert raw.shape == (manifest["vectors"], 384) and raw.dtype == np.float32
    db = sqlite3.connect(generation / "passages.sqlite")
    assert db.execute("SELECT count(*) FROM documents").fetchone()[0] == 5
    citable = db.execute("SELECT count(*) FROM passages WHERE is_boilerplate = 0").fetchone()[0]
    assert citable == manifest["vectors"]
    # One float16 vector per sentence of each citable passage, in passage order.
    spans = db.execute("SELECT sentences FROM passages WHERE is_boilerplate = 0 ORDER BY id")
    sentence_count = sum(len(json.loads(row[0])) for row in spans)
    sentences = np.load(generation / "sentences.npy")
    assert sentences.shape == (sentence_count, 384) and sentences.dtype == np.float16


@pytest.mark.model
def test_search_finds_both_132_km_passages(seeds_index):
    hits = seeds_index.search("132-km", k=5)
    sources = {h.passage.source.split("/")[-1][:3] for h in hits[:2]}
    assert sources == {"002", "004"}


def test_passages_match_their_files(fake_seeds_index):
    for document in fake_seeds_index.store.documents():
        raw = Path(document.source).read_text(encoding="utf-8")
        for passage in fake_seeds_index.store.document_passages(document.doc_id):
            assert raw[passage.start : passage.end] == passage.text


def test_open_missing_index_raises(tmp_path):
    with pytest.raises(IndexNotFoundError, match="no index at"):
        Index(tmp_path / "nothing")


@pytest.fixture
def corpus(tmp_path):
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target)
    return target


@pytest.mark.model
def test_the_paragraph_with_every_word_of_the_question_comes_first(corpus, tmp_path):
    # Two short paragraphs share two rare words; only one holds all of the question's.
    # Whole-document BM25 slightly favours the other one's article, and the title in
    # front of each passage vector dilutes a one-sentence paragraph: neither may
    # outweigh the paragraph's own match (weights chosen with this in mind).
    for name, line in (
        ("003_*.txt", "The Zanzibarian delegation arrived late to the talks."),
        ("001_*.txt", "Round 2 of Zanzibarian talks ended."),
    ):
        path = next(corpus.glob(name))
        path.write_text(path.read_text() + f"\n\n{line}\n")
    IndexWriter(tmp_path / "idx").build([str(corpus)])
    with Index(tmp_path / "idx") as index:
        hits = index.search("Round 2 of Zanzibarian talks", k=2)
    assert [h.passage.text for h in hits] == [
        "Round 2 of Zanzibarian talks ended.",
        "The Zanzibarian delegation arrived late to the talks.",
    ]


def test_an_index_split_under_older_rules_is_split_again_on_update(corpus, tmp_path, fake_encoder):
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir, encoder=fake_encoder).build([str(corpus)])
    manifest_file = index_dir / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    assert manifest["chunking"] == CHUNKING_VERSION
    # As written before the field existed: its passages may differ from today's.
    del manifest["chunking"]
    manifest_file.write_text(json.dumps(manifest))

    report = IndexWriter(index_dir, encoder=fake_encoder).update()
    assert report.files_unchanged == 0
    assert len(report.files_embedded) == 5
    assert json.loads(manifest_file.read_text())["chunking"] == CHUNKING_VERSION
    assert (
        IndexWriter(index_dir, encoder=fake_encoder).update().files_embedded == []
    )  # and once is enough


def test_update_embeds_only_the_changed_file(corpus, tmp_path, fake_encoder):
    index_dir = tmp_path / "idx"
    first = IndexWriter(index_dir, encoder=fake_encoder).build([str(corpus)])
    assert first.passages_embedded == 66

    unchanged = IndexWriter(index_dir, encoder=fake_encoder).update()
    assert unchanged.passages_embedded == 0
    assert unchanged.files_embedded == []

    changed = corpus / "003_21da03cd2454991e.txt"
    changed.write_text(
        changed.read_text() + "\n\nA brand new paragraph about the Araz river crossing.\n"
    )
    report = IndexWriter(index_dir, encoder=fake_encoder).update()
    assert report.files_embedded == [str(corpus / "003_21da03cd2454991e.txt")]
    assert report.files_unchanged == 4
    # Only 003's citable paragraphs (15 before, one added) were embedded again.
    assert report.passages_embedded == 16
    assert report.passages_reused == 66 - 15

    index = Index(index_dir, encoder=fake_encoder)
    hits = index.search("Araz river crossing", k=1)
    assert hits[0].passage.text == "A brand new paragraph about the Araz river crossing."
    # Reused vectors still find their passages.
    assert "132" in index.search("132-km stretch of the border", k=1)[0].passage.text

    (corpus / "000_f0d5414df3fb8dd7.txt").unlink()
    removed = IndexWriter(index_dir, encoder=fake_encoder).update()
    assert removed.files_removed == [str(corpus / "000_f0d5414df3fb8dd7.txt")]
    assert removed.passages_embedded == 0
    assert removed.documents == 4

    generations = [p for p in index_dir.iterdir() if p.name.startswith("gen-")]
    assert len(generations) == 1, "old generations are removed after the switch"


def test_status_reports_changed_and_new_files(corpus, tmp_path, fake_encoder):
    index_dir = tmp_path / "idx"
    IndexWriter(index_dir, encoder=fake_encoder).build([str(corpus)])
    index = Index(index_dir, encoder=fake_encoder)
    assert index.status().stale == []
    (corpus / "001_fb11ed987d6b83fc.txt").write_text("Rewritten.\n")
    (corpus / "new.txt").write_text("New file.\n")
    status = index.status()
    assert status.stale == [str(corpus / "001_fb11ed987d6b83fc.txt")]
    assert status.new == [str((corpus / "new.txt").resolve())]
    assert status.documents == 5


def test_a_second_writer_is_refused(tmp_path):
    index_dir = tmp_path / "idx"
    with write_lock(index_dir), pytest.raises(IndexLockedError, match="another process"):
        IndexWriter(index_dir).build([str(SEEDS)])


def test_unreadable_files_are_skipped_and_the_rest_indexed(tmp_path, fake_encoder):
    corpus = tmp_path / "mixed"
    corpus.mkdir()
    (corpus / "good.txt").write_text(
        "A Good Headline\n\nThe good paragraph about border posts and rivers.\n"
    )
    (corpus / "bad.txt").write_bytes(b"caf\xe9")
    (corpus / "empty.txt").write_text("")
    report = IndexWriter(tmp_path / "idx", encoder=fake_encoder).build([str(corpus)])
    assert [s.source for s in report.skipped] == [str(corpus / n) for n in ("bad.txt", "empty.txt")]
    assert report.skipped[1].reason.endswith("empty.txt: no text")
    assert report.documents == 1
    assert report.passages == 1


def test_large_indexes_use_ivf_and_keep_recall(monkeypatch):
    """Above the exact-search limit the vectors go into IVF with 8-bit codes; the
    full-precision copy re-ranks candidates, so the top results match exact search."""
    from assistant.storage import vectors as vector_files

    monkeypatch.setattr(vector_files, "EXACT_SEARCH_LIMIT", 1_000)
    rng = np.random.default_rng(7)
    centers = rng.standard_normal((40, 384)).astype(np.float32)
    vectors = centers[rng.integers(0, 40, 20_000)] + 0.35 * rng.standard_normal((20_000, 384))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    index, kind = vector_files.make_vector_index(vectors)
    assert kind == f"ivf{vector_files.ivf_list_count(20_000)},sq8"

    # The search structure and its full-precision copy, as a generation holds them.
    view = vector_files.VectorFiles(index, vectors)
    assert view._ivf.nprobe == vector_files.probe_count(view._ivf.nlist)
    queries = vectors[rng.integers(0, 20_000, 50)] + 0.1 * rng.standard_normal((50, 384))
    found = 0
    for query in queries.astype(np.float32):
        exact = set(np.argsort(-(vectors @ query))[:10].tolist())
        found += len(exact & {row for row, _ in view.search(query, 10)})
    assert found / 500 >= 0.95
