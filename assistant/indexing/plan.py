"""What a write is asked to do, and what it reports: the value types of the indexing
stages (:class:`BuildReport`, :class:`SourceInfo`, :class:`WriteOptions`,
:class:`PendingPassage`), what the current index lends the write (:class:`ReusableRows`)
and the roots an index records.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import embeddings
from ..errors import NothingToIndexError
from ..ingest import chunks as chunking
from ..ingest.sources import SUPPORTED_SUFFIXES, SkippedFile, files_under_roots
from ..storage.layout import Manifest, ModelSpec, index_exists
from ..types import SourceDocument

# stage name, done, total. A callback object may also have a ``detail(current=...,
# work=...)`` method: it is then told the source at hand and, while embedding, the
# work done and in all in word pieces (see :func:`progress_detail`).
ProgressCallback = Callable[[str, int, int], None]


def progress_detail(
    progress: ProgressCallback | None,
    *,
    current: str | None = None,
    work: tuple[int, int] | None = None,
) -> None:
    """Tell a progress display that wants it (one with a ``detail`` method) the source
    at hand and the work (done, total) in tokens; called before the (stage, done,
    total) call it goes with."""
    detail = getattr(progress, "detail", None)
    if detail is not None:
        detail(current=current, work=work)


# Larger files are reported and skipped: a news corpus has no 32 MB article, and
# reading one whole would make memory grow with the input. JSON Lines corpora
# (one record per line) may be bigger.
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_JSONL_BYTES = 512 * 1024 * 1024


@dataclass
class BuildReport:
    index: str
    files_total: int = 0
    files_embedded: list[str] = field(default_factory=list)  # new or changed
    files_unchanged: int = 0
    files_removed: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    # Records left out of files that were indexed (``file:line: reason``), fields left
    # out of records, and document ids that had to change: nothing is lost unsaid.
    warnings: list[SkippedFile] = field(default_factory=list)
    # What the user should know and did choose: a private address fetched because its
    # URL was given (or private URLs were allowed).
    notes: list[SkippedFile] = field(default_factory=list)
    documents: int = 0
    passages: int = 0
    passages_embedded: int = 0
    passages_reused: int = 0
    boilerplate: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        data = self.__dict__.copy()
        data["skipped"] = [{"source": s.source, "reason": s.reason} for s in self.skipped]
        data["warnings"] = [{"source": w.source, "reason": w.reason} for w in self.warnings]
        data["notes"] = [{"source": n.source, "reason": n.reason} for n in self.notes]
        return data


@dataclass
class SourceInfo:
    """One source of an index as ``index sources`` lists it."""

    source: str
    state: str  # "indexed", "changed", "missing", "unreadable" or "skipped"
    documents: int = 0
    passages: int = 0
    modified: str | None = None  # the file's modification time when it was read (ISO)
    published: str | None = None  # its documents' publication dates: "2023-04-02" or a range
    reason: str | None = None  # why it is skipped
    # Characters the file offered its reader and kept in its documents, and what was
    # left out ("why N"); 0 and [] where the index did not record them.
    source_chars: int = 0
    kept_chars: int = 0
    dropped: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)

    def kept_line(self) -> str | None:
        """The line "kept N of M characters (P%)", or None where nothing was recorded."""
        if not self.source_chars:
            return None
        share = 100 * self.kept_chars / self.source_chars
        return f"kept {self.kept_chars:,} of {self.source_chars:,} characters ({share:.0f}%)"


@dataclass
class PendingPassage:
    """A passage on its way into the store (:class:`assistant.storage.batch.NewPassage`)."""

    doc_id: str
    source: str
    chunk: chunking.Chunk
    vector: np.ndarray | None = None  # reused from the old index, or embedded
    sentence_vectors: np.ndarray | None = None  # likewise, one row per sentence
    language: str | None = None  # as its source states it (primary subtag)
    # A reused passage's rows in the current index (vector row, first sentence row):
    # its vectors are read when its part is stored, not while the corpus is gathered.
    stored_rows: tuple[int, int | None] | None = None


@dataclass
class WebFetch:
    """What one write fetched from the web, and the URLs the manifest will record."""

    urls: list[str]  # pages re-fetched by ``update``
    feeds: dict[str, dict]  # feed URL -> {"title", "url", "fetched_at", "entries"}
    documents: dict[str, list[SourceDocument]] = field(default_factory=dict)  # by source
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[SkippedFile] = field(default_factory=list)
    notes: list[SkippedFile] = field(default_factory=list)  # private addresses fetched
    dropped: set[str] = field(default_factory=set)  # indexed pages removed (``remove``)


@dataclass(frozen=True)
class WriteOptions:
    allow_empty: bool = False
    follow_links: bool = False
    # Indexed sources kept as they are, neither read nor hashed (``add``, ``remove``).
    carried: tuple[str, ...] = ()
    # ``add``: the files read must bring at least one document (else NothingToIndexError).
    adding: bool = False
    # Web pages and feed articles fetched for this write; indexed pages not fetched
    # again are kept as they are.
    web: WebFetch | None = None
    # A Milvus store (``--store``, as the manifest records it) and the index's name
    # there; "" writes a local generation. ``fresh``: the collections are replaced.
    store: str = ""
    store_index: str = ""
    fresh: bool = False


# -- the model -----------------------------------------------------------------------------


def model_spec(encoder: embeddings.Encoder | None, recorded: str | None = None) -> ModelSpec:
    """What the manifest records of ``encoder`` (None: the bundled model, told without
    loading it, at the precision of an index whose manifest records the fingerprint
    ``recorded``: see :func:`assistant.embeddings.bundled_fingerprint`)."""
    if encoder is None:
        fingerprint = embeddings.bundled_fingerprint(recorded)
        return ModelSpec(embeddings.MODEL_NAME, embeddings.DIMENSION, fingerprint)
    return ModelSpec(encoder.name, int(encoder.dimension), encoder.fingerprint or "")


# -- what the current index lends a write ---------------------------------------------------


class ReusableRows:
    """Documents and passages (with vectors) of the current index, grouped by source.

    Read in one pass over each table: asking per file would scan the tables once per
    file (there is no index on ``source``), which made updates of 1,000-file corpora
    quadratic.
    """

    def __init__(self, previous) -> None:
        self.previous = previous
        self.documents: dict[str, list[SourceDocument]] = {}
        for document in previous.stored_documents():
            self.documents.setdefault(document.source, []).append(document)
        self.passages: dict[str, list[tuple]] = {}
        for passage, vector_row, sentence_row in previous.stored_passages():
            self.passages.setdefault(passage.source, []).append((passage, vector_row, sentence_row))

    def for_source(self, source: str) -> tuple[list[SourceDocument], list[PendingPassage]]:
        passages = []
        for passage, vector_row, first in self.passages.get(source, []):
            chunk = chunking.Chunk(
                paragraph=passage.paragraph,
                start=passage.start,
                end=passage.end,
                text=passage.text,
                is_boilerplate=passage.is_boilerplate,
                sentences=tuple((span.start, span.end) for span in passage.sentences),
                is_head=passage.is_head,
            )
            stored = (vector_row, first) if vector_row is not None else None
            passages.append(
                PendingPassage(
                    passage.doc_id, source, chunk, language=passage.language, stored_rows=stored
                )
            )
        return self.documents.get(source, []), passages


# -- roots ---------------------------------------------------------------------------------


def source_paths(manifest: Manifest) -> Iterator[Path]:
    """The files under the index's roots now, as status and verify compare them."""
    return (found.path for found in files_under_roots(manifest.roots, manifest.follow_links))


