"""`assistant eval --beir`: the metrics on fixed rankings, the folder checks, and a
small BEIR collection indexed and scored end to end with the real model."""

import json
import math
import os
from pathlib import Path

import pytest

from assistant.errors import SourceNotFoundError, UsageError
from assistant.eval.beir import load_beir, mrr_at, ndcg_at, open_corpus_index, recall_at

# -- metrics ----------------------------------------------------------------------------


def test_ndcg_counts_graded_gains_by_rank():
    relevant = {"a": 1, "b": 2}
    assert ndcg_at(["b", "a", "x"], relevant) == pytest.approx(1.0)
    # b (gain 3) at rank 2, a (gain 1) at rank 3; ideal: b first, a second.
    dcg = 3 / math.log2(3) + 1 / math.log2(4)
    ideal = 3 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at(["x", "b", "a"], relevant) == pytest.approx(dcg / ideal)
    assert ndcg_at(["x"] * 10 + ["a"], relevant) == 0.0  # below the cut-off


def test_recall_and_mrr():
    relevant = {"a": 1, "b": 1, "c": 0}
    assert recall_at(["a", "x", "c"], relevant) == 0.5  # c is judged not relevant
    assert recall_at(["x"] * 100 + ["a"], relevant) == 0.0
    assert mrr_at(["x", "y", "b"], relevant) == pytest.approx(1 / 3)
    assert mrr_at(["c", "x"], relevant) == 0.0


# -- a small collection -------------------------------------------------------------------

DOCUMENTS = {
    "d1": (
        "Honey bees and colony collapse",
        "Colony collapse disorder kills honey bee hives "
        "when worker bees abandon the queen. Pesticide exposure and mites are suspected.",
    ),
    "d2": (
        "Coral reef bleaching",
        "Rising sea temperatures make corals expel their algae, "
        "which turns the reef white and starves it.",
    ),
    "d3": (
        "Vitamin D and bone density",
        "Vitamin D supplements raised bone mineral density "
        "in elderly women over two years of treatment.",
    ),
    "d4": (
        "Glacier retreat in the Alps",
        "Alpine glaciers lost a third of their ice volume since 1980 as summers grew warmer.",
    ),
    "d5": (
        "Sleep and memory",
        "Deep sleep after learning strengthens memory; students who "
        "slept recalled more word pairs the next morning.",
    ),
    "d6": (
        "Antibiotic resistance on farms",
        "Feeding antibiotics to livestock breeds "
        "resistant bacteria that reach people through meat.",
    ),
}
QUERIES = {
    "q1": "Pesticides and mites cause honey bee colonies to collapse.",
    "q2": "Warmer oceans bleach coral reefs.",
    "q3": "Sleeping after study improves recall of word pairs.",
    "q4": "A query nobody judged.",
}
QRELS = {"test": {"q1": "d1", "q2": "d2", "q3": "d5"}, "train": {"q3": "d5"}}


@pytest.fixture(scope="module")
def beir_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("beir") / "tiny"
    (folder / "qrels").mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w") as out:
        for doc_id, (title, text) in DOCUMENTS.items():
            out.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with open(folder / "queries.jsonl", "w") as out:
        for query_id, text in QUERIES.items():
            out.write(json.dumps({"_id": query_id, "text": text}) + "\n")
    for split, pairs in QRELS.items():
        lines = ["query-id\tcorpus-id\tscore"] + [f"{q}\t{d}\t1" for q, d in pairs.items()]
        (folder / "qrels" / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return folder


def test_eval_scores_each_method_from_one_index(cli, beir_dir, tmp_path):
    index_dir = tmp_path / "index"
    args = ["eval", "--beir", str(beir_dir), "--index", str(index_dir), "--json"]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["collection"], report["split"], report["queries"]) == ("tiny", "test", 3)
    assert (report["documents"], report["passages"]) == (6, 6)
    # Each query has one relevant document, unmistakable to either side.
    for method in ("dense", "keyword", "hybrid"):
        assert report["scores"][method] == {"ndcg@10": 1.0, "recall@100": 1.0, "mrr@10": 1.0}

    plain = cli(*args[:-1], "--split", "train")
    assert plain.exit_code == 0, plain.output
    lines = plain.output.splitlines()
    assert lines[0].startswith("tiny train: 1 queries, 6 documents, 6 passages (")
    assert lines[2:] == [
        "method      nDCG@10    R@100   MRR@10",
        "dense        1.0000   1.0000   1.0000",
        "keyword      1.0000   1.0000   1.0000",
        "hybrid       1.0000   1.0000   1.0000",
    ]


def test_the_cached_index_is_reused_from_another_working_directory(beir_dir, tmp_path):
    index_dir = tmp_path / "index"
    first = open_corpus_index(load_beir(beir_dir), index_dir)
    generation = first.store.manifest.generation
    first.close()
    here = Path.cwd()
    os.chdir(beir_dir.parent)
    try:
        again = open_corpus_index(load_beir(Path("tiny")), index_dir)  # a relative path
        assert again.store.manifest.generation == generation
        again.close()
    finally:
        os.chdir(here)


def test_a_folder_that_is_not_beir_is_one_clear_error(cli, beir_dir, tmp_path):
    with pytest.raises(SourceNotFoundError, match=r"qrels/dev\.tsv not found"):
        load_beir(beir_dir, "dev")
    result = cli("eval", "--beir", str(tmp_path))
    assert result.exit_code == 3
    assert result.output.startswith(f"error: {tmp_path.resolve() / 'corpus.jsonl'} not found")
    assert "Traceback" not in result.output


def test_queries_without_judgements_in_the_split_are_refused(beir_dir, tmp_path):
    folder = tmp_path / "unjudged"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text((beir_dir / "corpus.jsonl").read_text())
    (folder / "queries.jsonl").write_text((beir_dir / "queries.jsonl").read_text())
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq9\td1\t1\n")
    with pytest.raises(UsageError, match="no query of"):
        load_beir(folder, "test")
