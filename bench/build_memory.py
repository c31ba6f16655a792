"""Peak memory of an index build as the corpus grows: the streaming build against the
build it replaced (the tree of commit BASE, all in memory), in one run.

Each build runs in a fresh Python; its peak resident set is the kernel's VmHWM. The
corpus is generated: SciFact paragraphs of about three sentences (``corpus.paragraphs``)
laid out as articles of ten paragraphs, each paragraph made unique by a closing
"Record N." (so that no paragraph is site boilerplate and every one is embedded).

Two encoders:
  * ``stand-in``: 384 dimensions like MiniLM, vectors drawn from a seeded generator,
    about 10,000x faster than the model: the build's own memory (reading, splitting,
    spooling, marking, SQLite, vector files, FAISS), not the model's;
  * ``MiniLM``: the bundled model (ONNX), at the sizes ``--real`` names: what a user's
    build takes, model included.

    .venv/bin/python bench/build_memory.py [--sizes 10000 30000 100000] [--real 2000]
        [--base 5d8e777] [--no-base]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
from _common import ROOT, table, write_json
from corpus import paragraphs

BENCH = Path(__file__).resolve().parent
BASE = "5d8e777"  # the last commit before the build streamed
PER_FILE = 10


class StandIn:
    """An encoder of MiniLM's dimension that costs next to nothing: unit vectors from
    a generator seeded by the texts (deterministic, distinct per text batch)."""

    name = "memory-stand-in"
    dimension = 384
    fingerprint = ""

    def encode(self, texts) -> np.ndarray:
        seed = zlib.crc32("\x00".join(texts).encode("utf-8", "surrogatepass"))
        rows = np.random.default_rng(seed).standard_normal((len(texts), self.dimension), np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        return rows.astype(np.float32)


def write_articles(target: Path, passages: int) -> int:
    """Articles of PER_FILE unique paragraphs under a title, ``passages`` paragraphs
    in all; returns the number of files."""
    titles, blocks = paragraphs()
    target.mkdir(parents=True, exist_ok=True)
    files = -(-passages // PER_FILE)
    for number in range(files):
        body = [
            f"{blocks[(number * PER_FILE + j) % len(blocks)]} Record {number}-{j}."
            for j in range(min(PER_FILE, passages - number * PER_FILE))
        ]
        folder = target / f"part-{number // 1000:03d}"
        folder.mkdir(exist_ok=True)
        text = "\n\n".join([titles[number % len(titles)], *body]) + "\n"
        (folder / f"article-{number:06d}.txt").write_text(text)
    return files


CHILD = """
import json, re, sys, time
sys.path[:0] = [{tree!r}, {bench!r}]
from assistant import IndexWriter
from build_memory import StandIn
encoder = StandIn() if {stand_in!r} else None
started = time.perf_counter()
report = IndexWriter({index!r}, encoder=encoder).build([{corpus!r}])
seconds = time.perf_counter() - started
status = open('/proc/self/status').read()
peak = int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))
print(json.dumps({{"peak_kib": peak, "seconds": seconds, "passages": report.passages,
    "embedded": report.passages_embedded, "documents": report.documents}}))
"""


def measure(tree: Path, corpus: Path, index: Path, stand_in: bool) -> dict:
    shutil.rmtree(index, ignore_errors=True)
    code = CHILD.format(
        tree=str(tree), bench=str(BENCH), stand_in=stand_in, index=str(index), corpus=str(corpus)
    )
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tree
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    found = json.loads(done.stdout.strip().splitlines()[-1])
    found["peak_mib"] = found.pop("peak_kib") / 1024
    found["index_mib"] = sum(p.stat().st_size for p in index.rglob("*") if p.is_file()) / 2**20
    shutil.rmtree(index, ignore_errors=True)
    return found


def base_tree(folder: Path, commit: str) -> Path:
    """The build before streaming: ``git archive`` of ``commit`` into ``folder``."""
    tree = folder / f"tree-{commit}"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit, "assistant"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 30_000, 100_000])
    parser.add_argument("--real", type=int, nargs="*", default=[2_000])
    parser.add_argument("--base", default=BASE)
    parser.add_argument("--no-base", action="store_true", help="measure the new build only")
    args = parser.parse_args()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        trees = {"streaming": ROOT}
        if not args.no_base:
            trees[f"{args.base} (all in memory)"] = base_tree(folder, args.base)
        plan = [(size, True) for size in args.sizes] + [(size, False) for size in args.real]
        for size, stand_in in plan:
            corpus = folder / f"corpus-{size}"
            if not corpus.exists():
                write_articles(corpus, size)
            for build, tree in trees.items():
                found = measure(tree, corpus, folder / "index", stand_in)
                row = {"build": build, "encoder": "stand-in" if stand_in else "MiniLM", **found}
                rows.append(row)
                print(json.dumps(row), flush=True)
    report(rows)
    print(f"written: {write_json('build_memory', {'rows': rows})}")


def report(rows: list[dict]) -> None:
    print("\nPeak RSS of `IndexWriter.build` (fresh process, VmHWM):\n")
    print(
        table(
            ["build", "encoder", "passages", "peak MiB", "seconds", "index MiB"],
            [
                [
                    r["build"],
                    r["encoder"],
                    r["passages"],
                    r["peak_mib"],
                    r["seconds"],
                    r["index_mib"],
                ]
                for r in rows
            ],
        )
    )


if __name__ == "__main__":
    main()
