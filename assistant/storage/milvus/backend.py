"""Milvus as the index store: passages, vectors and BM25 live in the engine.

``--store milvus:PATH.db`` is Milvus Lite (a local file); ``--store milvus://HOST:PORT``
or ``https://…`` a Milvus server or cluster (token from ``$ASSISTANT_MILVUS_TOKEN`` or
the config file's ``[milvus] token``). The embedding model stays local: the client
embeds with the same ONNX path and hands the engine vectors; the engine stores and
searches. Fusion and the evidence logic stay the project's own (retrieval.py,
answer.py): :class:`MilvusReader` answers the same calls :class:`~assistant.store.
StoredIndex` answers, so answers come out the same.

One index is three collections (``assistant_<name>`` and two companions):

* ``assistant_<name>``: one row per passage (offsets, text, flags, statements, date
  and outlet for filters), its dense vector, and a BM25 function over the project's
  own keyword text, so that "132-km" still meets "132 kilometres";
* ``…_documents``: documents (metadata, text, BM25 over the whole citable text), the
  SHA-256 of the source each came from (what incremental updates compare), and the
  names used for spelling variants. Texts longer than one VARCHAR (64 KiB) are split
  over several rows ("parts");
* ``…_sentences``: one vector per sentence of each citable passage (the dense score of
  a passage also counts its best sentence).

The keyword text is what the local FTS5 index holds after its tokenizer ran:
:func:`keywords.normalize`, then SQLite's own porter/unicode61 tokenizer (run in
memory), joined by spaces. Milvus then only splits on spaces, and its BM25 sees the
same terms as FTS5 would, on Milvus Lite and on a server alike (Milvus Lite ignores
analyzer filters such as a stemmer, so stemming in the engine would differ by target).

Keyword scores are FTS5's own: the engine finds the passages holding a query term
(``text_match``) and counts each term's passages; the client scores them with FTS5's
``bm25()`` formula (its IDF differs from the engine's BM25 function, which would rank
passages of several terms otherwise). The engine's BM25 function serves
:meth:`MilvusReader.hybrid_search`.

An index directory whose manifest names a store (``Manifest.store``, ``store_index``)
keeps only its manifest: the writer (:mod:`.writer`) writes the rows here with
:class:`MilvusWriter`, and :class:`assistant.Index` reads them with :class:`MilvusReader`.

pymilvus is imported only when a Milvus store is opened.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ...errors import (
    IndexCorruptError,
    IndexIncompatibleError,
    IndexNotFoundError,
    StoreUnavailableError,
    UsageError,
)
from ...text import keywords
from ...types import Document, Passage, Span, Statement, page_starts
from ..layout import ModelSpec, check_model

# 2: keyword text searchable by term (text_match) with its token count, for FTS5's BM25.
SCHEMA_VERSION = 2
TOKEN_ENVIRONMENT = "ASSISTANT_MILVUS_TOKEN"
# Kinds of passage, as the local store's is_boilerplate column has them.
CITABLE, BOILERPLATE, HEAD_LINE = 0, 1, 2
# Milvus VARCHAR fields hold at most 65,535 bytes; text is split below that.
VARCHAR_BYTES = 65_535
PART_BYTES = 60_000
# Milvus caps a query's or a search's limit at 16,384 rows, and long `in [...]`
# lists make slow expressions: ids go in batches.
QUERY_LIMIT = 16_384
ID_BATCH = 1_000
# The same cut as the local store: a term in more passages than this is common.
COMMON_TERM_FLOOR = 2_000
COMMON_TERM_SHARE = 0.005
MAX_VARIANTS = 4
# Dense index: exact (FLAT) keeps results identical to the local exact search; HNSW
# is for corpora where a scan costs too much (see bench/milvus.py for its recall).
DENSE_INDEXES = {
    "FLAT": {},
    "HNSW": {"M": 16, "efConstruction": 200},
}
HNSW_EF = 128
# SQLite FTS5's BM25 constants (k1 1.2, b 0.75): the engine's BM25 function (used by
# hybrid_search) with them, and the keyword scores of the answers computed with them
# exactly as FTS5 does (see MilvusReader.keyword_search).
BM25_K1, BM25_B = 1.2, 0.75
BM25_INDEX = {
    "index_type": "SPARSE_INVERTED_INDEX",
    "metric_type": "BM25",
    "params": {"bm25_k1": 1.2, "bm25_b": 0.75},
}
PASSAGE_FIELDS = [
    "id",
    "doc_id",
    "source",
    "paragraph",
    "start",
    "end",
    "text",
    "kind",
    "sentences",
]


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


def open_reader(store: str, index_name: str, expected: ModelSpec | None = None) -> MilvusReader:
    """The reader of an index whose manifest names this store (``expected``: the model
    it is searched with, checked against the collection's)."""
    target = parse_store_uri(store)
    return MilvusReader(connect(target), index_name, target, expected)


def collection_names(index_name: str) -> tuple[str, str, str]:
    """The passages, documents and sentences collections of an index: Milvus names
    allow letters, digits and underscores only."""
    base = "assistant_" + re.sub(r"[^0-9A-Za-z_]", "_", index_name)
    return base, f"{base}_documents", f"{base}_sentences"


def connect(target: StoreTarget):
    """A MilvusClient for the target; one line and exit 15 when that fails."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise StoreUnavailableError(
            "Milvus support is not installed", hint="pip install 'assistant[milvus]'"
        ) from None
    if target.lite:
        Path(target.uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=target.uri, token=target.token or "", timeout=30)
    except Exception as error:  # pymilvus raises MilvusException and grpc errors alike
        if target.lite:  # its lock: another process (a chat, a server) has it open
            hint = "Milvus Lite opens a file in one process at a time; close the other"
        else:
            hint = "check that the server runs and the token ($ASSISTANT_MILVUS_TOKEN)"
        raise StoreUnavailableError(
            f"cannot reach the Milvus store {target.given} ({_first_line(error)})", hint=hint
        ) from None


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]


# -- the keyword text ----------------------------------------------------------------


class _Stemmer:
    """SQLite FTS5's own tokenizer (porter over unicode61, diacritics removed), run on
    an in-memory table: the terms the local index would hold, in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            "CREATE VIRTUAL TABLE t USING fts5(body,"
            " tokenize='porter unicode61 remove_diacritics 2')"
        )
        self._db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")

    def terms(self, texts: list[str]) -> list[list[str]]:
        with self._lock:
            self._db.executemany(
                "INSERT INTO t(rowid, body) VALUES (?, ?)", enumerate(texts, start=1)
            )
            found: list[list[str]] = [[] for _ in texts]
            for doc, term in self._db.execute("SELECT doc, term FROM v ORDER BY doc, offset"):
                found[doc - 1].append(term)
            self._db.execute("DELETE FROM t")
            return found


