"""Retrieval quality on a BEIR collection (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv).

The corpus is indexed with the same indexer as any other source (``.jsonl``
ingestion), and each query is run through the same retriever as ``assistant search``.
Scoring is per document: a document's best passage stands for it. Dense-only and
keyword-only rankings from the same index are scored beside the hybrid one, so the
comparison is like for like.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SourceNotFoundError, UsageError

METHODS = ("dense", "keyword", "hybrid")
DOCUMENT_DEPTH = 100
# Passages each side retrieves per query here (ask and search use retrieval.POOL, 50):
# deep enough that 100 distinct documents can be ranked for recall@100.
EVAL_POOL = 200


@dataclass
class BeirData:
    directory: Path
    split: str
    corpus: Path
    queries: dict[str, str]  # query id -> text, only queries judged in this split
    qrels: dict[str, dict[str, int]]  # query id -> {document id: relevance}


def load_beir(directory: str | Path, split: str = "test") -> BeirData:
    # Absolute, so that the cached index (which records the corpus path it was built
    # from) is found again from any working directory instead of being rebuilt.
    directory = Path(directory).expanduser().resolve()
    corpus = directory / "corpus.jsonl"
    qrels_file = directory / "qrels" / f"{split}.tsv"
    for needed in (corpus, directory / "queries.jsonl", qrels_file):
        if not needed.is_file():
            raise SourceNotFoundError(
                f"{needed} not found",
                hint="a BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv",
            )
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(qrels_file.read_text(encoding="utf-8").splitlines()):
        fields = line.split("\t")
        if number == 0 and fields[0] == "query-id":
            continue
        if len(fields) < 3:
            continue
        qrels.setdefault(fields[0], {})[fields[1]] = int(fields[2])
    queries: dict[str, str] = {}
    for line in (directory / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            if str(record["_id"]) in qrels:
                queries[str(record["_id"])] = record["text"]
    if not queries:
        raise UsageError(f"no query of {directory / 'queries.jsonl'} is judged in {qrels_file}")
    return BeirData(directory, split, corpus, queries, qrels)


def default_index_dir(data: BeirData) -> Path:
    from ..paths import cache_dir

    digest = hashlib.sha256(str(data.corpus.resolve()).encode()).hexdigest()[:10]
    return cache_dir() / "beir" / f"{data.directory.name}-{digest}"


def open_corpus_index(data: BeirData, index_dir: Path | None = None, progress=None):
    """The corpus's index: built on first use, built again if corpus.jsonl changed or
    was split under older rules."""
    from ..api import Index
    from ..indexing.writer import IndexWriter
    from ..ingest.chunks import CHUNKING_VERSION

    target = index_dir or default_index_dir(data)
    if Index.exists(target):
        index = Index(target)
        manifest = index.store.manifest
        if (
            index.changed_sources([str(data.corpus)])
            or str(data.corpus) not in manifest.files
            or manifest.chunking != CHUNKING_VERSION
        ):
            index.close()
            IndexWriter(target).build([str(data.corpus)], progress)
            index = Index(target)
        return index
    IndexWriter(target).build([str(data.corpus)], progress)
    return Index(target)


def corpus_id(passage) -> str:
    """The corpus's own id of a passage's document, as qrels name it: the indexer
    namespaces record ids by their file (``corpus.jsonl#d1``) so they never collide."""
    prefix = f"{passage.source}#"
    return passage.doc_id.removeprefix(prefix)


def document_ranking(passages, depth: int = DOCUMENT_DEPTH) -> list[str]:
    """Documents in the order of their best passage."""
    seen: dict[str, None] = {}
    for passage in passages:
        seen.setdefault(corpus_id(passage), None)
        if len(seen) == depth:
            break
    return list(seen)


def rankings(index, query: str, pool: int = EVAL_POOL) -> dict[str, list[str]]:
    """Document rankings of one query by each method, from the same candidates.

    Dense: the passages the vector search found, by their dense signal (passage and
    best-sentence cosine). Keyword: those found by BM25 (passage or whole document),
    by their keyword signal. Hybrid: every candidate by the weighted combination that
    ``assistant search`` and ``ask`` use.
    """
    from ..query.retrieval import hybrid_ranking, keyword_scores, ranked

    retriever = index.retriever
    candidates = retriever.candidates(retriever.analyze(query), pool)
    dense = [c for c in candidates if c.dense_rank is not None]
    keyword = [c for c in candidates if c.passage_bm25 is not None or c.document_bm25 is not None]
    return {
        "dense": document_ranking(h.passage for h in ranked(dense, [c.dense for c in dense])),
        "keyword": document_ranking(h.passage for h in ranked(keyword, keyword_scores(keyword))),
        "hybrid": document_ranking(h.passage for h in hybrid_ranking(candidates)),
    }


def ndcg_at(ranking: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(
        (2 ** relevant.get(doc, 0) - 1) / math.log2(rank + 2)
        for rank, doc in enumerate(ranking[:k])
    )
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**rel - 1) / math.log2(rank + 2) for rank, rel in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranking: list[str], relevant: dict[str, int], k: int = 100) -> float:
    wanted = {doc for doc, rel in relevant.items() if rel > 0}
    return len(wanted & set(ranking[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranking: list[str], relevant: dict[str, int], k: int = 10) -> float:
    for rank, doc in enumerate(ranking[:k], 1):
        if relevant.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


@dataclass
class BeirReport:
    collection: str
    split: str
    queries: int
    documents: int
    passages: int
    seconds: float
    pool: int
    scores: dict[str, dict[str, float]] = field(default_factory=dict)  # method -> metric

    def to_json(self) -> dict:
        return {
            "collection": self.collection,
            "split": self.split,
            "queries": self.queries,
            "documents": self.documents,
            "passages": self.passages,
            "seconds": round(self.seconds, 2),
            "pool": self.pool,
            "scores": {m: {k: round(v, 4) for k, v in s.items()} for m, s in self.scores.items()},
        }


def evaluate_beir(index, data: BeirData, pool: int = EVAL_POOL) -> BeirReport:
    started = time.perf_counter()
    totals = {m: {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0} for m in METHODS}
    for query_id, text in data.queries.items():
        relevant = data.qrels[query_id]
        for method, ranking in rankings(index, text, pool).items():
            totals[method]["ndcg@10"] += ndcg_at(ranking, relevant)
            totals[method]["recall@100"] += recall_at(ranking, relevant)
            totals[method]["mrr@10"] += mrr_at(ranking, relevant)
    n = len(data.queries)
    manifest = index.store.manifest
    return BeirReport(
        collection=data.directory.name,
        split=data.split,
        queries=n,
        documents=manifest.documents,
        passages=manifest.passages,
        seconds=time.perf_counter() - started,
        pool=pool,
        scores={m: {k: v / n for k, v in s.items()} for m, s in totals.items()},
    )
