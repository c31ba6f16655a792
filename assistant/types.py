"""Core value types shared by every stage. Frozen so results can be cached and shared
(all but :class:`SourceDocument`, which the readers fill in as they find metadata)."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field

# A form feed parts the pages of a paginated text (a PDF's extracted text, as pdftotext
# writes it): page N starts after the (N-1)th one.
PAGE_BREAK = "\f"


@dataclass(frozen=True)
class Document:
    """One source document and the metadata a news reader cares about."""

    doc_id: str
    source: str
    title: str | None = None
    outlet: str | None = None
    byline: str | None = None
    published: str | None = None  # ISO date, YYYY-MM-DD
    url: str | None = None
    # Offsets where pages 2, 3, ... start; empty for a text without pages.
    page_starts: tuple[int, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding ``offset``, or None for a text without pages."""
        if not self.page_starts:
            return None
        return bisect_right(self.page_starts, offset) + 1


def page_starts(text: str) -> tuple[int, ...]:
    """Where each page after the first starts in a text whose pages are parted by
    :data:`PAGE_BREAK`."""
    starts = []
    position = text.find(PAGE_BREAK)
    while position != -1:
        starts.append(position + 1)
        position = text.find(PAGE_BREAK, position + 1)
    return tuple(starts)


@dataclass
class SourceDocument:
    """A document as read from a source, before it is stored: what the readers make and
    the writer stores. Here rather than in ``sources`` so that ``metadata``, the readers
    and the storage package need not import the module that reads files."""

    doc_id: str
    source: str
    text: str
    title: str | None = None
    outlet: str | None = None
    byline: str | None = None
    published: str | None = None
    url: str | None = None
    # Offsets of lines that are metadata (headline, byline, date): not passages.
    meta_spans: list[tuple[int, int]] = field(default_factory=list)
    detect_metadata: bool = True
    # The language the source states (``<html lang>``, front matter ``lang``, an EPUB's
    # ``dc:language``), and parts of the text in another one (an EPUB chapter's
    # ``xml:lang``): (start, end, language). Tags as stated; see :func:`primary_language`.
    language: str | None = None
    language_spans: list[tuple[int, int, str]] = field(default_factory=list)

    def language_at(self, offset: int) -> str | None:
        """The stated language of the text at ``offset`` (primary subtag), or None."""
        for start, end, language in self.language_spans:
            if start <= offset < end:
                return primary_language(language)
        return primary_language(self.language)


def primary_language(tag: str | None) -> str | None:
    """A language tag's primary subtag, lowercase ("en-US" -> "en", "pt_BR" -> "pt");
    None for no tag, or for one that is not a language ("*", "x-klingon", "und")."""
    primary = (tag or "").strip().replace("_", "-").split("-")[0].lower()
    if not primary.isalpha() or not 2 <= len(primary) <= 3 or primary in ("und", "mul", "zxx"):
        return None
    return primary


@dataclass(frozen=True)
class Statement:
    """A quotation or reported statement in a passage (found by ``speakers``, stored
    with the passages)."""

    start: int  # absolute offsets of what was said (the quotation, else the sentence)
    end: int
    speaker: str
    side: str | None


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A paragraph (or part of one) with exact offsets into its document's text."""

    passage_id: int
    doc_id: str
    source: str
    paragraph: int
    start: int
    end: int
    text: str
    is_boilerplate: bool = False
    sentences: tuple[Span, ...] = ()  # absolute offsets into the source text
    is_head: bool = False  # a headline, byline or date line (never an answer's evidence)
    language: str | None = None  # as the source states it (primary subtag), or None


@dataclass(frozen=True)
class Hit:
    """A passage found by a search, with its fused score and where it ranked."""

    passage: Passage
    score: float
    dense_rank: int | None = None
    keyword_rank: int | None = None
    dense_score: float | None = None
    keyword_score: float | None = None


