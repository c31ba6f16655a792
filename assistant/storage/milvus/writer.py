"""Writing an index into Milvus: :class:`MilvusWriter` creates the three collections
and replaces the rows of one source at a time; :class:`MilvusStoreWriter` is the store
writer :func:`assistant.storage.backend.open_writer` hands out for an index whose
manifest names a Milvus store. What the collections hold is described in
:mod:`assistant.storage.milvus`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ...errors import UsageError
from ...text import keywords
from ...types import Document, Passage, Span, Statement
from .. import layout
from ..batch import WriteBatch, Written
from ..layout import Manifest, ModelSpec
from ..terms import BM25_B, BM25_K1, stemmed
from .connection import (
    BOILERPLATE,
    CITABLE,
    HEAD_LINE,
    SCHEMA_VERSION,
    Collections,
    MilvusManifest,
    collection_names,
    connect,
    count_rows,
    generations_of,
    index_name_for,
    literal,
    make_store_private,
    new_generation,
    parse_store_uri,
    private_files,
    read_manifest,
)
from .reader import open_reader
from .records import DocumentRecord, PassageRecord

# -- what is written -----------------------------------------------------------------


# Milvus VARCHAR fields hold at most 65,535 bytes; text is split below that.
VARCHAR_BYTES = 65_535
PART_BYTES = 60_000
# Dense index: exact (FLAT) keeps results identical to the local exact search; HNSW
# is for corpora where a scan costs too much (see bench/milvus.py for its recall).
DENSE_INDEXES = {
    "FLAT": {},
    "HNSW": {"M": 16, "efConstruction": 200},
}
# The engine's BM25 function (used by hybrid_search) with FTS5's constants.
BM25_INDEX = {
    "index_type": "SPARSE_INVERTED_INDEX",
    "metric_type": "BM25",
    "params": {"bm25_k1": BM25_K1, "bm25_b": BM25_B},
}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def keyword_text(text: str, title: str | None = None) -> str:
    """What BM25 runs over: as the local passages_fts row (body, then title)."""
    return stemmed([_keyword_source(text, title)])[0]


def _keyword_source(text: str, title: str | None) -> str:
    return f"{keywords.normalize(text)} {keywords.normalize(title or '')}"


def _pieces(text: str, limit: int = PART_BYTES) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-8 bytes (cut at a space when one
    is near, so keyword terms stay whole); "" gives [""]."""
    pieces = []
    data = text.encode("utf-8")
    while len(data) > limit:
        cut = limit
        while cut > 0 and (data[cut] & 0xC0) == 0x80:
            cut -= 1  # not inside a character
        space = data.rfind(b" ", max(0, cut - 200), cut)
        cut = space + 1 if space > 0 else cut
        pieces.append(data[:cut].decode("utf-8"))
        data = data[cut:]
    pieces.append(data.decode("utf-8"))
    return pieces


# -- writing ---------------------------------------------------------------------------


