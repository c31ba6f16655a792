"""Check the "who said what" dev file against the text the indexes hold.

Every gold quote must be an exact substring (same characters, curly quotes included)
of one passage of one of its speaker's documents, as the project extracts them; every
document id must name a document of that topic's corpus; the fields must have the
shapes the scorer reads. Prints counts, exits 1 on any problem.

    python bench/said_check.py --index seeds=/tmp/seeds-index --index news-dev=/tmp/news-index

Document ids in the dev file are file stems (``002_ae98e70f0ec14293``,
``fundus-ca-CBCNews_2024_08_08``): the name of the source file without its folder and
extension, so the file does not depend on where the corpus was indexed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

DEV = Path(__file__).resolve().parent / "data" / "said-dev.jsonl"
CORPORA = ("seeds", "news-dev")
MIN_WORDS, MAX_WORDS = 4, 15


def doc_stem(doc_id_or_source: str) -> str:
    """The file stem a dev-file id uses for an index's document id or source path."""
    name = doc_id_or_source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    name = name.split("#", 1)[0]
    return name.rsplit(".", 1)[0] if "." in name else name


def load_dev(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def passages_by_stem(index_path: str) -> dict[str, list[str]]:
    """Passage texts of every document of one index, keyed by file stem."""
    from assistant import Index

    texts: dict[str, list[str]] = {}
    with Index(index_path) as index:
        for document in index.documents():
            stem = doc_stem(document.source)
            passages = index.document_passages(document.doc_id)
            texts.setdefault(stem, []).extend(passage.text for passage in passages)
    return texts


def shape_problems(topic: dict) -> list[str]:
    """What is missing or mistyped in one line of the dev file."""
    problems = []
    name = topic.get("topic")
    if not isinstance(name, str) or not name.strip():
        return ["a line without a topic"]
    if topic.get("corpus") not in CORPORA:
        problems.append(f"{name!r}: corpus must be one of {CORPORA}")
    speakers = topic.get("speakers")
    if not isinstance(speakers, list):
        return [*problems, f"{name!r}: speakers must be a list"]
    if bool(topic.get("abstain")) != (not speakers):
        problems.append(f"{name!r}: abstain must be true exactly when speakers is empty")
    for field in ("not_speakers", "related_speakers"):
        if not isinstance(topic.get(field, []), list):
            problems.append(f"{name!r}: {field} must be a list")
    for speaker in speakers:
        label = f"{name!r}/{speaker.get('speaker')!r}"
        if not isinstance(speaker.get("speaker"), str) or not speaker["speaker"].strip():
            problems.append(f"{name!r}: a speaker without a name")
        if not speaker.get("quotes") or not speaker.get("doc_ids"):
            problems.append(f"{label}: needs quotes and doc_ids")
        if not isinstance(speaker.get("aliases", []), list):
            problems.append(f"{label}: aliases must be a list")
    return problems


def quote_problems(topic: dict, texts: dict[str, list[str]], counts: Counter) -> list[str]:
    """Quotes not found verbatim in a passage of the speaker's documents, word counts out
    of range, document ids the index lacks, and documents none of the quotes come from."""
    problems = []
    for speaker in topic["speakers"]:
        label = f"{topic['topic']!r}/{speaker['speaker']!r}"
        missing = [doc for doc in speaker["doc_ids"] if doc not in texts]
        problems += [
            f"{label}: no document {doc!r} in the {topic['corpus']} index" for doc in missing
        ]
        used = set()
        for quote in speaker["quotes"]:
            counts["quotes"] += 1
            words = len(quote.split())
            if not MIN_WORDS <= words <= MAX_WORDS:
                problems.append(f"{label}: {words} words (want {MIN_WORDS}-{MAX_WORDS}): {quote!r}")
            found = [
                doc for doc in speaker["doc_ids"] if any(quote in p for p in texts.get(doc, ()))
            ]
            if found:
                counts["quotes found"] += 1
                used.update(found)
            else:
                problems.append(f"{label}: not in a passage of {speaker['doc_ids']}: {quote!r}")
        problems += [
            f"{label}: no quote comes from {doc!r}"
            for doc in speaker["doc_ids"]
            if doc in texts and doc not in used
        ]
    return problems


def check(
    topics: list[dict], texts_by_corpus: dict[str, dict[str, list[str]]]
) -> tuple[Counter, list[str]]:
    counts: Counter = Counter()
    problems: list[str] = []
    names = Counter(topic.get("topic") for topic in topics)
    problems += [f"{name!r}: topic listed {n} times" for name, n in names.items() if n > 1]
    for topic in topics:
        shape = shape_problems(topic)
        problems += shape
        if shape:
            continue
        counts["topics"] += 1
        counts[f"topics {topic['corpus']}"] += 1
        counts["abstain topics"] += bool(topic.get("abstain"))
        counts["speakers"] += len(topic["speakers"])
        counts["not_speakers"] += len(topic.get("not_speakers", []))
        texts = texts_by_corpus.get(topic["corpus"])
        if texts is None:
            problems.append(f"{topic['topic']!r}: no --index given for corpus {topic['corpus']!r}")
            continue
        problems += quote_problems(topic, texts, counts)
    return counts, problems


def parse_indexes(values: list[str]) -> dict[str, str]:
    indexes = {}
    for value in values:
        corpus, _, path = value.partition("=")
        if corpus not in CORPORA or not path:
            raise SystemExit(f"--index wants CORPUS=PATH with CORPUS in {CORPORA}, not {value!r}")
        indexes[corpus] = path
    return indexes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--index", action="append", default=[], metavar="CORPUS=PATH")
    args = parser.parse_args(argv)
    indexes = parse_indexes(args.index)
    topics = load_dev(args.dev)
    texts = {corpus: passages_by_stem(path) for corpus, path in indexes.items()}
    counts, problems = check(topics, texts)
    for problem in problems:
        print("FAIL", problem)
    for key in sorted(counts):
        print(f"{key:>20}: {counts[key]}")
    print(f"{'problems':>20}: {len(problems)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
