"""Milvus as the index store: passages, vectors and BM25 live in the engine.

``--store milvus:PATH.db`` is Milvus Lite (a local file); ``--store milvus://HOST:PORT``
or ``https://…`` a Milvus server or cluster (token from ``$ASSISTANT_MILVUS_TOKEN`` or
the config file's ``[milvus] token``). The embedding model stays local: the client
embeds with the same ONNX path and hands the engine vectors; the engine stores and
searches. Fusion and the evidence logic stay the project's own (query/): the reader
(:mod:`.reader`) answers the same calls :class:`~assistant.storage.local.StoredIndex`
answers, so answers come out the same. The writer (:mod:`.writer`) writes.

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
keeps only its manifest: the indexing pipeline hands batches to
:class:`.writer.MilvusStoreWriter`, and :class:`assistant.Index` reads them with
:class:`.reader.MilvusReader`.

pymilvus is imported only when a Milvus store is opened.
"""

from __future__ import annotations

from .connection import (
    TOKEN_ENVIRONMENT,
    MilvusManifest,
    StoreTarget,
    connect,
    index_name_for,
    parse_store_uri,
    recorded_uri,
)
from .reader import MilvusReader, open_reader, status, verify
from .writer import MilvusStoreWriter, MilvusWriter, copy_local_index, records_from_local

__all__ = [
    "TOKEN_ENVIRONMENT",
    "MilvusManifest",
    "MilvusReader",
    "MilvusStoreWriter",
    "MilvusWriter",
    "StoreTarget",
    "connect",
    "copy_local_index",
    "index_name_for",
    "open_reader",
    "parse_store_uri",
    "recorded_uri",
    "records_from_local",
    "status",
    "verify",
]
