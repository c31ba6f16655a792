"""The same answers from both backends: the seeds built into the index directory
(local: SQLite + FAISS) and into Milvus Lite (``--store milvus:PATH.db``), a real
engine in a temporary file, no mocks. Also the Milvus index's life through the
library and the CLI: incremental update by source hash, status and verify.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("pymilvus")


from assistant import Index, IndexIncompatibleError, IndexNotFoundError, IndexWriter, UsageError
from assistant.errors import StoreUnavailableError
from assistant.eval.questions import evaluate
from assistant.frontends.cli import EXIT_CODES
from assistant.storage import milvus as mb
from assistant.storage.backend import open_reader
from assistant.storage.base import ReadStore
from assistant.storage.local import StoredIndex
from assistant.storage.milvus import connection
from assistant.storage.milvus import reader as milvus_reader
from assistant.text import keywords

from .conftest import DEV_QUESTIONS, SEEDS
from .test_answer import QUESTION_132

BACKENDS = ["local", "milvus"]


@pytest.fixture(scope="module")
def milvus_index(tmp_path_factory):
    """The seeds built with ``store="milvus:…"`` (embedded again: the real write path)."""
    base = tmp_path_factory.mktemp("milvus-seeds")
    IndexWriter(base / "index").build([str(SEEDS)], store=f"milvus:{base}/store.db")
    index = Index(base / "index")
    yield index
    index.close()


@pytest.fixture(params=BACKENDS)
def backend(request, seeds_index, milvus_index) -> Index:
    return seeds_index if request.param == "local" else milvus_index


def citations(answer) -> list[tuple]:
    """What must match: each citation's passage and quote, by source and offsets."""
    return [
        (
            c.passage.source,
            c.passage.paragraph,
            c.passage.start,
            c.passage.end,
            c.quote.start,
            c.quote.end,
        )
        for c in answer.citations
    ]


def dev_question_texts() -> list[str]:
    if not DEV_QUESTIONS.is_file():
        return []
    lines = DEV_QUESTIONS.read_text().splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()]


def test_the_milvus_index_lives_in_milvus(milvus_index):
    manifest = milvus_index.manifest
    assert manifest.store.startswith("milvus:/") and manifest.store.endswith("/store.db")
    assert manifest.generation == "" and not list(milvus_index.path.glob("gen-*"))
    assert isinstance(milvus_index.store, milvus_reader.MilvusReader)


@pytest.mark.parametrize("question", dev_question_texts() or ["(no seeds-dev questions)"])
def test_every_seeds_dev_question_cites_the_same_on_both_backends(
    seeds_index, milvus_index, dev_questions, question
):
    local = seeds_index.ask(question)
    milvus = milvus_index.ask(question)
    assert (milvus.abstained, citations(milvus)) == (local.abstained, citations(local))
    assert [c.quote_text for c in milvus.citations] == [c.quote_text for c in local.citations]


def test_keyword_scores_are_fts5s_on_milvus(seeds_index, milvus_index, dev_questions):
    """The root of the equality: the same BM25 scores, passage by passage, for the
    passages and for whole documents."""
    for question in [q["q"] for q in dev_questions] + [QUESTION_132]:
        match = keywords.fts_query(keywords.content_terms(question))
        if match is None:
            continue
        local = seeds_index.store.keyword_search(match, 50)
        milvus = milvus_index.store.keyword_search(match, 50)
        where = seeds_index.store.passages([pid for pid, _ in local])
        there = milvus_index.store.passages([pid for pid, _ in milvus])
        expected = [(where[pid].source, where[pid].start, score) for pid, score in local]
        got = [(there[pid].source, there[pid].start, score) for pid, score in milvus]
        assert [g[:2] for g in got] == [e[:2] for e in expected], question
        assert [g[2] for g in got] == pytest.approx([e[2] for e in expected], rel=1e-9)
        doc_ids = [d.doc_id for d in seeds_index.documents()]
        assert milvus_index.store.document_bm25(match, doc_ids) == pytest.approx(
            seeds_index.store.document_bm25(match, doc_ids), rel=1e-9
        )


