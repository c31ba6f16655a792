"""Choose the fusion weights on a BEIR train split (never the test split).

Runs each train query once through the retriever, keeps every candidate's signals,
then scores the document rankings for a grid of weights: DENSE_WEIGHT (dense vs
keyword), SENTENCE_WEIGHT (best sentence vs whole passage) and
PASSAGE_KEYWORD_SHARE (passage vs whole-document BM25). Prints the best settings
and writes bench/results/beir_tune.json.

    .venv/bin/python bench/beir_tune.py ../shared/benchmarks/scifact
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from _common import table, write_json

from assistant.eval.beir import (
    EVAL_POOL,
    document_ranking,
    load_beir,
    ndcg_at,
    open_corpus_index,
    recall_at,
)
from assistant.query import retrieval

DENSE_WEIGHTS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
SENTENCE_WEIGHTS = (0.5, 1.0, 1.5)
PASSAGE_SHARES = (0.0, 0.25, 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("beir_dir", type=Path)
    parser.add_argument("--split", default="train")
    args = parser.parse_args()
    if args.split == "test":
        parser.error("weights are chosen on the train split; the test split is for reporting")
    data = load_beir(args.beir_dir, args.split)
    index = open_corpus_index(data)
    retriever = index.retriever
    collected = {
        query_id: retriever.candidates(retriever.analyze(text), EVAL_POOL)
        for query_id, text in data.queries.items()
    }
    results = []
    for dense_weight, sentence_weight, share in itertools.product(
        DENSE_WEIGHTS, SENTENCE_WEIGHTS, PASSAGE_SHARES
    ):
        ndcg = recall = 0.0
        for query_id, candidates in collected.items():
            scores = retrieval.hybrid_scores(candidates, dense_weight, sentence_weight, share)
            ranking = document_ranking(h.passage for h in retrieval.ranked(candidates, scores))
            ndcg += ndcg_at(ranking, data.qrels[query_id])
            recall += recall_at(ranking, data.qrels[query_id])
        n = len(collected)
        results.append(
            {
                "dense_weight": dense_weight,
                "sentence_weight": sentence_weight,
                "passage_keyword_share": share,
                "ndcg@10": round(ndcg / n, 4),
                "recall@100": round(recall / n, 4),
            }
        )
    results.sort(key=lambda r: -r["ndcg@10"])
    current = (retrieval.DENSE_WEIGHT, retrieval.SENTENCE_WEIGHT, retrieval.PASSAGE_KEYWORD_SHARE)
    rows = [
        [
            r["dense_weight"],
            r["sentence_weight"],
            r["passage_keyword_share"],
            f"{r['ndcg@10']:.4f}",
            f"{r['recall@100']:.4f}",
            "current" if tuple(list(r.values())[:3]) == current else "",
        ]
        for r in results[:15]
    ]
    print(
        f"{data.directory.name} {args.split}: {len(collected)} queries, best 15 of {len(results)}"
    )
    print(table(["dense", "sentence", "passage kw", "nDCG@10", "R@100", ""], rows))
    write_json("beir_tune", {"split": args.split, "results": results})


if __name__ == "__main__":
    main()
