"""One warm query, stage by stage, on SciFact: where the time of a search goes.

The retriever's steps are run one by one here, as ``Retriever.search`` runs them
(the ranking is checked against ``search`` for every query), each timed; medians over
the queries, after a warm-up. Document BM25 is timed both ways in the same loop: as
the store computes it now (one FTS5 MATCH, then a filter on the candidate ids) and as
it was (``rowid IN (...)`` handed to FTS5, which re-ran the MATCH per id); the two
must give the same scores. The answer stage is the extractive answerer on the hits
``ask`` would use (the retrieval before it is not counted again). Each query's
``Index.search`` is timed whole as well.

ONNX Runtime runs on one thread (``$ASSISTANT_ONNX_THREADS`` to change it), as in
bench/warm_query.py. The SciFact index is the one ``assistant eval --beir`` builds
(built here if missing).

    .venv/bin/python bench/profile_query.py [--beir DIR] [--index DIR] [--queries 100]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from _common import median, table, write_json

# One ONNX thread, as bench/warm_query.py measures (set before the encoder loads).
os.environ.setdefault("ASSISTANT_ONNX_THREADS", "1")

# The shared folder beside the checkout, or where $ASSISTANT_SHARED says.
SHARED = Path(os.environ.get("ASSISTANT_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SCIFACT = SHARED / "benchmarks" / "scifact"

# As the store ran it before: FTS5 got the candidate ids as a rowid constraint.
OLD_DOCUMENT_BM25 = (
    "SELECT d.doc_id, -bm25(documents_fts, 1.0, 1.0) FROM documents_fts"
    " JOIN documents AS d ON d.rowid = documents_fts.rowid"
    " WHERE documents_fts MATCH ? AND documents_fts.rowid IN"
    " (SELECT rowid FROM documents WHERE doc_id IN ({marks}))"
)

STAGES = [
    "question analysis",
    "term statistics",
    "question embedding",
    "dense search",
    "keyword search",
    "document_bm25 (before)",
    "document_bm25 (after)",
    "candidate cosines",
    "fusion",
    "evidence/answer",
]


class Clock:
    """Seconds per stage for one query."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._started = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.times[stage] = self.times.get(stage, 0.0) + now - self._started
        self._started = now


def old_document_bm25(store, match: str, doc_ids: list[str]) -> dict[str, float]:
    if not doc_ids:
        return {}
    sql = OLD_DOCUMENT_BM25.format(marks=",".join("?" * len(doc_ids)))
    return {d: float(s) for d, s in store.db.execute(sql, (match, *doc_ids)).fetchall()}


def analysis_in_steps(retriever, query: str, clock: Clock):
    """Retriever.analyze, with its three parts timed apart."""
    from assistant.query.language import detect as detect_language
    from assistant.query.question import analyze as analyze_question
    from assistant.query.retrieval import MAX_TERMS, QueryAnalysis
    from assistant.text import keywords

    question = analyze_question(query, MAX_TERMS)
    names = keywords.names_in(query)
    language = detect_language(query)
    clock.lap("question analysis")
    statistics = retriever.store.term_statistics(
        question.terms, lambda term, own: term in names or own < 5
    )
    forms = {term: statistics[term].forms for term in question.terms}
    frequency = {term: statistics[term].frequency for term in question.terms}
    clock.lap("term statistics")
    vector = retriever.embed([query])[0]
    clock.lap("question embedding")
    return QueryAnalysis(query, question.terms, forms, frequency, vector, question, language)


def found_in_steps(store, analysis, match: str | None, pool: int, clock: Clock):
    """BatchedReads.search, its dense and keyword halves timed apart."""
    from assistant.storage.reads import Found

    dense = store.dense_search(analysis.vector, pool, None)
    by_row = store.passages_for_vector_rows([row for row, _ in dense])
    dense_found = [(by_row[row].passage_id, score) for row, score in dense if row in by_row]
    passages = {by_row[row].passage_id: by_row[row] for row, _ in dense if row in by_row}
    clock.lap("dense search")
    keyword = store.keyword_search(match, pool, None) if match else []
    passages.update(store.passages([pid for pid, _ in keyword if pid not in passages]))
    clock.lap("keyword search")
    return Found(dense_found, keyword, passages)


