"""``index verify``'s deep check of a Milvus store: its collections, their schema,
model and dimension, and the rows counted in the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import AssistantError, IndexCorruptError
from ..layout import REBUILD

if TYPE_CHECKING:
    from ..base import CheckReport
    from ..layout import Manifest, ModelSpec


def verify_milvus_store(
    report: CheckReport, manifest: Manifest, expected: ModelSpec | None = None
) -> None:
    """A Milvus store: its collections there, their schema, model and dimension, the
    rows counted in the engine against those its last write recorded, and against the
    counts of this directory's manifest."""
    from . import connection, reader  # pymilvus only for a Milvus store

    try:
        target = connection.parse_store_uri(manifest.store)
        client = connection.connect(target)
        try:
            facts = reader.verify(client, manifest.store_index, target, expected)
        finally:
            client.close()
        if (facts["documents"], facts["vectors"]) != (manifest.documents, manifest.vectors):
            raise IndexCorruptError(
                f"the {manifest.store} collection {facts['collection']} holds"
                f" {facts['documents']} documents and {facts['vectors']} passage vectors,"
                f" the manifest says {manifest.documents} and {manifest.vectors}",
                hint=REBUILD,
            )
    except AssistantError as error:
        report.failed("store", error)
        return
    report.passed(
        "store",
        f"{manifest.store}, collection {facts['collection']}: {facts['documents']} documents,"
        f" {facts['passages']} passages, {facts['vectors']} vectors,"
        f" {facts['sentences']} sentence vectors",
    )
