"""Rows of a Milvus store as the project's types: passages and documents read back,
and the records a writer hands over."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ...types import Document, Passage, Span, Statement
from .connection import CITABLE, HEAD_LINE

PASSAGE_FIELDS = [
    "id",
    "doc_id",
    "source",
    "paragraph",
    "start",
    "end",
    "text",
    "kind",
    "sentences",
]


@dataclass
class PassageRecord:
    """One passage to write: its vector (None for boilerplate and head lines), its
    sentences' vectors, and the statements in it."""

    passage: Passage
    vector: np.ndarray | None
    sentence_vectors: np.ndarray | None = None
    statements: list[Statement] = field(default_factory=list)


@dataclass
class DocumentRecord:
    document: Document
    text: str


DOCUMENT_FIELDS = ("doc_id", "source", "title", "outlet", "byline", "published", "url")


def to_document(row: dict) -> Document:
    return Document(*(row[name] or None for name in DOCUMENT_FIELDS))


def to_passage(row: dict) -> Passage:
    return Passage(
        passage_id=int(row["id"]),
        doc_id=row["doc_id"],
        source=row["source"],
        paragraph=int(row["paragraph"]),
        start=int(row["start"]),
        end=int(row["end"]),
        text=row["text"],
        is_boilerplate=row["kind"] != CITABLE,
        sentences=tuple(Span(s, e) for s, e in json.loads(row["sentences"])),
        is_head=row["kind"] == HEAD_LINE,
    )
