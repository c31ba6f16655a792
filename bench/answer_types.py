"""Accuracy of the expected-answer-type rules (assistant/query/answer_types.py) against
the hand labels of a question file (field ``answer_type``): a confusion table (rows:
the label, columns: the prediction) and the accuracy.

    python bench/answer_types.py [bench/data/news-dev-extra.jsonl] [--wrong]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.query.answer_types import expected_answer_type  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "questions", type=Path, nargs="?", default=ROOT / "bench/data/news-dev-extra.jsonl"
    )
    parser.add_argument("--wrong", action="store_true", help="list the misread questions")
    args = parser.parse_args(argv)
    items = [json.loads(line) for line in args.questions.read_text("utf-8").splitlines() if line]
    pairs = [(item["answer_type"], expected_answer_type(item["q"])) for item in items]
    confusion = Counter(pairs)
    labels = sorted({label for pair in pairs for label in pair})
    width = max(len(label) for label in labels)
    print("label / predicted".rjust(width + 6) + " " + " ".join(f"{lab[:5]:>5}" for lab in labels))
    for gold in labels:
        counts = " ".join(f"{confusion[gold, guess] or '.':>5}" for guess in labels)
        total = sum(confusion[gold, guess] for guess in labels)
        print(f"{gold:>{width + 6}} {counts}   n={total}")
    right = sum(gold == guess for gold, guess in pairs)
    print(f"\naccuracy {right}/{len(pairs)} = {right / len(pairs):.3f}")
    typed = [(gold, guess) for gold, guess in pairs if gold != "free"]
    typed_right = sum(gold == guess for gold, guess in typed)
    print(f"typed questions (label not free): {typed_right}/{len(typed)}"
          f" = {typed_right / len(typed):.3f}")  # fmt: skip
    if args.wrong:
        for item, (gold, guess) in zip(items, pairs, strict=True):
            if gold != guess:
                print(f"{gold:>12} -> {guess:12} {item['q']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
