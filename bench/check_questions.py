"""Check a question file against an index of the pages it is about.

For every answerable question: its page id names a document of the index, and every
gold string is found verbatim in one non-boilerplate passage of that page (a byline
question may instead match the page's byline, which the extractor keeps as metadata).
For each gold string it also counts the other pages that hold it, since a gold string
found in several pages can be credited for a citation of the wrong page.

Also checked: the fields a question line needs (``q``, ``gold``, ``abstain``, ``id``,
``kind``, and ``answer_type`` when ``--require-type``), gold lengths (3-12 words; 2-3
for names), and that abstain questions have no gold.

    python bench/check_questions.py bench/data/news-dev-extra.jsonl \
        --index ../cache/newsdev-idx --require-type

Exit status 1 when any question fails; the report lists each failure.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

KINDS = {"said", "fact", "byline", "abstain-present", "abstain-absent"}
ANSWER_TYPES = {
    "money",
    "count",
    "quantity",
    "percentage",
    "date",
    "duration",
    "person",
    "organisation",
    "place",
    "free",
}
# Names (an author, a person asked for) may be shorter than the 3 words of other golds.
NAME_WORDS = (2, 3)
GOLD_WORDS = (3, 12)


def page_id(source: str) -> str:
    """The benchmark's page id of an indexed file: its name without the extension."""
    return Path(source).stem


def load_pages(index_path: str) -> dict[str, dict]:
    """Per page id: its byline and the texts of its non-boilerplate passages."""
    from assistant import Index

    pages = {}
    with Index(index_path) as index:
        for document in index.documents():
            passages = index.document_passages(document.doc_id)
            pages[page_id(document.source)] = {
                "byline": document.byline or "",
                "passages": [p.text for p in passages if not p.is_boilerplate],
            }
    return pages


def field_problems(item: dict, require_type: bool) -> list[str]:
    problems = []
    if not isinstance(item.get("q"), str) or not item["q"].strip():
        problems.append("no question text")
    if item.get("kind") not in KINDS:
        problems.append(f"kind {item.get('kind')!r} is not one of {sorted(KINDS)}")
    if require_type and item.get("answer_type") not in ANSWER_TYPES:
        problems.append(f"answer_type {item.get('answer_type')!r} is not one of the types")
    if not isinstance(item.get("gold"), list):
        problems.append("gold is not a list")
    # Like the scorer, a missing "abstain" means an answerable question.
    abstain = item.get("abstain", False)
    if not isinstance(abstain, bool):
        problems.append("abstain is not true or false")
    elif abstain != str(item.get("kind", "")).startswith("abstain"):
        problems.append("abstain does not agree with the kind")
    elif abstain and item.get("gold"):
        problems.append("an abstain question has gold strings")
    elif not abstain and not item.get("gold"):
        problems.append("an answerable question has no gold string")
    if item.get("kind") == "abstain-absent" and item.get("id") is not None:
        problems.append("an abstain-absent question names a page")
    return problems


def page_problems(item: dict, pages: dict[str, dict]) -> list[str]:
    """A question about a page (answerable or not) must name a page of the index."""
    if item.get("kind") == "abstain-absent" or item.get("id") in pages:
        return []
    return [f"page {item.get('id')!r} is not in the index"]


def gold_length_problem(gold: str, item: dict) -> str | None:
    words = len(gold.split())
    is_name = item.get("kind") == "byline" or item.get("answer_type") == "person"
    low, high = GOLD_WORDS
    if is_name:
        low = NAME_WORDS[0]
    if low <= words <= high:
        return None
    return f"gold {gold!r} has {words} words (wants {low}-{high})"


def gold_problems(item: dict, pages: dict[str, dict]) -> tuple[list[str], list[str]]:
    """Problems that fail the question, and notes (gold strings shared with other pages)."""
    problems, notes = [], []
    page = pages.get(item.get("id"))
    if page is None:
        return [], notes
    for gold in item["gold"]:
        problem = gold_length_problem(gold, item)
        if problem:
            problems.append(problem)
        in_passage = any(gold in text for text in page["passages"])
        in_byline = item.get("kind") == "byline" and gold in page["byline"]
        if not (in_passage or in_byline):
            problems.append(f"gold {gold!r} is in no non-boilerplate passage of its page")
        others = [
            name
            for name, other in pages.items()
            if name != item["id"] and any(gold in text for text in other["passages"])
        ]
        if others:
            notes.append(f"gold {gold!r} is also in {len(others)} other page(s): {others[:3]}")
    return problems, notes


def check(path: Path, index_path: str, require_type: bool) -> int:
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    pages = load_pages(index_path)
    failed = 0
    unique_golds = total_golds = 0
    for number, item in enumerate(items, 1):
        problems = field_problems(item, require_type) + page_problems(item, pages)
        notes = []
        if not item.get("abstain") and isinstance(item.get("gold"), list):
            gold_fails, notes = gold_problems(item, pages)
            problems += gold_fails
            total_golds += len(item["gold"])
            unique_golds += len(item["gold"]) - len(notes)
        for line in problems:
            print(f"FAIL {path.name}:{number}: {line}  [{item.get('q', '')[:60]}]")
        for line in notes:
            print(f"note {path.name}:{number}: {line}")
        failed += bool(problems)
    kinds = Counter(item.get("kind") for item in items)
    types = Counter(item.get("answer_type") for item in items)
    about = {item["id"] for item in items if item.get("id")}
    print(
        f"{len(items)} questions, {failed} failing; about {len(about)} pages; "
        f"{unique_golds} of {total_golds} gold strings found in no other page"
    )
    print("kinds: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=str)))
    print("answer types: " + ", ".join(f"{k} {n}" for k, n in sorted(types.items(), key=str)))
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--index", required=True, help="an index of the benchmark's pages")
    parser.add_argument(
        "--require-type", action="store_true", help="every question needs an answer_type"
    )
    args = parser.parse_args(argv)
    return check(args.questions, args.index, args.require_type)


if __name__ == "__main__":
    sys.exit(main())