def test_seeds_dev_quality_bars(backend, dev_questions):
    report = evaluate(backend, dev_questions)
    failures = [r.question for r in report.results if not r.correct]
    assert report.metrics["hit@1"] >= 0.9, failures
    assert report.metrics["hit@3"] == 1.0, failures
    assert report.metrics["false_abstentions"] == 0
    assert report.metrics["missed_abstentions"] == 0


def test_132_km_question_cites_002_and_004(backend):
    answer = backend.ask(QUESTION_132)
    assert not answer.abstained
    assert {"002", "004"} <= {Path(c.passage.source).name[:3] for c in answer.citations}


def test_filters_run_in_the_engine_with_the_same_answers(seeds_index, milvus_index):
    from assistant.filters import SearchFilter

    for options in ({"since": "2023-04"}, {"sources": ["middle east monitor"]}):
        search_filter = SearchFilter.parse(**options)
        local = seeds_index.ask(QUESTION_132, search_filter=search_filter)
        milvus = milvus_index.ask(QUESTION_132, search_filter=search_filter)
        assert citations(milvus) == citations(local), options
    nothing = SearchFilter.parse(sources=["cnn"])
    assert milvus_index.ask(QUESTION_132, search_filter=nothing).abstained


# -- the index's life on Milvus ---------------------------------------------------------


@pytest.fixture
def milvus_copy(tmp_path, fake_model):
    """A Milvus index of a copy of the seeds, to change (embedded by the fake encoder,
    which writers and readers opened in these tests get too)."""
    corpus = tmp_path / "seeds"
    shutil.copytree(SEEDS, corpus)
    IndexWriter(tmp_path / "index", encoder=fake_model).build(
        [str(corpus)], store=f"milvus:{tmp_path}/m.db"
    )
    index = Index(tmp_path / "index", encoder=fake_model)
    yield index, corpus
    index.close()


def passage_ids_by_source(index: Index) -> dict[str, set[int]]:
    found: dict[str, set[int]] = {}
    for document in index.documents():
        for passage in index.document_passages(document.doc_id):
            found.setdefault(passage.source, set()).add(passage.passage_id)
    return found


def test_update_writes_a_new_generation_and_drops_the_old(milvus_copy):
    """As the local store: the whole index goes into new collections, which the
    manifest then names; the old ones are dropped only after that (what a killed
    write leaves is tested in test_milvus_safety.py)."""
    index, corpus = milvus_copy
    before = passage_ids_by_source(index)
    old_names = set(connection.collection_names(index.manifest.store_index))
    changed = next(corpus.glob("002_*"))
    changed.write_text(changed.read_text() + "\n\nThe ministry added a new paragraph.\n")
    report = IndexWriter(index.path, encoder=index.retriever.encoder).update()
    index.refresh()
    assert [Path(s).name for s in report.files_embedded] == [changed.name]
    new_names = set(connection.collection_names(index.manifest.store_index))
    assert not old_names & new_names
    assert set(index.store.client.list_collections()) & (old_names | new_names) == new_names
    after = passage_ids_by_source(index)
    assert after.keys() == before.keys()
    assert any("new paragraph" in index.document_text(d.doc_id) for d in index.documents())
    assert index.ask(QUESTION_132).citations
    from assistant import verify_index

    assert verify_index(index.path, encoder=index.retriever.encoder).ok

    gone = next(corpus.glob("003_*"))
    gone.unlink()
    IndexWriter(index.path, encoder=index.retriever.encoder).update()
    index.refresh()
    assert not any(Path(s).name == gone.name for s in passage_ids_by_source(index))
    assert index.status().documents == len(list(corpus.glob("*.txt")))
    assert index.store.manifest.documents == index.status().documents


def test_a_reader_follows_the_writer(milvus_copy):
    index, corpus = milvus_copy
    other = Index(index.path, encoder=index.retriever.encoder)
    try:
        (corpus / "extra.txt").write_text("Baku announced a floating pavilion on the Caspian.\n")
        IndexWriter(index.path, encoder=index.retriever.encoder).update()
        other.refresh()
        assert any("extra.txt" in d.source for d in other.documents())
    finally:
        other.close()


