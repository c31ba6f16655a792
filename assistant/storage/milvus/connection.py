"""Where a Milvus store is and how one index lives there: the ``--store`` value parsed
and connected to, the names of an index's three collections, and the facts a write
records on them (schema, model, counts). Shared by the reader and the writer.

pymilvus is imported only when :func:`connect` runs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ...errors import (
    IndexCorruptError,
    IndexIncompatibleError,
    IndexNotFoundError,
    StoreUnavailableError,
    UsageError,
)
from ...paths import file_umask, private_dir
from ..layout import REBUILD, ModelSpec, check_model

# 2: keyword text searchable by term (text_match) with its token count, for FTS5's BM25.
SCHEMA_VERSION = 2
TOKEN_ENVIRONMENT = "ASSISTANT_MILVUS_TOKEN"
# Kinds of passage, as the local store's is_boilerplate column has them.
CITABLE, BOILERPLATE, HEAD_LINE = 0, 1, 2
# Milvus caps a query's or a search's limit at 16,384 rows, and long `in [...]`
# lists make slow expressions: ids go in batches.
QUERY_LIMIT = 16_384
ID_BATCH = 1_000


# -- where the store is --------------------------------------------------------------


@dataclass(frozen=True)
class StoreTarget:
    """A parsed ``--store`` value: what pymilvus connects to."""

    uri: str  # a local path (Milvus Lite) or an http(s) URL
    token: str | None
    lite: bool
    given: str  # as the user wrote it (what messages show)


def parse_store_uri(uri: str, environ: dict | None = None) -> StoreTarget:
    """``milvus:PATH.db`` (Milvus Lite), ``milvus://HOST:PORT`` or ``http(s)://…``."""
    environ = os.environ if environ is None else environ
    text = uri.strip()
    if text.startswith("milvus:") and not text.startswith("milvus://"):
        path = Path(text[len("milvus:") :]).expanduser()
        if path.suffix != ".db" or not path.name[: -len(".db")]:
            raise UsageError(
                f"a Milvus Lite store is a file ending in .db, not {text!r}",
                hint="use --store milvus:PATH.db",
            )
        return StoreTarget(str(path.absolute()), None, True, text)
    if text.startswith("milvus://"):
        address = text[len("milvus://") :].rstrip("/")
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or "/" in address:
            raise UsageError(
                f"a Milvus server is milvus://HOST:PORT, not {text!r}",
                hint="for example --store milvus://127.0.0.1:19530",
            )
        return StoreTarget(f"http://{address}", _token(environ), False, text)
    if text.startswith(("https://", "http://")):
        return StoreTarget(text, _token(environ), False, text)
    raise UsageError(
        f"unknown store {text!r}",
        hint="use local, milvus:PATH.db, milvus://HOST:PORT or https://…",
    )


def _token(environ) -> str | None:
    """``$ASSISTANT_MILVUS_TOKEN``, else ``[milvus] token`` in the config file."""
    from ...config import Settings

    return Settings.load(environ).milvus_token()


def recorded_uri(target: StoreTarget) -> str:
    """What an index's manifest records: the Lite file as an absolute path, a server as
    given (the token never: it comes from the environment or the config file)."""
    return f"milvus:{target.uri}" if target.lite else target.given


def index_name_for(index_dir: Path) -> str:
    """The index's name in the store: the directory's name and a digest of its absolute
    path, so that two directories called ``index`` on one server stay apart."""
    import hashlib

    path = str(Path(index_dir).absolute())
    digest = hashlib.sha256(path.encode("utf-8")).hexdigest()[:10]
    return f"{re.sub(r'[^0-9A-Za-z_]', '_', Path(path).name)[:40]}_{digest}"


def collection_names(index_name: str) -> tuple[str, str, str]:
    """The passages, documents and sentences collections of an index: Milvus names
    allow letters, digits and underscores only."""
    base = "assistant_" + re.sub(r"[^0-9A-Za-z_]", "_", index_name)
    return base, f"{base}_documents", f"{base}_sentences"


# Each write goes to collections of its own generation (``<name>_g<16 hex digits>``),
# then the manifest names them: a write killed half-way leaves the index it replaces.
_GENERATION = re.compile(r"_g[0-9a-f]{16}$")


def new_generation(index_name: str) -> str:
    """The name of a write's new generation of the index ``index_name`` (which may
    itself name a generation): its base name and the time, so names never repeat."""
    return f"{base_name(index_name)}_g{time.time_ns():016x}"


def base_name(index_name: str) -> str:
    """``index_name`` without its generation (an index written before generations
    has none)."""
    return _GENERATION.sub("", index_name)


def generations_of(names: Iterable[str], index_name: str) -> set[str]:
    """Which of the collection ``names`` belong to a generation of ``index_name``'s
    index (that one included, and one written before generations existed); the
    index name ends in the digest of its directory, so no other index's match."""
    passages = collection_names(base_name(index_name))[0]
    pattern = re.compile(re.escape(passages) + r"(_g[0-9a-f]{16})?(_documents|_sentences)?")
    return {name for name in names if pattern.fullmatch(name)}