class MilvusWriter(Collections):
    """Creates an index's collections and replaces the rows of one source at a time.

    Milvus has no transactions: a source is written as delete, then sentences and
    passages, then its documents, which carry the source's hash. A write killed
    half-way leaves the source without a hash, so the next update writes it again
    (the delete removes the orphans), and ``verify`` reports the counts disagreeing
    with those recorded until then.
    """

    def create(
        self,
        model: str,
        dimension: int,
        model_fingerprint: str = "",
        dense_index: str = "FLAT",
        *,
        replace: bool = False,
    ) -> None:
        if dense_index not in DENSE_INDEXES:
            raise UsageError(f"dense index {dense_index!r} is not one of {sorted(DENSE_INDEXES)}")
        if self.exists() and not replace:
            self.load()
            return
        self.drop()
        now = _now()
        properties = {
            "assistant.schema_version": str(SCHEMA_VERSION),
            "assistant.model": model,
            "assistant.dimension": str(dimension),
            "assistant.model_fingerprint": model_fingerprint,
            "assistant.dense_index": dense_index,
            "assistant.next_id": "0",
            "assistant.created_at": now,
            "assistant.updated_at": now,
            **{f"assistant.{name}": "0" for name in ("documents", "passages", "vectors")},
            "assistant.sentences": "0",
        }
        # The companions first: the passages collection (which holds the properties)
        # existing means the index exists.
        self._create_documents()
        self._create_sentences(dimension)
        self._create_passages(dimension, dense_index, properties)

    def drop(self) -> None:
        """Drop the three collections (those of an unfinished write)."""
        for name in (self.passages_name, self.documents_name, self.sentences_name):
            if self.client.has_collection(name):
                self.client.drop_collection(name)

    def _schema(self):
        return self.client.create_schema(auto_id=False, enable_dynamic_field=False)

    def _bm25(self, schema, source_field: str, output_field: str) -> None:
        from pymilvus import DataType, Function, FunctionType

        schema.add_field(output_field, DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name=f"{output_field}_bm25",
                function_type=FunctionType.BM25,
                input_field_names=[source_field],
                output_field_names=[output_field],
            )
        )

    def _create_passages(self, dimension: int, dense_index: str, properties: dict) -> None:
        from pymilvus import DataType

        schema = self._schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        for name in ("doc_id", "source", "text", "sentences", "statements"):
            schema.add_field(name, DataType.VARCHAR, max_length=VARCHAR_BYTES)
        for name in ("paragraph", "start", "end", "kind"):
            schema.add_field(name, DataType.INT64)
        schema.add_field("published", DataType.VARCHAR, max_length=16)  # "" when unknown
        schema.add_field("outlet_key", DataType.VARCHAR, max_length=VARCHAR_BYTES)
        # The analyzer only splits: the text is already FTS5's terms (module docstring).
        analyzer = {"tokenizer": "standard"}
        schema.add_field(
            "keywords",
            DataType.VARCHAR,
            max_length=VARCHAR_BYTES,
            enable_analyzer=True,
            enable_match=True,
            analyzer_params=analyzer,
        )
        schema.add_field("keyword_tokens", DataType.INT64)  # FTS5's column size
        # Body terms without the title, for term counts (text_match), like FTS5 body:.
        schema.add_field(
            "body_terms",
            DataType.VARCHAR,
            max_length=VARCHAR_BYTES,
            enable_analyzer=True,
            enable_match=True,
            analyzer_params=analyzer,
        )
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        self._bm25(schema, "keywords", "keywords_sparse")
        index = self.client.prepare_index_params()
        index.add_index(
            "vector", index_type=dense_index, metric_type="IP", params=DENSE_INDEXES[dense_index]
        )
        index.add_index("keywords_sparse", **BM25_INDEX)
        self.client.create_collection(
            self.passages_name,
            schema=schema,
            index_params=index,
            consistency_level="Strong",
            properties=properties,
        )

    def _create_documents(self) -> None:
        from pymilvus import DataType

        schema = self._schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        for name in ("doc_id", "source", "source_sha256", "title", "outlet", "byline", "url"):
            schema.add_field(name, DataType.VARCHAR, max_length=VARCHAR_BYTES)
        schema.add_field("published", DataType.VARCHAR, max_length=16)
        schema.add_field("part", DataType.INT64)
        schema.add_field("parts", DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=VARCHAR_BYTES)
        schema.add_field("names", DataType.VARCHAR, max_length=VARCHAR_BYTES)
        schema.add_field(
            "keywords",
            DataType.VARCHAR,
            max_length=VARCHAR_BYTES,
            enable_analyzer=True,
            enable_match=True,
            analyzer_params={"tokenizer": "standard"},
        )
        schema.add_field("keyword_tokens", DataType.INT64)
        self._bm25(schema, "keywords", "keywords_sparse")
        index = self.client.prepare_index_params()
        index.add_index("keywords_sparse", **BM25_INDEX)
        self.client.create_collection(
            self.documents_name, schema=schema, index_params=index, consistency_level="Strong"
        )

    def _create_sentences(self, dimension: int) -> None:
        from pymilvus import DataType

        schema = self._schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("passage_id", DataType.INT64)
        schema.add_field("position", DataType.INT64)
        schema.add_field("source", DataType.VARCHAR, max_length=VARCHAR_BYTES)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        index = self.client.prepare_index_params()
        # Sentence vectors are fetched by passage, never searched; Milvus still wants
        # an index on every vector field before it loads a collection.
        index.add_index("vector", index_type="FLAT", metric_type="IP")
        self.client.create_collection(
            self.sentences_name, schema=schema, index_params=index, consistency_level="Strong"
        )

    # -- rows ----------------------------------------------------------------

    def source_hashes(self) -> dict[str, str]:
        """Each written source's SHA-256 (what an incremental update compares)."""
        return {
            row["source"]: row["source_sha256"]
            for row in self.scan(self.documents_name, "part == 0", ["source", "source_sha256"])
        }

    def delete_source(self, source: str) -> None:
        expression = f"source == {literal(source)}"
        # Documents (and with them the source's hash) go first: a half-done delete
        # is then a source to write again, never a source that looks complete.
        self.client.delete(self.documents_name, filter=expression)
        self.client.delete(self.passages_name, filter=expression)
        self.client.delete(self.sentences_name, filter=expression)

    def write_source(
        self,
        source: str,
        sha256: str,
        documents: list[DocumentRecord],
        passages: list[PassageRecord],
        *,
        keep_ids: bool = False,
        replace: bool = True,
    ) -> dict[int, int]:
        """Replace everything of ``source`` with these documents and passages
        (``replace=False``: the collections are new and hold nothing of it).

        Passage ids are allocated here (``keep_ids``: the records' own ids are kept, as
        when a local index is copied); returns {record's passage id: stored id}.
        """
        if replace:
            self.delete_source(source)
        ids = self._allocate(len(passages), [r.passage.passage_id for r in passages], keep_ids)
        titles = {d.document.doc_id: d.document.title for d in documents}
        meta = {d.document.doc_id: d.document for d in documents}
        citable = [r for r in passages if r.vector is not None]
        texts = [_keyword_source(r.passage.text, titles.get(r.passage.doc_id)) for r in citable]
        terms = dict(zip((id(r) for r in citable), stemmed(texts), strict=True))
        bodies = stemmed([keywords.normalize(r.passage.text) for r in citable])
        body_terms = dict(zip((id(r) for r in citable), bodies, strict=True))
        sentence_rows, passage_rows = [], []
        sentence_ids = iter(self._allocate(sum(_sentence_count(r) for r in citable)))
        dimension = self._dimension()
        for record, stored_id in zip(passages, ids, strict=True):
            passage = record.passage
            document = meta.get(passage.doc_id)
            for position, vector in enumerate(
                record.sentence_vectors if record.sentence_vectors is not None else []
            ):
                sentence_rows.append(
                    {
                        "id": next(sentence_ids),
                        "passage_id": stored_id,
                        "position": position,
                        "source": source,
                        "vector": np.asarray(vector, dtype=np.float32),
                    }
                )
            passage_rows.append(
                _passage_row(
                    record,
                    stored_id,
                    source,
                    document,
                    terms.get(id(record), ""),
                    body_terms.get(id(record), ""),
                    dimension,
                )
            )
        document_rows = self._document_rows(source, sha256, documents, passages)
        for name, rows in (
            (self.sentences_name, sentence_rows),
            (self.passages_name, passage_rows),
            (self.documents_name, document_rows),
        ):
            for offset in range(0, len(rows), 2_000):
                self.client.insert(name, rows[offset : offset + 2_000])
        return {r.passage.passage_id: i for r, i in zip(passages, ids, strict=True)}

    def _document_rows(self, source, sha256, documents, passages) -> list[dict]:
        citable_text: dict[str, list[str]] = {}
        names: dict[str, set[str]] = {}
        for record in passages:
            if record.vector is not None:
                doc_id = record.passage.doc_id
                citable_text.setdefault(doc_id, []).append(record.passage.text)
                names.setdefault(doc_id, set()).update(keywords.names_in(record.passage.text))
        # As the local documents_fts row: the citable text, then the title.
        every_words = stemmed(
            [
                _keyword_source(
                    "\n".join(citable_text.get(r.document.doc_id, [])), r.document.title
                )
                for r in documents
            ]
        )
        rows = []
        for record, words in zip(documents, every_words, strict=True):
            document = record.document
            texts = _pieces(record.text, PART_BYTES)
            terms = _pieces(words, PART_BYTES) if document.doc_id in citable_text else [""]
            name_parts = _pieces(" ".join(sorted(names.get(document.doc_id, ()))), PART_BYTES)
            parts = max(len(texts), len(terms), len(name_parts))
            for part in range(parts):
                rows.append(
                    {
                        "id": -1,  # allocated below, for all rows at once
                        "doc_id": document.doc_id,
                        "source": source,
                        "source_sha256": sha256,
                        "title": _fits(document.title),
                        "outlet": _fits(document.outlet),
                        "byline": _fits(document.byline),
                        "url": _fits(document.url),
                        "published": document.published or "",
                        "part": part,
                        "parts": parts,
                        "text": texts[part] if part < len(texts) else "",
                        "names": name_parts[part] if part < len(name_parts) else "",
                        "keywords": terms[part] if part < len(terms) else "",
                        "keyword_tokens": len(terms[part].split()) if part < len(terms) else 0,
                    }
                )
        for row, row_id in zip(rows, self._allocate(len(rows)), strict=True):
            row["id"] = row_id
        return rows

    def _dimension(self) -> int:
        return int(self.properties()["assistant.dimension"])

    def _allocate(self, count: int, own: list[int] | None = None, keep: bool = False) -> list[int]:
        """``count`` new row ids (one counter for all three collections, kept in the
        passages collection's properties); with ``keep``, ``own`` are used as they are
        and the counter moves past them."""
        start = int(self.properties().get("assistant.next_id", "0"))
        if keep and own is not None:
            end = max([start - 1, *own]) + 1
            ids = list(own)
        else:
            end = start + count
            ids = list(range(start, end))
        if end != start:
            self.client.alter_collection_properties(
                self.passages_name, properties={"assistant.next_id": str(end)}
            )
        return ids

    def finish(self) -> MilvusManifest:
        """Record the counts and the time of this write (``verify`` compares them)."""
        counts = {**count_rows(self), **_keyword_totals(self)}
        self.client.alter_collection_properties(
            self.passages_name,
            properties={
                "assistant.updated_at": _now(),
                **{f"assistant.{name}": str(value) for name, value in counts.items()},
            },
        )
        for name in (self.passages_name, self.documents_name, self.sentences_name):
            self.client.flush(name)
        return read_manifest(self)


