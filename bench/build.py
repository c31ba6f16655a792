"""Index build throughput against raw encoding, and the cost of an incremental update.

Part 0 (``--versions``), issue 25: the same corpus built by commit 51d1b5d's code, by
today's before issue 25's embedding work (commit 5d8e777), by this checkout (int8,
sentences embedded on their own) and by this checkout with pooled sentence vectors
(``ASSISTANT_SENTENCE_VECTORS=pooled``), and by txtai (hybrid, the same MiniLM folder,
its own venv) with ``--with-txtai``: each a child process, model loaded first, then the
build timed; passages/s, peak RSS, index size and the ratio to 51d1b5d.

    .venv/bin/python bench/build.py --versions --scifact 1000   # or --articles 200
Part 1, in one process: the passages a build of the 1,000-file corpus embeds are
encoded by plain ``SentenceTransformer.encode`` (the floor), and the corpus is built
with ``IndexWriter.build``; both with the model already loaded, alternating, medians.
Part 2, as a user runs it: ``assistant index build`` of the corpus against
``assistant index update`` after one file changed (whole commands, wall time).

    .venv/bin/python bench/build.py [--files 1000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, median, table, time_child, write_json
from corpus import SCIFACT, write_corpus

ASSISTANT = [sys.executable, "-m", "assistant"]
OLD_TREE = Path("/work/cache/old-51d1b5d")  # a checkout of commit 51d1b5d
TODAY = "5d8e777"  # the commit before issue 25's embedding work
TXTAI_VENV = ROOT / "bench" / "results" / "txtai-venv"


def version_trees(folder: Path, old: Path) -> dict[str, tuple[Path, dict]]:
    """Each version's package folder and the environment it builds under."""
    today = folder / "today"
    today.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", TODAY, "assistant"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(today)], input=archive.stdout, check=True)
    return {
        "51d1b5d": (old, {}),
        f"today ({TODAY})": (today, {}),
        "new (default: fp32, sentences alone)": (ROOT, {}),
        "new, int8": (ROOT, {"ASSISTANT_MODEL_PRECISION": "int8"}),
        "new, pooled sentences": (ROOT, {"ASSISTANT_SENTENCE_VECTORS": "pooled"}),
        "new, int8 + pooled sentences": (
            ROOT,
            {"ASSISTANT_MODEL_PRECISION": "int8", "ASSISTANT_SENTENCE_VECTORS": "pooled"},
        ),
    }


def build_versions(folder: Path, corpus: Path, old: Path, txtai: bool) -> dict:
    base = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONPATH", "ASSISTANT_MODEL_PRECISION", "ASSISTANT_SENTENCE_VECTORS")
    }
    results = {}
    for number, (name, (tree, extra)) in enumerate(version_trees(folder, old).items()):
        worker = [sys.executable, str(ROOT / "bench" / "_build_worker.py")]
        command = [*worker, str(tree), str(corpus), str(folder / f"index-{number}")]
        done = subprocess.run(
            command, capture_output=True, text=True, env={**base, **extra}, check=True
        )
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        print(name, results[name], flush=True)
    if txtai:
        results["txtai (hybrid)"] = txtai_build(folder, corpus)
    return results


def txtai_build(folder: Path, corpus: Path) -> dict:
    """txtai's hybrid index of the same documents (bench/_txtai_worker.py builds it)."""
    from assistant import embeddings

    python = TXTAI_VENV / "bin" / "python"
    saved = folder / "txtai-index"
    records = folder / "txtai-corpus.jsonl"
    with corpus_records(corpus) as lines, records.open("w") as out:
        for record in lines:
            out.write(json.dumps(record) + "\n")
    command = [str(python), str(ROOT / "bench" / "_txtai_worker.py")]
    command += [str(embeddings.model_dir()), str(records), str(saved)]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    _, _status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    ready = json.loads(process.stdout.readline())
    size = sum(path.stat().st_size for path in saved.rglob("*") if path.is_file())
    return {
        "seconds": ready["build_seconds"],
        "wall_s": wall,
        "passages": sum(1 for _ in records.open()),
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "index_mib": size / 2**20,
    }


class corpus_records:
    """The corpus as BEIR records (``_id``, ``title``, ``text``): a JSONL file as it is,
    a folder of articles one record a file (the first line its title)."""

    def __init__(self, corpus: Path) -> None:
        self.corpus = corpus

    def __enter__(self):
        if self.corpus.is_file():
            return (json.loads(line) for line in self.corpus.open() if line.strip())
        return (
            {"_id": path.stem, "title": text.split("\n", 1)[0], "text": text.split("\n", 1)[1]}
            for path in sorted(self.corpus.glob("*.txt"))
            for text in [path.read_text()]
        )

    def __exit__(self, *exc) -> None:
        return None


def scifact_subset(folder: Path, documents: int) -> Path:
    """The first ``documents`` SciFact abstracts (0: all), as a JSONL corpus."""
    target = folder / "scifact.jsonl"
    lines = [line for line in SCIFACT.read_text().splitlines() if line.strip()]
    target.write_text("\n".join(lines[: documents or None]) + "\n")
    return target