def connect(target: StoreTarget):
    """A MilvusClient for the target; one line and exit 15 when that fails."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise StoreUnavailableError(
            "Milvus support is not installed", hint="pip install 'assistant[milvus]'"
        ) from None
    quiet_library_logs()
    if not target.lite:
        try:
            return MilvusClient(uri=target.uri, token=target.token or "", timeout=30)
        except Exception as error:  # pymilvus raises MilvusException and grpc errors alike
            raise StoreUnavailableError(
                f"cannot reach the Milvus store {target.given} ({first_line(error)})",
                hint="check that the server runs and the token ($ASSISTANT_MILVUS_TOKEN)",
            ) from None
    with lite_start_errors(target) as started, private_files(target):
        try:
            private_dir(Path(target.uri))  # the store holds the sources' text
            return MilvusClient(uri=target.uri, token=target.token or "", timeout=30)
        except Exception as error:
            raise lite_error(target, started or [error]) from None


def quiet_library_logs() -> None:
    """pymilvus logs every failed call with its traceback, on stderr, before raising:
    the front ends say what went wrong in one line."""
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)


class _StartFailures(logging.Handler):
    """Keeps the exception Milvus Lite logs (and swallows) when it cannot open a
    store: pymilvus then only says "Open local milvus failed"."""

    def __init__(self, found: list[BaseException]) -> None:
        super().__init__(logging.ERROR)
        self.found = found

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.found.append(record.exc_info[1])


@contextlib.contextmanager
def lite_start_errors(target: StoreTarget) -> Iterator[list[BaseException]]:
    """What went wrong when Milvus Lite opened the store, kept off stderr."""
    found: list[BaseException] = []
    logger = logging.getLogger("milvus_lite.server_manager")
    handler = _StartFailures(found)
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False
    try:
        yield found
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def lite_error(target: StoreTarget, errors: list[BaseException]) -> StoreUnavailableError:
    """One line with the cause: another process has the store open, or the file
    system refuses it (exit 15 either way)."""
    error = errors[-1]
    if type(error).__name__ == "DataDirLockedError":
        return StoreUnavailableError(
            f"the Milvus Lite store {target.uri} is open in another process",
            hint="Milvus Lite opens a store in one process at a time (a chat, a server,"
            " a write): close the other",
        )
    cause = error.__cause__ if isinstance(error.__cause__, OSError) else error
    if isinstance(cause, PermissionError):
        where = cause.filename or target.uri
        return StoreUnavailableError(
            f"permission denied: {where} (the Milvus Lite store {target.uri})",
            hint="check the store's owner and mode, or use another --store",
        )
    if isinstance(cause, OSError):
        return StoreUnavailableError(
            f"cannot open the Milvus Lite store {target.uri}:"
            f" {cause.strerror or first_line(cause)}"
            + (f": {cause.filename}" if cause.filename else ""),
        )
    return StoreUnavailableError(
        f"cannot open the Milvus Lite store {target.uri} ({first_line(error)})"
    )


@contextlib.contextmanager
def private_files(target: StoreTarget) -> Iterator[None]:
    """While Milvus Lite creates the store's files in this process, they are made
    0600 and its folders 0700 (``$ASSISTANT_UMASK`` says otherwise): the files hold
    the sources' text. A Milvus server keeps its files where it runs."""
    if not target.lite:
        yield
        return
    mask = file_umask()
    previous = os.umask(mask)
    os.umask(previous | mask)
    try:
        yield
    finally:
        os.umask(previous)


def make_store_private(target: StoreTarget) -> None:
    """Narrow the modes of what is already in a Milvus Lite store (made by an older
    version, or by Milvus Lite's threads after :func:`private_files`)."""
    if not target.lite:
        return
    mask = file_umask()
    root = Path(target.uri)
    for folder, folders, files in os.walk(root):
        for name in [*folders, *files]:
            _narrow(Path(folder) / name, mask)
    _narrow(root, mask)


def _narrow(path: Path, mask: int) -> None:
    with contextlib.suppress(OSError):  # gone meanwhile: nothing to protect
        mode = path.lstat().st_mode
        if not os.path.islink(path) and mode & mask:
            os.chmod(path, mode & 0o7777 & ~mask)


def first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


# The escapes both of Milvus's expression parsers read (Milvus Lite's knows only these;
# a server's also reads C's others): every other character stands for itself, control
# characters included, but a raw line break ends the literal.
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile("[" + re.escape("".join(_ESCAPES)) + "]")


def literal(value: str) -> str:
    """A string literal for a Milvus filter expression, as Milvus reads it back
    (JSON's ``\\u001b`` is not one of its escapes)."""
    return '"' + _NEEDS_ESCAPE.sub(lambda found: _ESCAPES[found.group()], value) + '"'


def in_list(field_name: str, values: Iterable) -> str:
    items = ", ".join(literal(v) if isinstance(v, str) else str(int(v)) for v in values)
    return f"{field_name} in [{items}]"


