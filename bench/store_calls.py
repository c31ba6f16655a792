"""Store calls per question: how often answering one question asks the store (and, for a
Milvus store, how many client round trips that makes).

The seeds are built twice, into a local index and into Milvus Lite; each dev question
is then answered (extractively) on both, with the store wrapped in a counting proxy
and the Milvus client too. Prints the median and the maximum per question, by store
method, and writes ``bench/results/store_calls.json``.

    python bench/store_calls.py [--questions FILE] [--name NAME]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Index
from bench._common import ROOT, SEEDS, median, table, write_json

DEFAULT_QUESTIONS = Path("/work/shared/questions/seeds-dev.jsonl")


class Counting:
    """Forwards every attribute; counts the calls of the methods it hands out."""

    def __init__(self, target, counts: Counter) -> None:
        self._target = target
        self._counts = counts

    def __getattr__(self, name: str):
        value = getattr(self._target, name)
        if not callable(value):
            return value
        counts = self._counts

        def counted(*args, **kwargs):
            counts[name] += 1
            return value(*args, **kwargs)

        return counted


def _instrument(index: Index) -> tuple[Counter, Counter]:
    """Wrap the index's store (and a Milvus store's client) in counting proxies; the
    engine is made again over the wrapped store."""
    calls: Counter = Counter()
    trips: Counter = Counter()
    store = _unwrapped(index._store)
    if hasattr(store, "client"):
        store.client = Counting(_unwrapped(store.client), trips)
    index._store = Counting(store, calls)
    index._retriever = index._answerer = None
    index._generators = {}
    return calls, trips


def _unwrapped(value):
    while isinstance(value, Counting):
        value = value._target
    return value


def _forget_fetched(index: Index) -> None:
    """Empty what earlier questions fetched (a Milvus reader's rows, the answerer's
    documents), keeping what a reader reads once per version of the index (names,
    statements, documents' metadata)."""
    store = _unwrapped(index._store)
    if hasattr(store, "cache"):
        store.cache = type(store.cache)(store)
    index._retriever = index._answerer = None


def _count(index: Index, questions: list[str], cold: bool = False) -> list[dict]:
    calls, trips = _instrument(index)
    index.warm_up()  # the encoder loads; its one search is not a question
    rows = []
    for question in questions:
        if cold:
            _forget_fetched(index)
        calls.clear()
        trips.clear()
        index.ask(question)
        rows.append(
            {
                "question": question,
                "store_calls": sum(calls.values()),
                "round_trips": sum(trips.values()),
                "by_method": dict(calls),
                "by_client_method": dict(trips),
            }
        )
    return rows


def _summary(rows: list[dict]) -> dict:
    calls = [row["store_calls"] for row in rows]
    trips = [row["round_trips"] for row in rows]
    return {
        "questions": len(rows),
        "store_calls_median": median(calls),
        "store_calls_max": max(calls),
        "round_trips_median": median(trips),
        "round_trips_max": max(trips),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--name", default="store_calls")
    args = parser.parse_args()
    lines = args.questions.read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["q"] for line in lines if line.strip()]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        local, _ = Index.build([str(SEEDS)], Path(tmp) / "local")
        milvus, _ = Index.build([str(SEEDS)], Path(tmp) / "milvus", store=f"milvus:{tmp}/m.db")
        for name, index in (("local", local), ("milvus", milvus)):
            rows = _count(index, questions)
            results[name] = {"summary": _summary(rows), "per_question": rows}
        # Each question as if it were the reader's first but for what a reader reads
        # once (the questions above share the passages earlier ones fetched).
        rows = _count(milvus, questions, cold=True)
        results["milvus-cold"] = {"summary": _summary(rows), "per_question": rows}
        local.close()
        milvus.close()
    headers = ["store", "questions", "calls median", "calls max", "trips median", "trips max"]
    print(
        table(
            headers,
            [
                [name, *(results[name]["summary"][key] for key in list(results[name]["summary"]))]
                for name in results
            ],
        )
    )
    methods: Counter = Counter()
    for row in results["local"]["per_question"]:
        methods.update(row["by_method"])
    print("\nlocal store calls over all questions, by method:")
    for method, count in methods.most_common():
        print(f"  {method:28} {count}")
    path = write_json(args.name, {"questions_file": str(args.questions), **results})
    print(f"\nwritten: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
