"""Scale sweep: warm query latency, memory and recall at 10k, 100k and 1M passages.

For each size a real index is written with the storage package's own writers
(``storage.database``: SQLite with FTS5 and name keys; ``storage.vectors``:
vectors.faiss chosen by size, vectors.npy): the text is generated
(Zipf-distributed pseudo-words, names, ten paragraphs per document) and the vectors are
synthetic (clustered on the sphere), since embedding a million paragraphs would take
hours here. Then a fresh process opens it through the library and measures:

* latency of ``Index.search(question, k=10)`` (ONNX question embedding, IVF or flat
  search with exact re-ranking, BM25 over FTS5, fusion, passage fetch), p50 and p99
  over warm queries;
* peak resident memory of that process;
* recall@10 of the vector search against exact search, on query vectors drawn like
  the corpus vectors.

    .venv/bin/python bench/scale.py [--sizes 10000,100000,1000000] [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import peak_rss_mib, table, write_json

DIMENSION = 384
CLUSTERS = 2000
SYLLABLES = (
    "ka ro mi na te lo su vi de ran sol mer tak ul fe is an por gu ba".split()  # noqa: SIM905
)


def vocabulary(rng: np.random.Generator, size: int, capitalised: bool = False) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        count = rng.integers(2, 5)
        word = "".join(rng.choice(SYLLABLES, count))
        words.add(word.capitalize() if capitalised else word)
    return sorted(words)


def generate_text(rng, count: int) -> tuple[list[str], list[str], np.ndarray]:
    """Passages of 30-70 Zipf-sampled words with 0-2 names; also the word list and
    Zipf weights (for making questions)."""
    words = np.array(vocabulary(rng, 30_000))
    names = np.array(vocabulary(rng, 3_000, capitalised=True))
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.05
    weights /= weights.sum()
    lengths = rng.integers(30, 71, count)
    picks = rng.choice(len(words), int(lengths.sum()), p=weights)
    passages = []
    offset = 0
    for number, length in enumerate(lengths):
        chosen = list(words[picks[offset : offset + length]])
        offset += length
        for _ in range(number % 3):
            chosen.insert(int(rng.integers(0, len(chosen))), str(rng.choice(names)))
        chosen[0] = chosen[0].capitalize()
        passages.append(" ".join(chosen) + ".")
    return passages, list(words) + list(names), weights


def synthetic_vectors(rng, count: int) -> np.ndarray:
    centers = rng.standard_normal((CLUSTERS, DIMENSION)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    vectors = np.empty((count, DIMENSION), dtype=np.float32)
    for start in range(0, count, 100_000):
        part = min(100_000, count - start)
        chunk = centers[rng.integers(0, CLUSTERS, part)]
        chunk += 0.06 * rng.standard_normal((part, DIMENSION)).astype(np.float32)
        vectors[start : start + part] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return vectors


def write_index(index_dir: Path, count: int, seed: int = 1) -> dict:
    from types import SimpleNamespace

    from assistant import embeddings
    from assistant.ingest.chunks import Chunk
    from assistant.storage import database, vectors
    from assistant.storage.layout import (
        DB_NAME,
        RAW_VECTORS_NAME,
        SCHEMA_VERSION,
        VECTORS_NAME,
        Manifest,
        write_manifest,
    )
    from assistant.types import SourceDocument

    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    passages, _, _ = generate_text(rng, count)
    documents, pending = [], []
    for first in range(0, count, 10):
        group = passages[first : first + 10]
        doc_id = f"doc-{first // 10:07d}.txt"
        text = ""
        for paragraph, body in enumerate(group, 1):
            start = len(text)
            text += body
            chunk = Chunk(paragraph, start, len(text), body, False, ((start, len(text)),))
            pending.append(SimpleNamespace(doc_id=doc_id, source=doc_id, chunk=chunk))
            text += "\n\n"
        documents.append(SourceDocument(doc_id=doc_id, source=doc_id, text=text.rstrip()))
    passage_vectors = synthetic_vectors(rng, count)
    generated = time.perf_counter() - started

    generation = "gen-bench"
    folder = index_dir / generation
    folder.mkdir(parents=True)
    started = time.perf_counter()
    database.write_database(folder / DB_NAME, documents, pending)
    database_s = time.perf_counter() - started
    started = time.perf_counter()
    kind = vectors.write_vectors(folder, passage_vectors)
    vectors_s = time.perf_counter() - started
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    write_manifest(
        index_dir,
        Manifest(
            schema_version=SCHEMA_VERSION,
            model=embeddings.MODEL_NAME,
            dimension=DIMENSION,
            generation=generation,
            created_at=now,
            updated_at=now,
            documents=len(documents),
            passages=count,
            vectors=count,
            model_fingerprint=embeddings.model_fingerprint(),
            artifacts={
                name: {"size": (folder / name).stat().st_size}
                for name in (DB_NAME, VECTORS_NAME, RAW_VECTORS_NAME)
            },
            vector_index=kind,
        ),
    )
    return {
        "vector_index": kind,
        "generate_s": generated,
        "write_database_s": database_s,
        "write_vectors_s": vectors_s,
        "disk_mib": sum(f.stat().st_size for f in folder.iterdir()) / 2**20,
    }


def measure(index_dir: Path, count: int, queries: int, seed: int = 2) -> dict:
    """Runs in a fresh process: open through the library, warm up, time queries."""
    from assistant import Index

    rng = np.random.default_rng(seed)
    _, words, _ = generate_text(np.random.default_rng(1), 10)  # same vocabulary
    plain, names = words[:30_000], words[30_000:]
    # Questions: 2-5 ordinary words past the 100 most common, sometimes a name.
    questions = []
    for number in range(queries + 20):
        picked = [plain[int(i)] for i in rng.integers(100, 5_000, rng.integers(2, 6))]
        if number % 2:
            picked.insert(0, names[int(rng.integers(0, len(names)))])
        questions.append("what did " + " ".join(picked) + " say?")
    index = Index(index_dir)
    for question in questions[:20]:
        index.search(question, k=10)
    latencies = []
    for question in questions[20:]:
        started = time.perf_counter()
        hits = index.search(question, k=10)
        latencies.append((time.perf_counter() - started) * 1000)
        assert len(hits) == 10
    peak_mib = peak_rss_mib()

    # Recall of the vector side against exact search over the full-precision vectors.
    store = index.store
    raw = store.raw_vectors
    sample = np.asarray(raw[rng.integers(0, count, 100)])
    sample = sample + 0.03 * rng.standard_normal(sample.shape).astype(np.float32)
    sample /= np.linalg.norm(sample, axis=1, keepdims=True)
    exact_scores = np.full((len(sample), 10), -np.inf, dtype=np.float32)
    exact_rows = np.zeros((len(sample), 10), dtype=np.int64)
    for start in range(0, count, 200_000):
        block = np.asarray(raw[start : start + 200_000])
        scores = sample @ block.T
        top = (
            np.argpartition(-scores, 10, axis=1)[:, :10]
            if scores.shape[1] > 10
            else (np.tile(np.arange(scores.shape[1]), (len(sample), 1)))
        )
        merged_scores = np.concatenate([exact_scores, np.take_along_axis(scores, top, 1)], 1)
        merged_rows = np.concatenate([exact_rows, top + start], 1)
        keep = np.argsort(-merged_scores, axis=1)[:, :10]
        exact_scores = np.take_along_axis(merged_scores, keep, 1)
        exact_rows = np.take_along_axis(merged_rows, keep, 1)
    found = 0
    for query, truth in zip(sample, exact_rows, strict=True):
        found += len(set(truth.tolist()) & {row for row, _ in store.dense_search(query, 10)})
    return {
        "queries": len(latencies),
        "p50_ms": float(np.percentile(latencies, 50)),
        "p99_ms": float(np.percentile(latencies, 99)),
        "mean_ms": float(np.mean(latencies)),
        "peak_rss_mib": peak_mib,
        "recall_at_10": found / (10 * len(sample)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument(
        "--workdir", help="keep the indexes here and reuse them on the next run (default: temp)"
    )
    parser.add_argument("--measure", nargs=2, metavar=("INDEX", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), int(args.measure[1]), args.queries)))
        return

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for count in (int(s) for s in args.sizes.split(",")):
            index_dir = Path(args.workdir or tmp) / f"index-{count}"
            if args.workdir and (index_dir / "manifest.json").is_file():
                written = json.loads((index_dir / "written.json").read_text())
            else:
                written = write_index(index_dir, count)
                (index_dir / "written.json").write_text(json.dumps(written))
            done = subprocess.run(
                [sys.executable, __file__, "--measure", str(index_dir), str(count),
                 "--queries", str(args.queries)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode:
                raise SystemExit(done.stderr)
            results[count] = {**written, **json.loads(done.stdout.strip().splitlines()[-1])}
            print(f"{count:>9,} passages: {results[count]}", flush=True)
            if not args.workdir:
                for item in index_dir.glob("*/*"):
                    item.unlink()

    print("\nWarm Index.search(question, k=10), one process per size:\n")
    rows = [
        [f"{count:,}", r["vector_index"], r["p50_ms"], r["p99_ms"], r["peak_rss_mib"],
         r["recall_at_10"], r["disk_mib"]]
        for count, r in results.items()
    ]  # fmt: skip
    print(table(["passages", "vectors", "p50 ms", "p99 ms", "peak RSS MiB", "recall@10",
                 "disk MiB"], rows))  # fmt: skip
    print("\ntargets at 1M: p50 <= 20 ms, p99 <= 60 ms, RSS <= 1536 MiB, recall@10 >= 0.95")
    print(f"written: {write_json('scale', {'results': results, 'queries': args.queries})}")


if __name__ == "__main__":
    main()
