"""The old home of index writing; it lives in :mod:`assistant.indexing.writer` now.

Kept so that ``from assistant import indexer`` and ``from assistant.indexer import
build_index`` (and the other names below) go on working. New code goes through
:class:`assistant.Index`, or imports from :mod:`assistant.storage`.
"""

from __future__ import annotations

from .indexing.writer import (
    MAX_FILE_BYTES,
    MAX_JSONL_BYTES,
    BuildReport,
    ProgressCallback,
    SourceInfo,
    add_sources,
    build_index,
    embedding_text,
    list_sources,
    remove_sources,
    update_index,
)
from .storage.layout import fault_point, index_exists, require_index, write_lock

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_JSONL_BYTES",
    "BuildReport",
    "ProgressCallback",
    "SourceInfo",
    "add_sources",
    "build_index",
    "embedding_text",
    "fault_point",
    "index_exists",
    "list_sources",
    "remove_sources",
    "require_index",
    "update_index",
    "write_lock",
]
