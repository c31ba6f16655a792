"""How citations and documents are written out, shared by the CLI, the chat and the
Markdown export, so that the three never disagree on a label.

The labels are built from the stored text as it is: a front end shows them through
:func:`one_line` (controls made visible), and the clipboard cleans them its own way
(:func:`~assistant.text.display.paste_safe`), which must still see the raw characters.
"""

from __future__ import annotations

from ..text.display import flowed, inert


def one_line(text: str) -> str:
    """Untrusted text on one line, as a reader reads it: the line breaks of hard-wrapped
    text are spaces (:func:`~assistant.text.display.flowed`), other controls made
    visible, runs of whitespace one space. The CLI, the chat and the Markdown export
    all write quotes and labels with it."""
    return " ".join(inert(flowed(str(text)), keep_newlines=False).split())


def changed_warning(source: str) -> str:
    """What front ends say when a cited source changed on disk since it was indexed."""
    return (
        f"{source} changed since it was indexed; its quotes show the indexed text"
        " (run: assistant index update)"
    )


def changed_warnings(index, sources) -> list[str]:
    """One :func:`changed_warning` for each of ``sources`` that changed on disk."""
    return [changed_warning(name) for name in index.changed_sources(sources)]


def document_label(document, source: str | None = None) -> str:
    """``Title — outlet, date``; the file's name (a page's URL) stands in for a missing
    title: the path is on the location line already."""
    label = document.title or short_name(source or document.source)
    facts = ", ".join(f for f in (document.outlet, document.published) if f)
    return f"{label} — {facts}" if facts else label


def short_name(source: str) -> str:
    if "://" in source:
        return source
    return source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or source


def location(passage, document=None) -> str:
    """``file p. N ¶paragraph``: where a passage is (the page only for paged texts)."""
    page = document.page_at(passage.start) if document is not None else None
    at = f" p. {page}" if page else ""
    return f"{passage.source}{at} ¶{passage.paragraph}"


def characters(passage) -> str:
    return f"characters {passage.start}–{passage.end}"


def said_by(citation) -> str | None:
    """``said by Heydari (for Iran)``, or None when the passage names no speaker."""
    speaker = citation.said_by
    return f"said by {speaker}" if speaker else None


def quote_line(citation) -> str:
    """One answer line, shown: the quote, who says it when the source says so, ``[n]``."""
    speaker = citation.said_by
    by = f" — {one_line(speaker)}" if speaker else ""
    return f"{one_line(citation.quote_text)}{by} [{citation.n}]"


def language_note(code: str) -> str:
    """``in Spanish``: said of a source in another language than the question's."""
    from ..query.language import name

    return f"in {name(code)}"


def citation_label(citation) -> str:
    """``Title — outlet, date — file ¶paragraph (characters start–end)``, and ``(in
    Spanish)`` when the passage is in another language than the question."""
    document, passage = citation.document, citation.passage
    other = getattr(citation, "other_language", None)
    note = f" ({language_note(other)})" if other else ""
    return (
        f"{document_label(document, passage.source)} — {location(passage, document)}"
        f" ({characters(passage)}){note}"
    )


def citation_clipboard_text(citation) -> str:
    """What ``y`` copies: the quote in quotation marks, then where it comes from. The
    quote is the source's text as it is (only the clipboard cleaning applies)."""
    return f"“{citation.quote_text}” — {citation_label(citation)}"


# -- progress of long work (index build, update, add) -----------------------------------

STAGES = {
    "reading": ("Reading", "files"),
    "preparing": ("Preparing", "passages"),
    "embedding": ("Embedding", "passages"),
}


