"""Question answering over your own sources, with verbatim, checkable citations.

    from assistant import Index, IndexWriter
    report = IndexWriter("index").build(["seeds"])
    index = Index("index")
    answer = index.ask("What did Azerbaijan say about the 132-km border?")
    for citation in answer.citations:
        print(citation.n, citation.document.title, citation.quote_text)

Importing this package loads neither Textual nor click, nor (until used) numpy or torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import (
    AssistantError,
    DatabaseCorruptError,
    DiskFullError,
    FetchFailed,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexLockedError,
    IndexNotFoundError,
    IndexNotWritableError,
    LLMError,
    MissingExtraError,
    ModelUnavailableError,
    NothingToIndexError,
    SourceNotFoundError,
    SourcesChangedError,
    StoreUnavailableError,
    UnreadableSource,
    UsageError,
    VectorsCorruptError,
    WriteInterrupted,
)

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "AssistantError",
    "BuildReport",
    "Citation",
    "DatabaseCorruptError",
    "DiskFullError",
    "Document",
    "FetchFailed",
    "Hit",
    "Index",
    "IndexCorruptError",
    "IndexIncompatibleError",
    "IndexLockedError",
    "IndexNotFoundError",
    "IndexNotWritableError",
    "IndexStatus",
    "IndexWriter",
    "LLMError",
    "MissingExtraError",
    "ModelUnavailableError",
    "NothingToIndexError",
    "Passage",
    "Reported",
    "SaidSpeaker",
    "SaidStatement",
    "SearchFilter",
    "Settings",
    "SourceNotFoundError",
    "SourcesChangedError",
    "Span",
    "StoreUnavailableError",
    "UnreadableSource",
    "UsageError",
    "VectorsCorruptError",
    "VerifyReport",
    "WhoSaid",
    "WriteInterrupted",
    "verify_index",
]

_LAZY = {
    "Index": "api",
    "BuildReport": "indexing.plan",
    "IndexWriter": "indexing.writer",
    "Answer": "types",
    "Citation": "types",
    "Document": "types",
    "Hit": "types",
    "IndexStatus": "types",
    "Passage": "types",
    "SearchFilter": "filters",
    "Settings": "config",
    "Span": "types",
    "Reported": "types",
    "SaidSpeaker": "types",
    "SaidStatement": "types",
    "WhoSaid": "types",
    "VerifyReport": "storage.verify",
    "verify_index": "api",
}

if TYPE_CHECKING:
    from .api import Index, verify_index
    from .config import Settings
    from .filters import SearchFilter
    from .indexing.plan import BuildReport
    from .indexing.writer import IndexWriter
    from .storage.verify import VerifyReport
    from .types import (
        Answer,
        Citation,
        Document,
        Hit,
        IndexStatus,
        Passage,
        Reported,
        SaidSpeaker,
        SaidStatement,
        Span,
        WhoSaid,
    )


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'assistant' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)
