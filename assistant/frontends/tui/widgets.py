"""The chat's widgets. Document text always goes through :func:`plain`: shown, never parsed.

Rich ``Text`` objects are never read as markup, and :func:`~assistant.text.display.inert`
turns control characters into visible escapes, so a passage holding ``[bold]``,
``[link=...]`` or an ANSI sequence shows exactly those characters.
"""

from __future__ import annotations

import re
import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, LoadingIndicator, Static

from ...text.display import flowed, inert, paste_safe
from ...types import Answer, Citation, Document, IndexStatus, Passage, Span
from ..history import QuestionHistory
from ..render import (
    characters,
    citation_clipboard_text,
    citation_label,
    language_note,
    location,
    one_line,
    quote_line,
    said_by,
    short_name,
)

MARKER_STYLE = "bold #5fafff"
QUOTE_STYLE = "bold #1c1c1c on #ffd75f"
UNVERIFIED_STYLE = "dim italic"
SPEAKER_STYLE = "italic #87afaf"


def plain(text: str, style: str = "") -> Text:
    """Untrusted text as a renderable that cannot carry markup or terminal controls."""
    return Text(inert(text), style=style)


def highlighted(passage: Passage, quote: Span | None) -> Text:
    """The passage text with the answering sentence(s) highlighted, its hard-wrapped
    lines joined (:func:`~assistant.text.display.flowed`).

    Each part is flowed and made inert separately, so neither can shift the highlight.
    """
    raw = passage.text
    start = end = 0
    if quote is not None:
        start = min(max(quote.start - passage.start, 0), len(raw))
        end = min(max(quote.end - passage.start, start), len(raw))
    text = Text(inert(flowed(raw[:start])))
    text.append(inert(flowed(raw[start:end])), style=QUOTE_STYLE)
    text.append(inert(flowed(raw[end:])))
    return text


class IndexFacts(Static):
    """One line of facts about the open index."""

    def show(self, status: IndexStatus) -> None:
        model = status.model.rsplit("/", 1)[-1]
        updated = (status.updated_at or "")[:16].replace("T", " ")
        self.update(
            plain(
                f"{status.documents} documents · {status.passages} passages · {model}"
                f" · updated {updated} · {short_path(status.path)}"
            )
        )


def short_path(path: str) -> str:
    """Relative to the working directory when inside it, else with ~ for the home directory."""
    from pathlib import Path

    full = Path(path).resolve()
    for base, prefix in ((Path.cwd(), ""), (Path.home(), "~/")):
        try:
            return prefix + str(full.relative_to(base.resolve()))
        except ValueError:
            continue
    return str(full)


class QuestionInput(Input):
    """The question box. Up/Down walk through earlier questions of this index."""

    BINDINGS = [
        Binding("up", "history_back", "Earlier question", show=False),
        Binding("down", "history_forward", "Later question", show=False),
    ]

    def __init__(self, history: QuestionHistory, **kwargs) -> None:
        # Coming back to the box must not select the draft: the next key would replace it.
        kwargs.setdefault("select_on_focus", False)
        super().__init__(**kwargs)
        self.history = history
        self._position: int | None = None
        self._draft = ""

    def action_history_back(self) -> None:
        questions = self.history.questions
        if not questions:
            return
        if self._position is None:
            self._draft = self.value
            self._position = len(questions)
        self._position = max(self._position - 1, 0)
        self._show(questions[self._position])

    def action_history_forward(self) -> None:
        if self._position is None:
            return
        self._position += 1
        if self._position >= len(self.history.questions):
            self._position = None
            self._show(self._draft)
        else:
            self._show(self.history.questions[self._position])

    def forget_position(self) -> None:
        self._position = None
        self._draft = ""

    def _show(self, value: str) -> None:
        self.value = value
        self.cursor_position = len(value)


