"""An index's statements worked out again by this checkout's code, without reading or
embedding anything again: for measuring who-said-what changes on a copy of a built
index (bench/said_run.py then scores the copy).

    python bench/said_restate.py /tmp/news-index /tmp/news-index-restated

Copies the index, reads its documents and passages from passages.sqlite, runs
:func:`assistant.indexing.pipeline.statements_of` over them as a build would, replaces
the statements table and records the new file size and hash in the manifest. Prints
the statements count and the seconds ``statements_of`` took. ``--parse``: the
statements of spaCy's parse (``statements_of(..., parse=True)``). ``--cache FILE`` keeps
spaCy's parses between runs (the rules that read them may change; the parse does not).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.indexing.pipeline import statements_of  # noqa: E402
from assistant.ingest.speakers import SideBook  # noqa: E402
from assistant.storage import layout  # noqa: E402


def restate(source: Path, target: Path, parse: bool = False) -> tuple[int, float]:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    manifest = layout.read_manifest(target)
    generation = layout.generation_dir(target, manifest)
    db = sqlite3.connect(generation / "passages.sqlite")
    documents = [
        SimpleNamespace(doc_id=doc_id, text=text)
        for doc_id, text in db.execute("SELECT doc_id, text FROM documents")
    ]
    rows = db.execute(
        "SELECT id, doc_id, start, end, text, is_boilerplate FROM passages ORDER BY id"
    ).fetchall()
    ids = [row[0] for row in rows]
    passages = [
        SimpleNamespace(
            doc_id=doc_id,
            chunk=SimpleNamespace(start=start, end=end, text=text, is_boilerplate=flag != 0),
        )
        for _, doc_id, start, end, text, flag in rows
    ]
    started = time.perf_counter()
    book = SideBook()  # sides learnt from the whole corpus first, as a build does
    for passage in passages:
        if not passage.chunk.is_boilerplate:
            book.learn(passage.chunk.text)
    found = statements_of(documents, passages, book, parse=parse)
    seconds = time.perf_counter() - started
    db.execute("DELETE FROM statements")
    db.executemany(
        "INSERT INTO statements (passage_id, start, end, speaker, side) VALUES (?, ?, ?, ?, ?)",
        [(ids[pid], s.start, s.end, s.speaker, s.side) for pid, s in found],
    )
    db.commit()
    db.execute("VACUUM")
    db.close()
    artifacts = layout.artifact_records(generation)
    layout.write_manifest(target, dataclasses.replace(manifest, artifacts=artifacts))
    return len(found), seconds


def cache_parses(path: Path) -> None:
    """Parse each paragraph text once across runs: ``nlp.parse_stream`` reads and
    extends a DocBin at ``path``."""
    from spacy.tokens import DocBin

    from assistant.ingest import nlp

    vocab = nlp.pipeline().vocab
    known = {}
    if path.exists():
        known = {doc.text: doc for doc in DocBin().from_bytes(path.read_bytes()).get_docs(vocab)}
    uncached = nlp.parse_stream

    def parse_stream(paragraphs, batch_size=64):
        texts = [text[: nlp.MAX_PARAGRAPH_CHARS] for text in paragraphs]
        missing = [text for text in dict.fromkeys(texts) if text not in known]
        if missing:
            known.update(zip(missing, uncached(missing, batch_size), strict=True))
            store = DocBin(store_user_data=False)
            for doc in known.values():
                store.add(doc)
            path.write_bytes(store.to_bytes())
        return iter([known[text] for text in texts])

    nlp.parse_stream = parse_stream


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--cache", type=Path, help="keep spaCy's parses here between runs")
    parser.add_argument("--parse", action="store_true", help="statements from the parse")
    args = parser.parse_args(argv)
    if args.cache:
        cache_parses(args.cache)
    count, seconds = restate(args.source, args.target, args.parse)
    print(f"{count} statements, statements_of {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
