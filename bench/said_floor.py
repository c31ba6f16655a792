"""A floor for the "who said what" scores: what the statements the index already stores
give without any topic logic. For each dev topic, search the topic's corpus for the
topic (10 passages), and return every stored statement of those passages, grouped by
the speaker string the index holds; never abstain. Writes results in the shape
bench/said_score.py reads.

    python bench/said_floor.py --index seeds=/tmp/seeds-index \\
        --index news-dev=/tmp/news-index OUT.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from said_check import DEV, load_dev, parse_indexes


def topic_result(index, topic: str, k: int) -> dict:
    hits = index.search(topic, k=k)
    stored = index.store.statements([hit.passage.passage_id for hit in hits])
    speakers: dict[str, list[dict]] = {}
    for hit in hits:
        text = index.document_text(hit.passage.doc_id)
        for said in stored.get(hit.passage.passage_id, []):
            quote = text[said.start : said.end]
            speakers.setdefault(said.speaker, []).append(
                {"quote": quote, "doc_id": hit.passage.doc_id}
            )
    listed = [{"speaker": name, "statements": found} for name, found in speakers.items()]
    return {"topic": topic, "speakers": listed, "abstained": not listed}


def main(argv: list[str] | None = None) -> int:
    from assistant import Index

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--index", action="append", default=[], metavar="CORPUS=PATH")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args(argv)
    indexes = {corpus: Index(path) for corpus, path in parse_indexes(args.index).items()}
    with args.out.open("w", encoding="utf-8") as out:
        for topic in load_dev(args.dev):
            result = topic_result(indexes[topic["corpus"]], topic["topic"], args.k)
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
