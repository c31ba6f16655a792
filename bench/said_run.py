"""Who said what, measured: `Index.statements` on every topic of the dev file
(bench/data/said-dev.jsonl), scored by bench/said_score.py, beside the floor
(bench/said_floor.py: every stored statement of the 10 passages a search finds) in the
same run.

    python bench/said_run.py --index seeds=/tmp/seeds-index \\
        --index news-dev=/tmp/news-index [--out bench/results/said.json]

Writes the results (one `assistant said --json` object a topic) beside the scores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from said_check import DEV, load_dev, parse_indexes
from said_floor import topic_result
from said_score import score, table


def run(indexes: dict, topics: list[dict], method) -> tuple[dict[str, dict], list[float]]:
    results, seconds = {}, []
    for topic in topics:
        started = time.perf_counter()
        result = method(indexes[topic["corpus"]], topic["topic"])
        seconds.append(time.perf_counter() - started)
        results[" ".join(topic["topic"].split()).casefold()] = result
    return results, seconds


SPEAKERS = 20  # as the library and `assistant said` list by default


def said(index, topic: str) -> dict:
    return index.statements(topic, k=SPEAKERS).to_json()


def main(argv: list[str] | None = None) -> int:
    from assistant import Index

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--index", action="append", default=[], metavar="CORPUS=PATH")
    parser.add_argument("--out", type=Path, help="write scores and results here as JSON")
    args = parser.parse_args(argv)
    indexes = {corpus: Index(path) for corpus, path in parse_indexes(args.index).items()}
    topics = [t for t in load_dev(args.dev) if t["corpus"] in indexes]
    for index in indexes.values():
        index.warm_up()
    floor, _ = run(indexes, topics, lambda index, topic: topic_result(index, topic, 10))
    found, seconds = run(indexes, topics, said)
    scores = {"floor": score(topics, floor), "said": score(topics, found)}
    for name, scored in scores.items():
        print(f"\n{name}:")
        print(table(scored["summary"]))
    seconds.sort()
    print(
        f"\nseconds a topic (said): median {seconds[len(seconds) // 2]:.3f}, max {seconds[-1]:.3f}"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "summary": {name: scored["summary"] for name, scored in scores.items()},
            "topics": scores["said"]["topics"],
            "results": list(found.values()),
        }
        args.out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
