"""The read side of a Milvus store: :class:`MilvusReader` answers the read protocol
(:class:`~assistant.storage.base.ReadStore`) from an index's three collections, so
that retrieval and answering run unchanged over it and answers come out the same as
from the local store.

Keyword scores are FTS5's own: the engine finds the passages holding a query term
(``text_match``, or a BM25 search for the rows holding any) and the client scores them
with FTS5's ``bm25()`` formula (:mod:`assistant.storage.terms`). The engine's BM25
function serves :meth:`MilvusReader.hybrid_search`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import IndexCorruptError, UsageError
from ...text import keywords
from ...types import Document, Passage, Statement
from ..layout import REBUILD
from ..reads import BatchedReads, Found, ReadResult, Reads, TermStatistics
from ..source_filter import matching_sources
from ..terms import document_metadata_terms, fts5_bm25, fts5_idf, match_terms, occurrences, stemmed
from .cache import ROW_FIELDS, RowCache
from .connection import (
    CITABLE,
    HEAD_LINE,
    ID_BATCH,
    QUERY_LIMIT,
    Collections,
    StoreTarget,
    check_compatible,
    connect,
    count_rows,
    in_list,
    literal,
    parse_store_uri,
    read_manifest,
)
from .records import DOCUMENT_FIELDS, PASSAGE_FIELDS, to_document, to_passage

if TYPE_CHECKING:
    from ..layout import Manifest, ModelSpec

# The same cut as the local store: a term in more passages than this is common.
COMMON_TERM_FLOOR = 2_000
COMMON_TERM_SHARE = 0.005
MAX_VARIANTS = 4
HNSW_EF = 128


def open_reader(
    store: str,
    index_name: str,
    *,
    manifest: Manifest | None = None,
    expected: ModelSpec | None = None,
) -> MilvusReader:
    """The reader of an index whose manifest names this store (``manifest``: that
    directory manifest, which the reader then gives as its own)."""
    target = parse_store_uri(store)
    return MilvusReader(connect(target), index_name, target, manifest=manifest, expected=expected)


# -- status and verify -------------------------------------------------------------------


def status(client, index_name: str, target: StoreTarget | None = None) -> dict:
    """Counts and model, as ``index status --json`` shows them (cheap: no scan)."""
    collections = Collections(client, index_name, target)
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
    IndexCorruptError (5: rows changed after the write that made them, which a write
    never leaves: it writes new collections, and the manifest names them once whole;
    ``index build`` writes them again).
    """
    collections = Collections(client, index_name, target)
    manifest = read_manifest(collections)
    check_compatible(collections, manifest, expected)
    collections.load()
    counted = count_rows(collections)
    recorded = {name: getattr(manifest, name) for name in counted}
    if counted != recorded:
        differing = ", ".join(
            f"{name} {counted[name]} (recorded {recorded[name]})"
            for name in counted
            if counted[name] != recorded[name]
        )
        raise IndexCorruptError(
            f"the {collections.where} holds {differing}: changed since it was written",
            hint=REBUILD,
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


class MilvusReader(Collections, BatchedReads):
    """The read protocol (:class:`~assistant.storage.base.ReadStore`) answered by
    Milvus, with the same results as the local store.

    Differences: vector "rows" are passage ids (``passages_for_vector_rows`` is
    ``passages``), and a restriction is a :class:`MilvusRestriction`. What it fetched
    is kept (:class:`~.cache.RowCache`): a reader is one version of the index.
    """

    def __init__(
        self,
        client,
        index_name: str,
        target: StoreTarget | None = None,
        *,
        manifest: Manifest | None = None,
        expected: ModelSpec | None = None,
    ) -> None:
        super().__init__(client, index_name, target)
        self._properties: dict | None = None
        # What the last write recorded on the collection (counts, model, dense index);
        # ``manifest`` is the index directory's (its files) when it is given.
        self.recorded = read_manifest(self)
        self.manifest = manifest if manifest is not None else self.recorded
        check_compatible(self, self.recorded, expected)
        self.load()
        self.common_term_limit = max(
            COMMON_TERM_FLOOR, int(COMMON_TERM_SHARE * self.recorded.vectors)
        )
        self.cache = RowCache(self)
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
        return self.recorded.vectors

    def properties(self) -> dict:
        """The collection's recorded properties, read once (a reader is one version)."""
        if self._properties is None:
            self._properties = super().properties()
        return self._properties

    def store_facts(self) -> dict[str, object]:
        """The store's name, the passages collection and the counts recorded there."""
        return {
            "store_uri": self.target.given if self.target else "",
            "collection": self.passages_name,
            "store_counts": {
                name: getattr(self.recorded, name)
                for name in ("documents", "passages", "vectors", "sentences")
            },
        }

    # -- batched: few round trips a question ------------------------------------------

    def term_statistics(
        self, terms: Sequence[str], wants_variants: Callable[[str, int], bool]
    ) -> dict[str, TermStatistics]:
        """As :meth:`BatchedReads.term_statistics`, from one query: the citable passages
        holding any term or any spelling variant, counted here form by form. (Spelling
        variants come from the names read once per reader.) When the terms are in more
        passages than a query returns, each count is asked of the engine instead."""
        terms = list(dict.fromkeys(terms))
        variants = {term: self.name_variants(term) for term in terms}
        stems = {form: _form_terms([form]) for t in terms for form in (t, *variants[t])}
        every = sorted(set().union(*stems.values())) if stems else []
        if not every:
            return super().term_statistics(terms, wants_variants)
        rows = self.client.query(
            self.passages_name,
            filter=f"kind == {CITABLE} and text_match(body_terms, {literal(' '.join(every))})",
            output_fields=["body_terms"],
            limit=QUERY_LIMIT,
        )
        if len(rows) >= QUERY_LIMIT:
            return super().term_statistics(terms, wants_variants)
        held = [set(row["body_terms"].split()) for row in rows]
        limit = min(self.common_term_limit, QUERY_LIMIT)

        def frequency(forms: tuple[str, ...]) -> int:
            wanted = set().union(*(stems[form] for form in forms))
            return min(sum(1 for terms_of in held if wanted & terms_of), limit) if wanted else 0

        found = {}
        for term in terms:
            own = frequency((term,))
            chosen = variants[term] if wants_variants(term, own) else []
            forms = (term, *chosen)
            found[term] = TermStatistics(forms, frequency(forms) if chosen else own)
        return found

    def search(self, query: np.ndarray, match: str, k: int, restriction: Any = None) -> Found:
        """As :meth:`BatchedReads.search`: the dense search brings its passages along;
        those only the keyword side found come in one query, with their vectors (the
        dense scores ask for them next)."""
        dense = self.dense_search(query, k, restriction)
        keyword = self.keyword_search(match, k, restriction) if match else []
        dense_ids = {pid for pid, _ in dense}
        self.cache.fetch_rows([pid for pid, _ in keyword if pid not in dense_ids], vectors=True)
        passages = self.passages([pid for pid, _ in dense] + [pid for pid, _ in keyword])
        return Found([(pid, score) for pid, score in dense if pid in passages], keyword, passages)

    def read(self, reads: Reads) -> ReadResult:
        """As :meth:`BatchedReads.read`, with what it needs fetched first in as few
        queries as the collections allow (rows, sentence vectors, documents)."""
        ids = [*reads.passages, *reads.statements, *reads.containing_ids]
        vector_ids: list[int] = []
        sentence_ids: list[int] = []
        if reads.dense_scores is not None:
            _, wanted, known = reads.dense_scores
            ids.extend(p for p in wanted if p in known)
            vector_ids = [p for p in wanted if p not in known]
            sentence_ids.extend(wanted)
        for _, wanted in reads.sentence_cosines:
            sentence_ids.extend(wanted)
        self.cache.fetch_rows(ids)
        self.cache.fetch_rows(vector_ids, vectors=True)
        self.cache.fetch_sentences(
            [p for p in sentence_ids if self.cache.rows.get(p, {}).get("kind", CITABLE) == CITABLE]
        )
        if reads.documents:
            self.cache.fetch_documents(reads.documents)
        result = super().read(dataclasses.replace(reads, document_passages=()))
        if reads.document_passages:
            result.document_passages = self._documents_passages(
                list(dict.fromkeys(reads.document_passages))
            )
        return result

    # -- filters -------------------------------------------------------------

    def filter_expression(self, search_filter) -> str:
        """A :class:`~assistant.filters.SearchFilter` as a Milvus expression. Dates
        compare as ISO strings; a document without a date ("") fails any date bound.
        Sources are matched here against the indexed sources, as the local store does
        (outlet in any case, exact file, folder, SQLite-style glob), and become a list.
        A Milvus store keeps no passage languages: a language filter is refused."""
        if search_filter.languages:
            raise UsageError(
                "a Milvus store keeps no passage languages: --lang needs a local index"
            )
        clauses = []
        if search_filter.since:
            clauses.append(f"published >= {literal(search_filter.since)}")
        if search_filter.until:
            clauses.append(f'published != "" and published <= {literal(search_filter.until)}')
        if search_filter.sources:
            outlets = sorted({s.casefold() for s in search_filter.sources})
            sources = matching_sources((d.source for d in self.documents()), search_filter.sources)
            either = [in_list("outlet_key", outlets)]
            if sources:
                either.append(in_list("source", sources))
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
        if self.recorded.vectors == 0 or k <= 0:
            return []
        params = {"metric_type": "IP"}
        if self.recorded.dense_index == "HNSW":
            params["params"] = {"ef": max(HNSW_EF, k)}
        found = self.client.search(
            self.passages_name,
            data=[np.asarray(query, dtype=np.float32).tolist()],
            anns_field="vector",
            limit=min(k, QUERY_LIMIT),
            filter=self._searchable(restriction),
            search_params=params,
            output_fields=ROW_FIELDS,  # kept: the passages are what is asked next
        )
        self.cache.keep_rows({**hit["entity"], "id": int(hit["id"])} for hit in found[0])
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
        rows = int(self.recorded.vectors)
        average = int(self.properties().get("assistant.keyword_tokens", "0")) / max(rows, 1)
        found = self._rows_with_any(phrases)
        if found is None:  # too many for one search
            idf = [fts5_idf(rows, self._passages_with(phrase)) for phrase in phrases]
            expression = f"{self._searchable(restriction)} and {_any_term(phrases)}"
            found = [
                (row["id"], row["keywords"].split())
                for row in self.scan(self.passages_name, expression, ["keywords"])
            ]
        else:
            idf = [
                fts5_idf(rows, sum(1 for _, tokens in found if occurrences(tokens, phrase)))
                for phrase in phrases
            ]
            if restriction is not None:
                allowed = set(restriction.vector_rows.tolist())
                found = [(pid, tokens) for pid, tokens in found if pid in allowed]
        scored = []
        for passage_id, tokens in found:
            score = fts5_bm25(tokens, phrases, idf, average)
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
        return sum(1 for row in found if occurrences(row["keywords"].split(), phrase))

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
            output_fields=["doc_id", "part", "parts", "keywords"],
        )[0]
        idf = []
        if len(matched) < QUERY_LIMIT:  # every part holding a term: count in those
            texts = _joined_parts(hit["entity"] for hit in matched)
            for phrase in phrases:
                hits = sum(1 for text in texts.values() if occurrences(text.split(), phrase))
                idf.append(fts5_idf(rows, hits))
        for phrase in phrases if not idf else ():  # too many for one search: the engine counts
            found = self.scan(
                self.documents_name, _all_terms(phrase), ["doc_id", "part", "keywords"]
            )
            if len(phrase) == 1:
                idf.append(fts5_idf(rows, len({row["doc_id"] for row in found})))
            else:
                texts = _joined_parts(found)
                hits = sum(1 for text in texts.values() if occurrences(text.split(), phrase))
                idf.append(fts5_idf(rows, hits))
        texts = self._document_keywords(doc_ids, matched if len(matched) < QUERY_LIMIT else None)
        scores: dict[str, float] = {}
        for doc_id, text in texts.items():
            score = fts5_bm25(text.split(), phrases, idf, tokens / max(rows, 1))
            if score is not None:
                scores[doc_id] = score
        return scores

    def _document_keywords(self, doc_ids: list[str], matched: list | None) -> dict[str, str]:
        """The keyword text of these documents, parts joined. ``matched``: every part
        holding a query term (when one search gave them all): a document with none
        cannot match, and one of a single part is complete there; only the parts of
        longer documents are then fetched."""
        wanted = list(doc_ids)
        texts: dict[str, str] = {}
        if matched is not None:
            held = {hit["entity"]["doc_id"]: hit["entity"] for hit in matched}
            single = [hit["entity"] for hit in matched if hit["entity"]["parts"] == 1]
            texts = {d: t for d, t in _joined_parts(single).items() if d in set(wanted)}
            wanted = [d for d in wanted if d in held and d not in texts]
        for offset in range(0, len(wanted), ID_BATCH):
            found = self.client.query(
                self.documents_name,
                filter=in_list("doc_id", wanted[offset : offset + ID_BATCH]),
                output_fields=["doc_id", "part", "keywords"],
                limit=QUERY_LIMIT,
            )
            texts.update(_joined_parts(found))
        return texts

    # -- passages ----------------------------------------------------------------

    def passages(self, ids: list[int]) -> dict[int, Passage]:
        return {pid: to_passage(row) for pid, row in self.cache.fetch_rows(ids).items()}

    def passages_for_vector_rows(self, rows: list[int]) -> dict[int, Passage]:
        return self.passages(rows)

    def document_passages(self, doc_id: str) -> list[Passage]:
        return self._documents_passages([doc_id])[doc_id]

    def _documents_passages(self, doc_ids: list[str]) -> dict[str, list[Passage]]:
        """Each document's passages in text order, one query for all of them."""
        return {
            doc_id: sorted((to_passage(r) for r in rows), key=lambda p: (p.start, p.passage_id))
            for doc_id, rows in self.cache.document_rows(list(doc_ids)).items()
        }

    def statements(self, passage_ids: list[int]) -> dict[int, list[Statement]]:
        found: dict[int, list[Statement]] = {}
        for pid, row in self.cache.fetch_rows(passage_ids).items():
            listed = [Statement(*item) for item in json.loads(row["statements"])]
            if listed:
                found[pid] = sorted(listed, key=lambda s: s.start)
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
        rows = self.cache.fetch_rows([p for p in ids if p in known])
        rows.update(self.cache.fetch_rows([p for p in ids if p not in known], vectors=True))
        citable = [
            pid for pid in dict.fromkeys(ids) if pid in rows and rows[pid]["kind"] == CITABLE
        ]
        sentences = self.sentence_cosines(query, citable)
        scores = {}
        for pid in citable:
            if pid in known:
                cosine = known[pid]
            else:
                cosine = float(np.asarray(rows[pid]["vector"], dtype=np.float32) @ query)
            each = sentences.get(pid)
            scores[pid] = (float(cosine), float(np.max(each)) if each is not None else cosine)
        return scores

    def sentence_cosines(self, query: np.ndarray, ids: list[int]) -> dict[int, np.ndarray]:
        if not ids:
            return {}
        query = np.asarray(query, dtype=np.float32)
        return {
            pid: np.array([v @ query for _, v in sorted(each, key=lambda x: x[0])])
            for pid, each in self.cache.fetch_sentences(ids).items()
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
        """Which of the passages hold any form's terms: tested on their body terms as
        fetched (the tokens ``text_match`` matches: the stored text is FTS5's terms
        joined by spaces)."""
        terms = _form_terms(forms)
        if not terms or not passage_ids:
            return set()
        rows = self.cache.fetch_rows(passage_ids)
        return {pid for pid, row in rows.items() if terms & set(row["body_terms"].split())}

    def _text_match(self, forms: tuple[str, ...]) -> str | None:
        terms = sorted(_form_terms(forms))
        if not terms:
            return None
        return f"text_match(body_terms, {literal(' '.join(terms))})"

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
        return self.cache.fetch_documents([doc_id])[doc_id]

    def document(self, doc_id: str) -> Document:
        return self._document_and_text(doc_id)[0]

    def document_text(self, doc_id: str) -> str:
        return self._document_and_text(doc_id)[1]

    def documents(self) -> list[Document]:
        if self._documents is None:
            rows = self.scan(self.documents_name, "part == 0", list(DOCUMENT_FIELDS))
            self._documents = sorted(
                (to_document(row) for row in rows), key=lambda d: (d.source, d.doc_id)
            )
        return self._documents

    def metadata_terms(self) -> dict[str, set[str]]:
        """As StoredIndex.metadata_terms: outlet, byline, title and date as terms."""
        if self._metadata_terms is None:
            found = {d.doc_id: document_metadata_terms(d) for d in self.documents()}
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
            passage = to_passage(row)
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


def _form_terms(forms: Iterable[str]) -> set[str]:
    """The stemmed terms of a term's forms. FTS5 matches a form of several tokens as a
    phrase; Milvus's text_match takes any token. A form here is one word
    (keywords.tokens), so one term after stemming."""
    return {t for text in stemmed(list(forms)) for t in text.split()}


def _any_term(phrases: list[list[str]]) -> str:
    terms = sorted({term for phrase in phrases for term in phrase})
    return f"text_match(keywords, {literal(' '.join(terms))})"


def _all_terms(phrase: list[str]) -> str:
    return " and ".join(f"text_match(keywords, {literal(term)})" for term in phrase)


def _joined_parts(rows: Iterable[dict]) -> dict[str, str]:
    """Documents' keyword text, their parts joined in order."""
    parts: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        parts.setdefault(row["doc_id"], []).append((row["part"], row["keywords"]))
    return {
        doc_id: " ".join(text for _, text in sorted(each) if text) for doc_id, each in parts.items()
    }
