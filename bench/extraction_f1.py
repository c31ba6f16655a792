"""Extraction quality on news pages: word-level precision, recall and F1 of the text the
HTML reader keeps against hand-checked gold article bodies (the scoring of the
article-extraction benchmarks: bags of words, per page, then averaged).

    python bench/extraction_f1.py [--pages DIR] [--gold FILE] [--json OUT]

Head lines the reader adds from markup (headline, byline, date) are not body text and
are left out of the comparison.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.ingest.sources import SourceFile, UnreadableSource, load_documents  # noqa: E402

# The news-dev benchmark, where its README says it sits beside the checkout.
NEWS_DEV = Path("../shared/benchmarks/news-dev")
_WORD = re.compile(r"\w+")


def words(text: str) -> Counter:
    return Counter(_WORD.findall(text.casefold()))


def body_text(path: Path) -> str:
    """The reader's text for one page, without the head lines it marks as metadata."""
    document = load_documents(SourceFile(str(path), path))[0]
    text, kept, last = document.text, [], 0
    for start, end in sorted(document.meta_spans):
        kept.append(text[last:start])
        last = max(last, end)
    kept.append(text[last:])
    return "".join(kept)


def scores(found: Counter, gold: Counter) -> tuple[float, float, float]:
    common = sum((found & gold).values())
    precision = common / max(1, sum(found.values()))
    recall = common / max(1, sum(gold.values()))
    f1 = 2 * precision * recall / (precision + recall) if common else 0.0
    return precision, recall, f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=Path, default=NEWS_DEV / "pages")
    parser.add_argument("--gold", type=Path, default=NEWS_DEV / "gold-text.jsonl")
    parser.add_argument("--json", type=Path, help="write the per-page scores here")
    arguments = parser.parse_args()
    rows = []
    for line in arguments.gold.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        page = arguments.pages / f"{record['id']}.html"
        try:
            found = words(body_text(page))
        except UnreadableSource:
            found = Counter()
        rows.append((record["id"], *scores(found, words(record["text"]))))
    precision = statistics.mean(row[1] for row in rows)
    recall = statistics.mean(row[2] for row in rows)
    f1 = statistics.mean(row[3] for row in rows)
    print(f"{len(rows)} pages: precision {precision:.3f}, recall {recall:.3f}, F1 {f1:.3f}")
    for row in sorted(rows, key=lambda row: row[3])[:5]:
        print(f"  lowest: {row[0]} F1 {row[3]:.3f} (P {row[1]:.3f}, R {row[2]:.3f})")
    if arguments.json:
        result = {"pages": len(rows), "precision": precision, "recall": recall, "f1": f1}
        result["per_page"] = [dict(zip(("id", "p", "r", "f1"), row, strict=True)) for row in rows]
        arguments.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
