"""The int8 model against fp32, and ONNX Runtime thread settings, on embedding.

Part 1 (agreement): cosine between the int8 and fp32 vectors of the seeds passages
and of 1,000 SciFact passages (title-prefixed, as the indexer embeds them).
Part 2 (speed): passages per second of each encoder on the same texts, rounds
alternating between them in one process, medians and their ratio.
Part 3 (threads, ``--threads``): the fp32 encoder under several session settings,
rounds alternating, medians.

    .venv/bin/python bench/embedding_precision.py [--passages 1000] [--rounds 5] [--threads]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from _common import SEEDS, median, table, write_json

# The shared folder beside the checkout, or where $ASSISTANT_SHARED says.
SHARED = Path(os.environ.get("ASSISTANT_SHARED", Path(__file__).resolve().parents[2] / "shared"))
SCIFACT = SHARED / "benchmarks" / "scifact"


def seeds_passages() -> list[str]:
    from assistant.indexing.pipeline import embedding_text
    from assistant.ingest.chunks import split_document
    from assistant.ingest.sources import find_source_files, load_documents

    return [
        embedding_text(doc.title, chunk.text)
        for file in find_source_files([str(SEEDS)])
        for doc in load_documents(file)
        for chunk in split_document(doc)
        if not chunk.is_boilerplate
    ]


def scifact_passages(folder: Path, count: int) -> list[str]:
    from assistant.indexing.pipeline import embedding_text

    texts = []
    with open(folder / "corpus.jsonl", encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            texts.append(embedding_text(record.get("title"), record["text"]))
            if len(texts) == count:
                break
    return texts


def build_mix(folder: Path, documents: int) -> list[str]:
    """What a build embeds for the first SciFact documents: each passage (title-prefixed)
    and each of its sentences (nine in ten texts of a build are sentences)."""
    import tempfile

    from assistant.indexing.pipeline import embedding_text
    from assistant.ingest.chunks import split_document
    from assistant.ingest.sources import find_source_files, load_documents

    with open(folder / "corpus.jsonl", encoding="utf-8") as lines:
        head = [next(lines) for _ in range(documents)]
    with tempfile.TemporaryDirectory() as scratch:
        corpus = Path(scratch) / "corpus.jsonl"
        corpus.write_text("".join(head), encoding="utf-8")
        texts = []
        for file in find_source_files([str(corpus)]):
            for doc in load_documents(file):
                for chunk in split_document(doc):
                    if chunk.is_boilerplate:
                        continue
                    texts.append(embedding_text(doc.title, chunk.text))
                    texts.extend(
                        chunk.text[start - chunk.start : end - chunk.start]
                        for start, end in chunk.sentences
                    )
    return texts


def agreement(fp32, int8, texts: list[str]) -> dict:
    cosine = (fp32.encode_many(texts) * int8.encode_many(texts)).sum(axis=1)
    return {
        "texts": len(texts),
        "mean": float(cosine.mean()),
        "min": float(cosine.min()),
        "p01": float(sorted(cosine)[len(cosine) // 100]),
    }


def alternating_throughput(encoders: dict, texts: list[str], rounds: int) -> dict:
    """Passages per second of each encoder, rounds alternating (order rotated)."""
    seconds: dict[str, list[float]] = {name: [] for name in encoders}
    names = list(encoders)
    for name in names:
        encoders[name].encode_many(texts[:64])  # warm
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            encoders[name].encode_many(texts)
            seconds[name].append(time.perf_counter() - started)
    return {
        name: {"seconds": s, "passages_per_s": len(texts) / median(s)}
        for name, s in seconds.items()
    }


def thread_settings() -> dict:
    """Session settings compared (2 cores): intra-op threads, spinning, execution mode."""
    import onnxruntime

    def options(intra: int, spin: bool = True, parallel: bool = False, inter: int = 1):
        made = onnxruntime.SessionOptions()
        made.intra_op_num_threads = intra
        made.inter_op_num_threads = inter
        made.log_severity_level = 3
        made.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        if parallel:
            made.execution_mode = onnxruntime.ExecutionMode.ORT_PARALLEL
        return made

    return {
        "intra=1": options(1),
        "intra=2": options(2),
        "intra=2 no-spin": options(2, spin=False),
        "intra=4": options(4),
        "intra=2 parallel inter=2": options(2, parallel=True, inter=2),
    }


def encoder_with(options, precision: str = "fp32"):
    import onnxruntime

    from assistant import embeddings

    encoder = embeddings.OnnxEncoder(threads=1, precision=precision)
    path = embeddings.ensure_onnx_model(precision=precision)
    encoder.session = onnxruntime.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return encoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beir", type=Path, default=SCIFACT, help="the SciFact folder")
    parser.add_argument("--passages", type=int, default=1000, help="SciFact passages")
    parser.add_argument(
        "--speed-documents", type=int, default=30, help="SciFact documents embedded per round"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-agreement", action="store_true")
    parser.add_argument("--threads", action="store_true", help="also compare thread settings")
    args = parser.parse_args()

    from assistant.embeddings import OnnxEncoder

    fp32, int8 = OnnxEncoder(threads=2, precision="fp32"), OnnxEncoder(threads=2, precision="int8")
    report: dict = {"load_average_start": os.getloadavg()}
    if not args.skip_agreement:
        report["cosine"] = {
            "seeds": agreement(fp32, int8, seeds_passages()),
            "scifact": agreement(fp32, int8, scifact_passages(args.beir, args.passages)),
        }
        print_agreement(report["cosine"])
    speed_texts = build_mix(args.beir, args.speed_documents)
    speed = alternating_throughput({"fp32": fp32, "int8": int8}, speed_texts, args.rounds)
    report["throughput_2_threads"] = speed
    ratio = speed["int8"]["passages_per_s"] / speed["fp32"]["passages_per_s"]
    report["int8_over_fp32"] = ratio
    print(
        f"2 threads, {len(speed_texts)} texts (passages and sentences of"
        f" {args.speed_documents} SciFact documents), {args.rounds} rounds alternating:"
        f" fp32 {speed['fp32']['passages_per_s']:.1f}/s, int8"
        f" {speed['int8']['passages_per_s']:.1f}/s, ratio {ratio:.2f}"
    )
    if args.threads:
        encoders = {name: encoder_with(opts) for name, opts in thread_settings().items()}
        threads = alternating_throughput(encoders, speed_texts, args.rounds)
        report["thread_settings_fp32"] = threads
        print(
            table(
                ["setting", "texts/s", "seconds (median)"],
                [
                    [n, round(v["passages_per_s"], 1), round(median(v["seconds"]), 2)]
                    for n, v in threads.items()
                ],
            )
        )
    report["load_average_end"] = os.getloadavg()
    print(f"load average at start {report['load_average_start']}, end {report['load_average_end']}")
    name = "embedding_precision" + ("_speed" if args.skip_agreement else "")
    print(f"wrote {write_json(name, report)}")


def print_agreement(cosine: dict) -> None:
    print(
        table(
            ["texts", "n", "mean cosine", "min cosine"],
            [[k, v["texts"], round(v["mean"], 5), round(v["min"], 5)] for k, v in cosine.items()],
        )
    )


if __name__ == "__main__":
    main()
