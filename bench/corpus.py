"""A 1,000-file corpus of real prose for the build and update benchmarks.

News paragraphs are short (the seeds average about 50 words), so SciFact's abstracts
(../shared/benchmarks/scifact) are cut into paragraphs of three sentences and laid out
as 1,000 articles of five paragraphs under a title line. Without the shared folder the
seeds' paragraphs are recombined instead (less varied).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from _common import ROOT, SEEDS

SCIFACT = ROOT.parent / "shared" / "benchmarks" / "scifact" / "corpus.jsonl"


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def paragraphs() -> tuple[list[str], list[str]]:
    """(titles, paragraphs of about three sentences)."""
    if SCIFACT.is_file():
        records = [json.loads(line) for line in SCIFACT.read_text().splitlines() if line.strip()]
        titles = [r["title"] for r in records if r.get("title")]
        found = []
        for record in records:
            sentences = SENTENCE_END.split(record["text"].strip())
            for start in range(0, len(sentences), 3):
                found.append(" ".join(sentences[start : start + 3]))
        return titles, [p for p in found if len(p.split()) >= 8]
    blocks = [
        block.strip()
        for path in sorted(SEEDS.glob("*.txt"))
        for block in path.read_text().split("\n\n")
        if len(block.split()) > 20
    ]
    return [f"Article {n}" for n in range(100)], blocks * 80


def write_corpus(target: Path, files: int = 1000, per_file: int = 5) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    titles, blocks = paragraphs()
    written = []
    for number in range(files):
        part = blocks[number * per_file : (number + 1) * per_file]
        if len(part) < per_file:
            break
        path = target / f"article-{number:04d}.txt"
        path.write_text("\n\n".join([titles[number % len(titles)], *part]) + "\n")
        written.append(path)
    return written
