"""txtai's side of bench/warm_query.py, run by the Python of txtai's own venv.

Builds (once, saved beside its venv) a hybrid txtai index of a BEIR corpus with the
given MiniLM folder, then answers JSON lines on stdin, {"query": ..., "k": ...}, with
{"ids": [...], "seconds": ...}: the time of ``Embeddings.search`` alone, in this
process, one thread.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def load_or_build(model: str, corpus: Path, saved: Path):
    from txtai import Embeddings

    embeddings = Embeddings(
        {
            "path": model,
            "content": False,
            "hybrid": True,  # dense + BM25, txtai's own combination
            "backend": "faiss",
            "faiss": {"components": "IDMap,Flat"},  # exact, as the other side's flat index
        }
    )
    if (saved / "config.json").is_file() or (saved / "config").is_file():
        embeddings.load(str(saved))
        return embeddings, 0.0

    def documents():
        with open(corpus, encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                text = f"{record.get('title') or ''} {record['text']}".strip()
                yield str(record["_id"]), text, None

    started = time.perf_counter()
    embeddings.index(documents())
    took = time.perf_counter() - started
    embeddings.save(str(saved))
    return embeddings, took


def main() -> None:
    import torch

    torch.set_num_threads(1)
    model, corpus, saved = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    embeddings, build_seconds = load_or_build(model, corpus, saved)
    print(json.dumps({"ready": True, "build_seconds": build_seconds}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        started = time.perf_counter()
        found = embeddings.search(request["query"], request["k"])
        seconds = time.perf_counter() - started
        ids = [str(row[0]) if isinstance(row, (tuple, list)) else str(row["id"]) for row in found]
        print(json.dumps({"ids": ids, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
