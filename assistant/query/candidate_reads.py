"""What a question's candidates need of the store, gathered in a few batched calls:
the passages quoting the speaker asked about and those following the best (for "what
did X say"), then everything about the candidates at once (statements, which question
terms each holds, sentence cosines, their documents and the documents' passages).

:class:`DocumentCache` keeps documents' passages, metadata and terms for every step
and every question that needs them (one store version: the answerer lives as long).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..filters import SearchFilter
from ..ingest import speakers
from ..storage.base import ReadStore
from ..storage.reads import ReadResult, Reads
from ..text import keywords
from ..types import Document, Hit, Passage
from .question import QuestionAnalysis
from .retrieval import QueryAnalysis, Retriever

# Passages after the best ones (the quotation after "X said:") join the candidates.
NEIGHBOURS_OF = 6
DOCUMENT_CACHE_LIMIT = 256


def speaks(said: list[speakers.Statement], wanted: speakers.SpeakerQuery) -> bool:
    return any(wanted.matches(s.speaker, s.side) for s in said)


def names_speaker(term: str, wanted: speakers.SpeakerQuery) -> bool:
    """Whether a question term names the speaker asked about ("azerbaijan", "heydari")."""
    if wanted.side and speakers.country_in(term) == wanted.side:
        return True
    if term in wanted.owners:
        return True
    return any(speakers.same_surname(term, name) for name in wanted.surnames)


class DocumentCache:
    """Documents' passages, metadata and terms, read once for every step and every
    question that needs them (one store version: the answerer lives as long as it)."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self.passages: dict[str, list[Passage]] = {}
        self.documents: dict[str, Document] = {}
        self._vocabulary: dict[str, set[str]] = {}
        self._metadata: dict[str, set[str]] | None = None
        self._every_term: frozenset[str] | None = None
        self._citable_count: int | None = None

    def missing(self, doc_ids) -> list[str]:
        """Those of the documents whose passages are not here yet."""
        return [d for d in dict.fromkeys(doc_ids) if d not in self.passages]

    def keep(self, passages: dict[str, list[Passage]], documents: dict[str, Document]) -> None:
        if len(self.passages) + len(passages) > DOCUMENT_CACHE_LIMIT:
            self.passages.clear()
            self._vocabulary.clear()
        if len(self.documents) + len(documents) > DOCUMENT_CACHE_LIMIT:
            self.documents.clear()
        self.passages.update(passages)
        self.documents.update(documents)

    def keep_metadata(self, terms: dict[str, set[str]]) -> None:
        if self._metadata is None:
            self._metadata = terms

    @property
    def wants_metadata(self) -> bool:
        return self._metadata is None

    def metadata(self) -> dict[str, set[str]]:
        """Each document's metadata terms (read with the first question's reads)."""
        if self._metadata is None:
            self._metadata = self.store.metadata_terms()
        return self._metadata

    def vocabulary(self) -> frozenset[str]:
        """Every term of any document's metadata."""
        if self._every_term is None:
            self._every_term = frozenset().union(*self.metadata().values())
        return self._every_term

    def citable_count(self) -> int:
        if self._citable_count is None:
            self._citable_count = self.store.citable_passage_count()
        return self._citable_count

    def passages_of(self, doc_id: str) -> list[Passage]:
        """All of a document's passages in text order (head lines and boilerplate too)."""
        found = self.passages.get(doc_id)
        if found is None:  # not read with the candidates' (or emptied since)
            found = self.store.document_passages(doc_id)
            self.keep({doc_id: found}, {})
        return found

    def citable_of(self, doc_id: str) -> list[Passage]:
        return [p for p in self.passages_of(doc_id) if not p.is_boilerplate]

    def document(self, doc_id: str) -> Document:
        found = self.documents.get(doc_id)
        if found is None:
            found = self.store.document(doc_id)
            self.keep({}, {doc_id: found})
        return found

    def terms(self, doc_id: str) -> set[str]:
        """Every term of a document: its passages' and its metadata's."""
        terms = self._vocabulary.get(doc_id)
        if terms is None:
            text = " ".join(p.text for p in self.passages_of(doc_id))
            terms = set(keywords.tokens(text)) | self.metadata().get(doc_id, set())
            self._vocabulary[doc_id] = terms
        return terms


@dataclass
class Gathered:
    """What the store gave for a question's candidates."""

    hits: list[Hit]  # the candidates, passages added for the speaker and after the best
    statements: dict[int, list[speakers.Statement]]
    holders: dict[str, set[int]]  # which candidates hold each question term
    topic_cosines: dict[int, np.ndarray]  # sentence cosines with the topic alone
    question_cosines: dict[int, np.ndarray]  # sentence cosines with the question