_stemmer: _Stemmer | None = None


def stemmed(texts: list[str]) -> list[str]:
    """Each text as the space-joined terms FTS5 indexes for it (already normalised)."""
    global _stemmer
    if _stemmer is None:
        _stemmer = _Stemmer()
    return [" ".join(terms) for terms in _stemmer.terms(texts)]


def keyword_text(text: str, title: str | None = None) -> str:
    """What BM25 runs over: as the local passages_fts row (body, then title)."""
    return stemmed([_keyword_source(text, title)])[0]


def _keyword_source(text: str, title: str | None) -> str:
    return f"{keywords.normalize(text)} {keywords.normalize(title or '')}"


_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def match_terms(match: str) -> list[str]:
    """The terms of an FTS5 query made by :func:`keywords.fts_query`."""
    return [term.replace('""', '"') for term in _QUOTED.findall(match)]


def _pieces(text: str, limit: int = PART_BYTES) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-8 bytes (cut at a space when one
    is near, so keyword terms stay whole); "" gives [""]."""
    pieces = []
    data = text.encode("utf-8")
    while len(data) > limit:
        cut = limit
        while cut > 0 and (data[cut] & 0xC0) == 0x80:
            cut -= 1  # not inside a character
        space = data.rfind(b" ", max(0, cut - 200), cut)
        cut = space + 1 if space > 0 else cut
        pieces.append(data[:cut].decode("utf-8"))
        data = data[cut:]
    pieces.append(data.decode("utf-8"))
    return pieces


def _literal(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return json.dumps(value, ensure_ascii=False)


def _in_list(field_name: str, values: Iterable) -> str:
    items = ", ".join(_literal(v) if isinstance(v, str) else str(int(v)) for v in values)
    return f"{field_name} in [{items}]"


# -- what is read back


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


class _Collections:
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
            expression = _in_list("id", part) + (f" and {extra}" if extra else "")
            rows.extend(self.client.query(collection, filter=expression, output_fields=fields))
        return rows


def _keyword_totals(collections: _Collections) -> dict[str, int]:
    """What FTS5's BM25 takes from the whole table: the rows holding keyword text and
    their tokens, for the passages (citable ones) and the documents (those with
    citable text; a document's parts count as one row)."""
    passage_tokens = sum(
        row["keyword_tokens"]
        for row in collections.scan(
            collections.passages_name, f"kind == {CITABLE}", ["keyword_tokens"]
        )
    )
    documents: set[str] = set()
    document_tokens = 0
    for row in collections.scan(
        collections.documents_name, "keyword_tokens > 0", ["doc_id", "keyword_tokens"]
    ):
        documents.add(row["doc_id"])
        document_tokens += row["keyword_tokens"]
    return {
        "keyword_tokens": passage_tokens,
        "keyword_documents": len(documents),
        "document_keyword_tokens": document_tokens,
    }


def _counts(collections: _Collections) -> dict[str, int]:
    return {
        "documents": collections.count(collections.documents_name, "part == 0"),
        "passages": collections.count(collections.passages_name),
        "vectors": collections.count(collections.passages_name, f"kind == {CITABLE}"),
        "sentences": collections.count(collections.sentences_name),
    }


def read_manifest(collections: _Collections) -> MilvusManifest:
    """The index's recorded facts; IndexNotFoundError when its collections are missing."""
    if not collections.exists():
        raise IndexNotFoundError(
            f"no {collections.where}",
            hint="add sources with: assistant index add PATH --store "
            + (collections.target.given if collections.target else "URI"),
        )
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
    collections: _Collections, manifest: MilvusManifest, expected: ModelSpec | None
) -> None:
    """Schema, model, dimension and weights must be the ``expected`` model's (exit 6 if
    not); the dimension is also read from the collection's vector field itself."""
    rebuild = "rebuild it with: assistant index build PATH"
    if manifest.schema_version != SCHEMA_VERSION:
        raise IndexIncompatibleError(
            f"{collections.where} has Milvus schema version {manifest.schema_version},"
            f" this program reads {SCHEMA_VERSION}",
            hint=rebuild,
        )
    if expected is None:
        return  # only the stored rows are read
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