def _fits(value: str | None) -> str:
    if value is None:
        return ""
    if len(value.encode("utf-8")) > VARCHAR_BYTES:
        raise UsageError(f"a document field of {len(value):,} characters is too long for Milvus")
    return value


def _sentence_count(record: PassageRecord) -> int:
    return 0 if record.sentence_vectors is None else len(record.sentence_vectors)


def _passage_row(record, stored_id, source, document, terms, body, dimension) -> dict:
    passage = record.passage
    if len(passage.text.encode("utf-8")) > VARCHAR_BYTES:
        raise UsageError(
            f"a passage of {passage.source} is over Milvus's 64 KiB text limit",
            hint="split the paragraph or keep this index local",
        )
    kind = HEAD_LINE if passage.is_head else BOILERPLATE if passage.is_boilerplate else CITABLE
    if record.vector is None:
        vector = np.zeros(dimension, dtype=np.float32)  # never searched: kind != 0
    else:
        vector = np.asarray(record.vector, dtype=np.float32)
    return {
        "id": stored_id,
        "doc_id": passage.doc_id,
        "source": source,
        "paragraph": passage.paragraph,
        "start": passage.start,
        "end": passage.end,
        "text": passage.text,
        "kind": kind,
        "sentences": json.dumps([[s.start, s.end] for s in passage.sentences]),
        "statements": json.dumps(
            [[s.start, s.end, s.speaker, s.side] for s in record.statements], ensure_ascii=False
        ),
        "published": (document.published or "") if document else "",
        "outlet_key": (document.outlet or "").casefold() if document else "",
        "keywords": terms,
        "keyword_tokens": len(terms.split()),
        "body_terms": body,
        "vector": vector,
    }


