"""The one place that chooses a backend: the manifest of an index directory says where
its rows live ("" for the directory's own generation files, else a Milvus URI), and
the functions here open, write or check that store; nothing else asks.

pymilvus is imported only when the manifest names a Milvus store.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from . import layout

if TYPE_CHECKING:
    from .base import CheckReport, ReadStore
    from .batch import StoreWriter
    from .layout import Manifest, ModelSpec


def open_reader(
    index_dir: str | Path,
    manifest: Manifest | None = None,
    *,
    expected: ModelSpec | None = None,
) -> ReadStore:
    """The read side of the index at ``index_dir``: its current generation, or its
    collections in the Milvus store its manifest names. Either way the store's
    ``manifest`` is the directory's (for the local store, the one its generation was
    opened by). ``expected``: the model questions are embedded with; the index must
    have been built with the same one (IndexIncompatibleError otherwise)."""
    index_dir = Path(index_dir)
    manifest = manifest if manifest is not None else layout.read_manifest(index_dir)
    if manifest.store:
        from .milvus.reader import open_reader as open_milvus_reader

        return open_milvus_reader(
            manifest.store, manifest.store_index, manifest=manifest, expected=expected
        )
    from .local import StoredIndex

    return StoredIndex(index_dir, expected=expected)


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
    from .milvus import connection

    recorded = connection.recorded_uri(connection.parse_store_uri(store))
    return recorded, connection.index_name_for(index_dir)


def verify_store(
    report: CheckReport, index_dir: Path, manifest: Manifest, expected: ModelSpec | None = None
) -> None:
    """``index verify``'s deep check of where the rows live: the generation's files, or
    the Milvus collections against what their last write recorded."""
    if manifest.store:
        from .milvus.verify import verify_milvus_store

        verify_milvus_store(report, manifest, expected)
    else:
        from .local_verify import verify_generation

        verify_generation(report, index_dir, manifest)


def describe_store(manifest: Manifest) -> str:
    """Where the rows are, in a few words (``index verify``'s manifest line)."""
    return f"store {manifest.store}" if manifest.store else f"generation {manifest.generation}"
