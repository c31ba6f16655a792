"""Scores of an ``assistant eval --json`` run per answer type of its question file.

The question file gives each question an ``answer_type`` (money, count, date, ...);
the eval's JSON lists the questions in the file's order. This joins the two and prints,
per answer type, hit@1 and hit@3 of the answerable questions and the share refused
of the questions to refuse.

    python bench/by_answer_type.py bench/data/news-dev-extra.jsonl bench/results/x.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def load_pairs(questions_path: Path, results_path: Path) -> list[tuple[dict, dict]]:
    items = [json.loads(line) for line in questions_path.read_text("utf-8").splitlines() if line]
    results = json.loads(results_path.read_text("utf-8"))["questions"]
    if len(items) != len(results):
        raise SystemExit(f"{len(items)} questions but {len(results)} results")
    for item, result in zip(items, results, strict=True):
        if item["q"] != result["question"]:
            raise SystemExit(f"results are not in the file's order at {item['q']!r}")
    return list(zip(items, results, strict=True))


def table(pairs: list[tuple[dict, dict]]) -> dict[str, dict]:
    by_type: dict[str, dict] = {}
    for item, result in pairs:
        row = by_type.setdefault(
            item.get("answer_type") or "-",
            {"n": 0, "answerable": 0, "hit1": 0, "hit3": 0, "refuse": 0, "refused": 0},
        )
        row["n"] += 1
        if item.get("abstain"):
            row["refuse"] += 1
            row["refused"] += bool(result["abstained"])
            continue
        # As the eval counts it: the rank of the first cited passage holding a gold string.
        rank = result["gold_rank"]
        row["answerable"] += 1
        row["hit1"] += rank == 1
        row["hit3"] += rank is not None and rank <= 3
    return by_type


def share(part: int, whole: int) -> str:
    return f"{part / whole:6.3f}" if whole else f"{'-':>6}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("results", type=Path, help="the JSON of assistant eval --json")
    args = parser.parse_args(argv)
    rows = table(load_pairs(args.questions, args.results))
    header = ("answer_type", "n", "answ", "hit@1", "hit@3", "refuse", "refused")
    print("{:14} {:>4} {:>5} {:>6} {:>6} {:>6} {:>7}".format(*header))
    for name, row in sorted(rows.items()):
        print(
            f"{name:14} {row['n']:4d} {row['answerable']:5d}"
            f" {share(row['hit1'], row['answerable'])} {share(row['hit3'], row['answerable'])}"
            f" {row['refuse']:6d} {share(row['refused'], row['refuse']):>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