def _vector_dimension(collections: _Collections) -> int:
    described = collections.client.describe_collection(collections.passages_name)
    for item in described["fields"]:
        if item["name"] == "vector":
            return int(item["params"]["dim"])
    raise IndexCorruptError(f"the {collections.where} has no vector field")


# -- status and verify -------------------------------------------------------------------


def status(client, index_name: str, target: StoreTarget | None = None) -> dict:
    """Counts and model, as ``index status --json`` shows them (cheap: no scan)."""
    collections = _Collections(client, index_name, target)
    manifest = read_manifest(collections)
    return {
        "store": target.given if target else None,
        "collection": collections.passages_name,
        **manifest.__dict__,
    }


def verify(
    client, index_name: str, target: StoreTarget | None = None, expected: ModelSpec | None = None
) -> dict:
    """Deep check: collections present, schema/model/dimension, and the rows counted
    in the engine against the counts recorded by the last complete write.

    Raises IndexNotFoundError (exit 4), IndexIncompatibleError (6) or
    IndexCorruptError (5: a write did not finish; ``index update`` writes again).
    """
    collections = _Collections(client, index_name, target)
    manifest = read_manifest(collections)
    check_compatible(collections, manifest, expected)
    collections.load()
    counted = _counts(collections)
    recorded = {name: getattr(manifest, name) for name in counted}
    if counted != recorded:
        differing = ", ".join(
            f"{name} {counted[name]} (recorded {recorded[name]})"
            for name in counted
            if counted[name] != recorded[name]
        )
        raise IndexCorruptError(
            f"the {collections.where} holds {differing}: a write did not finish",
            hint="run: assistant index update",
        )
    return {"ok": True, "collection": collections.passages_name, **counted}


# -- reading ---------------------------------------------------------------------------------


@dataclass
class MilvusRestriction:
    """A search filter as a Milvus expression (``expression``); ``vector_rows`` lists
    the allowed citable passages (their ids, which are the dense side's rows here)."""

    expression: str
    reader: MilvusReader

    @cached_property
    def vector_rows(self) -> np.ndarray:
        rows = self.reader.scan(
            self.reader.passages_name, f"kind == {CITABLE} and ({self.expression})", ["id"]
        )
        return np.array(sorted(row["id"] for row in rows), dtype=np.int64)


