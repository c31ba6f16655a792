"""``index verify``'s deep check of the local store: the current generation's
passage database (size, SHA-256, SQLite's integrity check) and vector files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DatabaseCorruptError, IndexCorruptError, VectorsCorruptError
from . import database, layout, vectors
from .layout import DB_NAME, REBUILD, VECTORS_NAME

if TYPE_CHECKING:
    from .base import CheckReport
    from .layout import Manifest


def verify_generation(report: CheckReport, index_dir: Path, manifest: Manifest) -> None:
    """The local store: the generation's database and vector files."""
    try:
        generation = layout.generation_dir(index_dir, manifest)
    except IndexCorruptError as error:
        report.failed("files", error)
        return
    if not generation.is_dir():
        report.failed(
            "files",
            IndexCorruptError(f"the generation {generation.name} is missing", hint=REBUILD),
        )
        return
    _verify_database(report, manifest, generation / DB_NAME)
    _verify_vectors(report, manifest, generation)


def _verify_database(report: CheckReport, manifest: Manifest, path: Path) -> None:
    problem = layout.artifact_problem(manifest, path)
    if problem is None:
        problem = database.database_problem(path, manifest.passages, manifest.vectors)
    if problem:
        report.failed(
            "database", DatabaseCorruptError(f"the passage database: {problem}", hint=REBUILD)
        )
    else:
        report.passed("database", f"{path.name}: integrity ok, {manifest.passages} passages")


def _verify_vectors(report: CheckReport, manifest: Manifest, generation: Path) -> None:
    problem = vectors.vectors_problem(generation, manifest)
    if problem:
        report.failed("vectors", VectorsCorruptError(f"the vector file: {problem}", hint=REBUILD))
    else:
        report.passed(
            "vectors", f"{VECTORS_NAME} ({manifest.vector_index}): {manifest.vectors} vectors"
        )
