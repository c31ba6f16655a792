"""Where an index build's time goes, stage by stage.

One ``IndexWriter.build`` (model loaded first, not timed) of a corpus, with each stage
of the write wrapped in a timer: reading and extraction, splitting (and the token
counting inside it), unique ids, site boilerplate, speakers (statements), tokenising
for the model, the model itself (``InferenceSession.run``), pooling, writing the
generation. Works on the code on ``PYTHONPATH`` (today's or an older checkout): a
stage the code does not have is left out.

    .venv/bin/python bench/build_profile.py [--scifact 1000 | --articles 200] [--json NAME]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import table, write_json
from corpus import SCIFACT, write_corpus

SPENT: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def timed(stage: str, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[stage] += time.perf_counter() - started
            CALLS[stage] += 1

    wrapper.__wrapped__ = function
    return wrapper


def patch(module_name: str, attribute: str, stage: str) -> None:
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return
    owner, _, name = attribute.rpartition(".")
    target = getattr(module, owner) if owner else module
    if hasattr(target, name):
        setattr(target, name, timed(stage, getattr(target, name)))


class Proxy:
    """Times the named methods of an object it stands for (a tokenizer, a session)."""

    def __init__(self, inner, stages: dict[str, str]) -> None:
        self._inner = inner
        self._stages = stages

    def __getattr__(self, name):
        value = getattr(self._inner, name)
        stage = self._stages.get(name)
        return timed(stage, value) if stage else value


STAGES = [
    # (module, attribute, stage)
    ("assistant.indexing.read", "load_documents", "reading and extraction"),
    ("assistant.indexing.pipeline", "load_documents", "reading and extraction"),
    ("assistant.storage.writer", "load_documents", "reading and extraction"),
    ("assistant.ingest.chunks", "split_document", "splitting"),
    ("assistant.embeddings", "count_tokens", "  of which: counting tokens"),
    ("assistant.indexing.pipeline", "unique_ids", "unique ids"),
    ("assistant.indexing.stream", "unique_ids", "unique ids"),
    ("assistant.indexing.stream", "Spool.add", "the spool (write)"),
    ("assistant.indexing.pipeline", "mark_site_boilerplate", "site boilerplate"),
    ("assistant.indexing.pipeline", "statements_of", "speakers (statements)"),
    ("assistant.indexing.pipeline", "analyse_document", "per-document analysis"),
    ("assistant.storage.writer", "statements_of", "speakers (statements)"),
    ("assistant.storage.local_writer", "LocalStoreWriter.write", "writing the generation"),
    ("assistant.storage.local_writer", "LocalStoreWriter.publish", "manifest"),
    ("assistant.storage.local_writer", "LocalStoreWriter.add", "writing the generation"),
    ("assistant.storage.local_writer", "LocalStoreWriter.finish", "writing the generation"),
]


def instrument() -> object:
    from assistant import embeddings

    for module, attribute, stage in STAGES:
        patch(module, attribute, stage)
    encoder = embeddings.default_encoder()
    encoder.encode(["warm up the session"])
    # The splitter's tokenizer is the encoder's (one cached Tokenizer): count_tokens is
    # timed by name above, the encoder's batch tokenising through the proxy.
    encoder.tokenizer = Proxy(
        encoder.tokenizer,
        {
            "encode_batch": "tokenising for the model",
            "encode_batch_fast": "tokenising for the model",
        },
    )
    encoder.session = Proxy(encoder.session, {"run": "the model (ONNX run)"})
    for name in ("encode", "encode_many", "encode_tokens"):
        if hasattr(type(encoder), name):
            setattr(encoder, name, timed(f"[encoder.{name}]", getattr(encoder, name)))
    return encoder


def scifact_subset(folder: Path, documents: int) -> Path:
    target = folder / "scifact.jsonl"
    with SCIFACT.open() as lines, target.open("w") as out:
        for number, line in enumerate(lines):
            if number >= documents:
                break
            record = json.loads(line)
            record["id"] = record.pop("_id")
            out.write(json.dumps(record) + "\n")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=int, default=0, help="first N SciFact abstracts")
    parser.add_argument("--articles", type=int, default=0, help="N generated articles")
    parser.add_argument("--json", default="", help="also write bench/results/NAME.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.articles:
            corpus = folder / "articles"
            write_corpus(corpus, args.articles)
        else:
            corpus = scifact_subset(folder, args.scifact or 1000)
        instrument()
        from assistant import IndexWriter

        started = time.perf_counter()
        report = IndexWriter(folder / "index").build([str(corpus)])
        total = time.perf_counter() - started
    order = [stage for _, _, stage in STAGES]
    order[5:5] = ["tokenising for the model", "the model (ONNX run)"]
    ranked = sorted(SPENT, key=lambda stage: order.index(stage) if stage in order else len(order))
    rows = [[stage, SPENT[stage], SPENT[stage] / total, CALLS[stage]] for stage in ranked]
    rows.append(["total (IndexWriter.build)", total, 1.0, 1])
    print(
        f"{report.documents} documents, {report.passages} passages,"
        f" {report.passages_embedded} embedded\n"
    )
    print(table(["stage", "seconds", "share", "calls"], rows))
    print(
        "\nBracketed rows contain others (the encoder's calls hold tokenising, the model"
        " and pooling); 'of which' rows are inside the row above."
    )
    if args.json:
        data = {"total_s": total, "stages": dict(SPENT), "report": report.to_json()}
        print(f"written: {write_json(args.json, data)}")


if __name__ == "__main__":
    main()
