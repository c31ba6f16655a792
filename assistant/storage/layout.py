"""The index directory: its layout, ``manifest.json``, the writer's lock, and the
generation folders' life (named, renamed into place, removed).

Everything that knows a file name inside an index directory reads it from here; the
files inside a generation belong to :mod:`.database` and :mod:`.vectors`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import (
    AssistantError,
    DiskFullError,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexLockedError,
    IndexNotFoundError,
    IndexNotWritableError,
)
from ..paths import private_dir, private_opener

if TYPE_CHECKING:
    pass

SCHEMA_VERSION = 2  # 2: title-prefixed passage vectors, sentence vectors, documents_fts
MANIFEST_NAME = "manifest.json"
LOCK_NAME = "lock"
DB_NAME = "passages.sqlite"
VECTORS_NAME = "vectors.faiss"
RAW_VECTORS_NAME = "vectors.npy"
# One vector per sentence of each citable passage (float16), in passage order: the
# dense score of a passage also counts its best sentence.
SENTENCE_VECTORS_NAME = "sentences.npy"
GENERATION_FILES = (DB_NAME, VECTORS_NAME, RAW_VECTORS_NAME, SENTENCE_VECTORS_NAME)

REBUILD = "rebuild it with: assistant index build PATH"
# Each retry of an open means a writer swapped in a whole new generation meanwhile.
OPEN_ATTEMPTS = 5


def fault_point(name: str) -> None:
    """Crash-test hook: with ``ASSISTANT_FAULT_POINT=name`` the writer stops here.

    It writes ``$ASSISTANT_FAULT_MARKER`` (so a test knows where it is) and waits to
    be killed. Unset, this is one dictionary lookup.
    """
    if os.environ.get("ASSISTANT_FAULT_POINT") != name:
        return
    marker = os.environ.get("ASSISTANT_FAULT_MARKER")
    if marker:
        Path(marker).write_text(name)
    time.sleep(600)


# -- the manifest --------------------------------------------------------------------


@dataclass
class FileEntry:
    sha256: str
    size: int
    mtime_ns: int
    path: str  # absolute
    documents: int = 0
    passages: int = 0
    # ``.jsonl`` lines left out and fields ignored when it was read (``file:line: why``).
    problems: list[str] = field(default_factory=list)
    # The characters of text the file offered its reader (an HTML page: what its body
    # shows) and those kept in its documents, and what was left out ("why N"). Zero in
    # indexes written before they were recorded: nothing is known.
    source_chars: int = 0
    kept_chars: int = 0
    dropped: list[str] = field(default_factory=list)


@dataclass
class Manifest:
    schema_version: int
    model: str
    dimension: int
    generation: str
    created_at: str
    updated_at: str
    roots: list[dict] = field(default_factory=list)  # {"given": str, "path": abs str}
    files: dict[str, FileEntry] = field(default_factory=dict)
    documents: int = 0
    passages: int = 0
    vectors: int = 0
    model_fingerprint: str = ""
    # The generation's files: {"passages.sqlite": {"size": int, "sha256": str}, ...}
    artifacts: dict[str, dict] = field(default_factory=dict)
    vector_index: str = "flat"  # as written by vectors.make_vector_index
    chunking: int = 1  # chunks.CHUNKING_VERSION of its passages (absent before 2)
    # Files skipped at the last write: source -> {"path", "reason", "stat": [size,
    # mtime_ns] or None}. Until one changes, it is known as skipped, not as new.
    skipped: dict[str, dict] = field(default_factory=dict)
    follow_links: bool = False  # links out of the roots are followed (index build option)
    # Web pages given to ``index add`` (fetched again by ``update``), and news feeds
    # (``update`` adds their new entries): feed URL -> {"title", "fetched_at", "entries"}.
    urls: list[str] = field(default_factory=list)
    feeds: dict[str, dict] = field(default_factory=dict)
    # Every indexed web document's source (its URL as given) -> {"url" (after
    # redirects), "sha256" (of the body), "size", "fetched_at" (of the indexed copy),
    # "checked_at", "feed" (or None), "documents", "passages"}. Not files: status and
    # verify do not look for them on disk.
    pages: dict[str, dict] = field(default_factory=dict)
    # Where passages and vectors live when not in a generation here: a Milvus store as
    # given to ``--store`` ("milvus:/abs/path.db", "milvus://host:port", "https://…";
    # never a token) and the index's name there. "" is this directory's generations.
    store: str = ""
    store_index: str = ""

    def to_json(self) -> dict:
        data = self.__dict__.copy()
        data["files"] = {name: entry.__dict__ for name, entry in self.files.items()}
        return data

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        data = dict(data)
        data["files"] = {name: FileEntry(**entry) for name, entry in data.get("files", {}).items()}
        return cls(**data)


def index_exists(index_dir: Path) -> bool:
    return (index_dir / MANIFEST_NAME).is_file()


def require_index(index_dir: Path) -> None:
    if not index_exists(index_dir):
        raise IndexNotFoundError(
            f"no index at {index_dir}", hint="add sources with: assistant index add PATH"
        )


def manifest_stamp(index_dir: Path) -> tuple[int, int] | None:
    """Identity of the manifest file now: a writer replaces it, so a new stamp means a
    new generation (None: no manifest)."""
    try:
        stat = (index_dir / MANIFEST_NAME).stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST_NAME
    if not path.is_file():
        raise IndexNotFoundError(
            f"no index at {index_dir}", hint="add sources with: assistant index add PATH"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise IndexIncompatibleError(
                f"index at {index_dir} has schema version {version},"
                f" this program reads {SCHEMA_VERSION}",
                hint="rebuild it with: assistant index build PATH",
            )
        return Manifest.from_json(data)
    except IndexIncompatibleError:
        raise
    except (ValueError, TypeError, AttributeError) as error:
        raise IndexCorruptError(
            f"the manifest of {index_dir} is unreadable ({error})",
            hint="rebuild it with: assistant index build PATH",
        ) from None


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    partial = index_dir / f"{MANIFEST_NAME}.{os.getpid()}.partial"
    text = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False)
    try:
        with open(partial, "w", encoding="utf-8", opener=private_opener) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        partial.unlink(missing_ok=True)
        if is_disk_full(error):
            raise disk_full_error(index_dir, len(text.encode())) from None
        raise
    os.replace(partial, index_dir / MANIFEST_NAME)
    fsync_dir(index_dir)


@dataclass(frozen=True)
class ModelSpec:
    """The embedding model an index's vectors are made by, as the manifest records it
    (an encoder's ``name``, ``dimension`` and ``fingerprint``): storage compares these
    values and never loads a model."""

    name: str
    dimension: int
    fingerprint: str = ""


def check_compatible(manifest: Manifest, index_dir: Path, expected: ModelSpec) -> None:
    """The index must have been embedded by the model it is queried with."""
    check_model(
        f"index at {index_dir}",
        manifest.model,
        manifest.dimension,
        manifest.model_fingerprint,
        expected,
    )


def check_model(
    where: str,
    model: str,
    dimension: int,
    fingerprint: str | None,
    expected: ModelSpec,
    hint: str = REBUILD,
) -> None:
    """Vectors stored by ``model`` (``dimension``, weights ``fingerprint``) must be the
    ``expected`` model's (exit 6 if not): any store, local or Milvus, checks it so."""
    if model != expected.name or dimension != expected.dimension:
        raise IndexIncompatibleError(
            f"{where} was built with {model} ({dimension} dimensions); this program uses"
            f" {expected.name} ({expected.dimension} dimensions)",
            hint=hint,
        )
    if fingerprint and expected.fingerprint and fingerprint != expected.fingerprint:
        raise IndexIncompatibleError(
            f"{where} was built with other weights of {model}"
            f" ({fingerprint}, installed: {expected.fingerprint})",
            hint=hint,
        )


def check_artifact_size(manifest: Manifest, path: Path, error: type[IndexCorruptError]) -> None:
    expected = manifest.artifacts.get(path.name, {}).get("size")
    if expected is None:
        return  # written before sizes were recorded
    actual = path.stat().st_size
    if actual != expected:
        raise error(
            f"{path.name} of {path.parent.parent} is {actual} bytes, the manifest says"
            f" {expected}: it was truncated or overwritten",
            hint=REBUILD,
        )


def artifact_problem(manifest: Manifest, path: Path) -> str | None:
    """``index verify``: None when a generation file matches its size and SHA-256 in the
    manifest, else what is wrong."""
    expected = manifest.artifacts.get(path.name)
    if not path.is_file():
        return f"{path.name} is missing"
    if not expected:
        return None  # an index written before hashes were recorded
    size = path.stat().st_size
    if size != expected["size"]:
        return f"{path.name} is {size} bytes, the manifest says {expected['size']}"
    if file_sha256(path) != expected["sha256"]:
        return f"{path.name} does not match its SHA-256 in the manifest"
    return None


def artifact_records(generation: Path) -> dict[str, dict]:
    """What the manifest records of a generation's files: size and SHA-256 of each."""
    return {
        name: {"size": (generation / name).stat().st_size, "sha256": file_sha256(generation / name)}
        for name in GENERATION_FILES
    }


# -- the manifest against the files on disk -------------------------------------------


def stat_signature(path: Path) -> list[int] | None:
    """(size, mtime) of a file, or None: how a skipped file is known to have changed."""
    try:
        stat = os.stat(path)
    except OSError:
        try:
            stat = os.lstat(path)
        except OSError:
            return None
    return [stat.st_size, stat.st_mtime_ns]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_state(entry: FileEntry, by_hash: bool = False) -> str | None:
    """One indexed file on disk now: "missing", "changed", "unreadable" or None
    (unchanged).

    A file whose size and mtime are unchanged is trusted without reading it, unless
    ``by_hash``; one whose size or mtime changed is hashed before calling it changed.
    """
    path = Path(entry.path)
    try:
        stat = path.stat()
    except OSError:
        return "missing"
    touched = (stat.st_size, stat.st_mtime_ns) != (entry.size, entry.mtime_ns)
    if not (touched or by_hash):
        return None
    try:
        digest = file_sha256(path)
    except OSError:
        return "unreadable"  # there, but not readable now (its permissions)
    return "changed" if digest != entry.sha256 else None


def compare_with_disk(
    manifest: Manifest, found: Iterable[Path] = (), by_hash: bool = False
) -> tuple[list[str], list[str], list[str]]:
    """Sources (changed, missing, new) since the index was written; ``by_hash`` is
    what ``index verify`` uses (see :func:`file_state`). ``found``: the paths of the
    files under the index's roots now (the ingest walk finds them; storage does not
    know which files are sources), from which the new ones are told.

    The chat decides to update with this too. A file skipped at the last write (and
    recorded in the manifest as such) is not new until it changes: otherwise every
    start would update for a file that will be skipped again.
    """
    stale, missing = [], []
    for source, entry in manifest.files.items():
        state = file_state(entry, by_hash)
        if state in ("missing", "unreadable"):  # either way, not what was indexed
            missing.append(source)
        elif state == "changed":
            stale.append(source)
    known = {entry.path for entry in manifest.files.values()}
    skipped = {entry["path"]: entry.get("stat") for entry in manifest.skipped.values()}
    new = []
    for found_path in found:
        path = str(found_path)
        if path in known or (path in skipped and skipped[path] == stat_signature(found_path)):
            continue
        new.append(path)
    return stale, missing, new


# -- the writer's lock and the generation folders ----------------------------------------


@contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """One writer per index: a second build or update fails at once with a clear message."""
    with not_writable_said(index_dir):
        private_dir(index_dir)  # the index holds the sources' text: 0700 unless ASSISTANT_UMASK
        check_writable(index_dir)
    # The lock is released by the kernel when the file closes, even if we are killed.
    with _locked(index_dir) as handle:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


@contextmanager
def _locked(index_dir: Path) -> Iterator:
    """The lock file, opened and locked. A lock that is a symlink or a hard link (an
    index copied or unpacked with its links) is replaced by a file of this index's own,
    never written through: its target is left as it was. After locking, the name must
    still be the file locked (a writer that replaced the lock meanwhile wins)."""
    path = index_dir / LOCK_NAME
    for _ in range(OPEN_ATTEMPTS):
        with not_writable_said(index_dir):
            handle = _own_lock_file(path)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise IndexLockedError(
                f"another process is writing the index at {index_dir}",
                hint="wait for it to finish",
            ) from None
        if _same_file(handle, path):
            with handle:
                yield handle
            return
        handle.close()
    raise IndexLockedError(
        f"the lock of the index at {index_dir} keeps being replaced",
        hint="wait for the other writer to finish",
    )


def check_writable(index_dir: Path) -> None:
    """Whether a write can create files in the index directory, found out by creating
    one (permission bits alone do not tell: root, ACLs, a read-only mount): before
    anything is read or embedded, not when the generation is written."""
    probe = index_dir / f"write-check.{os.getpid()}.partial"
    os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    probe.unlink(missing_ok=True)  # a writer holding the lock may have removed it


@contextmanager
def not_writable_said(index_dir: Path) -> Iterator[None]:
    """A refusal to write in the index directory as one line (exit 17)."""
    try:
        yield
    except OSError as error:
        if error.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
        where = error.filename or index_dir
        raise IndexNotWritableError(
            f"cannot write the index at {index_dir}: {error.strerror} ({where})",
            hint="check its permissions, or write another with --index DIR",
        ) from None


def _own_lock_file(path: Path):
    """``path`` opened for appending without following a link; replaced first if it
    is a link (symbolic, or hard: another name for some other file)."""
    for _ in range(OPEN_ATTEMPTS):
        try:
            handle = open(path, "a+", opener=_no_follow_opener)  # noqa: SIM115 (returned open)
        except OSError as error:
            if error.errno != errno.ELOOP:
                raise
        else:
            if os.fstat(handle.fileno()).st_nlink <= 1:
                return handle
            handle.close()
        path.unlink(missing_ok=True)  # the link itself; what it names is not touched
    raise IndexLockedError(f"{path} cannot be made a lock file of its own", hint=REBUILD)


def _no_follow_opener(path: str, flags: int) -> int:
    return private_opener(path, flags | os.O_NOFOLLOW)


def _same_file(handle, path: Path) -> bool:
    try:
        named = os.lstat(path)
    except OSError:
        return False
    held = os.fstat(handle.fileno())
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


# What a writer names a generation (see :func:`new_generation_name`): one folder
# inside the index, never a path.
GENERATION_NAME = re.compile(r"gen-[0-9A-Za-z_-]+")


def generation_dir(index_dir: Path, manifest: Manifest) -> Path:
    """The folder of the generation the manifest names. A manifest that names anything
    but a folder of this index (a path out of it, a link to another index's
    generation: a copied or edited manifest) is damage: the index would answer with
    another index's passages, and an update would keep files without documents."""
    name = manifest.generation
    folder = index_dir / name
    if not GENERATION_NAME.fullmatch(name or "") or folder.is_symlink():
        raise IndexCorruptError(
            f"the manifest of {index_dir} names the generation {name!r},"
            " which is not a folder of this index",
            hint=REBUILD,
        )
    return folder


def new_generation_name() -> str:
    return f"gen-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{os.getpid()}"


def partial_path(index_dir: Path, generation: str) -> Path:
    """Where a generation is written before it is renamed into place."""
    return index_dir / f"{generation}.partial"


def publish_generation(index_dir: Path, generation: str) -> None:
    """Rename a complete generation into place (the manifest does not name it yet)."""
    partial = partial_path(index_dir, generation)
    fsync_dir(partial)
    os.replace(partial, index_dir / generation)
    fsync_dir(index_dir)


def remove_old_generations(index_dir: Path, keep: str) -> None:
    """Readers that opened an older generation keep their open files (POSIX semantics)."""
    for entry in index_dir.iterdir():
        if entry.is_dir() and entry.name.startswith("gen-") and entry.name != keep:
            shutil.rmtree(entry, ignore_errors=True)


def remove_leftovers(index_dir: Path) -> None:
    """What a killed writer left behind: half-written generations and manifests, and
    generations the manifest no longer (or not yet) points at. Runs under the lock."""
    if not index_dir.is_dir():
        return
    try:
        current = read_manifest(index_dir).generation
    except AssistantError:
        current = None  # no readable manifest: only unfinished files are safe to remove
    for entry in index_dir.iterdir():
        orphan = current is not None and entry.name.startswith("gen-") and entry.name != current
        if entry.name.endswith(".partial") or orphan:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def leftover_names(index_dir: Path) -> list[str]:
    """Unfinished writes (``index verify`` mentions them; the next write removes them)."""
    return sorted(p.name for p in index_dir.glob("*.partial"))


@contextmanager
def unfinished_removed(index_dir: Path, generation: str, needed: int) -> Iterator[None]:
    """A write that fails removes its new generation at once, not at the next write:
    on a full disk the half-written files would hold the space until then. Running out
    of space becomes :class:`DiskFullError`, saying how much the write needs."""
    try:
        yield
    except BaseException as error:  # interrupted too: re-raised below
        shutil.rmtree(partial_path(index_dir, generation), ignore_errors=True)
        try:
            current = read_manifest(index_dir).generation
        except AssistantError:
            current = None  # a first build: nothing else can be using it
        if current != generation:
            shutil.rmtree(index_dir / generation, ignore_errors=True)
        if is_disk_full(error):
            raise disk_full_error(index_dir, needed) from None
        raise


def fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# -- a full disk -----------------------------------------------------------------------


def is_disk_full(error: BaseException) -> bool:
    """Whether a failed write ran out of space (or quota).

    numpy reports a short write without an errno ("2413056 requested and 948160
    written"), SQLite as SQLITE_FULL; a short write of a regular file means no space.
    """
    if isinstance(error, DiskFullError):
        return True  # said about one file; the caller may know the whole write's size
    if isinstance(error, OSError):
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        return error.errno is None and bool(re.search(r"\d+ requested and \d+ written", str(error)))
    if isinstance(error, sqlite3.OperationalError):  # the database writer's SQLITE_FULL
        return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
            "database or disk is full" in str(error)
        )
    return False


