"""The first stages of a write: read a source into documents, and split them into
passages (:mod:`assistant.ingest.chunks`, with the bundled model's word pieces)."""

from __future__ import annotations

import os
import stat as stat_module

from .. import embeddings
from ..errors import AssistantError
from ..ingest import chunks as chunking
from ..ingest.sources import ReadFigures, SourceFile, UnreadableSource, load_documents
from ..types import SourceDocument
from .plan import MAX_FILE_BYTES, MAX_JSONL_BYTES, PendingPassage


def unacceptable(file: SourceFile, stat: os.stat_result) -> str | None:
    """Why a file is not read at all (before hashing it), or None."""
    if not stat_module.S_ISREG(stat.st_mode):
        return "not a regular file"
    return too_big(file, stat.st_size)


def too_big(file: SourceFile, size: int) -> str | None:
    limit = size_limit(file)
    if size > limit:
        return f"{size / 1e6:.0f} MB is over the {limit // (1024 * 1024)} MiB limit"
    return None


def size_limit(file: SourceFile) -> int:
    return MAX_JSONL_BYTES if file.path.suffix.lower() == ".jsonl" else MAX_FILE_BYTES


def _passages_of(documents: list[SourceDocument]) -> list[PendingPassage]:
    return [
        PendingPassage(
            document.doc_id, document.source, chunk, language=document.language_at(chunk.start)
        )
        for document in documents
        for chunk in chunking.split_document(document, embeddings.count_tokens)
    ]


def read_and_split(
    file: SourceFile,
    problems: list[str],
    figures: ReadFigures | None = None,
    *,
    data: bytes | None = None,
    digest=None,
) -> tuple[list[SourceDocument], list[PendingPassage], str | None]:
    """One file's documents and passages, or why it is skipped (``figures``: what
    its reader was offered and left out; ``data``, ``digest``: the bytes read already,
    or the hash of those read here; see :func:`load_documents`).

    Whatever goes wrong inside one file (a decoder, the splitter, a bug that only
    its text triggers) costs that file, never the build: its reason is reported
    and the other files are indexed. Errors of the engine itself (the model cannot
    be loaded) still stop the write.
    """
    try:
        loaded = load_documents(file, problems, figures, data=data, digest=digest)
        passages = _passages_of(loaded)
    except UnreadableSource as error:
        return [], [], str(error)
    except AssistantError:
        raise
    except Exception as error:
        return [], [], f"{file.source}: could not be read ({type(error).__name__}: {error})"
    return loaded, passages, None


def split_documents(documents: list[SourceDocument]) -> list[PendingPassage]:
    """Passages of documents already read (fetched pages); a splitter failure on one
    page's text costs that page, as for a file."""
    try:
        return _passages_of(documents)
    except AssistantError:
        raise
    except Exception as error:
        source = documents[0].source if documents else "?"
        raise UnreadableSource(f"{source}: could not be split ({type(error).__name__})") from None


def with_head_spans(
    documents: list[SourceDocument], passages: list[PendingPassage]
) -> list[SourceDocument]:
    """Stored documents with their head lines (headline, byline, date) and languages
    marked again from their stored passages, so that splitting them under new rules
    keeps those lines out of the body: the page is not fetched again for it."""
    for document in documents:
        document.meta_spans = [
            (p.chunk.start, p.chunk.end)
            for p in passages
            if p.doc_id == document.doc_id and p.chunk.is_head
        ]
        # The stored passages carry the language the page stated; split again, they keep it.
        document.language_spans = [
            (p.chunk.start, p.chunk.end, p.language)
            for p in passages
            if p.doc_id == document.doc_id and p.language
        ]
    return documents
