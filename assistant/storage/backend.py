"""The one place a write chooses its store: this directory's generations, or a
Milvus store the manifest names. pymilvus is imported only for a Milvus store."""

from __future__ import annotations

from pathlib import Path

from .batch import StoreWriter
from .layout import ModelSpec


def open_writer(
    index_dir: Path, store: str, store_index: str, expected: ModelSpec, *, fresh: bool = False
) -> StoreWriter:
    """The store writer for ``store`` as the manifest records it ("" = local) and the
    index's name there; ``fresh``: a build, which replaces the collections."""
    if not store:
        from .local_writer import LocalStoreWriter

        return LocalStoreWriter(index_dir, expected)
    from .milvus.writer import MilvusStoreWriter

    return MilvusStoreWriter(index_dir, store, store_index, expected, fresh=fresh)


def recorded_store(index_dir: Path, store: str) -> tuple[str, str]:
    """``--store`` as the manifest records it ("" = local; a Milvus URI without its
    token) and the index's name in that store."""
    if store.strip() in ("", "local"):
        return "", ""
    from .milvus import backend as milvus

    recorded = milvus.recorded_uri(milvus.parse_store_uri(store))
    return recorded, milvus.index_name_for(index_dir)