class MilvusReader(_Collections):
    """The calls retrieval.py and answer.py make of a StoredIndex, answered by Milvus.

    Differences: vector "rows" are passage ids (``passages_for_vector_rows`` is
    ``passages``), ``dense_scores``'s ``known`` is keyed by passage id, and a
    restriction is a :class:`MilvusRestriction`.
    """

    def __init__(
        self,
        client,
        index_name: str,
        target: StoreTarget | None = None,
        expected: ModelSpec | None = None,
    ) -> None:
        super().__init__(client, index_name, target)
        self.manifest = read_manifest(self)
        check_compatible(self, self.manifest, expected)
        self.load()
        self.common_term_limit = max(
            COMMON_TERM_FLOOR, int(COMMON_TERM_SHARE * self.manifest.vectors)
        )
        self._document_cache: dict[str, tuple[Document, str]] = {}
        self._documents: list[Document] | None = None
        self._metadata_terms: dict[str, set[str]] | None = None
        self._metadata_vocabulary: frozenset[str] = frozenset()
        self._names: dict[str, list[str]] | None = None
        self._statements: list[tuple[int, Statement]] | None = None
        self._stored_vectors: dict[int, np.ndarray] | None = None
        self._phrase_counts: dict[tuple[str, ...], int] = {}
        self._stored_sentences: dict[int, np.ndarray] | None = None

    def close(self) -> None:
        self.client.close()

    def citable_passage_count(self) -> int:
        return self.manifest.vectors

    # -- filters -------------------------------------------------------------

    def filter_expression(self, search_filter) -> str:
        """A :class:`~assistant.filters.SearchFilter` as a Milvus expression. Dates
        compare as ISO strings; a document without a date ("") fails any date bound.
        Sources are matched here against the indexed sources, as the local store does
        (outlet in any case, exact file, folder, SQLite-style glob), and become a list."""
        clauses = []
        if search_filter.since:
            clauses.append(f"published >= {_literal(search_filter.since)}")
        if search_filter.until:
            clauses.append(f'published != "" and published <= {_literal(search_filter.until)}')
        if search_filter.sources:
            outlets = sorted({s.casefold() for s in search_filter.sources})
            known = sorted({d.source for d in self.documents()})
            sources = [s for s in known if _source_matches(s, search_filter.sources)]
            either = [_in_list("outlet_key", outlets)]
            if sources:
                either.append(_in_list("source", sources))
            clauses.append("(" + " or ".join(either) + ")")
        return " and ".join(clauses) or "id >= 0"

    def restriction(self, search_filter) -> MilvusRestriction:
        return MilvusRestriction(self.filter_expression(search_filter), self)

    def allowed_passages(self, passage_ids: list[int], search_filter) -> list[int]:
        if not passage_ids:
            return []
        rows = self.by_ids(
            self.passages_name, passage_ids, ["id"], self.filter_expression(search_filter)
        )
        allowed = {row["id"] for row in rows}
        return [pid for pid in passage_ids if pid in allowed]

    def _searchable(self, restriction: MilvusRestriction | None) -> str:
        if restriction is None:
            return f"kind == {CITABLE}"
        return f"kind == {CITABLE} and ({restriction.expression})"

    # -- searches --------------------------------------------------------------

    def dense_search(
        self, query: np.ndarray, k: int, restriction: MilvusRestriction | None = None
    ) -> list[tuple[int, float]]:
        """(passage id, cosine) pairs, best first, from the engine's vector index."""
        if self.manifest.vectors == 0 or k <= 0:
            return []
        params = {"metric_type": "IP"}
        if self.manifest.dense_index == "HNSW":
            params["params"] = {"ef": max(HNSW_EF, k)}
        found = self.client.search(
            self.passages_name,
            data=[np.asarray(query, dtype=np.float32).tolist()],
            anns_field="vector",
            limit=min(k, QUERY_LIMIT),
            filter=self._searchable(restriction),
            search_params=params,
            output_fields=["id"],
        )
        return [(int(hit["id"]), float(hit["distance"])) for hit in found[0]]

    def keyword_search(
        self, match: str, k: int, restriction: MilvusRestriction | None = None
    ) -> list[tuple[int, float]]:
        """(passage id, BM25) pairs, best first: the local FTS5 ``bm25()`` exactly.

        ``match`` is the FTS5 query retrieval.py makes (any of the quoted terms). The
        engine finds the citable passages holding a term (one BM25 search over the
        inverted index, as many rows as it gives, with their keyword text); their
        scores are then FTS5's: its IDF, ``log((N - n + 0.5) / (n + 0.5))`` floored at
        1e-6 (the engine's BM25 adds 1 inside the log, which reorders passages of
        several terms), over the citable passages only (N, and n counted in those
        rows), with body and title as one text (FTS5 weighs the two columns 1.0 each,
        so they count as one). When the terms are in more passages than one search
        returns (16,384), the passages are found by ``text_match`` window by window and
        each term's passages counted by the engine: exact too, and slower.
        """
        phrases = self._phrases(match)
        if not phrases or k <= 0:
            return []
        rows = int(self.manifest.vectors)
        average = int(self.properties().get("assistant.keyword_tokens", "0")) / max(rows, 1)
        found = self._rows_with_any(phrases)
        if found is None:  # too many for one search
            idf = [_fts5_idf(rows, self._passages_with(phrase)) for phrase in phrases]
            expression = f"{self._searchable(restriction)} and {_any_term(phrases)}"
            found = [
                (row["id"], row["keywords"].split())
                for row in self.scan(self.passages_name, expression, ["keywords"])
            ]
        else:
            idf = [
                _fts5_idf(rows, sum(1 for _, tokens in found if _occurrences(tokens, phrase)))
                for phrase in phrases
            ]
            if restriction is not None:
                allowed = set(restriction.vector_rows.tolist())
                found = [(pid, tokens) for pid, tokens in found if pid in allowed]
        scored = []
        for passage_id, tokens in found:
            score = _fts5_bm25(tokens, phrases, idf, average)
            if score is not None:
                scored.append((passage_id, score))
        scored.sort(key=lambda pair: (-pair[1], pair[0]))
        return scored[:k]

    def _rows_with_any(self, phrases: list[list[str]]) -> list[tuple[int, list[str]]] | None:
        """Every citable passage holding any term, with its keyword tokens; None when
        one search cannot return them all."""
        terms = " ".join(sorted({term for phrase in phrases for term in phrase}))
        hits = self.client.search(
            self.passages_name,
            data=[terms],
            anns_field="keywords_sparse",
            limit=QUERY_LIMIT,
            filter=f"kind == {CITABLE}",
            search_params={"metric_type": "BM25"},
            output_fields=["keywords"],
        )[0]
        if len(hits) >= QUERY_LIMIT:
            return None
        return [(int(hit["id"]), hit["entity"]["keywords"].split()) for hit in hits]

    def _phrases(self, match: str) -> list[list[str]]:
        """The query's phrases as FTS5 tokenizes them (most are one term)."""
        return [text.split() for text in stemmed(match_terms(match)) if text.split()]

    def _passages_with(self, phrase: list[str]) -> int:
        """How many citable passages hold the phrase (FTS5's n), counted once per
        reader: a reader is one version of the index (Index opens a new one after a
        write)."""
        key = tuple(phrase)
        if key not in self._phrase_counts:
            base = f"kind == {CITABLE}"
            if len(phrase) == 1:
                found = self.count(self.passages_name, f"{base} and {_all_terms(phrase)}")
            else:
                found = self._phrase_rows(self.passages_name, base, phrase)
            self._phrase_counts[key] = found
        return self._phrase_counts[key]

    def _phrase_rows(self, collection: str, base: str, phrase: list[str]) -> int:
        """Rows holding a phrase of several terms in order (the engine finds those
        holding all of its terms; the order is checked here)."""
        found = self.scan(collection, f"{base} and {_all_terms(phrase)}", ["keywords"])
        return sum(1 for row in found if _occurrences(row["keywords"].split(), phrase))

    def hybrid_search(
        self,
        query: np.ndarray,
        match: str,
        k: int,
        restriction: MilvusRestriction | None = None,
        rrf_k: int = 60,
    ) -> list[tuple[int, float]]:
        """Dense and BM25 fused by the engine (reciprocal rank fusion), for callers
        that want one round trip; the answers use the project's own fusion instead."""
        from pymilvus import AnnSearchRequest, RRFRanker

        expression = self._searchable(restriction)
        requests = [
            AnnSearchRequest(
                [np.asarray(query, dtype=np.float32).tolist()],
                "vector",
                {"metric_type": "IP"},
                k,
                expr=expression,
            )
        ]
        text = self._query_terms(match)
        if text:
            requests.append(
                AnnSearchRequest(
                    [text], "keywords_sparse", {"metric_type": "BM25"}, k, expr=expression
                )
            )
        found = self.client.hybrid_search(
            self.passages_name, requests, RRFRanker(rrf_k), limit=k, output_fields=["id"]
        )
        return [(int(hit["id"]), float(hit["distance"])) for hit in found[0]]

    def _query_terms(self, match: str) -> str:
        return " ".join(t for t in stemmed(match_terms(match)) if t)

    def document_bm25(self, match: str, doc_ids: list[str]) -> dict[str, float]:
        """BM25 of each of these documents as a whole, as the local ``documents_fts``
        scores it (see :meth:`keyword_search`); a document split over parts (over
        60 KB of text) is one text, its parts joined."""
        phrases = self._phrases(match)
        if not phrases or not doc_ids:
            return {}
        properties = self.properties()
        rows = int(properties.get("assistant.keyword_documents", "0"))
        tokens = int(properties.get("assistant.document_keyword_tokens", "0"))
        terms = " ".join(sorted({term for phrase in phrases for term in phrase}))
        matched = self.client.search(
            self.documents_name,
            data=[terms],
            anns_field="keywords_sparse",
            limit=QUERY_LIMIT,
            filter="keyword_tokens > 0",
            search_params={"metric_type": "BM25"},
            output_fields=["doc_id", "part", "keywords"],
        )[0]
        idf = []
        if len(matched) < QUERY_LIMIT:  # every part holding a term: count in those
            texts = _joined_parts(hit["entity"] for hit in matched)
            for phrase in phrases:
                hits = sum(1 for text in texts.values() if _occurrences(text.split(), phrase))
                idf.append(_fts5_idf(rows, hits))
        for phrase in phrases if not idf else ():  # too many for one search: the engine counts
            found = self.scan(
                self.documents_name, _all_terms(phrase), ["doc_id", "part", "keywords"]
            )
            if len(phrase) == 1:
                idf.append(_fts5_idf(rows, len({row["doc_id"] for row in found})))
            else:
                texts = _joined_parts(found)
                hits = sum(1 for text in texts.values() if _occurrences(text.split(), phrase))
                idf.append(_fts5_idf(rows, hits))
        scores: dict[str, float] = {}
        for offset in range(0, len(doc_ids), ID_BATCH):
            part = doc_ids[offset : offset + ID_BATCH]
            found = self.client.query(
                self.documents_name,
                filter=_in_list("doc_id", part),
                output_fields=["doc_id", "part", "keywords"],
                limit=QUERY_LIMIT,
            )
            for doc_id, text in _joined_parts(found).items():
                score = _fts5_bm25(text.split(), phrases, idf, tokens / max(rows, 1))
                if score is not None:
                    scores[doc_id] = score
        return scores

    # -- passages ----------------------------------------------------------------

    def passages(self, ids: list[int]) -> dict[int, Passage]:
        rows = self.by_ids(self.passages_name, list(ids), PASSAGE_FIELDS)
        return {row["id"]: _to_passage(row) for row in rows}

    def passages_for_vector_rows(self, rows: list[int]) -> dict[int, Passage]:
        return self.passages(rows)

    def document_passages(self, doc_id: str) -> list[Passage]:
        rows = self.client.query(
            self.passages_name,
            filter=f"doc_id == {_literal(doc_id)}",
            output_fields=PASSAGE_FIELDS,
            limit=QUERY_LIMIT,
        )
        return sorted((_to_passage(row) for row in rows), key=lambda p: (p.start, p.passage_id))

    def statements(self, passage_ids: list[int]) -> dict[int, list[Statement]]:
        found: dict[int, list[Statement]] = {}
        for row in self.by_ids(self.passages_name, list(passage_ids), ["id", "statements"]):
            listed = [Statement(*item) for item in json.loads(row["statements"])]
            if listed:
                found[row["id"]] = sorted(listed, key=lambda s: s.start)
        return found

    def passages_quoting(self, wanted, limit: int = 200) -> list[int]:
        """Passages with a statement by the speaker asked about (as the local store:
        a cheap prefilter on the surnames' first letters, then ``wanted.matches``)."""
        if self._statements is None:
            rows = self.scan(self.passages_name, 'statements != "[]"', ["id", "statements"])
            every = [
                (row["id"], Statement(*item))
                for row in rows
                for item in json.loads(row["statements"])
            ]
            self._statements = sorted(every, key=lambda pair: (pair[0], pair[1].start))
        prefixes = [name[:3].casefold() for name in wanted.surnames]
        found: dict[int, None] = {}
        for passage_id, statement in self._statements:
            if prefixes and not any(p in statement.speaker.casefold() for p in prefixes):
                continue
            if not prefixes and wanted.side is not None and statement.side != wanted.side:
                continue
            if wanted.matches(statement.speaker, statement.side):
                found.setdefault(passage_id, None)
                if len(found) >= limit:
                    break
        return list(found)

    # -- vectors ------------------------------------------------------------------

    def dense_scores(
        self, query: np.ndarray, ids: list[int], known: dict[int, float] | None = None
    ) -> dict[int, tuple[float, float]]:
        """(passage cosine, best sentence cosine) of each citable passage among ``ids``;
        ``known`` holds cosines the dense search already gave (by passage id)."""
        known = known or {}
        if not ids:
            return {}
        query = np.asarray(query, dtype=np.float32)
        missing = [pid for pid in ids if pid not in known]
        rows = self.by_ids(self.passages_name, list(ids), ["id"], f"kind == {CITABLE}")
        citable = [row["id"] for row in rows]
        vectors = {
            row["id"]: np.asarray(row["vector"], dtype=np.float32)
            for row in self.by_ids(
                self.passages_name, [p for p in missing if p in set(citable)], ["id", "vector"]
            )
        }
        sentences = self.sentence_cosines(query, citable)
        scores = {}
        for pid in citable:
            cosine = known[pid] if pid in known else float(vectors[pid] @ query)
            each = sentences.get(pid)
            scores[pid] = (float(cosine), float(np.max(each)) if each is not None else cosine)
        return scores

    def sentence_cosines(self, query: np.ndarray, ids: list[int]) -> dict[int, np.ndarray]:
        if not ids:
            return {}
        query = np.asarray(query, dtype=np.float32)
        by_passage: dict[int, list[tuple[int, np.ndarray]]] = {}
        for offset in range(0, len(ids), ID_BATCH):
            rows = self.client.query(
                self.sentences_name,
                filter=_in_list("passage_id", ids[offset : offset + ID_BATCH]),
                output_fields=["passage_id", "position", "vector"],
                limit=QUERY_LIMIT,
            )
            for row in rows:
                vector = np.asarray(row["vector"], dtype=np.float32)
                by_passage.setdefault(row["passage_id"], []).append((row["position"], vector))
        return {
            pid: np.array([v @ query for _, v in sorted(each, key=lambda x: x[0])])
            for pid, each in by_passage.items()
        }

    # -- terms ------------------------------------------------------------------------

    def passage_frequency(self, forms: tuple[str, ...]) -> int:
        """In how many citable passages any form occurs (stops at common_term_limit)."""
        match = self._text_match(forms)
        if match is None:
            return 0
        rows = self.client.query(
            self.passages_name,
            filter=f"kind == {CITABLE} and {match}",
            output_fields=["id"],
            limit=min(self.common_term_limit, QUERY_LIMIT),
        )
        return len(rows)

    def passages_containing(self, passage_ids: list[int], forms: tuple[str, ...]) -> set[int]:
        match = self._text_match(forms)
        if match is None or not passage_ids:
            return set()
        return {row["id"] for row in self.by_ids(self.passages_name, passage_ids, ["id"], match)}

    def _text_match(self, forms: tuple[str, ...]) -> str | None:
        # FTS5 matches a form of several tokens as a phrase; Milvus's text_match takes
        # any token. A form here is one word (keywords.tokens), so one term after stemming.
        terms = sorted({t for text in stemmed(list(forms)) for t in text.split()})
        if not terms:
            return None
        return f"text_match(body_terms, {_literal(' '.join(terms))})"

    def name_variants(self, term: str) -> list[str]:
        """Names in the corpus within a small edit distance of ``term`` with the same
        first two letters (as the local store's deletion keys find them)."""
        depth = keywords.variant_depth(term)
        if depth == 0:
            return []
        if self._names is None:
            grouped: dict[str, set[str]] = {}
            for row in self.scan(self.documents_name, 'names != ""', ["names"]):
                for name in row["names"].split():
                    grouped.setdefault(name[:2], set()).add(name)
            self._names = {key: sorted(names) for key, names in grouped.items()}
        distances = {
            name: keywords.edit_distance(name, term)
            for name in self._names.get(term[:2], [])
            if name != term and abs(len(name) - len(term)) <= depth
        }
        close = sorted((d, name) for name, d in distances.items() if d <= depth)
        return [name for _, name in close[:MAX_VARIANTS]]

    # -- documents ---------------------------------------------------------------------

    def _document_and_text(self, doc_id: str) -> tuple[Document, str]:
        cached = self._document_cache.get(doc_id)
        if cached:
            return cached
        rows = self.client.query(
            self.documents_name,
            filter=f"doc_id == {_literal(doc_id)}",
            output_fields=[*_DOCUMENT_FIELDS, "part", "parts", "text"],
            limit=QUERY_LIMIT,
        )
        if not rows or len(rows) != rows[0]["parts"]:
            raise IndexCorruptError(f"document {doc_id!r} is missing from the {self.where}")
        rows.sort(key=lambda row: row["part"])
        text = "".join(row["text"] for row in rows)
        document = _to_document(rows[0])
        if "\f" in text:  # pages parted by form feeds (a PDF): where each starts
            document = Document(**{**document.__dict__, "page_starts": page_starts(text)})
        self._document_cache[doc_id] = (document, text)
        return document, text

    def document(self, doc_id: str) -> Document:
        return self._document_and_text(doc_id)[0]

    def document_text(self, doc_id: str) -> str:
        return self._document_and_text(doc_id)[1]

    def documents(self) -> list[Document]:
        if self._documents is None:
            rows = self.scan(self.documents_name, "part == 0", list(_DOCUMENT_FIELDS))
            self._documents = sorted(
                (_to_document(row) for row in rows), key=lambda d: (d.source, d.doc_id)
            )
        return self._documents

    def metadata_terms(self) -> dict[str, set[str]]:
        """As StoredIndex.metadata_terms: outlet, byline, title and date as terms."""
        if self._metadata_terms is None:
            import calendar

            found: dict[str, set[str]] = {}
            for document in self.documents():
                words = " ".join(filter(None, (document.title, document.outlet, document.byline)))
                if document.published:
                    year, month, day = document.published.split("-")
                    words += f" {year} {calendar.month_name[int(month)]} {int(day)}"
                found[document.doc_id] = set(keywords.tokens(words))
            self._metadata_terms = found
            self._metadata_vocabulary = frozenset().union(*found.values())
        return self._metadata_terms

    def metadata_vocabulary(self) -> frozenset[str]:
        self.metadata_terms()
        return self._metadata_vocabulary

    # -- what ``index sources`` and the writer read ---------------------------------------

    def document_ids(self, name: str) -> list[str]:
        """As StoredIndex.document_ids: ``[name]`` for a document id, else the ids of
        the source ``name``'s documents (sorted)."""
        documents = self.documents()
        if any(d.doc_id == name for d in documents):
            return [name]
        return sorted(d.doc_id for d in documents if d.source == name)

    def publication_dates(self) -> dict[str, list[str]]:
        dates: dict[str, list[str]] = {}
        for document in self.documents():
            if document.published:
                dates.setdefault(document.source, []).append(document.published)
        return dates

    def passage_counts(self) -> dict[str, int]:
        """Passages of each source, head lines not counted (as the build report)."""
        counts: dict[str, int] = {}
        for row in self.scan(self.passages_name, f"kind != {HEAD_LINE}", ["source"]):
            counts[row["source"]] = counts.get(row["source"], 0) + 1
        return counts

    def stored_documents(self) -> Iterator:
        """Every document with its text (SourceDocument), for the writer to keep."""
        from ...types import SourceDocument

        for document in self.documents():
            yield SourceDocument(
                doc_id=document.doc_id,
                source=document.source,
                text=self.document_text(document.doc_id),
                title=document.title,
                outlet=document.outlet,
                byline=document.byline,
                published=document.published,
                url=document.url,
                detect_metadata=False,
            )

    def stored_passages(self) -> Iterator[tuple[Passage, int | None, int | None]]:
        """Every passage in id order with its "vector row" and "first sentence row",
        both its id here (None when it has no vector), as StoredIndex gives them."""
        rows = sorted(self.scan(self.passages_name, "", PASSAGE_FIELDS), key=lambda r: r["id"])
        for row in rows:
            passage = _to_passage(row)
            own = None if passage.is_boilerplate else passage.passage_id
            yield passage, own, own

    def vector(self, passage_id: int) -> np.ndarray:
        if self._stored_vectors is None:
            rows = self.scan(self.passages_name, f"kind == {CITABLE}", ["vector"])
            self._stored_vectors = {
                row["id"]: np.asarray(row["vector"], dtype=np.float32) for row in rows
            }
        return self._stored_vectors[passage_id]

    def stored_sentence_vectors(self, passage_id: int, count: int) -> np.ndarray:
        if self._stored_sentences is None:
            grouped: dict[int, list[tuple[int, list[float]]]] = {}
            for row in self.scan(self.sentences_name, "", ["passage_id", "position", "vector"]):
                grouped.setdefault(row["passage_id"], []).append((row["position"], row["vector"]))
            self._stored_sentences = {
                pid: np.asarray([v for _, v in sorted(each, key=lambda x: x[0])], np.float16)
                for pid, each in grouped.items()
            }
        found = self._stored_sentences.get(passage_id)
        if found is None or len(found) != count:
            raise IndexCorruptError(
                f"the sentence vectors of passage {passage_id} are missing from the {self.where}",
                hint="rebuild it with: assistant index build PATH",
            )
        return found


