"""The numbers of assistant/data/said.json chosen on the dev file, with 5-fold
cross-validation by topic: each topic is measured once (retrieval, evidence,
abstention), then every grid point selects its statements; a fold's numbers are those
with the best speaker F1 on the other four folds, scored on the held-out topics.

    python bench/said_fit.py --index seeds=/tmp/seeds-index --index news-dev=/tmp/news-index

Prints the in-sample best and the pooled held-out recall and precision (the counts of
the five held-out folds added up), and what each fold chose.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
from pathlib import Path

from said_check import DEV, load_dev, parse_indexes
from said_score import score

SHARES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
COSINES = (0.0, 0.1, 0.2, 0.3, 0.4)
WORDS = (0, 1)
FOLDS = 5
SPEAKERS = 20


def grid(base: dict) -> list[dict]:
    return [
        {**base, "score_share_of_best": s, "statement_cosine": c, "topic_words_in_statement": w}
        for s, c, w in itertools.product(SHARES, COSINES, WORDS)
    ]


def key(topic: str) -> str:
    return " ".join(topic.split()).casefold()


def f1(summary: dict) -> float:
    recall, precision = summary["speaker_recall"] or 0.0, summary["speaker_precision"] or 0.0
    return 2 * recall * precision / (recall + precision) if recall + precision else 0.0


def main(argv: list[str] | None = None) -> int:
    from assistant import Index
    from assistant.query.said import SaidFinder, rules

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--index", action="append", default=[], metavar="CORPUS=PATH")
    args = parser.parse_args(argv)
    indexes = {corpus: Index(path) for corpus, path in parse_indexes(args.index).items()}
    topics = [t for t in load_dev(args.dev) if t["corpus"] in indexes]
    points = grid(rules())
    # results[point][topic key]: the said --json object of that topic at that point
    results: list[dict[str, dict]] = [{} for _ in points]
    for topic in topics:
        finder = SaidFinder(indexes[topic["corpus"]].answerer)
        measured = finder.measure(topic["topic"])
        for at, chosen in enumerate(points):
            found = finder.select(measured, chosen, SPEAKERS).to_json()
            results[at][key(topic["topic"])] = found
    scored = [score(topics, found) for found in results]
    best = max(range(len(points)), key=lambda at: f1(scored[at]["summary"]["all"]))
    print("in-sample best:", _point(points[best]), _figures(scored[best]["summary"]["all"]))
    order = list(range(len(topics)))
    random.Random(0).shuffle(order)
    held_out_rows = []
    for fold in range(FOLDS):
        test = {order[i] for i in range(fold, len(order), FOLDS)}
        train = [t for i, t in enumerate(topics) if i not in test]
        tested = [t for i, t in enumerate(topics) if i in test]
        chosen = max(
            range(len(points)), key=lambda at: f1(score(train, results[at])["summary"]["all"])
        )
        rows = score(tested, results[chosen])["topics"]
        held_out_rows += rows
        print(f"fold {fold}: chose {_point(points[chosen])}")
    counts = ("found", "gold_speakers", "correct", "judged")
    total = {k: sum(row[k] for row in held_out_rows) for k in counts}
    print(
        f"held-out: recall {total['found'] / total['gold_speakers']:.3f}, "
        f"precision {total['correct'] / total['judged']:.3f}"
    )
    json.dump({"best": points[best]}, sys.stdout)
    print()
    return 0


def _point(chosen: dict) -> str:
    return (
        f"share {chosen['score_share_of_best']}, cosine {chosen['statement_cosine']}, "
        f"words {chosen['topic_words_in_statement']}"
    )


def _figures(summary: dict) -> str:
    return (
        f"recall {summary['speaker_recall']:.3f}, precision {summary['speaker_precision']:.3f}, "
        f"quotes {summary['quote_accuracy']:.3f}"
    )


if __name__ == "__main__":
    sys.exit(main())