class Exchange(Vertical):
    """One question and its answer (or a spinner, then the model's text as it streams)."""

    def __init__(self, number: int, question: str, standalone: str) -> None:
        super().__init__(classes="exchange")
        self.number = number
        self.question = question
        self.standalone = standalone
        self.answer: Answer | None = None
        self.streamed = ""
        self._streaming: Static | None = None
        self.asked_at = time.perf_counter()

    def compose(self) -> ComposeResult:
        yield Static(plain(f"› {one_line(self.question)}"), classes="question")
        yield Static(self._standalone_text(), classes="standalone")
        yield LoadingIndicator()

    def _standalone_text(self) -> Text:
        if self.standalone == self.question:
            return Text()
        return plain(f"searched as: {one_line(self.standalone)}")

    def on_mount(self) -> None:
        self.query_one(".standalone", Static).display = self.standalone != self.question

    def show_standalone(self, standalone: str) -> None:
        self.standalone = standalone
        line = self.query_one(".standalone", Static)
        line.update(self._standalone_text())
        line.display = standalone != self.question

    def append_streamed(self, piece: str) -> None:
        """The model's words as they arrive; replaced by the checked answer at the end."""
        if not self.streamed:
            piece = piece.lstrip()
            if not piece:
                return
            self.query(LoadingIndicator).remove()
            self._streaming = Static(classes="answer streaming")
            self.mount(self._streaming)
        self.streamed += piece
        # Held, not queried: ctrl+l may have removed it already, while this exchange
        # is still being taken down (a query would find nothing and fail).
        self._streaming.update(plain(self.streamed))

    def show_answer(self, answer: Answer) -> None:
        self.answer = answer
        self.query(LoadingIndicator).remove()
        self.query(".streaming").remove()
        if answer.notice:
            self.mount(Static(plain(f"⚠ {one_line(answer.notice)}"), classes="notice"))
        if answer.abstained:
            self.add_class("abstained")
            body = Text("Not in the sources. ", style="bold")
            reason = answer.reason or "nothing found answers it"
            body.append_text(plain(f"The sources do not answer this: {one_line(reason)}."))
            if answer.nearest:
                body.append("\nThe nearest passages are on the right; none of them answers it.")
            self.mount(Static(body, classes="answer"))
            return
        if answer.mode == "llm" and answer.llm is not None:
            self.mount(Static(generated_text(answer), classes="answer generated"))
            self.mount(Static(verification_line(answer), classes="verification"))
            return
        body = Text()
        for citation in answer.citations:
            if body:
                body.append("\n")
            # quote_line's text, styled by part: the quote, "— speaker", "[n]".
            line = quote_line(citation)
            marker = f" [{citation.n}]"
            quote = one_line(citation.quote_text)
            body.append_text(plain(quote))
            body.append_text(plain(line[len(quote) : -len(marker)], SPEAKER_STYLE))
            body.append(marker, style=MARKER_STYLE)
        self.mount(Static(body, classes="answer"))

    def show_error(self, message: str) -> None:
        self.add_class("failed")
        self.query(LoadingIndicator).remove()
        self.query(".streaming").remove()
        self.mount(Static(plain(f"Could not answer: {one_line(message)}"), classes="answer"))


_MARKER = re.compile(r"\[\d+(?:,\s*\d+)*\]")


def generated_text(answer: Answer) -> Text:
    """The model's sentences; citation markers coloured, unverified sentences marked."""
    body = Text()
    for sentence in answer.llm.sentences:
        if body:
            body.append(" ")
        style = "" if sentence.verified else UNVERIFIED_STYLE
        position = 0
        for match in _MARKER.finditer(sentence.text):
            body.append_text(plain(sentence.text[position : match.start()], style))
            body.append(match.group(), style=MARKER_STYLE)
            position = match.end()
        body.append_text(plain(sentence.text[position:], style))
        if not sentence.verified:
            body.append(" (unverified)", style="bold #d7875f")
    return body


def verification_line(answer: Answer) -> Text:
    report = answer.llm
    verified = sum(s.verified for s in report.sentences)
    parts = [f"✓ {verified} of {len(report.sentences)} sentences verified against the passages"]
    if report.removed:
        parts.append("removed " + ", ".join(f"[{n}]" for n in report.removed) + " (not given)")
    reasons = [
        problem
        for sentence in report.sentences
        if not sentence.verified
        for problem in sentence.problems
        if not problem.endswith("(removed)")  # already said by "removed [n]"
    ]
    if reasons:
        parts.append(one_line(reasons[0]))
    if report.model:
        parts.append(f"model {one_line(report.model.rsplit('/', 1)[-1])}")
    if report.tokens:
        parts.append(f"{report.tokens['prompt']}+{report.tokens['answer']} tokens")
    return plain(" · ".join(parts))