@dataclass(frozen=True)
class Citation:
    """A numbered, verbatim quote: the passage plus the sentence span that answers."""

    n: int
    passage: Passage
    document: Document
    score: float
    quote: Span  # absolute offsets of the answering sentence(s)
    quote_text: str
    speaker: str | None = None  # who says the quoted words, when the passage says so
    side: str | None = None  # whom the speaker speaks for (a country)
    # The passage's stated language, when it is not the question's (None: the same, or
    # either is unknown): the quote is in another language than the question.
    other_language: str | None = None

    @property
    def page(self) -> int | None:
        """The page the passage starts on (PDF), or None."""
        return self.document.page_at(self.passage.start)

    @property
    def said_by(self) -> str | None:
        """The speaker as front ends show it: "Heydari (for Iran)", or the speaker
        alone when the name already says the side ("Azerbaijan’s Ministry of Defense")."""
        if not self.speaker:
            return None
        if self.side and self.side not in self.speaker:
            return f"{self.speaker} (for {self.side})"
        return self.speaker

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "source": self.passage.source,
            "doc_id": self.passage.doc_id,
            "title": self.document.title,
            "outlet": self.document.outlet,
            "published": self.document.published,
            "paragraph": self.passage.paragraph,
            "page": self.page,
            "start": self.passage.start,
            "end": self.passage.end,
            "text": self.passage.text,
            "score": round(float(self.score), 6),
            "quote": {"start": self.quote.start, "end": self.quote.end, "text": self.quote_text},
            "speaker": {"name": self.speaker, "side": self.side} if self.speaker else None,
            "language": self.passage.language,
            "other_language": self.other_language is not None,
        }


@dataclass(frozen=True)
class CheckedSentence:
    """One sentence of a generated answer and the verifier's verdict on it."""

    text: str  # as shown: citations to passages not given are taken out
    citations: tuple[int, ...]  # valid citation numbers
    verified: bool
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "citations": list(self.citations),
            "verified": self.verified,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class LLMReport:
    """What the language model was given and said, and what the verifier made of it."""

    url: str
    model: str | None
    raw: str = ""  # the model's answer exactly as streamed
    sentences: tuple[CheckedSentence, ...] = ()
    removed: tuple[int, ...] = ()  # citations to passages it was not given
    tokens: dict | None = None
    given: tuple[dict, ...] = ()  # n, source, paragraph of each passage in the prompt
    finish_reason: str | None = None
    error: str | None = None  # why the model gave no answer
    fallback: str | None = None  # why the extractive answer is shown instead

    def to_json(self) -> dict:
        return {
            "url": self.url,
            "model": self.model,
            "raw": self.raw,
            "sentences": [s.to_json() for s in self.sentences],
            "removed_citations": list(self.removed),
            "tokens": self.tokens,
            "passages_given": list(self.given),
            "finish_reason": self.finish_reason,
            "error": self.error,
            "fallback": self.fallback,
        }


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    nearest: tuple[Hit, ...] = ()  # offered when abstaining
    reason: str | None = None
    mode: str = "extractive"  # or "llm": a generated answer that passed verification
    llm: LLMReport | None = None  # present whenever a model was configured
    notice: str | None = None  # what a reader must know first (the model failed, ...)
    language: str | None = None  # the question's language, when its words tell it

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "nearest": [hit_to_json(h, rank) for rank, h in enumerate(self.nearest, 1)],
            "reason": self.reason,
            "mode": self.mode,
            "notice": self.notice,
            "llm": self.llm.to_json() if self.llm else None,
            "language": self.language,
        }


def hit_to_json(hit: Hit, rank: int) -> dict:
    p = hit.passage
    return {
        "rank": rank,
        "source": p.source,
        "doc_id": p.doc_id,
        "paragraph": p.paragraph,
        "start": p.start,
        "end": p.end,
        "text": p.text,
        "score": round(float(hit.score), 6),
        "language": p.language,
    }