def disk_full_error(index_dir: Path, needed: int) -> DiskFullError:
    """What to tell the user once the half-written files are gone: how much the write
    needs (``needed`` bytes, an estimate), how much is free, and what to do."""
    megabyte = 1024 * 1024
    try:
        free = shutil.disk_usage(index_dir).free
    except OSError:
        free = None
    wanted = f"writing it needs about {max(1, -(-needed // megabyte))} MB"
    if free is None:
        return DiskFullError(
            f"no space left on device for the index at {index_dir}: {wanted}",
            hint="free some space or move the index elsewhere with --index DIR",
        )
    short = -(-(needed - free) // megabyte)
    hint = (
        f"free {short} MB or move the index elsewhere with --index DIR"
        if short > 0
        else "free some space or move the index elsewhere with --index DIR"
    )
    return DiskFullError(
        f"no space left on device for the index at {index_dir}: {wanted},"
        f" {free // megabyte} MB are free",
        hint=hint,
    )


def remove_unwritten_index(index_dir: Path) -> None:
    """Remove a directory that a first write created and then left holding only its
    lock (the write failed: nothing to index, say), so that no empty collection is
    left behind. A directory holding anything else is not touched, nor one that
    another process is writing now."""
    with contextlib.suppress(OSError, AssistantError):
        if {entry.name for entry in index_dir.iterdir()} - {LOCK_NAME}:
            return  # something was written: not ours to judge
        with write_lock(index_dir):  # fails at once if another process writes it now
            (index_dir / LOCK_NAME).unlink()
        index_dir.rmdir()  # fails if anything appeared meanwhile
