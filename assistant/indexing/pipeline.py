"""One write of an index, stage by stage, streaming: gather the sources (read and
split what is new, reuse what is not: :mod:`.gather`) into a spool on disk while
giving documents unique ids and summarising each site's repeated paragraphs
(:mod:`.stream`); then, part by part, mark site boilerplate and who says what, embed
the new passages, and hand each part to the store writer
(:func:`assistant.storage.backend.open_writer`), then the manifest. Memory holds one
part and the corpus's small summaries, not the corpus.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import numpy as np

from .. import embeddings
from ..ingest import boilerplate, nlp, speakers
from ..ingest import chunks as chunking
from ..storage import layout
from ..storage.batch import StoreWriter, WriteBatch, Written
from ..storage.layout import SCHEMA_VERSION, Manifest, ModelSpec
from ..storage.local_writer import generation_bytes
from ..types import SourceDocument, Statement
from .gather import Gathered, gather
from .plan import (
    BuildReport,
    PendingPassage,
    ProgressCallback,
    WriteOptions,
    nothing_to_add,
    nothing_to_index,
    progress_detail,
)
from .stream import Corpus, Spool, parts, unique_ids

__all__ = ["Write", "embed", "unique_ids", "write_generation"]


@dataclass
class Write:
    """What one write works with: where, with which store writer and encoder."""

    index_dir: Path
    store: StoreWriter
    model: ModelSpec
    encoder: embeddings.Encoder | None  # None: the bundled model, loaded when first needed
    progress: ProgressCallback | None = None

    def encode(self, texts: list[str], sentence_spans, progress):
        """Passage vectors and, per passage, its sentences' (``embeddings.encode_passages``);
        the bundled model at the precision the write records (``model``)."""
        encoder = self.encoder or embeddings.bundled_encoder(self.model.fingerprint)
        return embeddings.encode_passages(encoder, texts, sentence_spans, progress)


def write_generation(
    write: Write,
    roots: list[dict],
    files: list,
    previous,
    options: WriteOptions,
) -> BuildReport:
    """Write the index's new content (``files`` read or reused, ``options`` saying
    what else is kept or fetched); ``previous``: the current index, or None."""
    started = time.perf_counter()
    report = BuildReport(index=str(write.index_dir), files_total=len(files))
    spool = Spool(write.index_dir)
    try:
        corpus = Corpus(spool, report)
        gathered = gather(files, previous, options, report, write.progress, corpus.add)
        old_pages = previous.manifest.pages if previous else {}
        report.files_removed = sorted(set(gathered.old_files) - set(gathered.entries))
        report.files_removed += sorted(set(old_pages) - set(gathered.pages))
        _refuse_nothing(write.index_dir, gathered, options, report)
        if previous is not None and not report.files_embedded and not report.files_removed:
            # Nothing changed: keep the current generation rather than rewrite it.
            _record_unchanged(write.index_dir, gathered, roots, options, report)
        else:
            written = _stream(write, gathered, corpus, report)
            write.store.publish(_manifest(gathered, write.model, report, written, roots, options))
            if write.progress:
                write.progress("writing", 1, 1)
    finally:
        spool.close()
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


@dataclass
class Plan:
    """What the second read of the spool found: each part's boilerplate flags (a byte
    per passage), whom speakers speak for, and the passages to embed and the work
    they are in word pieces, in all and in each part (the time left is told from the
    tokens left: a part of long passages takes longer than one of short)."""

    passages: int = 0
    tokens: int = 0
    part_tokens: list[int] = field(default_factory=list)
    part_flags: list[bytes] = field(default_factory=list)
    book: speakers.SideBook = field(default_factory=speakers.SideBook)


def _stream(write: Write, gathered: Gathered, corpus: Corpus, report: BuildReport) -> Written:
    """Passes two and three over the spool: plan the work, then embed and store the
    parts. Whatever stops the write (an error, Ctrl-C) aborts the store writer, so
    the current index stays as it was."""
    whole_sources = getattr(write.store, "whole_sources", False)
    plan = _plan(corpus, whole_sources, write.progress)
    needed = generation_bytes(
        corpus.text_bytes, plan.passages, corpus.sentences, write.model.dimension
    )
    write.store.begin(write.model, needed)
    try:
        tracker = _EmbeddingProgress(write.progress, plan)
        if write.progress and plan.passages:
            progress_detail(write.progress, work=(0, plan.tokens))
            write.progress("embedding", 0, plan.passages)  # the stage's clock starts here
        first = 0
        part_write = dataclasses.replace(write, progress=tracker)
        for number, part in enumerate(parts(corpus.spool, whole_sources)):
            tracker.start_part(number, part[1])
            _apply_flags(part[1], plan.part_flags[number])
            first += _store_part(part_write, gathered, plan, report, part, first)
            del part  # the next part is read while this one would still be held
        report.documents = corpus.documents
        if write.progress:
            write.progress("writing", 0, 1)
        return write.store.finish()
    except BaseException:
        write.store.abort()
        raise


def _plan(corpus: Corpus, whole_sources: bool, progress: ProgressCallback | None) -> Plan:
    """Pass two: each part's passages marked (site boilerplate), whom speakers speak
    for learnt from every citable passage, the passages to embed and their tokens.

    Tokens are estimated from words (``chunks.approximate_token_count``, 1.4 word
    pieces a word): counting them exactly would run the tokenizer over every passage
    once more (3.3 s per 6,000 passages), for a time-left figure that only needs
    their proportions."""
    plan = Plan()
    seen = 0
    for documents, passages in parts(corpus.spool, whole_sources):
        if progress:
            progress("preparing", seen, corpus.passages)
        seen += len(passages)
        titles = {document.doc_id: document.title for document in documents}
        mark_site_boilerplate(passages, {d.doc_id: d for d in documents}, corpus.repeats)
        plan.part_flags.append(bytes(p.chunk.is_boilerplate for p in passages))
        tokens = 0
        for passage in passages:
            if passage.chunk.is_boilerplate:
                continue
            plan.book.learn(passage.chunk.text)
            if passage.vector is None and passage.stored_rows is None:
                plan.passages += 1
                text = embedding_text(titles.get(passage.doc_id), passage.chunk.text)
                tokens += chunking.approximate_token_count(text)
        plan.part_tokens.append(tokens)
        plan.tokens += tokens
    if progress:
        progress("preparing", seen, corpus.passages)
    return plan


def _store_part(
    write: Write, gathered: Gathered, plan: Plan, report: BuildReport, part, first: int
) -> int:
    """One part prepared, counted and handed to the store writer; its passage count."""
    batch, embedded = _prepare(write, gathered, plan, part, first)
    _count(report, batch, embedded)
    write.store.add(batch)
    return len(batch.passages)


def _apply_flags(passages: list[PendingPassage], flags: bytes) -> None:
    """The boilerplate flags pass two found, on the same part read again."""
    for passage, flag in zip(passages, flags, strict=True):
        if bool(flag) != passage.chunk.is_boilerplate:
            passage.chunk = dataclasses.replace(passage.chunk, is_boilerplate=bool(flag))


def _prepare(
    write: Write, gathered: Gathered, plan: Plan, part, first: int
) -> tuple[WriteBatch, int]:
    """One part, marked, as the store writer stores it (vectors reused or embedded,
    statements found; passage ids from ``first``), and how many of its passages were
    embedded."""
    documents, pending = part
    by_id = {document.doc_id: document for document in documents}
    citable = [p for p in pending if not p.chunk.is_boilerplate]
    _reuse_vectors(gathered.previous, citable)
    to_embed = [p for p in citable if p.vector is None or p.sentence_vectors is None]
    if to_embed:
        embed(write, to_embed, by_id)
    dimension = write.model.dimension
    passage_vectors = np.zeros((len(citable), dimension), dtype=np.float32)
    for row, passage in enumerate(citable):
        passage_vectors[row] = passage.vector
    sentence_vectors = np.concatenate(
        [p.sentence_vectors for p in citable] or [np.zeros((0, dimension))]
    ).astype(np.float16)
    hashes = {source: page["sha256"] for source, page in gathered.pages.items()}
    hashes.update({source: entry.sha256 for source, entry in gathered.entries.items()})
    sources = {p.source for p in pending} | {d.source for d in documents}
    batch = WriteBatch(
        documents=documents,
        passages=pending,
        statements=statements_of(documents, pending, plan.book, first),
        source_hashes={source: hashes.get(source, "") for source in sources},
        model=write.model,
        passage_vectors=passage_vectors,
        sentence_vectors=sentence_vectors,
        first_passage=first,
    )
    return batch, len(to_embed)


def _reuse_vectors(previous, citable: list[PendingPassage]) -> None:
    """The stored vectors of reused passages, read only now, a part at a time."""
    for passage in citable:
        if passage.vector is not None or passage.stored_rows is None:
            continue
        vector_row, first_sentence = passage.stored_rows
        passage.vector = previous.vector(vector_row)
        if first_sentence is not None:
            count = len(passage.chunk.sentences)
            passage.sentence_vectors = previous.stored_sentence_vectors(first_sentence, count)


def _count(report: BuildReport, batch: WriteBatch, embedded: int) -> None:
    """A part's passages in the report's counts."""
    # Head lines (headline, byline, date) are kept, but they are not passages of the text.
    body = sum(1 for p in batch.passages if not p.chunk.is_head)
    citable = len(batch.passage_vectors)
    report.passages += body
    report.boilerplate += body - citable
    report.passages_embedded += embedded
    report.passages_reused += citable - embedded


class _EmbeddingProgress:
    """The encoder's progress in one part, told as progress in the whole write: the
    passages embedded (the count people know) and, to a display that asks for it,
    the tokens embedded out of all (the time left is told from those)."""

    def __init__(self, progress: ProgressCallback | None, plan: Plan) -> None:
        self.progress = progress
        self.plan = plan
        self.passages_before = self.tokens_before = 0
        self.part_passages = self.part_tokens = 0
        self.current: str | None = None

    def start_part(self, number: int, passages: list[PendingPassage]) -> None:
        self.passages_before += self.part_passages
        self.tokens_before += self.part_tokens
        self.part_tokens = (
            self.plan.part_tokens[number] if number < len(self.plan.part_tokens) else 0
        )
        self.part_passages = 0  # set by the first call of this part
        self.current = passages[-1].source if passages else None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.progress is None:
            return
        self.part_passages = total
        share = done / total if total else 1.0
        tokens = self.tokens_before + round(self.part_tokens * share)
        progress_detail(self.progress, current=self.current, work=(tokens, self.plan.tokens))
        self.progress(stage, self.passages_before + done, self.plan.passages)


def _manifest(
    gathered: Gathered,
    model: ModelSpec,
    report: BuildReport,
    written: Written,
    roots: list[dict],
    options: WriteOptions,
) -> Manifest:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    previous = gathered.previous
    return Manifest(
        schema_version=SCHEMA_VERSION,
        model=model.name,
        dimension=model.dimension,
        generation=written.generation,
        created_at=previous.manifest.created_at if previous else now,
        updated_at=now,
        roots=roots,
        files=gathered.entries,
        documents=report.documents,
        passages=report.passages,
        vectors=report.passages - report.boilerplate,
        model_fingerprint=model.fingerprint,
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


def mark_site_boilerplate(
    pending: list[PendingPassage],
    documents: dict[str, SourceDocument],
    repeats: boilerplate.SiteRepeats,
) -> None:
    """Flag what several documents of one site share (``repeats``: every document of
    the write counted), and what each document's own rules call boilerplate.

    Worked out on every write for every document, reused or new, so an update flags
    what a build would; a passage that stops being boilerplate has no vector and is
    embedded like a new one.
    """
    by_doc: dict[str, list[PendingPassage]] = {}
    for passage in pending:
        by_doc.setdefault(passage.doc_id, []).append(passage)
    for doc_id, items in by_doc.items():
        flags = repeats.flags(documents[doc_id], [p.chunk for p in items])
        for passage, flag in zip(items, flags, strict=True):
            if flag != passage.chunk.is_boilerplate:
                passage.chunk = dataclasses.replace(passage.chunk, is_boilerplate=flag)


def statements_of(
    documents: list[SourceDocument],
    passages: list[PendingPassage],
    book: speakers.SideBook,
    first: int = 0,
    *,
    parse: bool = False,
) -> list[tuple[int, Statement]]:
    """Who says what in each citable passage (see :mod:`assistant.ingest.speakers`), as
    (passage id, statement); passage ids are ``first`` plus positions in ``passages``.

    ``book`` holds the sides of people learnt from the whole corpus first, so a speaker
    introduced in one article ("Iranian Foreign Minister Hossein Amir-Abdollahian") is
    known in another.

    ``parse``: statements from spaCy's parse (:func:`speakers.from_parse`), the patterns'
    quotations only where it attributes nothing. Off by default: it finds more of
    said-dev's speakers and quotes, but the answerer's weights were fitted on the
    patterns' statements and its "said" questions lose with it (BENCHMARKS.md, "Who
    said what"). Only the paragraphs that can hold a statement, or introduce the
    speaker of the next, are parsed (:func:`assistant.ingest.nlp.to_parse`), all
    documents' in one stream of batches.
    """
    by_document: dict[str, list[tuple[int, PendingPassage]]] = {}
    for passage_id, passage in enumerate(passages, first):
        if not passage.chunk.is_boilerplate:
            by_document.setdefault(passage.doc_id, []).append((passage_id, passage))
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
    """Passage vectors (title-prefixed) and sentence vectors, in one encoder pass: the
    bundled model pools each sentence's vector from its passage's token states."""
    texts: list[str] = []
    spans: list[list[tuple[int, int]]] = []
    for passage in passages:
        text = embedding_text(documents[passage.doc_id].title, passage.chunk.text)
        texts.append(text)
        spans.append(sentence_spans(passage.chunk, len(text) - len(passage.chunk.text)))

    def embedding_progress(done: int, total: int) -> None:
        if write.progress:
            # Counted in passages, as users count them (texts go by length, so this is
            # the share done).
            passages_done = len(passages) * done // total if total else len(passages)
            write.progress("embedding", passages_done, len(passages))
        layout.fault_point("embedding")

    vectors, sentence_vectors = write.encode(texts, spans, embedding_progress)
    for passage, vector, own in zip(passages, vectors, sentence_vectors, strict=True):
        passage.vector = vector
        passage.sentence_vectors = own


def sentence_spans(chunk: chunking.Chunk, shift: int) -> list[tuple[int, int]]:
    """Where the chunk's sentences are in its embedded text (the chunk's own text
    starting at ``shift``, after the title)."""
    return [
        (start - chunk.start + shift, end - chunk.start + shift) for start, end in chunk.sentences
    ]
