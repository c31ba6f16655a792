"""What the sentence vectors add, and what pooling them and int8 cost in quality.

Builds one corpus several ways, each with the bundled model, and scores every index
with the same evaluation (news-dev and seeds-dev: ``assistant eval``; a BEIR folder:
``assistant eval --beir``):

* ``separate-fp32``: every sentence embedded on its own (the build before issue 25);
* ``pooled-fp32`` / ``pooled-int8``: sentence vectors pooled from the passage's token
  states (one model pass; int8 is the default since issue 25);
* ``none-int8``: no sentence signal (each sentence's vector is its passage's, so the
  best-sentence cosine is the passage cosine).

Also the cosine between each mode's vectors and ``separate-fp32``'s (passages, sentences).

    .venv/bin/python bench/sentence_vectors.py --corpus ../shared/benchmarks/news-dev/pages \\
        --questions ../shared/benchmarks/news-dev/questions.jsonl [--modes ...]
    .venv/bin/python bench/sentence_vectors.py --beir ../shared/benchmarks/scifact
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
from _common import table, write_json

MODES = ("separate-fp32", "separate-int8", "pooled-fp32", "pooled-int8", "none-int8")


class ModeEncoder:
    """The bundled model at ``precision``, embedding sentences as ``mode`` says; the
    manifest records the bundled model's fingerprint, so ``assistant eval`` opens the
    index with the bundled model at that precision."""

    def __init__(self, mode: str) -> None:
        from assistant import embeddings

        self.mode, precision = mode.split("-")
        self.inner = embeddings.shared_onnx_encoder(precision)
        self.name, self.dimension = embeddings.MODEL_NAME, embeddings.DIMENSION
        self.fingerprint = embeddings.model_fingerprint(precision)
        self.kept: tuple[np.ndarray, list[np.ndarray]] | None = None

    def encode(self, texts):
        return self.inner.encode(texts)

    def encode_many(self, texts, progress=None):
        return self.inner.encode_many(texts, progress=progress)

    def encode_passages(self, texts, spans, progress=None):
        if self.mode == "separate":
            sentences = [text[a:b] for text, own in zip(texts, spans, strict=True) for a, b in own]
            vectors = self.inner.encode_many([*texts, *sentences], progress=progress)
            cuts = np.cumsum([len(texts), *(len(own) for own in spans)])
            result = vectors[: len(texts)], np.split(vectors, cuts)[1:-1]
        else:
            result = self.inner.encode_passages(texts, spans, progress=progress)
            if self.mode == "none":
                passages = result[0]
                result = (
                    passages,
                    [
                        np.repeat(v[None], len(own), 0)
                        for v, own in zip(passages, spans, strict=True)
                    ],
                )
        self.kept = result
        return result


def build(mode: str, corpus: Path, target: Path) -> tuple[ModeEncoder, float]:
    from assistant import IndexWriter

    encoder = ModeEncoder(mode)
    encoder.encode(["warm up"])
    started = time.perf_counter()
    IndexWriter(target, encoder=encoder).build([str(corpus)])
    return encoder, time.perf_counter() - started


def evaluate(index: Path, questions: Path | None, beir: Path | None) -> dict:
    command = [sys.executable, "-m", "assistant", "eval", "--index", str(index), "--json"]
    command += ["--beir", str(beir)] if beir else [str(questions)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def cosines(encoder: ModeEncoder, reference: ModeEncoder) -> dict:
    passages = (encoder.kept[0] * reference.kept[0]).sum(axis=1)
    mine, theirs = np.concatenate(encoder.kept[1]), np.concatenate(reference.kept[1])
    sentences = (mine * theirs).sum(axis=1)
    return {
        "passages_mean": float(passages.mean()),
        "passages_min": float(passages.min()),
        "sentences_mean": float(sentences.mean()),
        "sentences_p5": float(np.percentile(sentences, 5)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="folder or file to index")
    parser.add_argument("--questions", type=Path, help="questions.jsonl for assistant eval")
    parser.add_argument("--beir", type=Path, help="a BEIR folder (its corpus.jsonl is built)")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--json", default="sentence_vectors")
    args = parser.parse_args()
    corpus = (args.beir.resolve() / "corpus.jsonl") if args.beir else args.corpus.resolve()
    results, reference = {}, None
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes:
            encoder, seconds = build(mode, corpus, Path(tmp) / mode)
            scores = evaluate(Path(tmp) / mode, args.questions, args.beir)
            reference = reference or encoder
            results[mode] = {"build_s": seconds, "eval": scores, **cosines(encoder, reference)}
            encoder.kept = encoder.kept if encoder is reference else None
            print(mode, json.dumps(results[mode]), flush=True)
    report(results, bool(args.beir))
    print(f"written: {write_json(args.json, {'corpus': str(corpus), 'modes': results})}")


def report(results: dict, beir: bool) -> None:
    keys = ["hybrid nDCG@10", "dense nDCG@10"] if beir else ["hit@1", "hit@3", "mrr"]
    rows = []
    for mode, result in results.items():
        values = [figure(result["eval"], key) for key in keys]
        cosine = [result["passages_mean"], result["sentences_mean"], result["sentences_p5"]]
        rows.append([mode, *values, *cosine, result["build_s"]])
    headers = ["mode", *keys, "cos passages", "cos sentences", "p5", "build s"]
    print(table(headers, rows))


def figure(scores: dict, key: str) -> float:
    """One figure of ``assistant eval --json``'s output (questions or BEIR)."""
    if " " in key:
        method, metric = key.split()
        return scores["scores"][method][metric.replace("nDCG", "ndcg")]
    return scores["metrics"][key]


if __name__ == "__main__":
    main()
