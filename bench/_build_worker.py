"""One build by one version of the code, for bench/build.py's comparison.

    python bench/_build_worker.py TREE CORPUS INDEX

``TREE`` holds the ``assistant`` package to run (an old commit's, or this checkout).
The model is loaded first; then ``IndexWriter.build`` is timed. Prints one JSON line:
seconds, passages embedded, peak resident memory (VmHWM) and the index's size on disk.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def writer(index: Path):
    try:
        from assistant import IndexWriter
    except ImportError:  # before IndexWriter was exported (51d1b5d)
        from assistant.api import Index

        return Index.writer(index)
    return IndexWriter(index)


def main() -> None:
    tree, corpus, index = (Path(arg) for arg in sys.argv[1:4])
    sys.path.insert(0, str(tree))
    from assistant.embeddings import shared_onnx_encoder

    shared_onnx_encoder().encode(["load the model and its session"])
    started = time.perf_counter()
    report = writer(index).build([str(corpus)])
    seconds = time.perf_counter() - started
    size = sum(path.stat().st_size for path in index.rglob("*") if path.is_file())
    peak = next(
        int(line.split()[1]) / 1024
        for line in Path("/proc/self/status").read_text().splitlines()
        if line.startswith("VmHWM:")
    )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "passages": report.passages_embedded,
                "documents": report.documents,
                "peak_rss_mib": peak,
                "index_mib": size / 2**20,
            }
        )
    )


if __name__ == "__main__":
    main()