class QuestionReads:
    """The candidates of one question and what the evidence needs of them, in a few
    batched store calls: the passages quoting the speaker asked about and the passages
    following the best (for "what did X say"), then everything about the candidates
    at once (statements, which terms each holds, sentence cosines, their documents)."""

    def __init__(self, store: ReadStore, retriever: Retriever, documents: DocumentCache) -> None:
        self.store = store
        self.retriever = retriever
        self.documents = documents

    def gather(
        self,
        analysis: QueryAnalysis,
        hits: list[Hit],
        wanted: speakers.SpeakerQuery | None,
        search_filter: SearchFilter | None,
    ) -> Gathered:
        question = analysis.question
        said = question.kind == "said"
        first = Reads(
            quoting=wanted,
            document_passages=self.documents.missing(h.passage.doc_id for h in hits),
            metadata_terms=self.documents.wants_metadata,
        )
        quoting: list[int] = []
        if first.quoting is not None or first.document_passages or first.metadata_terms:
            found = self.store.read(first)
            self.documents.keep(found.document_passages, {})
            self.documents.keep_metadata(found.metadata_terms)
            quoting = found.quoting
        have = {hit.passage.passage_id for hit in hits}
        quoting = [pid for pid in quoting if pid not in have]
        following = self._following(hits, have) if said else []
        added = self._added(analysis, wanted, quoting, following, search_filter)
        return self._about(analysis, hits, added, said)

    def _following(self, hits: list[Hit], have: set[int]) -> list[int]:
        """The citable passage after each of the best candidates: "X said:" or a
        narrative line naming X is often followed by the quotation itself."""
        found: list[int] = []
        seen = set(have)
        for hit in hits[:NEIGHBOURS_OF]:
            passages = self.documents.citable_of(hit.passage.doc_id)
            for index, passage in enumerate(passages[:-1]):
                after = passages[index + 1].passage_id
                if passage.passage_id == hit.passage.passage_id and after not in seen:
                    found.append(after)
                    seen.add(after)
        return found

    def _added(
        self,
        analysis: QueryAnalysis,
        wanted: speakers.SpeakerQuery | None,
        quoting: list[int],
        following: list[int],
        search_filter: SearchFilter | None,
    ) -> dict[str, list]:
        """The passages that join the candidates: those quoting the speaker asked about
        that hold a topic word of the question, and those following the best (and the
        documents of the former)."""
        if not (quoting or following):
            return {"quoting": [], "following": [], "documents": []}
        topic = {
            t: analysis.forms[t]
            for t in analysis.terms
            if wanted is not None and not names_speaker(t, wanted)
        }
        filtering = search_filter is not None
        checked = self.store.read(
            Reads(
                passages=quoting,  # their documents are read with the candidates'
                containing=topic if quoting else {},
                containing_ids=quoting,
                allowed=(quoting + following, search_filter) if filtering else None,
            )
        )

        allowed = set(checked.allowed) if filtering else None
        on_topic: set[int] = set().union(*checked.containing.values()) if quoting else set()
        return {
            "quoting": sorted(p for p in on_topic if allowed is None or p in allowed),
            "following": [p for p in following if allowed is None or p in allowed],
            "documents": sorted({p.doc_id for p in checked.passages.values()}),
        }

    def _about(
        self,
        analysis: QueryAnalysis,
        hits: list[Hit],
        added: dict[str, list],
        said: bool,
    ) -> Gathered:
        """One read for everything about the candidates and the passages that join
        them (asked for all of these; those that turn out boilerplate are left out)."""
        joining = sorted(set(added["quoting"]) | set(added["following"]))
        ids = [h.passage.passage_id for h in hits if not h.passage.is_boilerplate] + [
            p for p in joining if p not in {h.passage.passage_id for h in hits}
        ]
        topic_vector = self._topic_vector(analysis.question)
        vectors = [(analysis.vector, ids)]
        if topic_vector is not None:
            vectors.append((topic_vector, ids))
        # The documents of the candidates, and of the speaker's passages that may join.
        doc_ids = [h.passage.doc_id for h in hits] + added["documents"]
        about = self.store.read(
            Reads(
                passages=joining,
                dense_scores=(analysis.vector, joining, {}) if joining else None,
                statements=ids,
                containing={t: analysis.forms[t] for t in analysis.terms},
                containing_ids=ids,
                sentence_cosines=vectors,
                documents=doc_ids,
                document_passages=self.documents.missing(doc_ids),
            )
        )
        self.documents.keep(about.document_passages, about.documents)
        hits = self._joined(hits, added, about, said)
        hits = [h for h in hits if not h.passage.is_boilerplate]
        self._read_documents([h.passage.doc_id for h in hits])
        return Gathered(
            hits=hits,
            statements=about.statements,
            holders=about.containing,
            topic_cosines=about.sentence_cosines[1] if topic_vector is not None else {},
            question_cosines=about.sentence_cosines[0],
        )

    @staticmethod
    def _joined(
        hits: list[Hit], added: dict[str, list], about: ReadResult, said: bool
    ) -> list[Hit]:
        """The candidates, then the speaker's passages, then those following the best
        (as hits with the dense score of their best sentence; ids in order)."""

        def as_hits(passage_ids: list[int]) -> list[Hit]:
            scores = {p: about.dense_scores[p] for p in passage_ids if p in about.dense_scores}
            return [
                Hit(passage=about.passages[pid], score=0.0, dense_score=scores[pid][1])
                for pid in sorted(scores)
                if pid in about.passages
            ]

        joined = hits + as_hits(added["quoting"])
        if said:
            have = {h.passage.passage_id for h in joined}
            joined += as_hits([p for p in added["following"] if p not in have])
        return joined

    def _read_documents(self, doc_ids: list[str]) -> None:
        """The passages and metadata of documents the joining passages brought in."""
        passages = self.documents.missing(doc_ids)
        documents = [d for d in dict.fromkeys(doc_ids) if d not in self.documents.documents]
        if passages or documents:
            found = self.store.read(Reads(document_passages=passages, documents=documents))
            self.documents.keep(found.document_passages, found.documents)

    def _topic_vector(self, question: QuestionAnalysis) -> np.ndarray | None:
        """The question's topic words alone, embedded: "what did the minister say about
        X" is otherwise close to anything the minister said. Only for questions with a
        frame or speaker to leave out."""
        topic = question.topic_terms
        if not topic or len(topic) == len(question.terms):
            return None
        return self.retriever.embed([" ".join(topic)])[0]