def profile_one(index, query: str, k: int, before_first: bool) -> tuple[dict, list[int]]:
    """Stage times of one query and the passage ids it ranked (top k)."""
    from assistant.query.extractive import CANDIDATE_POOL
    from assistant.query.retrieval import POOL, Candidate, best_hits
    from assistant.text import keywords

    retriever, store = index.retriever, index.store
    clock = Clock()
    analysis = analysis_in_steps(retriever, query, clock)
    terms = retriever.keyword_terms(analysis)
    match = keywords.fts_query([f for t in terms for f in analysis.forms[t]])
    found = found_in_steps(store, analysis, match, max(POOL, 2 * k), clock)
    documents = sorted({p.doc_id for p in found.passages.values()})
    # Both ways, in alternating order from query to query (neither always goes first).
    ways = [("before", old_document_bm25), ("after", type(store).document_bm25)]
    results = {}
    for name, compute in ways if before_first else reversed(ways):
        results[name] = compute(store, match, documents) if match else {}
        clock.lap(f"document_bm25 ({name})")
    if results["before"].keys() != results["after"].keys() or any(
        abs(results["before"][d] - results["after"][d]) > 1e-9 for d in results["before"]
    ):
        raise AssertionError(f"document BM25 differs between the two ways for {query!r}")
    document_bm25 = results["after"]
    scores = store.dense_scores(analysis.vector, list(found.passages), dict(found.dense))
    clock.lap("candidate cosines")
    passage_bm25 = dict(found.keyword)
    dense_rank = {pid: rank for rank, (pid, _) in enumerate(found.dense, 1)}
    keyword_rank = {pid: rank for rank, pid in enumerate(passage_bm25, 1)}
    candidates = [
        Candidate(
            passage=p,
            cosine=scores[pid][0],
            sentence_cosine=scores[pid][1],
            passage_bm25=passage_bm25.get(pid),
            document_bm25=document_bm25.get(p.doc_id),
            dense_rank=dense_rank.get(pid),
            keyword_rank=keyword_rank.get(pid),
        )
        for pid, p in found.passages.items()
        if pid in scores
    ]
    hits = best_hits(candidates, k, retriever.question_language(analysis))
    clock.lap("fusion")
    # The answerer gets the CANDIDATE_POOL best (not timed: ranking is fusion's).
    pool = best_hits(candidates, CANDIDATE_POOL, retriever.question_language(analysis))
    clock.lap("not counted")
    index.answerer.answer(query, analysis=analysis, hits=pool)
    clock.lap("evidence/answer")
    return clock.times, [h.passage.passage_id for h in hits]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beir", type=Path, default=SCIFACT, help="the SciFact folder")
    parser.add_argument("--index", type=Path, help="its index (default: eval --beir's cache)")
    parser.add_argument(
        "--questions", type=Path, help="a questions .jsonl ('q' or 'question') instead"
    )
    parser.add_argument("--queries", type=int, default=100, help="warm queries measured")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--name", default="profile_query", help="bench/results/NAME.json")
    args = parser.parse_args()

    index, queries = open_index_and_queries(args)
    queries = queries[: args.warmup + args.queries]
    index.warm_up()
    per_stage: dict[str, list[float]] = {stage: [] for stage in STAGES}
    totals: list[float] = []  # Index.search, the whole of it, on the same queries
    for number, query in enumerate(queries):
        times, ranked_ids = profile_one(index, query, args.k, before_first=number % 2 == 0)
        started = time.perf_counter()
        expected = [h.passage.passage_id for h in index.search(query, args.k)]
        took = time.perf_counter() - started
        if ranked_ids != expected:
            raise AssertionError(f"the staged ranking differs from search() for {query!r}")
        if number < args.warmup:
            continue
        totals.append(took)
        for stage in STAGES:
            per_stage[stage].append(times.get(stage, 0.0))
    report_and_save(args, index, per_stage, totals)


def open_index_and_queries(args):
    """SciFact's test queries and index (built if missing), or a given index with
    the questions of a .jsonl file."""
    if args.questions is None:
        from assistant.eval.beir import load_beir, open_corpus_index

        data = load_beir(args.beir, "test")
        return open_corpus_index(data, args.index), list(data.queries.values())
    from assistant import Index

    records = [json.loads(line) for line in args.questions.read_text().splitlines() if line]
    return Index(args.index), [r.get("q") or r["question"] for r in records]


def report_and_save(args, index, per_stage: dict[str, list[float]], totals: list[float]) -> None:
    medians = {stage: median(values) * 1000 for stage, values in per_stage.items()}
    before, after = medians["document_bm25 (before)"], medians["document_bm25 (after)"]
    # A search as it runs now counts the new document BM25 only, and no answer.
    search_stages = [s for s in STAGES if s not in ("evidence/answer", "document_bm25 (before)")]
    query_now = sum(medians[s] for s in search_stages)
    query_then = query_now - after + before
    rows = [[stage, round(ms, 3)] for stage, ms in medians.items()]
    rows.append(["search stages, sum of medians", round(query_now, 2)])
    rows.append(["... with document_bm25 as before", round(query_then, 2)])
    rows.append(["Index.search, whole (median)", round(median(totals) * 1000, 2)])
    print(f"{len(totals)} warm queries, k={args.k}, index {index.path}; load {os.getloadavg()}")
    print(table(["stage", "median ms"], rows))
    print(f"document_bm25 before/after: {before / after:.1f}x (medians, same queries)")
    manifest = index.store.manifest
    path = write_json(
        args.name,
        {
            "index": str(index.path),
            "documents": manifest.documents,
            "passages": manifest.passages,
            "queries": len(totals),
            "k": args.k,
            "load_average": os.getloadavg(),
            "median_ms": {s: round(v, 4) for s, v in medians.items()},
            "sum_of_medians_ms": {"now": query_now, "before": query_then},
            "search_median_ms": median(totals) * 1000,
            "document_bm25_ratio": before / after,
            "per_query_ms": {s: [round(v * 1000, 4) for v in vs] for s, vs in per_stage.items()},
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
