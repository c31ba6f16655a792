"""Index build throughput against raw encoding, and the cost of an incremental update.

Part 1, in one process: the passages a build of the 1,000-file corpus embeds are
encoded by plain ``SentenceTransformer.encode`` (the floor), and the corpus is built
with ``IndexWriter.build``; both with the model already loaded, alternating, medians.
Part 2, as a user runs it: ``assistant index build`` of the corpus against
``assistant index update`` after one file changed (whole commands, wall time).

    .venv/bin/python bench/build.py [--files 1000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _common import median, table, time_child, write_json
from corpus import write_corpus

ASSISTANT = [sys.executable, "-m", "assistant"]


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
    args = parser.parse_args()
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