def test_add_keeps_the_store_and_refuses_another(milvus_copy, tmp_path):
    index, _ = milvus_copy
    with pytest.raises(UsageError, match="--store applies when an index is created"):
        IndexWriter(index.path, encoder=index.retriever.encoder).add([str(SEEDS)], store="local")
    extra = tmp_path / "more"
    extra.mkdir()
    (extra / "note.txt").write_text("The Araz bridge opened to trucks in May.\n")
    IndexWriter(index.path, encoder=index.retriever.encoder).add([str(extra)])
    index.refresh()
    assert index.manifest.store and any("note.txt" in d.source for d in index.documents())


def test_cli_build_status_and_verify_on_milvus(cli, fake_model, tmp_path):
    target = tmp_path / "index"
    store = f"milvus:{tmp_path}/cli.db"
    result = cli("index", "build", str(SEEDS), "--index", str(target), "--store", store, "-q")
    assert result.exit_code == 0, result.output
    status = cli("index", "status", "--index", str(target))
    assert status.exit_code == 0 and f"store      {store} (assistant_index_" in status.output
    data = json.loads(cli("index", "status", "--index", str(target), "--json").output)
    assert (
        data["store_uri"] == f"milvus:{tmp_path}/cli.db" and data["store_counts"]["documents"] == 5
    )
    verify = cli("index", "verify", "--index", str(target))
    assert verify.exit_code == 0 and "ok    store" in verify.output

    # The collection dropped behind the index's back: exit 4 from both.
    manifest = Index.read_manifest(target)
    client = connection.connect(connection.parse_store_uri(manifest.store))
    for name in connection.collection_names(manifest.store_index):
        client.drop_collection(name)
    client.close()
    verify = cli("index", "verify", "--index", str(target))
    assert verify.exit_code == 4 and "FAIL  store" in verify.output
    assert cli("index", "status", "--index", str(target)).exit_code == 4
    with pytest.raises(IndexNotFoundError, match="no index"):
        Index(target, encoder=fake_model)


def test_another_model_in_the_store_is_exit_6(cli, fake_model, tmp_path):
    target = tmp_path / "index"
    IndexWriter(target, encoder=fake_model).build([str(SEEDS)], store=f"milvus:{tmp_path}/x.db")
    manifest = Index.read_manifest(target)
    store = connection.parse_store_uri(manifest.store)
    writer = mb.MilvusWriter(connection.connect(store), manifest.store_index, store)
    writer.create("some/other-model", 8, replace=True)
    writer.client.close()
    with pytest.raises(IndexIncompatibleError, match="some/other-model"):
        Index(target, encoder=fake_model)
    assert cli("index", "verify", "--index", str(target)).exit_code == 6


def test_store_unavailable_is_exit_15(cli):
    assert EXIT_CODES[StoreUnavailableError] == 15
    result = cli("index", "build", str(SEEDS), "--index", "/tmp/x", "--store", "milvus:no.sqlite")
    assert result.exit_code == 2 and "ending in .db" in result.output


def test_an_unreachable_server_is_one_line_and_exit_15(cli, tmp_path):
    target = tmp_path / "index"
    result = cli(
        "index", "build", str(SEEDS), "--index", str(target), "--store", "milvus://127.0.0.1:9"
    )
    assert result.exit_code == 15, result.output
    assert result.output.startswith("error: cannot reach the Milvus store milvus://127.0.0.1:9")
    assert not Index.exists(target)


def test_keyword_scores_stay_fts5s_when_one_search_cannot_hold_the_matches(
    seeds_index, milvus_index, monkeypatch
):
    """Terms in more passages than one engine search returns: the passages are found
    window by window and each term's passages counted by the engine instead."""
    monkeypatch.setattr(milvus_reader, "QUERY_LIMIT", 8)
    for question in (
        QUESTION_132,
        "What did Iran's Foreign Minister say Iran will never tolerate?",
    ):
        match = keywords.fts_query(keywords.content_terms(question))
        local = seeds_index.store.keyword_search(match, 20)
        milvus = milvus_index.store.keyword_search(match, 20)
        assert [score for _, score in milvus] == pytest.approx([s for _, s in local], rel=1e-9)
        doc_ids = [d.doc_id for d in seeds_index.documents()]
        assert milvus_index.store.document_bm25(match, doc_ids) == pytest.approx(
            seeds_index.store.document_bm25(match, doc_ids), rel=1e-9
        )