@dataclass
class MilvusManifest:
    """What StoredIndex.manifest gives the front ends, read from the collection."""

    schema_version: int
    model: str
    dimension: int
    model_fingerprint: str
    dense_index: str
    created_at: str
    updated_at: str
    documents: int
    passages: int
    vectors: int
    sentences: int


class Collections:
    """The three collections of one index on one Milvus."""

    def __init__(self, client, index_name: str, target: StoreTarget | None = None) -> None:
        self.client = client
        self.index_name = index_name
        self.target = target
        self.passages_name, self.documents_name, self.sentences_name = collection_names(index_name)

    @property
    def where(self) -> str:
        shown = self.target.given if self.target else "Milvus"
        return f"index {self.index_name!r} in {shown}"

    def exists(self) -> bool:
        return all(
            self.client.has_collection(name)
            for name in (self.passages_name, self.documents_name, self.sentences_name)
        )

    def load(self) -> None:
        """Collections are searchable only once loaded (a reopened store is released)."""
        for name in (self.passages_name, self.documents_name, self.sentences_name):
            self.client.load_collection(name)

    def properties(self) -> dict:
        return self.client.describe_collection(self.passages_name).get("properties", {})

    def count(self, collection: str, expression: str = "") -> int:
        rows = self.client.query(collection, filter=expression, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def scan(self, collection: str, expression: str, fields: list[str]) -> Iterator[dict]:
        """Every row matching, window by window of ids (a query stops at 16,384 rows,
        and Milvus Lite's query iterator needs a timestamp service it lacks)."""
        end = int(self.properties().get("assistant.next_id", "0"))
        wanted = sorted({"id", *fields})
        for start in range(0, end, QUERY_LIMIT):
            window = f"id >= {start} and id < {start + QUERY_LIMIT}"
            yield from self.client.query(
                collection,
                filter=f"{window} and ({expression})" if expression else window,
                output_fields=wanted,
                limit=QUERY_LIMIT,
            )

    def by_ids(self, collection: str, ids: list[int], fields: list[str], extra: str = ""):
        """Rows whose ``id`` (or the ``extra``-filtered field) is among ``ids``."""
        rows: list[dict] = []
        for offset in range(0, len(ids), ID_BATCH):
            part = ids[offset : offset + ID_BATCH]
            expression = in_list("id", part) + (f" and {extra}" if extra else "")
            rows.extend(self.client.query(collection, filter=expression, output_fields=fields))
        return rows


def count_rows(collections: Collections) -> dict[str, int]:
    return {
        "documents": collections.count(collections.documents_name, "part == 0"),
        "passages": collections.count(collections.passages_name),
        "vectors": collections.count(collections.passages_name, f"kind == {CITABLE}"),
        "sentences": collections.count(collections.sentences_name),
    }


def read_manifest(collections: Collections) -> MilvusManifest:
    """The index's recorded facts; IndexNotFoundError when its collections are missing
    (the directory's manifest names them: dropped behind its back, a build writes
    them again)."""
    if not collections.exists():
        raise IndexNotFoundError(f"no {collections.where}", hint=REBUILD)
    values = collections.properties()
    try:
        return MilvusManifest(
            schema_version=int(values["assistant.schema_version"]),
            model=values["assistant.model"],
            dimension=int(values["assistant.dimension"]),
            model_fingerprint=values.get("assistant.model_fingerprint", ""),
            dense_index=values.get("assistant.dense_index", "FLAT"),
            created_at=values.get("assistant.created_at", ""),
            updated_at=values.get("assistant.updated_at", ""),
            **{
                name: int(values.get(f"assistant.{name}", "0"))
                for name in ("documents", "passages", "vectors", "sentences")
            },
        )
    except (KeyError, ValueError) as error:
        raise IndexCorruptError(
            f"the {collections.where} lacks its assistant properties ({error})",
            hint="rebuild it with: assistant index build PATH",
        ) from None


def check_compatible(
    collections: Collections, manifest: MilvusManifest, expected: ModelSpec | None = None
) -> None:
    """Schema, model, dimension and weights must be the ``expected`` model's (exit 6 if
    not; None: only the schema is checked); the dimension is also read from the
    collection's vector field itself."""
    rebuild = "rebuild it with: assistant index build PATH"
    if manifest.schema_version != SCHEMA_VERSION:
        raise IndexIncompatibleError(
            f"{collections.where} has Milvus schema version {manifest.schema_version},"
            f" this program reads {SCHEMA_VERSION}",
            hint=rebuild,
        )
    if expected is None:
        return
    # The vector field's own dimension too: a collection another program made.
    field_dimension = _vector_dimension(collections)
    wrong = [d for d in (field_dimension, manifest.dimension) if d != expected.dimension]
    dimension = wrong[0] if wrong else expected.dimension
    check_model(
        collections.where,
        manifest.model,
        dimension,
        manifest.model_fingerprint,
        expected,
        hint=rebuild,
    )


def _vector_dimension(collections: Collections) -> int:
    described = collections.client.describe_collection(collections.passages_name)
    for item in described["fields"]:
        if item["name"] == "vector":
            return int(item["params"]["dim"])
    raise IndexCorruptError(f"the {collections.where} has no vector field")
