"""Who said what, side by side: ``/said TOPIC`` in the chat, or ``w`` on a source card
("who else spoke on this?").

One column per side the sources give (the speakers without one together), or one per
speaker when no side is known; each statement a card with its date, who said it, the
quote and its source, in date order. Enter opens the reader on the quote; ctrl+e writes
the view as a Markdown table (:func:`~assistant.frontends.said_view.markdown_table`).
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, LoadingIndicator, Static

from ...text.display import paste_safe
from ...types import Document, SaidSpeaker, SaidStatement, Span, WhoSaid
from ..render import one_line
from ..said_view import abstention_line, columns, date_of, heading, reported_by, short_speaker
from .screens import HelpScreen, OpeningScreen, ReaderScreen
from .widgets import QUOTE_STYLE, SPEAKER_STYLE, SourceCard, plain


class StatementCard(SourceCard):
    """One statement: its date, who said it, the quote and where it was reported. A
    source card, so that the reader opens on it (the quote highlighted)."""

    # "Who else spoke on this?" is what this view already shows.
    BINDINGS = [Binding("w", "nothing", show=False)]

    def __init__(self, speaker: SaidSpeaker, statement: SaidStatement) -> None:
        where = statement.where
        document = Document(
            where.doc_id, where.source, where.title, where.outlet, published=where.published
        )
        super().__init__(
            date_of(statement), statement.passage, document, Span(where.start, where.end)
        )
        self.speaker = speaker
        self.statement = statement
        self.add_class("said-card")

    def compose(self) -> ComposeResult:
        statement = self.statement
        top = Text(f"{date_of(statement)} ", style="bold")
        top.append_text(plain(short_speaker(self.speaker), SPEAKER_STYLE))
        yield Static(top, classes="card-title")
        yield Static(plain(f"“{one_line(statement.quote)}”", QUOTE_STYLE), classes="card-body")
        place = [one_line(p) for p in (statement.outlet,) if p]
        place.append(f"{one_line(statement.source)} ¶{statement.paragraph}")
        by = reported_by(statement)
        if by:
            place.append(by)
        yield Static(plain(" · ".join(place)), classes="card-meta")

    def action_nothing(self) -> None:
        pass

    def action_copy(self) -> None:
        statement = self.statement
        text = (
            f"“{statement.quote}” — {self.speaker.speaker}, {date_of(statement)},"
            f" {statement.outlet or statement.source} ¶{statement.paragraph}"
        )
        text, _ = paste_safe(text)
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied the statement of {one_line(self.speaker.speaker)}", markup=False)


class SaidLoaded(Message):
    def __init__(self, said: WhoSaid) -> None:
        super().__init__()
        self.said = said


class SaidFailed(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ReaderReady(Message):
    def __init__(self, card: StatementCard, text: str, passages) -> None:
        super().__init__()
        self.card, self.text, self.passages = card, text, passages


class SaidScreen(Screen):
    """The side-by-side view of one topic's statements."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back to the chat", key_display="Esc"),
        Binding("ctrl+e", "export", "Export as a table", priority=True),
        Binding("left", "column(-1)", "Previous column", show=False),
        Binding("right", "column(1)", "Next column", show=False),
        Binding("f1,question_mark", "help", "Help", key_display="?"),
    ]

    DEFAULT_CSS = """
    SaidScreen #said-heading { height: auto; padding: 0 1; text-style: bold; }
    SaidScreen #said-columns { height: 1fr; }
    SaidScreen .said-column { width: 1fr; border: round $secondary 50%; padding: 0 1; }
    SaidScreen .said-column:focus-within { border: round $secondary; }
    SaidScreen .said-abstained { color: $warning; border-left: thick $warning; padding: 0 1; }
    SaidScreen LoadingIndicator { height: 1; }
    """

    def __init__(self, index, topic: str, search_filter=None, settings=None) -> None:
        super().__init__()
        self.index = index
        self.topic = topic
        self.search_filter = search_filter
        self.settings = settings
        self.said: WhoSaid | None = None
        self.exported = None  # the last export's path

    def compose(self) -> ComposeResult:
        yield Static(plain(f"Who said what on “{one_line(self.topic)}”…"), id="said-heading")
        yield LoadingIndicator()
        yield Horizontal(id="said-columns")
        yield Footer()

    def on_mount(self) -> None:
        self.find()

    @work(thread=True, exclusive=True, group="said")
    def find(self) -> None:
        try:
            said = self.index.statements(self.topic, search_filter=self.search_filter)
        except Exception as error:  # shown as a notification; the chat goes on
            self.post_message(SaidFailed(f"{type(error).__name__}: {error}"))
        else:
            self.post_message(SaidLoaded(said))

    def on_said_loaded(self, message: SaidLoaded) -> None:
        self.said = said = message.said
        self.query(LoadingIndicator).remove()
        area = self.query_one("#said-columns", Horizontal)
        if said.abstained:
            self.query_one("#said-heading", Static).update(plain(f"“{one_line(said.topic)}”"))
            area.mount(Static(plain(abstention_line(said)), classes="said-abstained"))
            return
        self.query_one("#said-heading", Static).update(plain(heading(said).rstrip(":")))
        for name, pairs in columns(said):
            column = VerticalScroll(classes="said-column")
            column.border_title = one_line(name)
            area.mount(column)
            column.mount_all([StatementCard(speaker, statement) for speaker, statement in pairs])
        cards = list(self.query(StatementCard))
        if cards:
            cards[0].focus()

    def on_said_failed(self, message: SaidFailed) -> None:
        self.query(LoadingIndicator).remove()
        self.notify(one_line(message.text), title="Who said what", severity="error", markup=False)

    # -- reading a statement's source ------------------------------------------------

    @on(SourceCard.OpenRequested)
    def open_reader(self, message: SourceCard.OpenRequested) -> None:
        message.stop()
        self.app.push_screen(OpeningScreen())
        self.load_reader(message.card)

    @work(thread=True, exclusive=True, group="said-reader")
    def load_reader(self, card: StatementCard) -> None:
        try:
            text = self.index.document_text(card.passage.doc_id)
            passages = self.index.document_passages(card.passage.doc_id)
        except Exception as error:
            self.post_message(SaidFailed(f"{type(error).__name__}: {error}"))
        else:
            self.post_message(ReaderReady(card, text, passages))

    def on_reader_ready(self, message: ReaderReady) -> None:
        if isinstance(self.app.screen, OpeningScreen):
            self.app.switch_screen(ReaderScreen(message.card, message.text, message.passages))

    # -- keys --------------------------------------------------------------------------

    def action_column(self, step: int) -> None:
        columns_shown = list(self.query(".said-column"))
        if not columns_shown:
            return
        focused = self.focused
        at = next((i for i, c in enumerate(columns_shown) if focused in c.walk_children()), 0)
        target = columns_shown[(at + step) % len(columns_shown)]
        cards = list(target.query(StatementCard))
        if cards:
            cards[0].focus()

    def action_export(self) -> None:
        from ...paths import export_dir, write_private_text
        from ..said_view import markdown_table

        if self.said is None:
            self.notify("Still looking for statements…", severity="warning", markup=False)
            return
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = export_dir(self.settings) / f"said-{stamp}.md"
        try:
            write_private_text(target, markdown_table(self.said))  # 0600
        except OSError as error:
            self.notify(f"Could not export: {one_line(str(error))}", severity="error", markup=False)
            return
        self.exported = target
        self.notify(f"Exported the table to {one_line(str(target))}", markup=False)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())
