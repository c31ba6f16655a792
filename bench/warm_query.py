"""Warm query latency on SciFact, one thread, against txtai (hybrid) if asked.

This project: ``Index.search(query, k)`` on the index ``assistant eval --beir`` builds,
ONNX Runtime on one intra-op thread. txtai (``--with-txtai``): a hybrid index (dense +
BM25) of the same corpus with the same MiniLM folder, in its own venv under
bench/results/ (made here on first use), torch on one thread; its process times its
own ``search`` calls. Queries alternate between the two (which goes first alternates
too). Reported: p50/p99 latency and nDCG@10 of each (documents ranked by their first
passage among the k hits; txtai returns documents).

``--baseline SRC`` adds another version of this project, in the same rotation: SRC
holds its ``assistant`` package (``git archive COMMIT assistant | tar -x -C SRC``); a
process of its own (bench/_assistant_worker.py) searches the same index with it.

    .venv/bin/python bench/warm_query.py [--queries 300] [--k 10] [--with-txtai]
        [--torch SPEC]   # what pip installs for torch in txtai's venv (torch==2.13.0)
        [--baseline SRC] [--baseline-name NAME]
"""

from __future__ import annotations

import os

# One thread for every numeric library of both sides, before any of them is imported.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"
os.environ["ASSISTANT_ONNX_THREADS"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from _common import RESULTS, table, write_json  # noqa: E402

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("ASSISTANT_SHARED", HERE.parents[1] / "shared"))
SCIFACT = SHARED / "benchmarks" / "scifact"
TXTAI_VENV = RESULTS / "txtai-venv"


def txtai_python(torch_spec: str) -> Path:
    """The venv's Python, with txtai installed in it (made on first use)."""
    python = TXTAI_VENV / "bin" / "python"
    if python.is_file() and _imports(python, "txtai"):
        return python
    subprocess.run([sys.executable, "-m", "venv", str(TXTAI_VENV)], check=True)
    install = [str(python), "-m", "pip", "install", "-q", torch_spec, "txtai"]
    done = subprocess.run(install, capture_output=True, text=True)
    if done.returncode != 0 or not _imports(python, "txtai"):
        raise SystemExit(f"txtai could not be installed ({' '.join(install)}):\n{done.stderr}")
    return python


def _imports(python: Path, module: str) -> bool:
    return (
        subprocess.run([str(python), "-c", f"import {module}"], capture_output=True).returncode == 0
    )


class Worker:
    """A search process of its own, answering one JSON line with another."""

    def __init__(self, command: list[str], pythonpath: str = "") -> None:
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": pythonpath},
        )
        ready = json.loads(self.process.stdout.readline() or "{}")
        if not ready.get("ready"):
            raise SystemExit(f"{command[1]} did not start (see its messages above)")
        self.build_seconds = ready.get("build_seconds", 0.0)

    def search(self, query: str, k: int) -> tuple[list[str], float]:
        self.process.stdin.write(json.dumps({"query": query, "k": k}) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        return answer["ids"], answer["seconds"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def ours(index, query: str, k: int) -> tuple[list[str], float]:
    from assistant.eval.beir import document_ranking

    started = time.perf_counter()
    hits = index.search(query, k=k)
    seconds = time.perf_counter() - started
    return document_ranking(h.passage for h in hits), seconds


def summary(name: str, seconds: list[float], ndcg: list[float]) -> dict:
    ms = np.array(seconds) * 1000
    return {
        "system": name,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "ndcg@10": float(np.mean(ndcg)),
        "queries": len(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beir", type=Path, default=SCIFACT)
    parser.add_argument("--index", type=Path, help="the SciFact index (default: eval's cache)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--with-txtai", action="store_true")
    parser.add_argument("--torch", default="torch==2.13.0", help="pip spec for txtai's torch")
    parser.add_argument("--baseline", type=Path, help="a folder holding another 'assistant'")
    parser.add_argument("--baseline-name", default="baseline", help="its name in the table")
    parser.add_argument("--name", default="warm_query", help="bench/results/NAME.json")
    args = parser.parse_args()

    from assistant import embeddings
    from assistant.eval.beir import load_beir, ndcg_at, open_corpus_index

    data = load_beir(args.beir, "test")
    index = open_corpus_index(data, args.index)
    queries = list(data.queries.items())[: args.queries]
    systems = {"assistant": lambda q: ours(index, q, args.k)}
    workers: dict[str, Worker] = {}
    if args.baseline:
        command = [sys.executable, str(HERE / "_assistant_worker.py"), str(index.path)]
        workers[args.baseline_name] = Worker(command, str(args.baseline.resolve()))
    if args.with_txtai:
        saved = RESULTS / f"txtai-{data.corpus.parent.name}"
        script, model = str(HERE / "_txtai_worker.py"), str(embeddings.model_dir())
        command = [str(txtai_python(args.torch)), script, model, str(data.corpus), str(saved)]
        workers["txtai"] = Worker(command)
    for name, worker in workers.items():
        systems[name] = lambda q, worker=worker: worker.search(q, args.k)
    load_before = os.getloadavg()
    for _, text in queries[: args.warmup]:
        for search in systems.values():
            search(text)
    seconds = {name: [] for name in systems}
    ndcg = {name: [] for name in systems}
    names = list(systems)
    for number, (query_id, text) in enumerate(queries):
        for name in names if number % 2 == 0 else names[::-1]:
            ranking, took = systems[name](text)
            seconds[name].append(took)
            ndcg[name].append(ndcg_at(ranking, data.qrels[query_id]))
    for worker in workers.values():
        worker.close()
    rows = [summary(name, seconds[name], ndcg[name]) for name in names]
    print(f"SciFact test, {len(queries)} warm queries, k={args.k}, one thread, alternating")
    print(f"load average {load_before} before, {os.getloadavg()} after")
    print(
        table(
            ["system", "p50 ms", "p99 ms", "mean ms", "nDCG@10"],
            [
                [r["system"], r["p50_ms"], r["p99_ms"], r["mean_ms"], round(r["ndcg@10"], 4)]
                for r in rows
            ],
        )
    )
    extra = {"txtai_build_seconds": workers["txtai"].build_seconds} if args.with_txtai else {}
    path = write_json(
        args.name,
        {
            "k": args.k,
            "passages": index.store.manifest.passages,
            "documents": index.store.manifest.documents,
            "load_average_before": load_before,
            "load_average": os.getloadavg(),
            "results": rows,
            **extra,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