# -- FTS5's BM25 ---------------------------------------------------------------------------


def _any_term(phrases: list[list[str]]) -> str:
    terms = sorted({term for phrase in phrases for term in phrase})
    return f"text_match(keywords, {_literal(' '.join(terms))})"


def _all_terms(phrase: list[str]) -> str:
    return " and ".join(f"text_match(keywords, {_literal(term)})" for term in phrase)


def _occurrences(tokens: list[str], phrase: list[str]) -> int:
    if len(phrase) == 1:
        return tokens.count(phrase[0])
    size = len(phrase)
    return sum(1 for i in range(len(tokens) - size + 1) if tokens[i : i + size] == phrase)


def _fts5_idf(rows: int, hits: int) -> float:
    """As fts5_aux.c's fts5Bm25GetData: an IDF of 0 or less becomes 1e-6."""
    value = math.log((rows - hits + 0.5) / (hits + 0.5))
    return value if value > 0.0 else 1e-6


def _fts5_bm25(
    tokens: list[str], phrases: list[list[str]], idf: list[float], average: float
) -> float | None:
    """fts5Bm25Function for one row (column weights 1.0), as a positive score; None
    when no phrase occurs in it (FTS5 would not match the row)."""
    frequencies = [_occurrences(tokens, phrase) for phrase in phrases]
    if not any(frequencies):
        return None
    length = float(len(tokens))
    score = 0.0
    for weight, frequency in zip(idf, frequencies, strict=True):
        score += weight * (
            (frequency * (BM25_K1 + 1.0))
            / (frequency + BM25_K1 * (1 - BM25_B + BM25_B * length / average))
        )
    return score


