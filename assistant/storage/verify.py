"""``index verify``: check an index against its manifest and its sources, deeply.

Opening an index checks what is cheap (schema, model, file sizes, vector count);
this reads everything: hashes of both generation files, SQLite's integrity check,
the vector file, and every source file. Each problem is a typed error with its own
exit code and the command that fixes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import (
    AssistantError,
    IndexCorruptError,
    SourcesChangedError,
)
from . import layout
from .backend import describe_store, open_reader, verify_store
from .layout import (
    Manifest,
    ModelSpec,
    check_compatible,
    compare_with_disk,
    read_manifest,
)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class VerifyReport:
    index: str
    checks: list[Check] = field(default_factory=list)
    problems: list[AssistantError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def passed(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, True, detail))

    def failed(self, name: str, error: AssistantError) -> None:
        self.checks.append(Check(name, False, str(error)))
        self.problems.append(error)

    def to_json(self) -> dict:
        return {
            "index": self.index,
            "ok": self.ok,
            "checks": [check.__dict__ for check in self.checks],
        }


def verify_index(
    index_dir: str | Path,
    expected: ModelSpec | None = None,
    source_paths: Callable[[Manifest], Iterable[Path]] | None = None,
) -> VerifyReport:
    """``expected``: the model the index is searched with; ``source_paths``: the files
    under a manifest's roots now (the ingest walk), to tell new sources. Without them
    those checks are left out (:func:`assistant.verify_index` passes both)."""
    index_dir = Path(index_dir)
    report = VerifyReport(index=str(index_dir))
    try:
        manifest = read_manifest(index_dir)
    except AssistantError as error:
        report.failed("manifest", error)
        return report
    report.passed(
        "manifest",
        f"schema {manifest.schema_version}, {manifest.documents} documents,"
        f" {manifest.passages} passages, " + describe_store(manifest),
    )
    try:
        if expected is not None:
            check_compatible(manifest, index_dir, expected)
        report.passed("model", f"{manifest.model}, {manifest.dimension} dimensions")
    except AssistantError as error:
        report.failed("model", error)

    verify_store(report, index_dir, manifest, expected)
    if report.ok:  # the store opens: each recorded source must have its documents
        _verify_documents(report, index_dir, manifest)
    _verify_sources(report, manifest, source_paths(manifest) if source_paths else ())
    _report_skipped(report, manifest)
    leftovers = layout.leftover_names(index_dir)
    if leftovers:
        report.passed(
            "leftovers",
            f"{len(leftovers)} unfinished write(s) from an interrupted build"
            " (harmless; the next build or update removes them)",
        )
    return report


def _verify_documents(report: VerifyReport, index_dir: Path, manifest: Manifest) -> None:
    """Each file and page the manifest records has as many documents in the store as
    the manifest says: an update keeps an unchanged file's documents by its source,
    and a file recorded without them would never be read again."""
    try:
        store = open_reader(index_dir, manifest)
    except AssistantError as error:
        report.failed("documents", error)
        return
    try:
        held = Counter(document.source for document in store.documents())
    finally:
        store.close()
    recorded = {source: entry.documents for source, entry in manifest.files.items()}
    recorded.update({source: entry["documents"] for source, entry in manifest.pages.items()})
    wrong = [
        f"{source} ({held.get(source, 0)} of {count})"
        for source, count in recorded.items()
        if held.get(source, 0) != count
    ]
    if not wrong:
        report.passed("documents", f"each of {len(recorded)} sources has its documents")
        return
    shown = ", ".join(wrong[:3]) + (f" and {len(wrong) - 3} more" if len(wrong) > 3 else "")
    report.failed(
        "documents",
        IndexCorruptError(
            f"{len(wrong)} recorded sources do not have their documents in the index: {shown}",
            hint=layout.REBUILD,
        ),
    )


def _report_skipped(report: VerifyReport, manifest: Manifest) -> None:
    """What the last write left out, and why: not a fault of the index (the files are
    as they were when they were skipped), so it is said without failing."""
    lines = [entry["reason"] for entry in manifest.skipped.values()]
    files_with_lines = [entry for entry in manifest.files.values() if entry.problems]
    if not (lines or files_with_lines):
        return
    parts = []
    if lines:
        shown = "; ".join(lines[:3]) + (f"; and {len(lines) - 3} more" if len(lines) > 3 else "")
        plural = "s" if len(lines) != 1 else ""
        parts.append(f"{len(lines)} skipped file{plural}, left out until they change ({shown})")
    if files_with_lines:
        notes = [note for entry in files_with_lines for note in entry.problems]
        shown = "; ".join(notes[:3]) + ("; ..." if len(notes) > 3 else "")
        plural = "s" if len(files_with_lines) != 1 else ""
        parts.append(f"lines left out of {len(files_with_lines)} indexed file{plural} ({shown})")
    report.passed("skipped", "; ".join(parts))


def _verify_sources(report: VerifyReport, manifest: Manifest, found: Iterable[Path]) -> None:
    stale, missing, new = compare_with_disk(manifest, found, by_hash=True)
    if not (stale or missing or new):
        report.passed("sources", f"{len(manifest.files)} files unchanged since the build")
        return
    parts = []
    for label, names in (("changed", stale), ("missing", missing), ("new", new)):
        if names:
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            parts.append(f"{len(names)} {label} ({shown})")
    report.failed(
        "sources",
        SourcesChangedError(
            "sources changed since the build: " + "; ".join(parts),
            hint="run: assistant index update",
        ),
    )