def _keyword_totals(collections: Collections) -> dict[str, int]:
    """What FTS5's BM25 takes from the whole table: the rows holding keyword text and
    their tokens, for the passages (citable ones) and the documents (those with
    citable text; a document's parts count as one row)."""
    passage_tokens = sum(
        row["keyword_tokens"]
        for row in collections.scan(
            collections.passages_name, f"kind == {CITABLE}", ["keyword_tokens"]
        )
    )
    documents: set[str] = set()
    document_tokens = 0
    for row in collections.scan(
        collections.documents_name, "keyword_tokens > 0", ["doc_id", "keyword_tokens"]
    ):
        documents.add(row["doc_id"])
        document_tokens += row["keyword_tokens"]
    return {
        "keyword_tokens": passage_tokens,
        "keyword_documents": len(documents),
        "document_keyword_tokens": document_tokens,
    }


# -- copying a local index -----------------------------------------------------------------


def records_from_local(
    store,
) -> Iterator[tuple[str, str, list[DocumentRecord], list[PassageRecord]]]:
    """Each source of a local :class:`~assistant.storage.local.StoredIndex` as
    (source, sha256, documents, passages), ids kept, for :meth:`MilvusWriter.write_source`.

    Vectors are the stored full-precision ones; sentence vectors the local sentence
    file's (float16, as the local queries use them)."""
    hashes = {source: entry.sha256 for source, entry in store.manifest.files.items()}
    by_source: dict[str, list[Document]] = {}
    for document in store.documents():
        by_source.setdefault(document.source, []).append(document)
    rows = {
        passage.passage_id: (passage, row, first) for passage, row, first in store.stored_passages()
    }
    by_document: dict[str, list[int]] = {}
    for passage_id, (passage, _, _) in rows.items():
        by_document.setdefault(passage.doc_id, []).append(passage_id)
    for source, documents in by_source.items():
        records = [DocumentRecord(d, store.document_text(d.doc_id)) for d in documents]
        ids = [pid for d in documents for pid in by_document.get(d.doc_id, [])]
        statements = store.statements(ids)
        passages = []
        for passage_id in ids:
            passage, vector_row, sentence_row = rows[passage_id]
            vector = sentences = None
            if vector_row is not None:
                vector = store.vector(vector_row)
                if sentence_row is not None:
                    sentences = store.stored_sentence_vectors(sentence_row, len(passage.sentences))
            passages.append(
                PassageRecord(passage, vector, sentences, statements.get(passage_id, []))
            )
        page = store.manifest.pages.get(source, {})
        yield source, hashes.get(source) or page.get("sha256", ""), records, passages