def filter_to_json(search_filter) -> dict | None:
    """A :class:`~assistant.filters.SearchFilter` as ``--json`` gives it (None: no filter)."""
    if search_filter is None:
        return None
    return {
        "since": search_filter.since,
        "until": search_filter.until,
        "sources": list(search_filter.sources),
        "languages": list(search_filter.languages),
    }


@dataclass(frozen=True)
class IndexStatus:
    path: str
    documents: int
    passages: int
    model: str
    dimension: int
    schema_version: int
    built_at: str
    updated_at: str
    files: dict[str, str] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)
    # Where passages and vectors live ("" = the index directory), and, for a Milvus
    # store, its collection and the rows counted there.
    store_uri: str = ""
    collection: str = ""
    store_counts: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


# -- who said what (``Index.statements``, ``assistant said``) ----------------------------


@dataclass(frozen=True)
class Reported:
    """Where one outlet reported a statement: the document and the quote's offsets."""

    doc_id: str
    source: str
    title: str | None
    outlet: str | None
    published: str | None  # ISO date of the document, None when it states none
    paragraph: int
    start: int  # absolute offsets of the quote in the document's text
    end: int

    def to_json(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "outlet": self.outlet,
            "published": self.published,
            "paragraph": self.paragraph,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class SaidStatement:
    """One statement on a topic: the speaker's words verbatim, where they were first
    reported, and the other outlets that reported the same words (``also_in``)."""

    quote: str
    where: Reported
    passage: Passage  # the paragraph holding the quote (the reader opens on it)
    said_as: str  # the speaker as this source names them
    also_in: tuple[Reported, ...] = ()

    @property
    def doc_id(self) -> str:
        return self.where.doc_id

    @property
    def source(self) -> str:
        return self.where.source

    @property
    def title(self) -> str | None:
        return self.where.title

    @property
    def outlet(self) -> str | None:
        return self.where.outlet

    @property
    def published(self) -> str | None:
        return self.where.published

    @property
    def paragraph(self) -> int:
        return self.where.paragraph

    @property
    def start(self) -> int:
        return self.where.start

    @property
    def end(self) -> int:
        return self.where.end

    def to_json(self) -> dict:
        return {
            "quote": self.quote,
            **self.where.to_json(),
            "said_as": self.said_as,
            "also_in": [reported.to_json() for reported in self.also_in],
        }


@dataclass(frozen=True)
class SaidSpeaker:
    """A speaker as the index knows them (name, the role the sources give them, the
    side they speak for) and their statements on the topic, in date order."""

    speaker: str
    role: str | None
    side: str | None
    statements: tuple[SaidStatement, ...]

    def to_json(self) -> dict:
        return {
            "speaker": self.speaker,
            "role": self.role,
            "side": self.side,
            "statements": [statement.to_json() for statement in self.statements],
        }


@dataclass(frozen=True)
class WhoSaid:
    """Every speaker's statements on a topic (``Index.statements``), most statements
    first; or an abstention with its reason and the nearest passages."""

    topic: str
    speakers: tuple[SaidSpeaker, ...] = ()
    abstained: bool = False
    reason: str | None = None
    nearest: tuple[Hit, ...] = ()

    def timeline(self) -> list[tuple[SaidSpeaker, SaidStatement]]:
        """Every statement of every speaker in date order (undated ones last)."""
        pairs = [(speaker, said) for speaker in self.speakers for said in speaker.statements]
        return sorted(pairs, key=lambda pair: statement_order(pair[1]))

    def to_json(self) -> dict:
        return {
            "topic": self.topic,
            "speakers": [speaker.to_json() for speaker in self.speakers],
            "abstained": self.abstained,
            "reason": self.reason,
            "nearest": [hit_to_json(h, rank) for rank, h in enumerate(self.nearest, 1)],
        }


def statement_order(said: SaidStatement) -> tuple:
    """Date order, undated last; then by document and place in it."""
    return (said.published is None, said.published or "", said.doc_id, said.start)
