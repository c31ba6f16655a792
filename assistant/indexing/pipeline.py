"""One write of an index, stage by stage: gather the sources (read and split what is
new, reuse what is not: :mod:`.gather`), give documents unique ids, mark site
boilerplate and who says what, embed the new passages, and hand the whole batch to
the store writer (:func:`assistant.storage.backend.open_writer`), then the manifest.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import numpy as np

from .. import embeddings
from ..ingest import boilerplate, nlp, speakers
from ..ingest import chunks as chunking
from ..ingest.sources import SkippedFile, SourceFile
from ..storage import layout
from ..storage.batch import StoreWriter, WriteBatch, Written
from ..storage.layout import SCHEMA_VERSION, Manifest, ModelSpec
from ..types import SourceDocument, Statement
from .gather import Gathered, gather
from .plan import (
    BuildReport,
    PendingPassage,
    ProgressCallback,
    WriteOptions,
    nothing_to_add,
    nothing_to_index,
)


@dataclass
class Write:
    """What one write works with: where, with which store writer and encoder."""

    index_dir: Path
    store: StoreWriter
    model: ModelSpec
    encoder: embeddings.Encoder | None  # None: the bundled model, loaded when first needed
    progress: ProgressCallback | None = None

    def encode(self, texts: list[str], progress) -> np.ndarray:
        encoder = self.encoder or embeddings.default_encoder()
        return embeddings.encode_many(encoder, texts, progress=progress)


def write_generation(
    write: Write,
    roots: list[dict],
    files: list[SourceFile],
    previous,
    options: WriteOptions,
) -> BuildReport:
    """Write the index's new content (``files`` read or reused, ``options`` saying
    what else is kept or fetched); ``previous``: the current index, or None."""
    started = time.perf_counter()
    report = BuildReport(index=str(write.index_dir), files_total=len(files))
    gathered = gather(files, previous, options, report, write.progress)
    old_pages = previous.manifest.pages if previous else {}
    report.files_removed = sorted(set(gathered.old_files) - set(gathered.entries))
    report.files_removed += sorted(set(old_pages) - set(gathered.pages))
    _refuse_nothing(write.index_dir, gathered, options, report)
    if previous is not None and not report.files_embedded and not report.files_removed:
        # Nothing changed: keep the current generation rather than rewrite it.
        _record_unchanged(write.index_dir, gathered, roots, options, report)
    else:
        batch = _prepare(write, gathered, report)
        if write.progress:
            write.progress("writing", 0, 1)
        written = write.store.write(batch)
        write.store.publish(_manifest(gathered, batch, written, roots, options))
        if write.progress:
            write.progress("writing", 1, 1)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _refuse_nothing(
    index_dir: Path, gathered: Gathered, options: WriteOptions, report: BuildReport
) -> None:
    """An ``add`` that brings nothing, or a write that would empty the index, is
    refused (unless ``allow_empty``)."""
    if options.allow_empty:
        return
    fetched = set(options.web.documents) if options.web else set()
    added = gathered.read & set(gathered.entries) or fetched & set(gathered.pages)
    if options.adding and not added:
        raise nothing_to_add(index_dir, report)
    previous = gathered.previous
    # An update of an index that is already empty (allowed once) loses nothing.
    loses = previous is None or previous.manifest.documents > 0
    if not gathered.entries and not gathered.pages and loses:
        documents = previous.manifest.documents if previous is not None else None
        raise nothing_to_index(index_dir, report, documents)


def _record_unchanged(
    index_dir: Path,
    gathered: Gathered,
    roots: list[dict],
    options: WriteOptions,
    report: BuildReport,
) -> None:
    """No passage changed, but what is skipped, the link rule or the roots (``add`` of
    files already indexed) did: the manifest alone is replaced, so that status stops
    listing those files as new and ``update`` keeps the roots. Web pages found unchanged
    are recorded too (when they were checked; feeds added)."""
    manifest = gathered.previous.manifest
    report.documents = manifest.documents
    report.passages = manifest.passages
    report.passages_reused = manifest.vectors
    report.boilerplate = manifest.passages - manifest.vectors
    web_fields = gathered.web_fields
    now = (gathered.skipped, options.follow_links, roots, web_fields)
    web_then = {name: getattr(manifest, name) for name in web_fields}
    if now == (manifest.skipped, manifest.follow_links, manifest.roots, web_then):
        return
    updated = dataclasses.replace(
        manifest,
        **web_fields,
        roots=roots,
        files=gathered.entries,
        skipped=gathered.skipped,
        follow_links=options.follow_links,
        updated_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    layout.write_manifest(index_dir, updated)


def _prepare(write: Write, gathered: Gathered, report: BuildReport) -> WriteBatch:
    """Unique ids, site boilerplate, vectors for what has none, and statements: the
    batch a store writer stores. Counts go into ``report``."""
    pending = gathered.pending
    unique_docs = unique_ids(gathered.documents, pending, report)
    mark_site_boilerplate(pending, unique_docs)
    citable = [p for p in pending if not p.chunk.is_boilerplate]
    to_embed = [p for p in citable if p.vector is None or p.sentence_vectors is None]
    if to_embed:
        embed(write, to_embed, unique_docs)
    dimension = write.model.dimension
    passage_vectors = np.zeros((len(citable), dimension), dtype=np.float32)
    for row, passage in enumerate(citable):
        passage_vectors[row] = passage.vector
    sentence_vectors = np.concatenate(
        [p.sentence_vectors for p in citable] or [np.zeros((0, dimension))]
    ).astype(np.float16)
    report.documents = len(unique_docs)
    # Head lines (headline, byline, date) are kept, but they are not passages of the text.
    report.passages = len(pending) - sum(1 for p in pending if p.chunk.is_head)
    report.boilerplate = report.passages - len(citable)
    report.passages_embedded = len(to_embed)
    report.passages_reused = len(citable) - len(to_embed)
    documents = list(unique_docs.values())
    hashes = {source: page["sha256"] for source, page in gathered.pages.items()}
    hashes.update({source: entry.sha256 for source, entry in gathered.entries.items()})
    return WriteBatch(
        documents=documents,
        passages=pending,
        statements=statements_of(documents, pending),
        source_hashes=hashes,
        model=write.model,
        passage_vectors=passage_vectors,
        sentence_vectors=sentence_vectors,
    )


def _manifest(
    gathered: Gathered,
    batch: WriteBatch,
    written: Written,
    roots: list[dict],
    options: WriteOptions,
) -> Manifest:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    previous = gathered.previous
    body = sum(1 for p in batch.passages if not p.chunk.is_head)
    return Manifest(
        schema_version=SCHEMA_VERSION,
        model=batch.model.name,
        dimension=batch.model.dimension,
        generation=written.generation,
        created_at=previous.manifest.created_at if previous else now,
        updated_at=now,
        roots=roots,
        files=gathered.entries,
        documents=len(batch.documents),
        passages=body,
        vectors=len(batch.passage_vectors),
        model_fingerprint=batch.model.fingerprint,
        artifacts=written.artifacts,
        vector_index=written.vector_index,
        chunking=chunking.CHUNKING_VERSION,
        skipped=gathered.skipped,
        follow_links=options.follow_links,
        store=options.store,
        store_index=options.store_index,
        **gathered.web_fields,
    )


# -- the corpus-wide passes ------------------------------------------------------------


def unique_ids(
    documents: list[SourceDocument], pending: list[PendingPassage], report: BuildReport
) -> dict[str, SourceDocument]:
    """Documents by id, every one kept.

    Ids are namespaced by file (``data.jsonl#a40``), so two meet only when a path
    spells another file's record id, or in an index written before ids were
    namespaced. The later document then gets a new id, and a warning says so.
    """
    unique: dict[str, SourceDocument] = {}
    renamed: dict[tuple[str, str], str] = {}
    for document in documents:
        doc_id = document.doc_id
        if doc_id in unique:
            number = 2
            while f"{doc_id}~{number}" in unique:
                number += 1
            new_id = f"{doc_id}~{number}"
            report.warnings.append(
                SkippedFile(
                    document.source,
                    f"{document.source}: the document id {doc_id!r} is also one in"
                    f" {unique[doc_id].source}; this one's id is {new_id!r}",
                )
            )
            renamed[(document.source, doc_id)] = new_id
            document = dataclasses.replace(document, doc_id=new_id)
        unique[document.doc_id] = document
    for passage in pending:
        passage.doc_id = renamed.get((passage.source, passage.doc_id), passage.doc_id)
    return unique


def mark_site_boilerplate(
    pending: list[PendingPassage], documents: dict[str, SourceDocument]
) -> None:
    """Flag what several documents of one site share (``boilerplate.mark_corpus``).

    Worked out on every write for every document, reused or new, so an update flags
    what a build would; a passage that stops being boilerplate has no vector and is
    embedded like a new one.
    """
    by_doc: dict[str, list[PendingPassage]] = {}
    for passage in pending:
        by_doc.setdefault(passage.doc_id, []).append(passage)
    flags = boilerplate.mark_corpus(
        {doc_id: (documents[doc_id], [p.chunk for p in items]) for doc_id, items in by_doc.items()}
    )
    for doc_id, items in by_doc.items():
        for passage, flag in zip(items, flags[doc_id], strict=True):
            if flag != passage.chunk.is_boilerplate:
                passage.chunk = dataclasses.replace(passage.chunk, is_boilerplate=flag)


def statements_of(
    documents: list[SourceDocument], passages: list[PendingPassage], *, parse: bool = False
) -> list[tuple[int, Statement]]:
    """Who says what in each citable passage (see :mod:`assistant.ingest.speakers`), as
    (passage id, statement); passage ids are positions in ``passages``.

    Sides of people are learnt from the whole corpus first, so a speaker introduced in
    one article ("Iranian Foreign Minister Hossein Amir-Abdollahian") is known in another.

    ``parse``: statements from spaCy's parse (:func:`speakers.from_parse`), the patterns'
    quotations only where it attributes nothing. Off by default: it finds more of
    said-dev's speakers and quotes, but the answerer's weights were fitted on the
    patterns' statements and its "said" questions lose with it (BENCHMARKS.md, "Who
    said what"). Only the paragraphs that can hold a statement, or introduce the
    speaker of the next, are parsed (:func:`assistant.ingest.nlp.to_parse`), all
    documents' in one stream of batches.
    """
    by_document: dict[str, list[tuple[int, PendingPassage]]] = {}
    for passage_id, passage in enumerate(passages):
        if not passage.chunk.is_boilerplate:
            by_document.setdefault(passage.doc_id, []).append((passage_id, passage))
    book = speakers.SideBook()
    for items in by_document.values():
        for _, passage in items:
            book.learn(passage.chunk.text)
    texts = {document.doc_id: document.text for document in documents}
    said = _parsed_statements(by_document, texts, book) if parse else None
    found = []
    for doc_id, items in by_document.items():
        spans = [(p.chunk.start, p.chunk.end) for _, p in items]
        if said is None:
            statements = speakers.extract(texts[doc_id], spans, book)
        else:
            statements = speakers.with_pattern_quotations(said[doc_id], texts[doc_id], spans, book)
        for statement in statements:
            for passage_id, passage in items:
                if passage.chunk.start <= statement.start < passage.chunk.end:
                    found.append((passage_id, statement))
                    break
    return found


def _parsed_statements(
    by_document: dict[str, list[tuple[int, PendingPassage]]],
    texts: dict[str, str],
    book: speakers.SideBook,
) -> dict[str, list[Statement]]:
    """Each document's statements from the parse of the paragraphs worth parsing."""
    chosen = {}
    for doc_id, items in by_document.items():
        chunks = [passage.chunk for _, passage in items]
        chosen[doc_id] = [chunks[i] for i in nlp.to_parse([c.text for c in chunks])]
    parsed = nlp.parse_stream(chunk.text for chunks in chosen.values() for chunk in chunks)
    said = {}
    for doc_id, chunks in chosen.items():
        spans = [(chunk.start, chunk.end) for chunk in chunks]
        docs = list(islice(parsed, len(spans)))
        said[doc_id] = speakers.from_parse(texts[doc_id], spans, docs, book)
    return said


# -- embedding -----------------------------------------------------------------------------


def embedding_text(title: str | None, passage_text: str) -> str:
    """What a passage's vector is made from: the document title, then the passage.

    A paragraph often leaves its subject to the headline ("The ministry said ...");
    with the title in front, the vector knows what it is about (SciFact train split:
    nDCG@10 of dense retrieval 0.651 without, 0.664 with).
    """
    title = " ".join((title or "").split())
    return f"{title} {passage_text}" if title else passage_text


def embed(
    write: Write, passages: list[PendingPassage], documents: dict[str, SourceDocument]
) -> None:
    """Passage vectors (title-prefixed) and sentence vectors, in one encoder pass."""
    texts: list[str] = []
    for passage in passages:
        texts.append(embedding_text(documents[passage.doc_id].title, passage.chunk.text))
        texts.extend(sentence_texts(passage.chunk))

    def embedding_progress(done: int, total: int) -> None:
        if write.progress:
            # Counted in passages, as users count them: each passage's sentences are
            # embedded with it (texts go by length, so this is the share done).
            passages_done = len(passages) * done // total if total else len(passages)
            write.progress("embedding", passages_done, len(passages))
        layout.fault_point("embedding")

    fresh = write.encode(texts, embedding_progress)
    row = 0
    for passage in passages:
        count = len(passage.chunk.sentences)
        passage.vector = fresh[row]
        passage.sentence_vectors = fresh[row + 1 : row + 1 + count]
        row += 1 + count


def sentence_texts(chunk: chunking.Chunk) -> list[str]:
    return [chunk.text[start - chunk.start : end - chunk.start] for start, end in chunk.sentences]