def _joined_parts(rows: Iterable[dict]) -> dict[str, str]:
    """Documents' keyword text, their parts joined in order."""
    parts: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        parts.setdefault(row["doc_id"], []).append((row["part"], row["keywords"]))
    return {
        doc_id: " ".join(text for _, text in sorted(each) if text) for doc_id, each in parts.items()
    }


_DOCUMENT_FIELDS = ("doc_id", "source", "title", "outlet", "byline", "published", "url")


def _to_document(row: dict) -> Document:
    return Document(*(row[name] or None for name in _DOCUMENT_FIELDS))


def _to_passage(row: dict) -> Passage:
    return Passage(
        passage_id=int(row["id"]),
        doc_id=row["doc_id"],
        source=row["source"],
        paragraph=int(row["paragraph"]),
        start=int(row["start"]),
        end=int(row["end"]),
        text=row["text"],
        is_boilerplate=row["kind"] != CITABLE,
        sentences=tuple(Span(s, e) for s, e in json.loads(row["sentences"])),
        is_head=row["kind"] == HEAD_LINE,
    )


def _source_matches(source: str, wanted: tuple[str, ...]) -> bool:
    """As filters.SearchFilter.where on one source: the file, a folder it is in, or a
    glob (SQLite GLOB: case-sensitive, ``[^…]`` negates)."""
    for name in wanted:
        folder = name.rstrip("/") + "/"
        pattern = name.replace("[^", "[!")
        if source == name or source.startswith(folder) or fnmatch.fnmatchcase(source, pattern):
            return True
    return False