def test_term_counts_are_the_local_ones_in_one_query_or_term_by_term(
    seeds_index, milvus_index, monkeypatch
):
    """A question's terms and their spelling variants are counted from one query's
    rows; when the rows are more than a query returns, term by term by the engine
    (counts then stop at that limit, as the local ones stop at theirs)."""
    terms = ("azerbaijan", "border", "heydari", "kioumars", "132", "the")
    local = seeds_index.store.term_statistics(terms, lambda term, own: own < 5)
    milvus = milvus_index.store.term_statistics(terms, lambda term, own: own < 5)
    assert milvus == local
    assert any(len(s.forms) > 1 for s in local.values())  # a variant was sought and found
    monkeypatch.setattr(milvus_reader, "QUERY_LIMIT", 8)
    capped = milvus_index.store.term_statistics(terms, lambda term, own: own < 5)
    assert {t: (s.forms, min(s.frequency, 8)) for t, s in local.items()} == {
        t: (s.forms, s.frequency) for t, s in capped.items()
    }


# -- the backend seam and the batched reads ----------------------------------------------


def test_the_seam_opens_the_store_the_manifest_names(seeds_index, milvus_index):
    local = open_reader(seeds_index.path)
    milvus = open_reader(milvus_index.path, Index.read_manifest(milvus_index.path))
    try:
        assert isinstance(local, StoredIndex) and isinstance(milvus, milvus_reader.MilvusReader)
        for store in (local, milvus):
            assert isinstance(store, ReadStore)
        # Both give the directory's manifest; Milvus keeps the counts it recorded apart.
        assert milvus.manifest == Index.read_manifest(milvus_index.path)
        assert milvus.recorded.vectors == milvus.manifest.vectors
        assert local.store_facts() == {}
        assert milvus.store_facts()["collection"].startswith("assistant_")
        assert local.document_ids(local.documents()[0].source) == milvus.document_ids(
            milvus.documents()[0].source
        )
    finally:
        local.close()
        milvus.close()


class Counting:
    """Counts the calls of the methods it hands out, forwarding everything."""

    def __init__(self, target, counts: Counter) -> None:
        self._target, self._counts = target, counts

    def __getattr__(self, name):
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def counted(*args, **kwargs):
            self._counts[name] += 1
            return value(*args, **kwargs)

        return counted


@pytest.mark.parametrize("question", [QUESTION_132, "What did Heydari say about border changes?"])
def test_a_question_asks_the_store_a_few_batched_calls(tmp_path, seeds_index_dir, question):
    """At most 8 store calls a question (it was about 40 one-purpose calls), and the
    same answer as through the store unwrapped."""
    index = Index(seeds_index_dir)
    expected = citations(index.ask(question))
    calls: Counter = Counter()
    index._store = Counting(index._store, calls)
    index._retriever = index._answerer = None
    answer = index.ask(question)
    assert citations(answer) == expected
    assert 0 < sum(calls.values()) <= 8, calls
    assert set(calls) <= {"term_statistics", "search", "read", "citable_passage_count"}
    index.close()


def test_a_milvus_question_costs_a_few_round_trips(milvus_index):
    """Once a reader has read what it reads once (names, statements, document
    metadata), a question costs a few client round trips even with none of its rows
    fetched before (8 for most; "what did X say" with X's passages in other
    documents up to 11; it was 20 to 46)."""
    from assistant.storage.milvus.cache import RowCache

    store = milvus_index.store
    milvus_index.ask("What did Azerbaijan say?")  # the reader's one-time reads
    trips: Counter = Counter()
    client = store.client
    store.client = Counting(client, trips)
    try:
        for question in dev_question_texts()[:6] or [QUESTION_132]:
            store.cache = RowCache(store)
            trips.clear()
            milvus_index.ask(question)
            assert 0 < sum(trips.values()) <= 11, (question, trips)
    finally:
        store.client = client
