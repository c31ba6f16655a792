"""The verifier's precision and recall on the labelled claim–passage pairs.

    python bench/verifier.py [--show-errors]

Each pair of tests/data/verifier_pairs.jsonl is a claim (an answer sentence, cited
as [1]) and a passage, labelled supported or not, in five kinds: supported (some
paraphrased), unsupported though sharing most words, negated, wrong number, wrong
actor. "Supported" is the positive class: precision is the share of sentences the
verifier passes that are supported; recall the share of supported ones it passes.
For comparison it also scores the rule the verifier had before (half the content
words present in the passage). Writes bench/results/verifier.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.query.citecheck import check_answer
from assistant.text.keywords import content_terms, tokens
from bench._common import ROOT, table, write_json

PAIRS = ROOT / "tests" / "data" / "verifier_pairs.jsonl"


def load_pairs(path: Path = PAIRS) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def verified(pair: dict) -> bool:
    return check_answer(pair["claim"] + " [1]", {1: pair["passage"]}).sentences[0].verified


def shared_words_rule(pair: dict) -> bool:
    """The rule before: at least half the claim's content words occur in the passage."""
    terms = content_terms(pair["claim"])
    words = set(tokens(pair["passage"]))
    return sum(t in words for t in terms) >= 0.5 * len(terms)


def score(pairs: list[dict], judge) -> dict:
    counts = Counter()
    by_kind: dict[str, Counter] = {}
    for pair in pairs:
        passed = judge(pair)
        truth = pair["supported"]
        counts[(truth, passed)] += 1
        by_kind.setdefault(pair["category"], Counter())[passed] += 1
    tp, fp, fn = counts[(True, True)], counts[(False, True)], counts[(True, False)]
    return {
        "pairs": len(pairs),
        "true_positive": tp,
        "false_positive": fp,
        "false_negative": fn,
        "true_negative": counts[(False, False)],
        "precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "recall": round(tp / (tp + fn), 3) if tp + fn else None,
        "passed_by_kind": {kind: c[True] for kind, c in sorted(by_kind.items())},
        "pairs_by_kind": {kind: sum(c.values()) for kind, c in sorted(by_kind.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-errors", action="store_true")
    options = parser.parse_args()
    pairs = load_pairs()
    results = {
        "verifier": score(pairs, verified),
        "shared_words_rule": score(pairs, shared_words_rule),
    }
    kinds = list(results["verifier"]["pairs_by_kind"])
    rows = []
    for name, result in results.items():
        passed = [f"{result['passed_by_kind'][k]}/{result['pairs_by_kind'][k]}" for k in kinds]
        rows.append([name, result["precision"], result["recall"], *passed])
    print(f"{len(pairs)} labelled pairs ({PAIRS.relative_to(ROOT)}); passed as supported:")
    print(table(["judge", "precision", "recall", *kinds], rows))
    if options.show_errors:
        for pair in pairs:
            if verified(pair) != pair["supported"]:
                checked = check_answer(pair["claim"] + " [1]", {1: pair["passage"]})
                print(f"\n{pair['category']}: {pair['claim']}\n  {checked.sentences[0].problems}")
    print(
        f"\nwrote {write_json('verifier', {'pairs_file': str(PAIRS.relative_to(ROOT)), **results})}"
    )


if __name__ == "__main__":
    main()