def copy_local_index(store, writer: MilvusWriter, *, keep_ids: bool = True) -> MilvusManifest:
    """Write every source of a local index into ``writer``'s collections."""
    manifest = store.manifest
    writer.create(manifest.model, manifest.dimension, manifest.model_fingerprint, replace=True)
    for source, sha256, documents, passages in records_from_local(store):
        writer.write_source(source, sha256, documents, passages, keep_ids=keep_ids)
    return writer.finish()


# -- the store writer of an index -------------------------------------------------------


class MilvusStoreWriter:
    """Writes an index's rows to Milvus as the local store writes a generation: every
    write (build, update, add, remove) puts the whole index into new collections
    (:func:`~.connection.new_generation`), the manifest then names them, and only then
    are the older ones dropped. A write killed at any moment leaves the index the
    manifest names whole; the collections it left are dropped by the next write.

    Passage ids are the positions in the batch, as the local database numbers them.
    The directory keeps only the manifest. (``fresh`` is the seam's: every write here
    is whole.) Parts it is given hold whole sources (``whole_sources``): a source's
    rows and the digest its documents carry are written in one go.
    """

    whole_sources = True

    def __init__(
        self,
        index_dir: Path,
        store: str,
        store_index: str,
        expected: ModelSpec,
        *,
        fresh: bool = False,
    ) -> None:
        self.index_dir = index_dir
        self.store = store
        self.store_index = store_index
        self.expected = expected
        # The generations are the directory's own: a copy of an index directory
        # never drops the collections the original names.
        self.generation = new_generation(index_name_for(index_dir))
        self._writer: MilvusWriter | None = None
        self._private = None  # the store's files made private while it is written

    def open_current(self, manifest: Manifest) -> MilvusCurrent:
        return MilvusCurrent(manifest, self.expected)

    def begin(self, model: ModelSpec, needed: int = 0) -> None:
        """The new generation's collections (no manifest names them yet)."""
        target = parse_store_uri(self.store)
        self._private = private_files(target)
        self._private.__enter__()
        try:
            self._writer = MilvusWriter(connect(target), self.generation, target)
            self._writer.create(model.name, model.dimension, model.fingerprint, replace=True)
            layout.fault_point("milvus-collections-created")
        except BaseException:
            self.abort()
            raise

    def add(self, batch: WriteBatch) -> None:
        """A part's sources into the new collections; a failure drops them at once."""
        try:
            for source, (documents, passages) in records_by_source(batch).items():
                digest = source_digest(batch.source_hashes[source], documents, passages)
                self._writer.write_source(
                    source, digest, documents, passages, keep_ids=True, replace=False
                )
                layout.fault_point("milvus-source-written")
        except BaseException:
            self.abort()
            raise

    def finish(self) -> Written:
        try:
            self._writer.finish()
        except BaseException:
            self.abort()
            raise
        self._close()
        layout.fault_point("milvus-written")
        return Written()

    def abort(self) -> None:
        """Drop the new collections (the next write drops them otherwise)."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.drop()
        self._close()

    def _close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.client.close()
            self._writer = None
        if self._private is not None:
            private, self._private = self._private, None
            private.__exit__(None, None, None)

    def publish(self, manifest: Manifest) -> None:
        """The manifest names the new collections; then the index's older ones go,
        and those a killed write left."""
        target = parse_store_uri(self.store)
        manifest = dataclasses.replace(manifest, store_index=self.generation)
        try:
            layout.write_manifest(self.index_dir, manifest)
        except BaseException:
            with contextlib.suppress(Exception):
                self._drop_generations(target, keep="")
            raise
        layout.fault_point("manifest-written")
        layout.remove_old_generations(self.index_dir, keep="")
        with contextlib.suppress(Exception):  # the index is written; the next write retries
            self._drop_generations(target, keep=self.generation)
        make_store_private(target)

    def _drop_generations(self, target, keep: str) -> None:
        """Drop this directory's collections except those of ``keep`` ("": only the
        new generation's, which no manifest names)."""
        with private_files(target):
            client = connect(target)
            try:
                names = set(client.list_collections())
                if keep:
                    stale = generations_of(names, self.generation) - set(collection_names(keep))
                else:
                    stale = names & set(collection_names(self.generation))
                for name in sorted(stale):
                    client.drop_collection(name)
            finally:
                client.close()