class ProgressFigures:
    """What a progress display shows, worked out from the indexer's (stage, done,
    total) calls and its details (:meth:`detail`): the count, the rate, the time left
    and the file at hand, per stage. The CLI's bar and the chat's build screen both
    show :meth:`line`.

    While embedding, the time left comes from the work left in word pieces when the
    indexer tells it (passages differ in length: a count of passages or files would
    promise too early), else from the count."""

    def __init__(self, clock=None) -> None:
        import time

        self._clock = clock or time.monotonic
        self.stage = ""
        self.done = self.total = 0
        self._started = 0.0
        self.files_read = 0
        self.passages_embedded = 0
        self.current: str | None = None  # the source at hand
        self.work: tuple[int, int] | None = None  # (tokens done, tokens in all)

    def detail(self, current: str | None = None, work: tuple[int, int] | None = None) -> None:
        """The indexer's details, told before the (stage, done, total) they go with."""
        self.current = current
        self.work = work

    def update(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.stage, self._started = stage, self._clock()
        self.done, self.total = done, total
        if stage == "reading":
            self.files_read = done
        elif stage == "embedding":
            self.passages_embedded = done

    @property
    def rate(self) -> float | None:
        """Units per second in this stage, once there is enough to measure."""
        elapsed = self._clock() - self._started
        return self.done / elapsed if self.done and elapsed >= 0.2 else None

    @property
    def seconds_left(self) -> float | None:
        if self.stage == "embedding" and self.work is not None:
            tokens_done, tokens = self.work
            elapsed = self._clock() - self._started
            if tokens_done and elapsed >= 0.2:
                return (tokens - tokens_done) * elapsed / tokens_done
            return None
        rate = self.rate
        return (self.total - self.done) / rate if rate else None

    @property
    def fraction(self) -> float:
        if self.stage == "embedding" and self.work is not None and self.work[1]:
            return min(self.work[0] / self.work[1], 1.0)
        return min(self.done / self.total, 1.0) if self.total else 0.0

    def line(self) -> str:
        """``Embedding 1,200 of 11,000 passages · 38/s · about 4 min 18 s left · a.txt``."""
        if self.stage == "writing":
            return "Writing the index" if self.done < self.total else "Written"
        name, unit = STAGES.get(self.stage, (self.stage.capitalize(), ""))
        parts = [f"{name} {self.done:,} of {self.total:,} {unit}".rstrip()]
        rate, left = self.rate, self.seconds_left
        if rate is not None:
            parts.append(f"{rate:,.1f}/s" if rate < 10 else f"{rate:,.0f}/s")
        if left is not None and self.done < self.total:
            parts.append(f"about {duration(left)} left")
        if self.current and self.done < self.total:
            parts.append(short_name(self.current))
        return " · ".join(parts)


def duration(seconds: float) -> str:
    """``7 s``, ``4 min 18 s``, ``1 h 02 min``."""
    seconds = max(round(seconds), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


# -- the JSON of `ask --json` and `search --json` ---------------------------------------
# Built here, not in the CLI, so that every front end (the CLI, the HTTP API) writes the
# same documents without importing click.


def answer_warnings(index, answer, llm=None) -> list[str]:
    """What a reader must know beside the answer, most important first: the model
    settings' own warnings, the answer's notice, then each cited file that changed on
    disk since it was indexed (its quotes show the indexed text)."""
    warnings = list(llm.warnings) if llm is not None else []
    if answer.notice:
        warnings.append(answer.notice)
    warnings += changed_warnings(index, [c.passage.source for c in answer.citations])
    return warnings


def ask_json(answer, warnings: list[str], search_filter=None) -> dict:
    """The document ``assistant ask --json`` prints."""
    from ..types import filter_to_json

    return {**answer.to_json(), "warnings": warnings, "filter": filter_to_json(search_filter)}


def search_json(query: str, hits, search_filter=None) -> dict:
    """The document ``assistant search --json`` prints."""
    from ..types import filter_to_json, hit_to_json

    results = [hit_to_json(hit, rank) for rank, hit in enumerate(hits, 1)]
    return {"query": query, "results": results, "filter": filter_to_json(search_filter)}
