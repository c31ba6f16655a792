"""Local store (FAISS + SQLite FTS5) against Milvus Lite, at 10k and 100k passages.

The passages are synthetic, as in bench/scale.py (embedding 100k paragraphs would take
most of an hour here): Zipf-distributed pseudo-words, ten passages per document, and
unit vectors clustered on the sphere. Both stores get the same rows.

* build: local = the vector index the local store chooses for the size
  (``make_vector_index``: flat up to 50,000, IVF + SQ8 above) plus an FTS5 table of the
  normalised text; Milvus Lite = :class:`assistant.storage.milvus.writer.MilvusWriter` (three
  collections, BM25 function, FLAT or HNSW dense index), rows written 1,000 passages a
  source;
* query: one dense search (k=10) and one BM25 search (k=50), as retrieval makes them
  for each question, p50 and p99 over warm queries (the question's embedding is not
  counted: it is the same ONNX call for both);
* recall@10 of each dense search against exact search (numpy, full precision).

    .venv/bin/python bench/milvus.py [--sizes 10000,100000] [--queries 200]

Writes bench/results/milvus.json and prints a table.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import table, write_json

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.embeddings import DIMENSION, MODEL_NAME  # noqa: E402
from assistant.storage.milvus import backend as mb  # noqa: E402
from assistant.storage.milvus import writer as mw  # noqa: E402
from assistant.text import keywords  # noqa: E402
from assistant.types import Document, Passage, Span  # noqa: E402

SYLLABLES = "ka ro mi na te lo su vi de ran sol mer tak ul fe is an por gu ba".split()  # noqa: SIM905
CLUSTERS = 500
PER_SOURCE = 1_000


def corpus(count: int, seed: int = 7):
    """Texts and vectors of ``count`` passages, and the word list for questions."""
    rng = np.random.default_rng(seed)
    words: set[str] = set()
    while len(words) < 20_000:
        words.add("".join(rng.choice(SYLLABLES, rng.integers(2, 5))))
    vocabulary = np.array(sorted(words))
    weights = 1.0 / np.arange(1, len(vocabulary) + 1) ** 1.05
    weights /= weights.sum()
    lengths = rng.integers(30, 71, count)
    picks = vocabulary[rng.choice(len(vocabulary), int(lengths.sum()), p=weights)]
    texts, offset = [], 0
    for length in lengths:
        texts.append(" ".join(picks[offset : offset + length]) + ".")
        offset += length
    centres = rng.normal(size=(CLUSTERS, DIMENSION)).astype(np.float32)
    vectors = centres[rng.integers(0, CLUSTERS, count)] + 0.6 * rng.normal(
        size=(count, DIMENSION)
    ).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return texts, vectors, vocabulary, weights, rng


def questions(rng, vectors, vocabulary, weights, count: int):
    """Query vectors drawn near corpus vectors, and FTS5 queries of 3 words each."""
    near = vectors[rng.integers(0, len(vectors), count)]
    queries = near + 0.5 * rng.normal(size=near.shape).astype(np.float32) / np.sqrt(DIMENSION)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    # Mid-frequency words: the common ones are left to the dense side by retrieval.
    terms = [list(vocabulary[rng.choice(np.arange(50, 5_000), 3)]) for _ in range(count)]
    return queries.astype(np.float32), [keywords.fts_query(t) for t in terms]


def build_local(texts, vectors, directory: Path):
    from assistant.storage.vectors import make_vector_index

    started = time.perf_counter()
    index, kind = make_vector_index(vectors)
    db = sqlite3.connect(directory / "fts.sqlite")
    db.execute(
        "CREATE VIRTUAL TABLE passages_fts USING fts5(body, title, content='',"
        " tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.executemany(
        "INSERT INTO passages_fts(rowid, body, title) VALUES (?, ?, '')",
        ((i, keywords.normalize(t)) for i, t in enumerate(texts)),
    )
    db.commit()
    return index, kind, db, time.perf_counter() - started


def query_local(index, db, queries, matches):
    import faiss

    faiss.omp_set_num_threads(1)
    ivf = None
    try:
        ivf = faiss.extract_index_ivf(index)
        from assistant.storage.vectors import probe_count

        ivf.nprobe = probe_count(ivf.nlist)
    except RuntimeError:
        pass
    times, found = [], []
    for vector, match in zip(queries, matches, strict=True):
        started = time.perf_counter()
        _, rows = index.search(vector.reshape(1, -1), 10)
        db.execute(
            "SELECT rowid, -bm25(passages_fts) AS s FROM passages_fts WHERE passages_fts"
            " MATCH ? ORDER BY s DESC LIMIT 50",
            (match,),
        ).fetchall()
        times.append(time.perf_counter() - started)
        found.append([int(r) for r in rows[0] if r >= 0])
    return times, found


def build_milvus(texts, vectors, path: Path, dense_index: str):
    target = mb.parse_store_uri(f"milvus:{path}")
    started = time.perf_counter()
    client = mb.connect(target)
    writer = mw.MilvusWriter(client, "bench", target)
    writer.create(MODEL_NAME, DIMENSION, dense_index=dense_index, replace=True)
    for first in range(0, len(texts), PER_SOURCE):
        source = f"corpus/{first // PER_SOURCE:05d}.txt"
        documents, passages = [], []
        for number in range(first, min(first + PER_SOURCE, len(texts))):
            doc_id = f"{source}#{(number - first) // 10}"
            if (number - first) % 10 == 0:
                documents.append(
                    mw.DocumentRecord(Document(doc_id, source, published="2024-01-01"), "")
                )
            passage = Passage(
                number, doc_id, source, number % 10, 0, len(texts[number]), texts[number],
                sentences=(Span(0, len(texts[number])),),
            )  # fmt: skip
            passages.append(mw.PassageRecord(passage, vectors[number]))
        writer.write_source(source, "0" * 64, documents, passages, keep_ids=True)
    writer.finish()
    return client, target, time.perf_counter() - started


def query_milvus(reader, queries, matches):
    times, found = [], []
    for vector, match in zip(queries, matches, strict=True):
        started = time.perf_counter()
        dense = reader.dense_search(vector, 10)
        reader.keyword_search(match, 50)
        times.append(time.perf_counter() - started)
        found.append([pid for pid, _ in dense])
    return times, found


def recall(found: list[list[int]], exact: list[list[int]]) -> float:
    hits = sum(len(set(f) & set(e)) for f, e in zip(found, exact, strict=True))
    return hits / sum(len(e) for e in exact)


def percentiles(times: list[float]) -> tuple[float, float]:
    return float(np.percentile(times, 50) * 1000), float(np.percentile(times, 99) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dense-indexes", default="FLAT,HNSW")
    args = parser.parse_args()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        texts, vectors, vocabulary, weights, rng = corpus(size)
        queries, matches = questions(rng, vectors, vocabulary, weights, args.queries)
        exact = [list(np.argsort(-(vectors @ q), kind="stable")[:10]) for q in queries]
        with tempfile.TemporaryDirectory() as scratch:
            index, kind, db, build = build_local(texts, vectors, Path(scratch))
            query_local(index, db, queries[:20], matches[:20])  # warm
            times, found = query_local(index, db, queries, matches)
            p50, p99 = percentiles(times)
            results.append(
                {"store": f"local ({kind})", "passages": size, "build_s": round(build, 2),
                 "p50_ms": round(p50, 2), "p99_ms": round(p99, 2),
                 "recall@10": round(recall(found, exact), 4)}
            )  # fmt: skip
            print(results[-1], flush=True)
            db.close()
            for dense_index in args.dense_indexes.split(","):
                path = Path(scratch) / f"milvus-{dense_index}.db"
                client, target, build = build_milvus(texts, vectors, path, dense_index)
                reader = mb.MilvusReader(client, "bench", target)
                query_milvus(reader, queries[:20], matches[:20])
                times, found = query_milvus(reader, queries, matches)
                p50, p99 = percentiles(times)
                results.append(
                    {"store": f"Milvus Lite ({dense_index})", "passages": size,
                     "build_s": round(build, 2), "p50_ms": round(p50, 2),
                     "p99_ms": round(p99, 2), "recall@10": round(recall(found, exact), 4)}
                )  # fmt: skip
                print(results[-1], flush=True)
                client.close()
    print(
        table(
            ["store", "passages", "build s", "query p50 ms", "query p99 ms", "dense recall@10"],
            [
                [r["store"], f"{r['passages']:,}", r["build_s"], r["p50_ms"], r["p99_ms"],
                 r["recall@10"]]
                for r in results
            ],
        )
    )  # fmt: skip
    write_json("milvus", {"queries": args.queries, "results": results})


if __name__ == "__main__":
    main()