class SourceCard(Vertical, can_focus=True):
    """A numbered citation (or a nearest passage): where it is from and what it says."""

    BINDINGS = [
        Binding("enter,o", "open", "Open source"),
        Binding("y", "copy", "Copy citation"),
        Binding("w", "who_else", "Who else spoke on this?"),
    ]

    class OpenRequested(Message):
        def __init__(self, card: SourceCard) -> None:
            super().__init__()
            self.card = card

    class WhoElseRequested(Message):
        """``w``: the side-by-side view of who said what on the question's topic."""

    def __init__(
        self,
        label: str,
        passage: Passage,
        document: Document,
        quote: Span | None = None,
        citation: Citation | None = None,
    ) -> None:
        super().__init__(classes="card")
        self.label = label
        self.passage = passage
        self.document = document
        self.quote = quote
        self.citation = citation

    def compose(self) -> ComposeResult:
        doc, passage = self.document, self.passage
        title = Text(f"{self.label} ", style=MARKER_STYLE)
        title.append_text(plain(one_line(doc.title or short_name(passage.source)), style="bold"))
        yield Static(title, classes="card-title")
        facts = [f for f in (doc.outlet, doc.published) if f]
        facts += [location(passage, doc), characters(passage)]
        other = self.citation.other_language if self.citation is not None else None
        if other:
            facts.append(language_note(other))
        yield Static(plain(" · ".join(one_line(f) for f in facts)), classes="card-meta")
        speaker = said_by(self.citation) if self.citation is not None else None
        if speaker:
            yield Static(plain(one_line(speaker)), classes="card-speaker")
        yield Static(highlighted(passage, self.quote), classes="card-body")

    def action_open(self) -> None:
        self.post_message(self.OpenRequested(self))

    def action_who_else(self) -> None:
        self.post_message(self.WhoElseRequested())

    def action_copy(self) -> None:
        if self.citation is None:  # a nearest passage: no answering sentence to quote
            label = location(self.passage, self.document)
            text = f"“{self.passage.text}” — {label}"
        else:
            label = citation_label(self.citation)
            text = citation_clipboard_text(self.citation)
        # Pasted into a shell, a quote's control characters could run a command.
        text, removed = paste_safe(text)
        self.app.copy_to_clipboard(text)
        self.notify(
            f"Copied {self.label}: {one_line(label)[:70]}{_removed_note(removed)}", markup=False
        )


def _removed_note(removed: int) -> str:
    if not removed:
        return ""
    what = "control character or sequence" if removed == 1 else "control characters or sequences"
    return f" (removed {removed} {what})"


class SourcesPanel(VerticalScroll):
    """One card per citation of the latest answer (or the nearest passages)."""

    def show_answer(self, answer: Answer, document_of) -> None:
        self.remove_children()
        cards: list[SourceCard] = []
        if answer.abstained:
            self.border_title = "Nearest passages (no answer)"
            for rank, hit in enumerate(answer.nearest, 1):
                passage = hit.passage
                cards.append(SourceCard(f"~{rank}", passage, document_of(passage.doc_id)))
        else:
            self.border_title = "Sources"
            for c in answer.citations:
                cards.append(SourceCard(f"[{c.n}]", c.passage, c.document, c.quote, c))
        self.mount_all(cards)
        self.scroll_home(animate=False)

    def clear(self) -> None:
        self.remove_children()
        self.border_title = "Sources"

    @property
    def cards(self) -> list[SourceCard]:
        return list(self.query(SourceCard))

    def card(self, n: int) -> SourceCard | None:
        """Citation [n] (a model may cite [1] and [3] only), else the n-th card."""
        cards = self.cards
        for card in cards:
            if card.citation is not None and card.citation.n == n:
                return card
        if any(card.citation is not None for card in cards):
            return None
        return cards[n - 1] if 0 < n <= len(cards) else None
