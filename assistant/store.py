"""The old home of the read side of an index; it lives in :mod:`assistant.storage` now.

Kept so that ``from assistant.store import StoredIndex`` (and the other names below)
goes on working. New code imports from :mod:`assistant.storage`.
"""

from __future__ import annotations

from .storage.database import HEAD_LINE, SCHEMA, body_match
from .storage.layout import (
    DB_NAME,
    MANIFEST_NAME,
    OPEN_ATTEMPTS,
    RAW_VECTORS_NAME,
    REBUILD,
    SCHEMA_VERSION,
    SENTENCE_VECTORS_NAME,
    VECTORS_NAME,
    FileEntry,
    Manifest,
    check_artifact_size,
    check_compatible,
    disk_full_error,
    fsync_dir,
    is_disk_full,
    read_manifest,
    write_manifest,
)
from .storage.local import Restriction, StoredIndex
from .storage.vectors import (
    EXACT_SEARCH_LIMIT,
    REFINE_POOL,
    RowReader,
    ivf_list_count,
    load_raw_vectors,
    load_vectors,
    make_vector_index,
    probe_count,
)

__all__ = [
    "DB_NAME",
    "EXACT_SEARCH_LIMIT",
    "HEAD_LINE",
    "MANIFEST_NAME",
    "OPEN_ATTEMPTS",
    "RAW_VECTORS_NAME",
    "REBUILD",
    "REFINE_POOL",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SENTENCE_VECTORS_NAME",
    "VECTORS_NAME",
    "FileEntry",
    "Manifest",
    "Restriction",
    "RowReader",
    "StoredIndex",
    "body_match",
    "check_artifact_size",
    "check_compatible",
    "disk_full_error",
    "fsync_dir",
    "is_disk_full",
    "ivf_list_count",
    "load_raw_vectors",
    "load_vectors",
    "make_vector_index",
    "probe_count",
    "read_manifest",
    "write_manifest",
]
