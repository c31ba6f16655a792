"""The Milvus backend against a real Milvus Lite (a file in a temporary directory).

One Milvus Lite per module: starting it and copying the seeds index into it takes
about 3 s here; every test reads that copy or writes collections of its own.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

pytest.importorskip("pymilvus")

from assistant.errors import (
    IndexCorruptError,
    IndexIncompatibleError,
    IndexNotFoundError,
    UsageError,
)
from assistant.filters import SearchFilter
from assistant.indexing.plan import model_spec
from assistant.storage.milvus import connection
from assistant.storage.milvus import reader as milvus_reader
from assistant.storage.milvus import writer as mw
from assistant.text import keywords


@pytest.fixture(scope="module")
def milvus(tmp_path_factory, seeds_index):
    """(client, target, reader of the seeds copy, seconds to start, seconds to copy)."""
    target = connection.parse_store_uri(f"milvus:{tmp_path_factory.mktemp('milvus')}/store.db")
    started = time.perf_counter()
    client = connection.connect(target)
    startup = time.perf_counter() - started
    started = time.perf_counter()
    mw.copy_local_index(seeds_index.store, mw.MilvusWriter(client, "seeds", target))
    copy = time.perf_counter() - started
    reader = milvus_reader.MilvusReader(client, "seeds", target)
    yield client, target, reader, startup, copy
    client.close()


def local_dense(store, vector, k=10, restriction=None) -> list[tuple[int, float]]:
    """The local FAISS result as (passage id, cosine)."""
    found = store.dense_search(vector, k, restriction)
    by_row = store.passages_for_vector_rows([row for row, _ in found])
    return [(by_row[row].passage_id, score) for row, score in found]


def assert_same_ranking(got, expected, tolerance=1e-5):
    """Same ids in the same order, except that passages whose cosines tie (within
    ``tolerance``) may come in either order."""
    assert len(got) == len(expected)
    assert np.allclose([s for _, s in got], [s for _, s in expected], atol=tolerance)
    for position, ((_, score), (_, _)) in enumerate(zip(got, expected, strict=True)):
        tied = {pid for pid, s in expected if abs(s - score) <= tolerance}
        assert got[position][0] in tied, (position, got, expected)


def test_store_uris_and_the_token(monkeypatch, tmp_path):
    lite = connection.parse_store_uri("milvus:~/idx.db", environ={})
    assert lite.lite and lite.uri.endswith("/idx.db") and not lite.uri.startswith("~")
    server = connection.parse_store_uri("milvus://10.0.0.5:19530", environ={})
    assert (server.uri, server.lite, server.token) == ("http://10.0.0.5:19530", False, None)
    cloud = connection.parse_store_uri(
        "https://in03-x.api.gcp-us-west1.zillizcloud.com",
        environ={connection.TOKEN_ENVIRONMENT: "user:secret"},
    )
    assert cloud.uri.startswith("https://") and cloud.token == "user:secret"
    config = tmp_path / "config.toml"
    config.write_text('[milvus]\ntoken = "from-file"\n')
    environ = {"ASSISTANT_CONFIG": str(config)}  # the settings' environment names the file
    assert connection.parse_store_uri("milvus://h:1", environ=environ).token == "from-file"
    for bad in ("milvus:store.sqlite", "milvus://nohost", "milvus://h:port", "redis://h:1", ""):
        with pytest.raises(UsageError):
            connection.parse_store_uri(bad, environ={})


def test_a_copy_of_the_seeds_has_every_row_and_verifies(milvus, seeds_index):
    client, target, _, startup, copy = milvus
    store = seeds_index.store
    manifest = store.manifest
    facts = milvus_reader.verify(client, "seeds", target)
    every = [p for d in store.documents() for p in store.document_passages(d.doc_id)]
    assert (facts["documents"], facts["passages"], facts["vectors"]) == (
        manifest.documents,
        len(every),
        manifest.vectors,
    )
    from assistant.storage.base import ReadStore

    assert isinstance(milvus_reader.MilvusReader(client, "seeds", target), ReadStore)
    status = milvus_reader.status(client, "seeds", target)
    assert status["model"] == manifest.model and status["dimension"] == manifest.dimension
    print(f"Milvus Lite: started in {startup:.2f} s, seeds copied in {copy:.2f} s")


def test_dense_top10_equals_local_faiss(milvus, seeds_index, dev_questions):
    _, _, reader, _, _ = milvus
    store = seeds_index.store
    vectors = seeds_index.retriever.embed([q["q"] for q in dev_questions])
    for vector in vectors:
        assert_same_ranking(reader.dense_search(vector, 10), local_dense(store, vector))


def test_bm25_meets_132_kilometres_for_132_km(milvus, seeds_index):
    _, _, reader, _, _ = milvus
    match = keywords.fts_query(keywords.content_terms("the 132-km border"))
    found = reader.keyword_search(match, 5)
    texts = [p.text for p in reader.passages([pid for pid, _ in found]).values()]
    assert any("132-kilometer" in t or "132-kilometers" in t for t in texts)
    # The two passages that state it come first, as in the local FTS5 index.
    local = seeds_index.store.keyword_search(match, 5)
    assert [pid for pid, _ in found[:2]] == [pid for pid, _ in local[:2]]
    assert all(score > 0 for _, score in found)


@pytest.mark.parametrize(
    "options",
    [
        {"since": "2023-04"},
        {"until": "2022"},
        {"since": "2023-01", "until": "2023-04-02"},
        {"sources": ["middle east monitor"]},
        {"sources": ["seeds/00[1-3]*"]},
        {"sources": ["seeds"]},
        {"sources": ["nothing like it"]},
    ],
    ids=lambda options: "-".join(f"{k}={v}" for k, v in options.items()),
)
def test_filters_allow_what_the_local_filter_allows(milvus, seeds_index, options):
    _, _, reader, _, _ = milvus
    store = seeds_index.store
    search_filter = SearchFilter.parse(**options)
    local_restriction = store.restriction(search_filter)
    allowed = store.passages_for_vector_rows(local_restriction.vector_rows.tolist())
    expected = sorted(p.passage_id for p in allowed.values())
    restriction = reader.restriction(search_filter)
    assert restriction.vector_rows.tolist() == expected
    vector = seeds_index.retriever.embed(["What did Azerbaijan say about the border?"])[0]
    assert_same_ranking(
        reader.dense_search(vector, 10, restriction),
        local_dense(store, vector, 10, local_restriction) if expected else [],
    )
    match = keywords.fts_query(["azerbaijan", "border"])
    assert {pid for pid, _ in reader.keyword_search(match, 50, restriction)} <= set(expected)


def test_engine_hybrid_search_fuses_both_sides(milvus, seeds_index):
    _, _, reader, _, _ = milvus
    vector = seeds_index.retriever.embed(["132-km border"])[0]
    match = keywords.fts_query(keywords.content_terms("132-km border"))
    fused = [pid for pid, _ in reader.hybrid_search(vector, match, 10)]
    dense = [pid for pid, _ in reader.dense_search(vector, 10)]
    bm25 = [pid for pid, _ in reader.keyword_search(match, 10)]
    assert set(fused) <= set(dense) | set(bm25) and fused[0] in (dense[0], bm25[0])


def test_retrieval_runs_on_milvus_unchanged(milvus, seeds_index):
    """retrieval.Retriever and answer.ExtractiveAnswerer take the reader as their
    store; the 132-km question cites the same passage as the local index."""
    from assistant.query.extractive import ExtractiveAnswerer
    from assistant.query.retrieval import Retriever

    _, _, reader, _, _ = milvus
    retriever = Retriever(reader, seeds_index.retriever.encoder)
    question = "What did Azerbaijan say about the 132-km border?"
    answer = ExtractiveAnswerer(reader, retriever).answer(question, max_citations=3)
    local = seeds_index.ask(question)
    assert answer.citations[0].passage == local.citations[0].passage
    assert answer.citations[0].quote == local.citations[0].quote


def one_source(seeds_index, name_part: str):
    for source, sha, documents, passages in mw.records_from_local(seeds_index.store):
        if name_part in source:
            return source, sha, documents, passages
    raise AssertionError(name_part)


def test_a_changed_source_is_deleted_and_written_again(milvus, seeds_index):
    client, target, _, _, _ = milvus
    writer = mw.MilvusWriter(client, "scratch", target)
    writer.create(seeds_index.store.manifest.model, 384, replace=True)
    first = one_source(seeds_index, "002_")
    second = one_source(seeds_index, "004_")
    for source, sha, documents, passages in (first, second):
        writer.write_source(source, sha, documents, passages)
    writer.finish()
    assert writer.source_hashes() == {first[0]: first[1], second[0]: second[1]}

    # The first source changed: its passages go, the new ones get new ids.
    source, _, documents, passages = first
    before = {r["id"] for r in writer.scan(writer.passages_name, f'source == "{source}"', ["id"])}
    kept = passages[: len(passages) // 2]
    ids = writer.write_source(source, "changed-hash", documents, kept)
    manifest = writer.finish()
    after = {r["id"] for r in writer.scan(writer.passages_name, f'source == "{source}"', ["id"])}
    assert after == set(ids.values()) and not (after & before) and len(after) == len(kept)
    assert writer.source_hashes()[source] == "changed-hash"
    assert manifest.passages == len(kept) + len(second[3])
    reader = milvus_reader.MilvusReader(client, "scratch", target)
    moved = reader.passages(sorted(after))
    assert sorted(p.text for p in moved.values()) == sorted(r.passage.text for r in kept)

    writer.delete_source(source)
    manifest = writer.finish()
    assert source not in writer.source_hashes()
    assert manifest.passages == len(second[3]) and manifest.documents == len(second[2])
    assert milvus_reader.verify(client, "scratch", target)["ok"]


def test_missing_collection_mismatch_and_unfinished_write_are_typed_errors(milvus):
    client, target, _, _, _ = milvus
    with pytest.raises(IndexNotFoundError, match="no index 'absent'"):
        milvus_reader.MilvusReader(client, "absent", target)
    with pytest.raises(IndexNotFoundError):
        milvus_reader.verify(client, "absent", target)

    writer = mw.MilvusWriter(client, "other_model", target)
    writer.create("some/other-model", 8, replace=True)
    minilm = model_spec(None)  # what the index is searched with
    with pytest.raises(IndexIncompatibleError, match="some/other-model"):
        milvus_reader.MilvusReader(client, "other_model", target, expected=minilm)
    with pytest.raises(IndexIncompatibleError):
        milvus_reader.verify(client, "other_model", target, minilm)

    writer = mw.MilvusWriter(client, "unfinished", target)
    from assistant.embeddings import DIMENSION, MODEL_NAME

    writer.create(MODEL_NAME, DIMENSION, replace=True)
    writer.client.insert(
        writer.sentences_name,
        [{"id": 0, "passage_id": 0, "position": 0, "source": "x", "vector": [0.0] * DIMENSION}],
    )
    with pytest.raises(IndexCorruptError, match="sentences 1 \\(recorded 0\\)"):
        milvus_reader.verify(client, "unfinished", target)


def test_the_milvus_path_does_not_load_torch():
    """The engine stores and searches; the client embeds with ONNX: neither the
    backend nor pymilvus and Milvus Lite bring torch in."""
    import subprocess
    import sys

    code = (
        "import sys, assistant.storage.milvus, pymilvus, milvus_lite,"
        " assistant.query.retrieval;"
        " sys.exit('torch' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