def absolute(path: str) -> str:
    """As the manifest records paths: absolute, links resolved (a missing path too)."""
    return os.path.realpath(os.path.expanduser(path))


def within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (as strings: either may be gone)."""
    path, folder = os.path.normpath(path), os.path.normpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def merged_roots(roots: list[dict], paths: list[str]) -> list[dict]:
    """The index's roots and the new paths, each once; a path under a root already
    there adds nothing to update (the root's walk finds it)."""
    merged = list(roots)
    for given in paths:
        resolved = str(Path(given).resolve())
        if not any(within(resolved, root["path"]) for root in merged):
            merged.append({"given": given, "path": resolved})
    return merged


def missing_roots(roots: list[dict]) -> list[SkippedFile]:
    """A recorded folder or file that is gone (deleted, or on a drive not mounted now):
    its documents leave the index with the update, and the report says which and why,
    not only a count of removed files."""
    return [
        SkippedFile(
            root["given"],
            f"{root['given']}: not found, so its documents were removed from the index"
            f" (if it comes back, run update again; to stop indexing it: assistant index"
            f" remove {root['given']})",
        )
        for root in roots
        if not Path(root["path"]).exists()
    ]


# -- refusals ------------------------------------------------------------------------------


def _skipped_summary(report: BuildReport) -> tuple[list[str], str]:
    reasons = [skipped.reason for skipped in report.skipped]
    shown = "; ".join(reasons[:3]) + (f"; and {len(reasons) - 3} more" if len(reasons) > 3 else "")
    return reasons, f"{len(reasons)} file{'s' if len(reasons) != 1 else ''} skipped ({shown})"


def nothing_to_index(
    index_dir: Path, report: BuildReport, previous_documents: int | None
) -> NothingToIndexError:
    """A write that would leave the index empty is refused: an empty index answers
    nothing, and it replaces a good one without a word (``allow_empty`` to insist)."""
    reasons, count = _skipped_summary(report)
    if previous_documents is not None:
        gone = [f"{len(report.files_removed)} files gone"] if report.files_removed else []
        parts = ", ".join(gone + ([count] if reasons else []))
        what = f"the update would remove all {previous_documents} documents ({parts})"
    else:
        none = f"no file of a supported type ({', '.join(SUPPORTED_SUFFIXES)})"
        what = "nothing to index: " + (count if reasons else none)
    kept = "is unchanged" if index_exists(index_dir) else "was not written"
    return NothingToIndexError(
        f"{what}; the index at {index_dir} {kept}",
        hint="add --allow-empty to write an empty index",
    )


def nothing_to_add(index_dir: Path, report: BuildReport) -> NothingToIndexError:
    """``add`` of paths that bring no document: refused, the index stays as it was."""
    reasons, count = _skipped_summary(report)
    what = count if reasons else "no .txt, .md, .html or .jsonl file in them"
    return NothingToIndexError(
        f"nothing to add: {what}; the index at {index_dir} is unchanged",
        hint="add --allow-empty to record the paths anyway",
    )
