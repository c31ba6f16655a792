"""What lets a write stream: sources go to a spool file on disk as they are read, and
come back in bounded parts to be marked, embedded and stored.

A write reads every source once (:mod:`.gather`) and puts each one's documents and
passages in a :class:`Spool` (an unnamed temporary file in the index directory, gone
with the process whatever happens). What the cross-document passes need is kept in
memory as small summaries while sources go by (:class:`Corpus`): the document ids
(unique ids), each site's short paragraphs as 8-byte digests with a count
(``boilerplate.SiteRepeats``), and counts. Then the spool is read twice: once to learn
whom each speaker speaks for (``speakers.SideBook``, a few votes per surname) and to
measure the work left in tokens, once to embed and store :func:`parts` of about
``PART_PASSAGES`` passages.
"""

from __future__ import annotations

import dataclasses
import pickle
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..ingest import boilerplate
from ..ingest.sources import SkippedFile
from ..types import SourceDocument
from .plan import BuildReport, PendingPassage

# Passages embedded and stored together: about 10 MB of vectors and text, and
# enough for the encoder's length-sorted batches to pad little. A part ends at a
# document's end (and, for a store that writes whole sources, a source's end).
PART_PASSAGES = 2_000

Unit = tuple[list[SourceDocument], list[PendingPassage]]


class Spool:
    """Sources' documents and passages written to disk one source at a time, and
    read back in the same order (pickled; the file has no name, so it is gone with
    the process, a crash included)."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.file = tempfile.TemporaryFile(dir=directory, prefix=".spool-")  # noqa: SIM115
        self.units = 0

    def add(self, documents: list[SourceDocument], passages: list[PendingPassage]) -> None:
        pickle.dump((documents, passages), self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.units += 1

    def __iter__(self) -> Iterator[Unit]:
        self.file.flush()
        self.file.seek(0)
        for _ in range(self.units):
            yield pickle.load(self.file)
        self.file.seek(0, 2)

    def close(self) -> None:
        self.file.close()


@dataclass
class Corpus:
    """The summaries a streaming write keeps of every source as it is gathered."""

    spool: Spool
    report: BuildReport
    # Every document id so far, with the source of its document (a renamed id's
    # warning names the other file): one short pair per document.
    ids: dict[str, str] = field(default_factory=dict)
    repeats: boilerplate.SiteRepeats = field(default_factory=boilerplate.SiteRepeats)
    documents: int = 0
    passages: int = 0
    text_bytes: int = 0  # the documents' text, for the disk-full estimate
    sentences: int = 0

    def add(self, documents: list[SourceDocument], passages: list[PendingPassage]) -> None:
        """One source (or a part of one): ids made unique, summaries taken, spooled."""
        documents = unique_ids(documents, passages, self.report, self.ids)
        by_doc: dict[str, list[PendingPassage]] = {}
        for passage in passages:
            by_doc.setdefault(passage.doc_id, []).append(passage)
        for document in documents:
            self.repeats.add(document, [p.chunk for p in by_doc.get(document.doc_id, [])])
            self.text_bytes += len(document.text.encode("utf-8", "surrogatepass"))
        self.documents += len(documents)
        self.passages += len(passages)
        self.sentences += sum(len(p.chunk.sentences) for p in passages)
        self.spool.add(documents, passages)


def unique_ids(
    documents: list[SourceDocument],
    pending: list[PendingPassage],
    report: BuildReport,
    seen: dict[str, str],
) -> list[SourceDocument]:
    """These documents with ids no earlier one has (``seen``: id -> source of the
    documents so far, updated).

    Ids are namespaced by file (``data.jsonl#a40``), so two meet only when a path
    spells another file's record id, or in an index written before ids were
    namespaced. The later document then gets a new id, and a warning says so.
    """
    unique: list[SourceDocument] = []
    renamed: dict[tuple[str, str], str] = {}
    for document in documents:
        doc_id = document.doc_id
        if doc_id in seen:
            number = 2
            while f"{doc_id}~{number}" in seen:
                number += 1
            new_id = f"{doc_id}~{number}"
            report.warnings.append(
                SkippedFile(
                    document.source,
                    f"{document.source}: the document id {doc_id!r} is also one in"
                    f" {seen[doc_id]}; this one's id is {new_id!r}",
                )
            )
            renamed[(document.source, doc_id)] = new_id
            document = dataclasses.replace(document, doc_id=new_id)
        seen[document.doc_id] = document.source
        unique.append(document)
    for passage in pending:
        passage.doc_id = renamed.get((passage.source, passage.doc_id), passage.doc_id)
    return unique


def parts(spool: Spool, whole_sources: bool) -> Iterator[Unit]:
    """The spooled sources again, in order, as parts of about ``PART_PASSAGES``
    passages; a part ends where a document ends (a source, when ``whole_sources``).
    Deterministic: every read of the spool gives the same parts."""
    documents: list[SourceDocument] = []
    passages: list[PendingPassage] = []
    for unit_documents, unit_passages in spool:
        pieces = [(unit_documents, unit_passages)]
        if not whole_sources:
            pieces = list(_by_document(unit_documents, unit_passages))
        for piece_documents, piece_passages in pieces:
            documents.extend(piece_documents)
            passages.extend(piece_passages)
            if len(passages) >= PART_PASSAGES:
                yield documents, passages
                documents, passages = [], []
    if documents or passages:
        yield documents, passages


def _by_document(documents: list[SourceDocument], passages: list[PendingPassage]):
    """One source's documents one at a time, each with its passages (in order)."""
    by_doc: dict[str, list[PendingPassage]] = {}
    for passage in passages:
        by_doc.setdefault(passage.doc_id, []).append(passage)
    for document in documents:
        yield [document], by_doc.pop(document.doc_id, [])
    left = [p for items in by_doc.values() for p in items]  # none in a sound source
    if left:
        yield [], left
