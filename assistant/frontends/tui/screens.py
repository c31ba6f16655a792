"""Screens: preparing the index, the chat, the source reader, help and history search.

Slow work (building, answering, loading the query model) runs in thread workers; they
report back with messages, and only handlers on the UI thread touch widgets.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual import events, on, work
from textual._time import get_time  # the clock of key events' ``time``
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    DataTable,
    Footer,
    Input,
    Label,
    LoadingIndicator,
    OptionList,
    ProgressBar,
    Static,
)

from ...config import Settings
from ...errors import AssistantError
from ...text.display import flowed
from ...types import Answer
from ..conversation import Conversation
from ..history import QuestionHistory
from ..render import ProgressFigures, one_line, short_name
from .widgets import (
    Exchange,
    IndexFacts,
    QuestionInput,
    SourceCard,
    SourcesPanel,
    highlighted,
    plain,
)

KEYS_HINT = "  (Enter asks · Esc goes to the sources · F1 keys)"


def question_placeholder(words: list[str]) -> str:
    """What the empty question box suggests: the words the index's titles share most
    (:func:`~assistant.text.keywords.frequent_title_words`), never a fixed example."""
    about = f"{', '.join(one_line(word) for word in words)}…" if words else "your sources…"
    return f"Ask about {about}{KEYS_HINT}"


def topic_of_question(question: str) -> str:
    """What a question asks about, for "who else spoke on this?": its "about ..."
    clause ("the 132-km border"), else its topic words."""
    from ...query.question import analyze
    from ..conversation import topic_of

    about = topic_of(question)
    if about:
        return about.strip().rstrip("?.!")
    asked = analyze(question)
    return " ".join(asked.topic_terms) or question


def _describe(error: BaseException) -> str:
    if isinstance(error, AssistantError):
        return str(error)  # includes the fix
    return f"unexpected {type(error).__name__}: {error}"


# -- preparing the index ---------------------------------------------------------------


class AddSourcesScreen(Screen):
    """No index yet, and no bundled seeds: say how to add sources, and take a path.

    The path is added in a worker (:class:`BuildScreen`); the same as running the
    command shown. An installed tool never builds from what lies beside the package.
    """

    BINDINGS = [Binding("escape", "app.quit", "Quit", key_display="Esc")]

    def __init__(self, index_path: Path, problem: str | None = None) -> None:
        super().__init__()
        self.index_path = index_path
        self.problem = problem  # why the last attempt failed

    def compose(self) -> ComposeResult:
        from ...paths import DEFAULT_COLLECTION, collections_dir

        command = "assistant index add PATH"
        settings = getattr(self.app, "settings", None)
        if self.index_path != collections_dir(settings) / DEFAULT_COLLECTION:
            command += f" --index {self.index_path}"
        with Vertical(id="build-box"):
            yield Static(Text("No sources yet", style="bold"), id="build-title")
            yield Static(
                plain(
                    f"There is no index at {self.index_path} yet. Type a file or a folder of"
                    " your documents (.txt .md .html .jsonl …) and press Enter to add it,"
                    f" or quit and run:\n    {command}"
                ),
                id="build-reason",
            )
            yield Input(placeholder="~/Documents/articles", id="add-path")
            yield Label(plain(f"Could not add: {one_line(self.problem)}" if self.problem else ""))
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#add-path", Input).focus()

    @on(Input.Submitted, "#add-path")
    def add(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        if not typed:
            self.notify("Type a file or folder first.", severity="warning", markup=False)
            return
        path = Path(typed).expanduser()
        if not path.exists():
            shown = one_line(typed)
            self.notify(f"No such file or folder: {shown}", severity="error", markup=False)
            return
        reason = f"Adding {path} to the index at {self.index_path}."
        self.app.switch_screen(BuildScreen(self.index_path, [path], reason, retry=True))


class BuildScreen(Screen):
    """Adds the sources to the index (a new one from the seeds, or the user's path), or
    updates it, with the same figures as the CLI's progress line."""

    BINDINGS = [Binding("q", "app.quit", "Quit")]

    class Progress(Message):
        def __init__(self, stage: str, done: int, total: int, details: dict | None = None) -> None:
            super().__init__()
            self.stage, self.done, self.total = stage, done, total
            self.details = details or {}  # the file at hand, the work in tokens

    class Finished(Message):
        pass

    class Failed(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(
        self, index_path: Path, sources: list[Path] | None, reason: str, retry: bool = False
    ) -> None:
        super().__init__()
        self.index_path = index_path
        self.sources = sources  # None: update the index from its own sources
        self.reason = reason
        self.retry = retry  # on failure, back to the add screen to try another path
        self.figures = ProgressFigures()

    def compose(self) -> ComposeResult:
        with Vertical(id="build-box"):
            yield Static(Text("Preparing the index", style="bold"), id="build-title")
            yield Static(plain(self.reason), id="build-reason")
            yield Label("Loading…", id="build-stage")
            yield ProgressBar(id="build-progress", show_eta=False)
        yield Footer()

    def on_mount(self) -> None:
        self.run_build()

    @work(thread=True, exclusive=True, group="build")
    def run_build(self) -> None:
        from ...indexing.writer import IndexWriter

        screen = self

        class Reporter:
            """The indexer's progress, details included, as messages to the screen."""

            details: dict = {}

            def detail(self, **fields) -> None:
                self.details = fields

            def __call__(self, stage: str, done: int, total: int) -> None:
                screen.post_message(screen.Progress(stage, done, total, self.details))
                self.details = {}

        progress = Reporter()

        try:
            if self.sources is None:
                IndexWriter(self.index_path).update(progress)
            else:
                IndexWriter(self.index_path).add(self.sources, progress)
        except Exception as error:  # the screen shows it; nothing may escape the worker
            self.post_message(self.Failed(_describe(error)))
        else:
            self.post_message(self.Finished())

    def on_build_screen_progress(self, message: Progress) -> None:
        self.figures.detail(**message.details)
        self.figures.update(message.stage, message.done, message.total)
        self.query_one("#build-stage", Label).update(plain(self.figures.line()))
        self.query_one("#build-progress", ProgressBar).update(
            total=max(message.total, 1), progress=message.done
        )

    def on_build_screen_finished(self, _message: Finished) -> None:
        self.app.open_chat()

    def on_build_screen_failed(self, message: Failed) -> None:
        if self.retry:
            self.app.switch_screen(AddSourcesScreen(self.index_path, message.text))
            return
        self.query_one("#build-stage", Label).update(plain(f"Failed: {message.text}"))
        self.notify(
            one_line(message.text),
            title="Could not prepare the index",
            severity="error",
            markup=False,
        )


class BrokenIndexScreen(Screen):
    """The index cannot be opened: say why and how to fix it; never a traceback."""

    BINDINGS = [Binding("q", "app.quit", "Quit")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="build-box"):
            yield Static(Text("The index cannot be opened", style="bold"), id="build-title")
            yield Static(plain(self.text), id="build-reason")
        yield Footer()


# -- chatting ---------------------------------------------------------------------------


class AnswerReady(Message):
    def __init__(self, exchange: Exchange, answer: Answer, changed: list[str]) -> None:
        super().__init__()
        self.exchange, self.answer = exchange, answer
        self.changed = changed  # cited files edited since they were indexed


class AnswerChunk(Message):
    """A piece of a model's answer as it streams in."""

    def __init__(self, exchange: Exchange, text: str) -> None:
        super().__init__()
        self.exchange, self.text = exchange, text


class Condensed(Message):
    """The model's standalone rewrite of a follow-up (or the rule-based one, and why)."""

    def __init__(self, exchange: Exchange, standalone: str, problem: str | None) -> None:
        super().__init__()
        self.exchange, self.standalone, self.problem = exchange, standalone, problem


class AnswerFailed(Message):
    def __init__(self, exchange: Exchange, text: str) -> None:
        super().__init__()
        self.exchange, self.text = exchange, text


class TitleWords(Message):
    """The words the index's titles share most, for the question box's placeholder."""

    def __init__(self, words: list[str]) -> None:
        super().__init__()
        self.words = words


class ReaderLoaded(Message):
    def __init__(self, card: SourceCard, text: str, passages) -> None:
        super().__init__()
        self.card, self.text, self.passages = card, text, passages


class ReaderFailed(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ChatScreen(Screen):
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", key_display="?"),
        Binding("1", "jump(1)", "Citation", key_display="1-9"),
        *(Binding(str(n), f"jump({n})", f"Citation {n}", show=False) for n in range(2, 10)),
        Binding(
            "escape", "focus_sources", "Go to the sources (and back)", show=False, key_display="Esc"
        ),
        Binding("i,slash", "focus_question", "Go to the question", show=False, key_display="i, /"),
        # Priority: the question box would otherwise take ctrl+e (end of line).
        Binding("ctrl+r", "search_history", "History", priority=True),
        Binding("ctrl+e", "export", "Export", priority=True),
        Binding("ctrl+l", "new_conversation", "New", priority=True),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, index, llm=None, search_filter=None, settings: Settings | None = None):
        super().__init__()
        self.index = index
        self.llm = llm  # an LLMConfig, or None for extractive answers
        # a SearchFilter; /since, /until, /source, /lang, /all
        self.search_filter = search_filter
        self.settings = settings if settings is not None else Settings.load()
        self.conversation = Conversation()
        self.history = QuestionHistory(index.path, directory=self.settings.history_dir)
        self.pending: Exchange | None = None
        self.exchanges = 0
        # Seconds from Enter to the answer on screen, per question (bench/ui.py reads it).
        self.latencies: list[float] = []

    def compose(self) -> ComposeResult:
        yield IndexFacts(id="facts")
        yield Static(id="filter-line")
        with Horizontal(id="main"):
            with VerticalScroll(id="conversation"):
                yield Static(
                    plain(
                        "Ask a question about your sources; answers quote them verbatim"
                        " and number each quote."
                    ),
                    id="welcome",
                )
            yield SourcesPanel(id="sources")
        yield QuestionInput(self.history, placeholder=question_placeholder([]), id="question")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(IndexFacts).show(self.index.status(check_files=False))
        self.query_one("#conversation").border_title = "Conversation"
        self.query_one(SourcesPanel).border_title = "Sources"
        self.query_one(QuestionInput).focus()
        self._show_filter()
        self.warm_up()
        self.find_title_words()

    def on_screen_resume(self) -> None:
        # Back from the reader, the help or the history: typing goes to the question,
        # never to a source card, whose letters are keys ("q" quits, "o" opens).
        self.query_one(QuestionInput).focus()

    def _show_filter(self) -> None:
        line = self.query_one("#filter-line", Static)
        line.display = self.search_filter is not None
        if self.search_filter is not None:
            described = self.search_filter.describe()
            line.update(plain(f"Searching only documents {described} (/all: every document)"))

    def _filter_command(self, text: str) -> None:
        """/since DATE, /until DATE, /source NAME (repeatable), /lang CODE, /all."""
        from ...filters import SearchFilter

        command, _, value = text.partition(" ")
        value = value.strip()
        current = self.search_filter or SearchFilter()
        since, until, sources = current.since, current.until, list(current.sources)
        languages = list(current.languages)
        if command == "/all":
            since = until = None
            sources, languages = [], []
        elif command in ("/since", "/until", "/source", "/lang") and value:
            if command == "/since":
                since = value
            elif command == "/until":
                until = value
            elif command == "/lang":
                languages = [value]
            else:
                sources.append(value)
        else:
            self.notify(
                "Commands: /said TOPIC, /since DATE, /until DATE, /source NAME, /lang CODE, /all",
                severity="warning",
                markup=False,
            )
            return
        try:
            self.search_filter = SearchFilter.parse(since, until, sources, languages)
        except AssistantError as error:
            self.notify(one_line(str(error)), severity="error", markup=False)
            return
        self.query_one(QuestionInput).value = ""
        self._show_filter()
        described = self.search_filter.describe() if self.search_filter else "every document"
        self.notify(f"Searching {one_line(described)}.", markup=False)

    def _said_command(self, text: str) -> None:
        """/said TOPIC: who said what on it, side by side (:mod:`.said`)."""
        topic = text.partition(" ")[2].strip()
        if not topic:
            self.notify("Say what about: /said TOPIC", severity="warning", markup=False)
            return
        self.history.add(text)
        self.query_one(QuestionInput).value = ""
        self.app.open_said(topic, self.search_filter)

    @on(SourceCard.WhoElseRequested)
    def who_else(self, message: SourceCard.WhoElseRequested) -> None:
        """``w`` on a source card: who else spoke on the topic of the latest question."""
        if not self.conversation.turns:
            self.notify("Ask a question first.", severity="warning", markup=False)
            return
        self.app.open_said(topic_of_question(self.conversation.turns[-1].standalone),
                           self.search_filter)  # fmt: skip

    @work(thread=True, group="warm-up")
    def warm_up(self) -> None:
        # A failure here is reported by the first question, where it is seen.
        with contextlib.suppress(Exception):
            self.index.warm_up()

    @work(thread=True, group="title-words")
    def find_title_words(self) -> None:
        from ...text.keywords import frequent_title_words

        # The neutral placeholder stays when the titles cannot be read.
        with contextlib.suppress(Exception):
            titles = [document.title for document in self.index.documents()]
            self.post_message(TitleWords(frequent_title_words(titles)))

    def on_title_words(self, message: TitleWords) -> None:
        self.query_one(QuestionInput).placeholder = question_placeholder(message.words)

    # asking --------------------------------------------------------------------------

    @on(Input.Submitted, "#question")
    def ask(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            self.notify("Type a question first.", severity="warning", markup=False)
            return
        if question.split(" ", 1)[0] == "/said":
            self._said_command(question)
            return
        if question.startswith("/"):
            self._filter_command(question)
            return
        if self.pending is not None:
            self.notify("Still answering the previous question…", severity="warning", markup=False)
            return
        box = self.query_one(QuestionInput)
        box.forget_position()
        self.history.add(question)
        # Without a model, follow-ups are rewritten by rule at once; with one, the
        # worker asks the model and falls back to the rule.
        standalone = self.conversation.standalone(question)
        turns = [(t.standalone, t.answer.text if t.answer else "") for t in self.conversation.turns]
        self.exchanges += 1
        exchange = Exchange(self.exchanges, question, standalone)
        conversation = self.query_one("#conversation", VerticalScroll)
        conversation.query("#welcome").remove()
        conversation.mount(exchange)
        conversation.scroll_end(animate=False)
        self.pending = exchange
        self.answer(exchange, turns)

    @work(thread=True, exclusive=True, group="answer")
    def answer(self, exchange: Exchange, turns: list[tuple[str, str]]) -> None:
        try:
            standalone = exchange.standalone
            if self.llm is not None and turns:
                standalone = self._condense(exchange, turns)

            def streamed(piece: str) -> None:
                self.post_message(AnswerChunk(exchange, piece))

            answer = self.index.ask(
                standalone, llm=self.llm, on_text=streamed, search_filter=self.search_filter
            )
            changed = self.index.changed_sources([c.passage.source for c in answer.citations])
        except Exception as error:  # shown as a notification; the chat goes on
            self.post_message(AnswerFailed(exchange, _describe(error)))
        else:
            self.post_message(AnswerReady(exchange, answer, changed))

    def _condense(self, exchange: Exchange, turns: list[tuple[str, str]]) -> str:
        """Runs in the worker: the model's standalone question, else the rule's."""
        from ...query.llm import LLMError

        try:
            standalone = self.index.condense(exchange.question, turns, self.llm)
            problem = None
        except LLMError as error:
            standalone, problem = exchange.standalone, str(error)
        self.post_message(Condensed(exchange, standalone, problem))
        return standalone

    def on_answer_chunk(self, message: AnswerChunk) -> None:
        if not message.exchange.is_attached:
            return  # the conversation was cleared while the model was writing
        message.exchange.append_streamed(message.text)
        self.query_one("#conversation", VerticalScroll).scroll_end(animate=False)

    def on_condensed(self, message: Condensed) -> None:
        if not message.exchange.is_attached:
            return
        message.exchange.show_standalone(message.standalone)
        if message.problem:
            self.notify(
                f"Could not rewrite the follow-up with the model ({one_line(message.problem)});"
                " searched with the rule-based rewrite.",
                severity="warning",
                markup=False,
            )

    def on_answer_ready(self, message: AnswerReady) -> None:
        self.pending = None
        exchange, answer = message.exchange, message.answer
        if not exchange.is_attached:
            return  # asked before ctrl+l cleared the conversation
        self.conversation.add(exchange.question, exchange.standalone, answer)
        if answer.notice:
            self.notify(
                one_line(answer.notice), title="Language model", severity="warning", markup=False
            )
        exchange.show_answer(answer)
        self.query_one(SourcesPanel).show_answer(answer, self.index.document)
        box = self.query_one(QuestionInput)
        if box.value.strip() == exchange.question:
            box.value = ""
        self.query_one("#conversation", VerticalScroll).scroll_end(animate=False)
        self.call_after_refresh(
            lambda: self.latencies.append(time.perf_counter() - exchange.asked_at)
        )
        for source in message.changed:
            self.notify(
                f"{one_line(source)} changed since it was indexed; quotes show the indexed"
                " text. Run: assistant index update",
                severity="warning",
                markup=False,
            )

    def on_answer_failed(self, message: AnswerFailed) -> None:
        self.pending = None
        if message.exchange.is_attached:
            message.exchange.show_error(message.text)
        self.notify(
            one_line(message.text), title="Could not answer", severity="error", markup=False
        )

    # citations -----------------------------------------------------------------------

    def action_jump(self, n: int) -> None:
        card = self.query_one(SourcesPanel).card(n)
        if card is None:
            self.notify(f"There is no citation {n}.", severity="warning", markup=False)
            return
        card.focus()
        card.scroll_visible(animate=False)

    def action_focus_sources(self) -> None:
        panel = self.query_one(SourcesPanel)
        if isinstance(self.focused, SourceCard):
            self.query_one(QuestionInput).focus()  # Esc again: back to the question
        elif panel.cards:
            panel.cards[0].focus()

    def on_key(self, event: events.Key) -> None:
        """A character typed on a source card that is no key of the chat was meant for
        the question: it goes there, and the box takes the focus."""
        if not isinstance(self.focused, SourceCard) or not event.is_printable:
            return
        if event.character is None or event.key in self.app.active_bindings:
            return
        event.stop()
        event.prevent_default()
        box = self.query_one(QuestionInput)
        box.focus()
        box.insert_text_at_cursor(event.character)

    def action_quit(self) -> None:
        if self.pending is None:
            self.app.exit()
            return

        def chosen(confirmed: bool | None) -> None:
            if confirmed:
                self.app.exit()

        self.app.push_screen(ConfirmQuitScreen(), chosen)

    def action_focus_question(self) -> None:
        self.query_one(QuestionInput).focus()

    @on(SourceCard.OpenRequested)
    def open_reader(self, message: SourceCard.OpenRequested) -> None:
        # A long document takes a while to read: meanwhile the opening screen takes
        # the keys and drops them, so none of them acts on the reader once it opens.
        self.app.push_screen(OpeningScreen())
        self.load_reader(message.card)

    @work(thread=True, exclusive=True, group="reader")
    def load_reader(self, card: SourceCard) -> None:
        try:
            text = self.index.document_text(card.passage.doc_id)
            passages = self.index.document_passages(card.passage.doc_id)
        except Exception as error:  # shown as a notification; the chat goes on
            self.post_message(ReaderFailed(_describe(error)))
        else:
            self.post_message(ReaderLoaded(card, text, passages))

    def on_reader_loaded(self, message: ReaderLoaded) -> None:
        if isinstance(self.app.screen, OpeningScreen):
            self.app.switch_screen(ReaderScreen(message.card, message.text, message.passages))

    def on_reader_failed(self, message: ReaderFailed) -> None:
        if isinstance(self.app.screen, OpeningScreen):
            self.app.pop_screen()
        self.notify(one_line(message.text), severity="error", markup=False)

    # conversation-wide actions -------------------------------------------------------

    def action_export(self) -> None:
        from ...paths import export_dir, write_private_text

        if not self.conversation.turns:
            self.notify("Nothing to export yet.", severity="warning", markup=False)
            return
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        target = export_dir(self.settings) / f"conversation-{stamp}.md"
        title = f"Conversation with {self.index.path.name} ({datetime.now():%Y-%m-%d %H:%M})"
        try:
            write_private_text(target, self.conversation.to_markdown(title))  # 0600
        except OSError as error:
            self.notify(f"Could not export: {one_line(str(error))}", severity="error", markup=False)
            return
        self.exported = target
        self.notify(
            f"Exported {len(self.conversation)} questions to {one_line(str(target))}", markup=False
        )

    def action_new_conversation(self) -> None:
        self.conversation.clear()
        self.query_one("#conversation", VerticalScroll).remove_children()
        self.query_one(SourcesPanel).clear()
        self.query_one(QuestionInput).focus()
        self.notify("New conversation.", markup=False)

    def action_search_history(self) -> None:
        if not self.history.questions:
            self.notify("No earlier questions for this index.", severity="warning", markup=False)
            return

        def chosen(question: str | None) -> None:
            box = self.query_one(QuestionInput)
            if question:
                box.value = question
                box.cursor_position = len(question)
            box.focus()

        self.app.push_screen(HistorySearchScreen(self.history), chosen)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())


# -- reading a source -------------------------------------------------------------------


class ReaderScreen(Screen):
    """The whole source document, the cited paragraph highlighted and scrolled into view."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", key_display="Esc"),
        Binding("y", "copy", "Copy citation"),
        Binding("f1,question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(self, card: SourceCard, text: str, passages) -> None:
        super().__init__()
        self.card = card
        self.text = text
        self.passages = passages
        self.shown_at: float | None = None  # when the reader could first be seen

    def compose(self) -> ComposeResult:
        doc = self.card.document
        facts = [f for f in (doc.outlet, doc.published, doc.byline) if f]
        facts.append(self.card.passage.source)
        title = one_line(doc.title or short_name(self.card.passage.source))
        yield Static(plain(title, "bold"), id="reader-title")
        yield Static(plain(" · ".join(one_line(f) for f in facts)), id="reader-facts")
        with VerticalScroll(id="reader-body"):
            yield from self._segments()
        yield Footer()

    def _segments(self):
        """Paragraphs in document order; text between them (headline, byline) dimmed."""
        cited_id = self.card.passage.passage_id
        position = 0
        for passage in sorted(self.passages, key=lambda p: p.start):
            between = self.text[position : passage.start].strip()
            if between:
                yield Static(plain(between), classes="reader-extra")
            if passage.passage_id == cited_id:
                yield Static(
                    highlighted(passage, self.card.quote), classes="reader-paragraph cited"
                )
            elif passage.is_boilerplate:
                yield Static(plain(flowed(passage.text)), classes="reader-extra")
            else:
                yield Static(plain(flowed(passage.text)), classes="reader-paragraph")
            position = max(position, passage.end)
        rest = self.text[position:].strip()
        if rest:
            yield Static(plain(rest), classes="reader-extra")

    def on_mount(self) -> None:
        body = self.query_one("#reader-body", VerticalScroll)
        body.focus()
        self.call_after_refresh(self._scroll_to_cited)

    def _scroll_to_cited(self) -> None:
        body = self.query_one("#reader-body", VerticalScroll)
        cited = body.query(".cited")
        if cited:
            body.scroll_to_center(cited.first(), animate=False)
        self.shown_at = get_time()

    def on_key(self, event: events.Key) -> None:
        # Keys typed while a long document was being laid out wait in the queue: they
        # were meant for the chat, not for a reader not yet seen ("y", "escape").
        if self.shown_at is None or event.time < self.shown_at:
            event.stop()
            event.prevent_default()

    def action_copy(self) -> None:
        self.card.action_copy()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())


# -- help and history -------------------------------------------------------------------


# The application's own keys (``AssistantApp.BINDINGS``): defined here, where the help
# lists them, so that the screens need not import the app that imports them.
APP_BINDINGS = [
    # Textual's ctrl+c copies by default; here it quits, as in any terminal program.
    Binding("ctrl+c", "quit", "Quit", priority=True, show=False),
    Binding("f1", "help", "Help", show=False),
]


def key_table() -> list[tuple[str, str, str]]:
    """(where, keys, what) for every binding with a description, from the classes."""
    places = [
        ("Chat", ChatScreen.BINDINGS),
        ("Question box", QuestionInput.BINDINGS),
        ("Source card", SourceCard.BINDINGS),
        ("Reader", ReaderScreen.BINDINGS),
        ("Anywhere", APP_BINDINGS),
    ]
    rows = []
    for where, bindings in places:
        for binding in bindings:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            if binding.action.startswith("jump(") and binding.key != "1":
                continue
            keys = binding.key_display or binding.key.replace(",", ", ")
            if binding.action.startswith("jump("):
                keys, what = "1-9", "Jump to citation N"
            else:
                what = binding.description
            rows.append((where, keys.replace("question_mark", "?"), what))
    return rows


class OpeningScreen(ModalScreen):
    """Shown while a source is read for the reader; the keys typed meanwhile are dropped."""

    def compose(self) -> ComposeResult:
        with Vertical(id="opening-box"):
            yield Static("Opening the source…")
            yield LoadingIndicator()

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()


class ConfirmQuitScreen(ModalScreen[bool]):
    """``q`` while a question is being answered: quit only if asked twice."""

    BINDINGS = [
        Binding("y,q,enter", "answer(True)", "Quit"),
        Binding("n,escape", "answer(False)", "Stay"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(Text("Quit while a question is being answered?", style="bold"))
            yield Static("y or q: quit · n or Esc: stay")

    def action_answer(self, confirmed: bool) -> None:
        self.dismiss(confirmed)


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,f1,question_mark", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(Text("Keys", style="bold"), id="help-title")
            table = DataTable(id="help-table", cursor_type="none", zebra_stripes=True)
            table.add_columns("Where", "Keys", "What")
            for row in key_table():
                table.add_row(*row)
            yield table
            yield Static("Escape closes this help.", id="help-hint")


class HistorySearchScreen(ModalScreen[str | None]):
    """ctrl+r: type to filter earlier questions, Enter to take one."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel")]

    def __init__(self, history: QuestionHistory) -> None:
        super().__init__()
        self.history = history

    def compose(self) -> ComposeResult:
        with Vertical(id="history-box"):
            yield Static(Text("Earlier questions", style="bold"))
            yield Input(placeholder="Filter…", id="history-filter")
            # Earlier questions are what users typed: shown as text, never read as markup.
            yield OptionList(*self._matches(""), id="history-list", markup=False)

    def _matches(self, text: str) -> list[str]:
        return [one_line(q) for q in self.history.search(text)]

    def on_mount(self) -> None:
        self.query_one("#history-filter", Input).focus()

    @on(Input.Changed, "#history-filter")
    def refilter(self, event: Input.Changed) -> None:
        options = self.query_one("#history-list", OptionList)
        options.clear_options()
        options.add_options(self._matches(event.value))
        if options.option_count:
            options.highlighted = 0

    @on(Input.Submitted, "#history-filter")
    def take_highlighted(self, event: Input.Submitted) -> None:
        event.stop()
        options = self.query_one("#history-list", OptionList)
        if options.option_count:
            index = options.highlighted or 0
            self.dismiss(str(options.get_option_at_index(index).prompt))
        else:
            self.dismiss(None)

    @on(OptionList.OptionSelected)
    def take_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(str(event.option.prompt))

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def key_down(self) -> None:
        self.query_one("#history-list", OptionList).action_cursor_down()

    def key_up(self) -> None:
        self.query_one("#history-list", OptionList).action_cursor_up()
