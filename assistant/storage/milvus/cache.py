"""What a Milvus reader has already fetched: passage rows (with their statements, body
terms and, once asked for, vectors), sentence vectors and documents, so that the many
things one question needs of a passage cost one round trip, not one each.

A reader is one version of an index (:class:`assistant.Index` opens a new one after a
write), so nothing here goes stale; each cache is emptied when it grows past its limit.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ...errors import IndexCorruptError
from ...types import Document, page_starts
from .connection import ID_BATCH, QUERY_LIMIT, Collections, in_list
from .records import DOCUMENT_FIELDS, PASSAGE_FIELDS, to_document

# What a passage row is fetched with: enough for passages, statements and term tests.
ROW_FIELDS = [*PASSAGE_FIELDS, "statements", "body_terms"]
ROW_LIMIT = 50_000
DOCUMENT_LIMIT = 512


class RowCache:
    """Passage rows, sentence vectors and documents of one reader, fetched in batches."""

    def __init__(self, collections: Collections) -> None:
        self.collections = collections
        self.rows: dict[int, dict] = {}
        self.sentences: dict[int, list[tuple[int, np.ndarray]]] = {}
        self.documents: dict[str, tuple[Document, str]] = {}

    # -- passage rows

    def keep_rows(self, rows: Iterable[dict]) -> None:
        rows = list(rows)
        if len(self.rows) + len(rows) > ROW_LIMIT:
            self.rows.clear()
        for row in rows:
            known = self.rows.get(row["id"])
            if known is not None and "vector" in known and "vector" not in row:
                row = {**row, "vector": known["vector"]}
            self.rows[row["id"]] = row

    def fetch_rows(self, ids: Iterable[int], vectors: bool = False) -> dict[int, dict]:
        """The rows of these passage ids (those that exist), fetching what is missing in
        one query per ID_BATCH ids; ``vectors``: with their dense vectors."""
        wanted = list(dict.fromkeys(ids))
        missing = [
            pid
            for pid in wanted
            if pid not in self.rows or (vectors and "vector" not in self.rows[pid])
        ]
        if missing:
            fields = [*ROW_FIELDS, "vector"] if vectors else ROW_FIELDS
            self.keep_rows(self.collections.by_ids(self.collections.passages_name, missing, fields))
        return {pid: self.rows[pid] for pid in wanted if pid in self.rows}

    # -- sentence vectors

    def fetch_sentences(self, ids: Iterable[int]) -> dict[int, list[tuple[int, np.ndarray]]]:
        """Each passage's sentence vectors as (position, vector), in the order the engine
        gave them (passages without any are left out)."""
        wanted = list(dict.fromkeys(ids))
        missing = [pid for pid in wanted if pid not in self.sentences]
        if missing:
            if len(self.sentences) + len(missing) > ROW_LIMIT:
                self.sentences.clear()
            found: dict[int, list[tuple[int, np.ndarray]]] = {pid: [] for pid in missing}
            for offset in range(0, len(missing), ID_BATCH):
                rows = self.collections.client.query(
                    self.collections.sentences_name,
                    filter=in_list("passage_id", missing[offset : offset + ID_BATCH]),
                    output_fields=["passage_id", "position", "vector"],
                    limit=QUERY_LIMIT,
                )
                for row in rows:
                    vector = np.asarray(row["vector"], dtype=np.float32)
                    found[row["passage_id"]].append((row["position"], vector))
            self.sentences.update(found)
        return {pid: self.sentences[pid] for pid in wanted if self.sentences.get(pid)}

    # -- documents

    def fetch_documents(self, doc_ids: Iterable[str]) -> dict[str, tuple[Document, str]]:
        """Documents with their whole text (parts joined), one query for those missing;
        IndexCorruptError for a document the store lacks or holds only in part."""
        wanted = list(dict.fromkeys(doc_ids))
        missing = [d for d in wanted if d not in self.documents]
        if missing:
            rows = self._document_rows(missing)
            if len(self.documents) + len(missing) > DOCUMENT_LIMIT:
                self.documents.clear()
            for doc_id in missing:
                self.documents[doc_id] = self._document(doc_id, rows.get(doc_id, []))
        return {d: self.documents[d] for d in wanted}

    def _document_rows(self, doc_ids: list[str]) -> dict[str, list[dict]]:
        grouped: dict[str, list[dict]] = {}
        for offset in range(0, len(doc_ids), ID_BATCH):
            part = doc_ids[offset : offset + ID_BATCH]
            rows = self.collections.client.query(
                self.collections.documents_name,
                filter=in_list("doc_id", part),
                output_fields=[*DOCUMENT_FIELDS, "part", "parts", "text"],
                limit=QUERY_LIMIT,
            )
            if len(rows) >= QUERY_LIMIT:  # too many parts for one query: one by one
                rows = [row for doc_id in part for row in self._rows_of(doc_id)]
            for row in rows:
                grouped.setdefault(row["doc_id"], []).append(row)
        return grouped

    def _rows_of(self, doc_id: str) -> list[dict]:
        return self.collections.client.query(
            self.collections.documents_name,
            filter=in_list("doc_id", [doc_id]),
            output_fields=[*DOCUMENT_FIELDS, "part", "parts", "text"],
            limit=QUERY_LIMIT,
        )

    def _document(self, doc_id: str, rows: list[dict]) -> tuple[Document, str]:
        if not rows or len(rows) != rows[0]["parts"]:
            raise IndexCorruptError(
                f"document {doc_id!r} is missing from the {self.collections.where}"
            )
        rows.sort(key=lambda row: row["part"])
        text = "".join(row["text"] for row in rows)
        document = to_document(rows[0])
        if "\f" in text:  # pages parted by form feeds (a PDF): where each starts
            document = Document(**{**document.__dict__, "page_starts": page_starts(text)})
        return document, text

    # -- the passages of whole documents

    def document_rows(self, doc_ids: list[str]) -> dict[str, list[dict]]:
        """Every passage row of these documents, one query for all (one per document
        when they hold more rows than a query returns)."""
        grouped: dict[str, list[dict]] = {doc_id: [] for doc_id in doc_ids}
        if not doc_ids:
            return grouped
        # With their vectors: the passage after a candidate may join the candidates.
        fields = [*ROW_FIELDS, "vector"]
        rows = self.collections.client.query(
            self.collections.passages_name,
            filter=in_list("doc_id", doc_ids),
            output_fields=fields,
            limit=QUERY_LIMIT,
        )
        if len(rows) >= QUERY_LIMIT:
            rows = [
                row
                for doc_id in doc_ids
                for row in self.collections.client.query(
                    self.collections.passages_name,
                    filter=in_list("doc_id", [doc_id]),
                    output_fields=fields,
                    limit=QUERY_LIMIT,
                )
            ]
        self.keep_rows(rows)
        for row in rows:
            grouped[row["doc_id"]].append(row)
        return grouped
