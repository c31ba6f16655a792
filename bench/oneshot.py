"""One-shot latency and memory: `assistant ask` against the naive script, side by side.

Runs each command N times, alternating, in this one process run; reports medians of
wall time and peak RSS (from wait4), and the ratio. Also times `assistant said` (who
said what on the question's topic: it must run as fast as `ask`), `assistant --help`
and `assistant index status`.

    .venv/bin/python bench/oneshot.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import QUESTION, SEEDS, median, table, time_child, write_json

SAID_TOPIC = "132-km border"

ASSISTANT = [sys.executable, "-m", "assistant"]


def prepare(folder: Path) -> None:
    """The seeds index for `assistant`, and a flat FAISS index of paragraphs for the
    naive script (made with the same model, outside the timed runs)."""
    import faiss
    from sentence_transformers import SentenceTransformer

    from assistant import IndexWriter
    from assistant.embeddings import model_dir

    index_dir = folder / "index"
    IndexWriter(index_dir).build([str(SEEDS)])
    paragraphs = [
        block.strip()
        for path in sorted(SEEDS.glob("*.txt"))
        for block in path.read_text().split("\n\n")
        if block.strip()
    ]
    model = SentenceTransformer(str(model_dir()), device="cpu")
    vectors = model.encode(paragraphs, normalize_embeddings=True)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    faiss.write_index(flat, str(folder / "naive.faiss"))
    (folder / "naive.json").write_text(json.dumps(paragraphs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--prepare", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare(Path(args.prepare))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # In a child: this process stays small, so its children's peak RSS is theirs.
        subprocess.run([sys.executable, __file__, "--prepare", str(folder)], check=True)
        index_dir = folder / "index"
        commands = {
            "naive script (sentence-transformers + FAISS)": [
                sys.executable, str(Path(__file__).parent / "naive_baseline.py"),
                str(folder), QUESTION,
            ],
            "assistant ask": [*ASSISTANT, "ask", QUESTION, "--index", str(index_dir)],
            "assistant said": [*ASSISTANT, "said", SAID_TOPIC, "--index", str(index_dir)],
            "assistant --help": [*ASSISTANT, "--help"],
            "assistant index status": [*ASSISTANT, "index", "status", "--index", str(index_dir)],
        }  # fmt: skip
        for command in commands.values():  # warm the page cache and the ONNX export
            time_child(command)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                samples[name].append(time_child(command))

    results = {}
    for name, runs in samples.items():
        results[name] = {
            "wall_s_median": median(w for w, _ in runs),
            "peak_rss_mib_median": median(r for _, r in runs),
            "wall_s_runs": [round(w, 4) for w, _ in runs],
        }
    naive = results["naive script (sentence-transformers + FAISS)"]["wall_s_median"]
    rows = []
    for name, result in results.items():
        result["speedup_vs_naive"] = naive / result["wall_s_median"]
        rows.append(
            [name, result["wall_s_median"], result["peak_rss_mib_median"],
             f"{result['speedup_vs_naive']:.1f}x"]
        )  # fmt: skip
    print(f"One-shot commands, median of {args.runs} runs each (alternating):\n")
    print(table(["command", "wall s", "peak RSS MiB", "vs naive"], rows))
    ask = results["assistant ask"]
    print(
        f"\nassistant ask: {ask['speedup_vs_naive']:.1f}x faster than the naive script"
        f" (target >= 6x), {ask['peak_rss_mib_median']:.0f} MiB peak (target <= 250)"
    )
    said = results["assistant said"]
    print(
        f"assistant said: {said['wall_s_median'] / ask['wall_s_median']:.2f}x the time of ask,"
        f" {said['peak_rss_mib_median']:.0f} MiB peak"
    )
    print(f"written: {write_json('oneshot', {'runs': args.runs, 'results': results})}")


if __name__ == "__main__":
    main()