def report_versions(results: dict, corpus: str) -> None:
    old = results["51d1b5d"]
    print(f"\nBuilds of {corpus}, one each, model loaded first:\n")
    rows = []
    for name, result in results.items():
        rate = result["passages"] / result["seconds"]
        ratio = rate / (old["passages"] / old["seconds"])
        rows.append(
            [name, result["seconds"], rate, result["peak_rss_mib"], result["index_mib"], ratio]
        )
    headers = ["build", "seconds", "passages/s", "peak RSS MiB", "index MiB", "x 51d1b5d"]
    print(table(headers, rows))


def throughput(folder: Path, corpus: Path, rounds: int) -> dict:
    from sentence_transformers import SentenceTransformer

    from assistant import IndexWriter, embeddings
    from assistant.storage.local import StoredIndex

    warm = IndexWriter(folder / "warm").build([str(corpus)])  # loads the model, exports ONNX
    store = StoredIndex(folder / "warm")
    texts = [
        row[0]
        for row in store.db.execute(
            "SELECT text FROM passages WHERE vector_row IS NOT NULL ORDER BY vector_row"
        )
    ]
    store.close()
    raw_model = SentenceTransformer(str(embeddings.model_dir()), device="cpu")
    raw_model.max_seq_length = embeddings.MAX_SEQ_LENGTH
    raw_model.encode(texts[:64])
    raw_times, build_times = [], []
    for round_number in range(rounds):
        started = time.perf_counter()
        raw_model.encode(texts, batch_size=32, normalize_embeddings=True)
        raw_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        report = IndexWriter(folder / f"build-{round_number}").build([str(corpus)])
        build_times.append(time.perf_counter() - started)
        assert report.passages_embedded == len(texts)
    raw, build = median(raw_times), median(build_times)
    return {
        "files": warm.files_total,
        "passages_embedded": len(texts),
        "raw_encode_s": raw_times,
        "build_s": build_times,
        "raw_passages_per_s": len(texts) / raw,
        "build_passages_per_s": len(texts) / build,
        "build_vs_raw": raw / build,
    }


def update_cost(folder: Path, corpus: Path, rounds: int) -> dict:
    index_dir = folder / "cli-index"
    builds, updates = [], []
    changed = sorted(corpus.glob("*.txt"))[len(list(corpus.glob("*.txt"))) // 2]
    original = changed.read_text()
    for round_number in range(rounds):
        builds.append(
            time_child([*ASSISTANT, "index", "build", str(corpus), "--index", str(index_dir)])[0]
        )
        changed.write_text(original + f"\nAn added closing sentence, round {round_number}.\n")
        updates.append(time_child([*ASSISTANT, "index", "update", "--index", str(index_dir)])[0])
        changed.write_text(original)
    build, update = median(builds), median(updates)
    return {"build_s": builds, "update_s": updates, "update_vs_build": update / build}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", choices=["throughput", "update"], help="run one part")
    parser.add_argument("--versions", action="store_true", help="51d1b5d, today, new (only)")
    parser.add_argument("--scifact", type=int, default=-1, help="with --versions: N abstracts")
    parser.add_argument("--articles", type=int, default=0, help="with --versions: N articles")
    parser.add_argument("--old", type=Path, default=OLD_TREE, help="51d1b5d's checkout")
    parser.add_argument("--with-txtai", action="store_true", help="with --versions")
    args = parser.parse_args()
    if args.versions:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            if args.scifact >= 0:
                corpus, name = scifact_subset(folder, args.scifact), f"SciFact {args.scifact}"
            else:
                corpus, name = folder / "corpus", f"{args.articles} generated articles"
                write_corpus(corpus, args.articles)
            results = build_versions(folder, corpus, args.old, args.with_txtai)
        report_versions(results, name)
        data = {"corpus": name, "versions": results}
        print(f"written: {write_json(f'build_versions_{name.split()[0].lower()}', data)}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        corpus = folder / "corpus"
        write_corpus(corpus, args.files)
        speed = throughput(folder, corpus, args.rounds) if args.only != "update" else None
        update = update_cost(folder, corpus, args.rounds) if args.only != "throughput" else None
    if speed:
        report_throughput(speed, args.rounds)
    if update:
        report_update(update, args.rounds)
    print(f"written: {write_json('build', {'throughput': speed, 'update': update})}")


def report_throughput(speed: dict, rounds: int) -> None:
    print(
        f"Build throughput, {speed['files']} files, {speed['passages_embedded']} passages,"
        f" model loaded, median of {rounds}:\n"
    )
    print(
        table(
            ["", "seconds", "passages/s"],
            [
                [
                    "raw SentenceTransformer.encode",
                    median(speed["raw_encode_s"]),
                    speed["raw_passages_per_s"],
                ],
                [
                    "assistant IndexWriter.build",
                    median(speed["build_s"]),
                    speed["build_passages_per_s"],
                ],
            ],
        )
    )
    print(f"\nbuild throughput = {speed['build_vs_raw']:.1%} of raw encode (target >= 95%)\n")


def report_update(update: dict, rounds: int) -> None:
    print(f"Whole commands, median of {rounds}:\n")
    print(
        table(
            ["command", "wall s"],
            [
                ["assistant index build (1,000 files)", median(update["build_s"])],
                ["assistant index update (1 file changed)", median(update["update_s"])],
            ],
        )
    )
    print(f"\nupdate = {update['update_vs_build']:.1%} of the full build (target <= 5%)")


if __name__ == "__main__":
    main()