class MilvusCurrent:
    """The current Milvus rows as a write reuses them: the directory's manifest, and
    the reader's documents, passages and vectors (StoredIndex's calls)."""

    def __init__(self, manifest: Manifest, expected: ModelSpec) -> None:
        self.manifest = manifest
        self.reader = open_reader(manifest.store, manifest.store_index, expected=expected)

    def __getattr__(self, name: str):
        return getattr(self.reader, name)

    def close(self) -> None:
        self.reader.close()


def records_by_source(batch: WriteBatch) -> dict[str, tuple[list, list]]:
    """The batch as Milvus records, grouped by source: (documents, passages)."""
    said: dict[int, list[Statement]] = {}
    for passage_id, statement in batch.statements:
        said.setdefault(passage_id, []).append(statement)
    rows: dict[str, tuple[list, list]] = {}
    for document in batch.documents:
        meta = Document(
            document.doc_id,
            document.source,
            document.title,
            document.outlet,
            document.byline,
            document.published,
            document.url,
        )
        rows.setdefault(document.source, ([], []))[0].append(DocumentRecord(meta, document.text))
    for passage_id, item in enumerate(batch.passages, batch.first_passage):
        record = passage_record(passage_id, item, said.get(passage_id, []))
        rows.setdefault(item.source, ([], []))[1].append(record)
    return rows


def passage_record(passage_id: int, item, statements: list[Statement]) -> PassageRecord:
    chunk = item.chunk
    citable = not chunk.is_boilerplate
    sentences = None
    if citable:
        # float16, as the local sentences.npy keeps them: the same cosines.
        sentences = np.asarray(item.sentence_vectors, np.float16).astype(np.float32)
    passage = Passage(
        passage_id=passage_id,
        doc_id=item.doc_id,
        source=item.source,
        paragraph=chunk.paragraph,
        start=chunk.start,
        end=chunk.end,
        text=chunk.text,
        is_boilerplate=chunk.is_boilerplate,
        sentences=tuple(Span(s, e) for s, e in chunk.sentences),
        is_head=chunk.is_head,
    )
    return PassageRecord(passage, item.vector if citable else None, sentences, statements)


def source_digest(file_hash: str, documents: list, passages: list) -> str:
    """What a source's rows are made of, beside the file: a change of either writes
    the source again."""
    made = [[d.document.__dict__, hashlib.sha256(d.text.encode()).hexdigest()] for d in documents]
    made += [
        [
            *(r.passage.doc_id, r.passage.start, r.passage.end),
            *(r.passage.is_boilerplate, [s.__dict__ for s in r.statements]),
        ]
        for r in passages
    ]
    return hashlib.sha256(json.dumps([file_hash, made], default=str).encode("utf-8")).hexdigest()
