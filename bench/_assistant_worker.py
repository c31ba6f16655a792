"""Another version of this project's side of bench/warm_query.py (``--baseline SRC``):
run with ``PYTHONPATH=SRC`` (a checkout or ``git archive`` of an earlier commit), it
opens the given index and answers JSON lines on stdin, {"query": ..., "k": ...}, with
{"ids": [...], "seconds": ...}: the documents of ``Index.search``'s hits and the time
of that call alone, in this process, one ONNX thread (as the parent set).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    from assistant import Index
    from assistant.eval.beir import document_ranking

    index = Index(Path(sys.argv[1]))
    index.warm_up()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        started = time.perf_counter()
        hits = index.search(request["query"], k=request["k"])
        seconds = time.perf_counter() - started
        ids = document_ranking(h.passage for h in hits)
        print(json.dumps({"ids": ids, "seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
