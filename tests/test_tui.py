"""The chat, driven through Textual's Pilot: what a user sees after each key."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from textual import events
from textual.geometry import Region
from textual.widgets import Static

from assistant.frontends.tui.app import AssistantApp
from assistant.frontends.tui.screens import (
    BrokenIndexScreen,
    BuildScreen,
    ChatScreen,
    ConfirmQuitScreen,
    HelpScreen,
    HistorySearchScreen,
    OpeningScreen,
    ReaderScreen,
)
from assistant.frontends.tui.widgets import Exchange, QuestionInput, SourceCard, SourcesPanel

from .conftest import ROOT, SEEDS

QUESTION = "What did Azerbaijan say about the 132-km border?"
OUT_OF_SCOPE = "Who won the 2022 FIFA World Cup final?"
FIXED_TIME = "2026-01-15T09:30:00+00:00"


@pytest.fixture(scope="session")
def chat_index(seeds_index_dir, tmp_path_factory) -> Path:
    """The seeds indexed as ``seeds`` (as `make demo` does) with fixed dates, so that
    screenshots are the same in any checkout on any day."""
    from assistant import IndexWriter

    target = tmp_path_factory.mktemp("chat") / "index"
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        IndexWriter(target).build(["seeds"])
    finally:
        os.chdir(here)
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["created_at"] = manifest["updated_at"] = FIXED_TIME
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return target


@pytest.fixture
def user_env(tmp_path, monkeypatch, chat_index):
    """Fresh history and export folders; the working directory beside the index."""
    monkeypatch.setenv("ASSISTANT_USER_DIR", str(tmp_path / "user"))
    monkeypatch.setenv("ASSISTANT_EXPORT_DIR", str(tmp_path / "exports"))
    monkeypatch.chdir(chat_index.parent)
    return tmp_path


async def ask(pilot, question: str, typed: bool = False) -> Exchange:
    box = pilot.app.screen.query_one(QuestionInput)
    box.focus()
    if typed:
        await pilot.press(*question)
    else:
        box.value = question
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return list(pilot.app.screen.query(Exchange))[-1]


def text_of(widget: Static) -> str:
    return str(widget.render())


def cards(app) -> list[SourceCard]:
    return list(app.screen.query_one(SourcesPanel).query(SourceCard))


async def test_ask_shows_answer_with_numbered_citations(user_env, chat_index):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)
        assert app.focused is app.screen.query_one(QuestionInput)
        exchange = await ask(pilot, QUESTION, typed=True)

        answer = exchange.answer
        assert answer is not None and not answer.abstained
        shown = text_of(exchange.query_one(".answer", Static))
        assert "[1]" in shown and "132-kilomet" in shown
        assert [card.label for card in cards(app)] == [f"[{c.n}]" for c in answer.citations]
        first = cards(app)[0]
        meta = text_of(first.query_one(".card-meta", Static))
        assert first.passage.source in meta and f"¶{first.passage.paragraph}" in meta
        assert "Middle East Monitor" in meta or "Atlas News" in meta
        # The answered question leaves the box; the facts line shows the index.
        assert app.screen.query_one(QuestionInput).value == ""
        facts = text_of(app.screen.query_one("#facts", Static))
        assert "5 documents" in facts and "81 passages" in facts and "2026-01-15" in facts


async def test_jump_open_reader_and_come_back(user_env, chat_index):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        exchange = await ask(pilot, QUESTION)
        second = exchange.answer.citations[1]

        # Digits type into the question box; from the sources they jump.
        await pilot.press("escape", "2")
        assert isinstance(app.focused, SourceCard) and app.focused.label == "[2]"
        await pilot.press("9")  # no citation 9: a warning, focus stays
        assert app.focused.label == "[2]"

        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        reader = app.screen
        assert isinstance(reader, ReaderScreen)
        cited = reader.query_one(".cited", Static)
        assert text_of(cited) == second.passage.text
        body = reader.query_one("#reader-body")
        # The cited paragraph is on screen, not merely somewhere in the document.
        assert body.scrollable_content_region.overlaps(cited.region)

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)
        # Back in the chat, typing goes to the question; Esc goes to the sources again.
        assert app.focused is app.screen.query_one(QuestionInput)

        await pilot.press("escape", "1", "o")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        assert text_of(app.screen.query_one(".cited", Static)) == (
            exchange.answer.citations[0].passage.text
        )


async def test_copy_citation(user_env, chat_index):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        exchange = await ask(pilot, QUESTION)
        citation = exchange.answer.citations[0]
        await pilot.press("escape", "1", "y")
        copied = app.clipboard
        assert copied.startswith(f"“{citation.quote_text}”")
        assert f"{citation.passage.source} ¶{citation.passage.paragraph}" in copied
        assert citation.document.title in copied and citation.document.outlet in copied


async def test_history_is_kept_per_index_across_runs(user_env, chat_index):
    first_run = AssistantApp(chat_index)
    async with first_run.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await ask(pilot, "Who is Heydari?")
        await ask(pilot, QUESTION)

    second_run = AssistantApp(chat_index)
    async with second_run.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        box = second_run.screen.query_one(QuestionInput)
        await pilot.press("d", "r", "a", "f", "t")
        await pilot.press("up")
        assert box.value == QUESTION
        await pilot.press("up")
        assert box.value == "Who is Heydari?"
        await pilot.press("up")  # the oldest stays
        assert box.value == "Who is Heydari?"
        await pilot.press("down", "down")
        assert box.value == "draft"  # back to what was being typed

        box.value = ""
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(second_run.screen, HistorySearchScreen)
        await pilot.press(*"heyd", "enter")
        await pilot.pause()
        assert isinstance(second_run.screen, ChatScreen)
        assert box.value == "Who is Heydari?"


async def test_export_writes_markdown_with_citations(user_env, chat_index):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        answered = await ask(pilot, QUESTION)
        await ask(pilot, OUT_OF_SCOPE)
        await pilot.press("ctrl+e")
        await pilot.pause()
        exported = sorted((user_env / "exports").glob("conversation-*.md"))
        assert len(exported) == 1
        markdown = exported[0].read_text()
        assert f"## 1. {QUESTION}" in markdown
        assert f"## 2. {OUT_OF_SCOPE}" in markdown
        for citation in answered.answer.citations:
            speaker = f" — {citation.said_by}" if citation.said_by else ""
            assert f"> {citation.quote_text}{speaker} [{citation.n}]" in markdown
            assert f"[{citation.n}] {citation.document.title}" in markdown
            assert f"{citation.passage.source} ¶{citation.passage.paragraph}" in markdown
        assert "**Not in the sources.**" in markdown

        # ctrl+l starts over: nothing left on screen or to export.
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert not list(app.screen.query(Exchange)) and not cards(app)
        assert len(app.screen.conversation) == 0


async def test_abstention_looks_different_and_offers_nearest(user_env, chat_index):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        exchange = await ask(pilot, OUT_OF_SCOPE)
        assert exchange.answer.abstained
        assert exchange.has_class("abstained")
        assert text_of(exchange.query_one(".answer", Static)).startswith("Not in the sources.")
        panel = app.screen.query_one(SourcesPanel)
        assert panel.border_title.startswith("Nearest passages")
        labels = [card.label for card in cards(app)]
        assert labels and all(label.startswith("~") for label in labels)


async def test_follow_up_keeps_the_topic(user_env, chat_index):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await ask(pilot, QUESTION)
        follow_up = await ask(pilot, "and what did Iran say?")
        assert follow_up.standalone == "what did Iran say about the 132-km border?"
        shown = [text_of(s) for s in follow_up.query(".standalone").results(Static)]
        assert shown == ["searched as: what did Iran say about the 132-km border?"]
        assert not follow_up.answer.abstained
        assert any("132" in c.passage.text for c in follow_up.answer.citations)


async def test_errors_notify_and_keep_the_question(user_env, chat_index, monkeypatch):
    from assistant.errors import ModelUnavailableError

    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        real_ask = app.index.ask

        def broken(question, k=3, **_):
            raise ModelUnavailableError("the query model cannot be loaded")

        monkeypatch.setattr(app.index, "ask", broken)
        failed = await ask(pilot, QUESTION)
        assert failed.has_class("failed")
        assert [n.message for n in app._notifications] == ["the query model cannot be loaded"]
        box = app.screen.query_one(QuestionInput)
        assert box.value == QUESTION and app.focused is box

        monkeypatch.setattr(app.index, "ask", real_ask)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert list(app.screen.query(Exchange))[-1].answer.citations


@pytest.fixture(scope="module")
def hostile_index(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    docs = folder / "docs"
    docs.mkdir()
    (docs / "markup.txt").write_text(
        "Border talks\n\n"
        "[bold]Azerbaijan[/bold] said the [link=https://x]border[/link] was closed"
        " \x1b[31mred\x1b[0m and \x1b]8;;https://evil.example\x07a link\x1b]8;;\x07"
        " \rback\b\b \u202ereversed\u202c \u009b31m.\n\n"
        "Another paragraph about the weather in Baku, which was mild all week.\n"
    )
    from assistant import IndexWriter

    IndexWriter(folder / "index").build([str(docs)])
    return folder / "index"


async def test_source_text_is_shown_literally(user_env, hostile_index):
    app = AssistantApp(hostile_index)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        await ask(pilot, "what did Azerbaijan say about the border?")
        body = cards(app)[0].query_one(".card-body", Static)
        rendered = body.render()
        assert "[bold]Azerbaijan[/bold]" in str(rendered)
        assert "[link=https://x]border[/link]" in str(rendered)
        assert "\\x1b[31mred" in str(rendered) and "\x1b" not in str(rendered)
        assert not any("link" in str(span.style) for span in rendered.spans)
        # What the widget paints: the literal characters, and never a hyperlink.
        strips = body.render_lines(Region(0, 0, body.size.width, body.size.height))
        painted = "".join(strip.text for strip in strips)
        assert "[bold]Azerbaijan[/bold]" in painted
        assert "evil.example" in painted
        for raw in ("\x1b", "\r", "\b", "\x07", "\u202e", "\u009b"):
            assert raw not in painted, repr(raw)
        assert all(not (seg.style and seg.style.link) for strip in strips for seg in strip)


async def test_help_lists_every_key(user_env, chat_index):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-table")
        rows = [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)]
        keys = {row[1] for row in rows}
        for expected in ("?", "1-9", "enter, o", "y", "ctrl+r", "ctrl+e", "ctrl+l", "q", "ctrl+c"):
            assert expected in keys
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_usable_at_small_and_large_sizes(user_env, chat_index, size):
    app = AssistantApp(chat_index)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await ask(pilot, QUESTION)
        screen = app.screen
        width, height = size
        for selector in ("#question", "#conversation", "#sources", "Footer", "#facts"):
            region = screen.query_one(selector).region
            assert region.width > 0 and region.height > 0, selector
            assert region.right <= width and region.bottom <= height, selector
        assert screen.query_one("#question").region.height == 3
        assert screen.query_one("#sources").region.width >= 30
        first = cards(app)[0]
        assert first.region.height > 0


async def test_ctrl_c_quits_even_from_the_question_box(user_env, chat_index):
    app = AssistantApp(chat_index)
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running


def record_build_screens(monkeypatch) -> list[tuple]:
    """(sources, reason) of every BuildScreen made: builds are too quick to catch on screen."""
    made = []
    original_init = BuildScreen.__init__

    def recording_init(self, index_path, sources, reason):
        made.append((sources, reason))
        original_init(self, index_path, sources, reason)

    monkeypatch.setattr(BuildScreen, "__init__", recording_init)
    return made


async def test_missing_index_is_built_from_seeds_with_progress(user_env, tmp_path, monkeypatch):
    made = record_build_screens(monkeypatch)
    progress = []
    monkeypatch.setattr(
        BuildScreen,
        "on_build_screen_progress",
        lambda self, message: progress.append((message.stage, message.done, message.total)),
    )
    target = tmp_path / "fresh" / "index"
    app = AssistantApp(target, seeds=SEEDS)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert made == [([SEEDS], f"There is no index at {target} yet: building it from {SEEDS}.")]
        assert ("reading", 5, 5) in progress and ("writing", 1, 1) in progress
        assert isinstance(app.screen, ChatScreen)
        assert (target / "manifest.json").is_file()
        exchange = await ask(pilot, QUESTION)
        assert exchange.answer.citations


async def test_stale_index_is_updated_before_chatting(user_env, tmp_path, monkeypatch):
    from assistant import IndexWriter

    reasons = record_build_screens(monkeypatch)

    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    IndexWriter(tmp_path / "index").build([str(docs)])
    changed = next(docs.glob("003_*.txt"))
    changed.write_text(changed.read_text() + "\n\nA new closing paragraph about rivers.\n")

    app = AssistantApp(tmp_path / "index")
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        assert [sources for sources, _ in reasons] == [None]  # an update, not a rebuild
        assert "(1 changed, 0 new, 0 missing)" in reasons[0][1]
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)
        assert app.index.status().stale == []


async def test_damaged_index_says_why_instead_of_crashing(user_env, tmp_path):
    target = tmp_path / "index"
    target.mkdir()
    (target / "manifest.json").write_text("{ not json")
    app = AssistantApp(target)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, BrokenIndexScreen)
        assert "manifest" in text_of(app.screen.query_one("#build-reason", Static))


async def test_a_cited_file_edited_during_the_chat_is_flagged(user_env, tmp_path):
    from assistant import IndexWriter

    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    IndexWriter(tmp_path / "index").build([str(docs)])
    app = AssistantApp(tmp_path / "index")
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        cited = next(docs.glob("004_*.txt"))
        cited.write_text(cited.read_text().replace("132", "133"))
        exchange = await ask(pilot, QUESTION)
        assert exchange.answer.citations  # still answered, from the indexed text
        warnings = [n.message for n in app._notifications if n.severity == "warning"]
        assert warnings == [
            f"{cited} changed since it was indexed; quotes show the indexed text."
            " Run: assistant index update"
        ]


# -- with a language model (a scripted OpenAI-compatible server) --------------------------

# Passage [1] is the ministry's quoted statement and does not name the ministry, so the
# reply names Azerbaijan, as the passage does (a name the passage lacks is unverified).
LLM_REPLY = (
    "Azerbaijan reminded Heydari that Armenia kept Azerbaijani lands under"
    " occupation for 30 years, and a “132-kilometer section of the Azerbaijani-Iranian state"
    " border” was occupied [1]."
    " Iran was never consulted [31]."
)


@pytest.fixture
def scripted():
    from .llm_servers import ScriptedServer

    server = ScriptedServer()
    yield server
    server.close()


def _llm(url: str):
    from assistant.query.llm import LLMConfig

    return LLMConfig.resolve(url=url, timeout=5)


async def ask_until_streaming(pilot, question: str, shown: int = 1) -> str:
    """Ask, then wait (without waiting for the worker) until the model's text being
    streamed shows at least ``shown`` characters; returns what is shown then."""
    box = pilot.app.screen.query_one(QuestionInput)
    box.value = question
    await pilot.press("enter")
    for _ in range(100):  # while the server is still sending
        await pilot.pause(0.05)
        streaming = pilot.app.screen.query(".streaming")
        if streaming and len(text_of(streaming.first())) >= shown:
            return text_of(streaming.first())
    return ""


async def test_model_answer_streams_then_shows_verdicts(user_env, chat_index, scripted):
    scripted.reply, scripted.piece_delay = LLM_REPLY, 0.05
    app = AssistantApp(chat_index, llm=_llm(scripted.url))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        partial = await ask_until_streaming(pilot, QUESTION, shown=21)
        assert partial and LLM_REPLY.startswith(partial) and len(partial) < len(LLM_REPLY)
        await app.workers.wait_for_complete()
        await pilot.pause()
        exchange = list(app.screen.query(Exchange))[-1]
        assert not exchange.query(".streaming")
        answer = text_of(exchange.query_one(".generated", Static))
        assert answer.startswith("Azerbaijan reminded Heydari")
        assert answer.endswith("Iran was never consulted. (unverified)")  # [31] was not given
        verdicts = text_of(exchange.query_one(".verification", Static))
        assert verdicts.startswith(
            "✓ 1 of 2 sentences verified against the passages · removed [31] (not given)"
        )
        (card,) = cards(app)
        assert card.citation.n == 1
        assert (
            card.citation.quote_text
            == "132-kilometer section of the Azerbaijani-Iranian state border"
        )
        await pilot.press("escape", "1")
        assert app.focused is card


async def test_model_failure_notifies_and_the_chat_goes_on(user_env, chat_index):
    from .llm_servers import free_port

    app = AssistantApp(chat_index, llm=_llm(f"http://127.0.0.1:{free_port()}"))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        exchange = await ask(pilot, QUESTION)
        (notice,) = [n.message for n in app._notifications]
        assert notice.startswith("cannot reach the LLM server at http://127.0.0.1:")
        assert notice.endswith("; showing the extractive answer instead")
        assert text_of(exchange.query_one(".notice", Static)) == f"⚠ {notice}"
        assert exchange.answer.mode == "extractive" and len(cards(app)) == 2
        second = await ask(pilot, "Who is Kioumars Heydari?")
        assert second.answer is not None and not second.has_class("failed")


async def test_follow_up_is_condensed_by_the_model(user_env, chat_index, scripted):
    scripted.reply = LLM_REPLY
    scripted.complete_reply = "What did Iran say about the 132-km border section?"
    app = AssistantApp(chat_index, llm=_llm(scripted.url))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await ask(pilot, QUESTION)
        follow_up = await ask(pilot, "and Iran?")
        assert follow_up.standalone == "What did Iran say about the 132-km border section?"
        shown = text_of(follow_up.query_one(".standalone", Static))
        assert shown == "searched as: What did Iran say about the 132-km border section?"
        condense, answer = scripted.requests[-2:]
        assert "Last question: and Iran?" in condense["messages"][0]["content"]
        assert (
            "Question: What did Iran say about the 132-km border section?"
            in (answer["messages"][1]["content"])
        )


async def test_filter_commands_restrict_the_chat_search(user_env, chat_index):
    from assistant.filters import SearchFilter

    app = AssistantApp(chat_index, search_filter=SearchFilter.parse(sources=["Atlas News"]))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        line = app.screen.query_one("#filter-line", Static)
        assert line.display and text_of(line).startswith("Searching only documents from Atlas")
        exchange = await ask(pilot, QUESTION)
        assert {c.document.outlet for c in exchange.answer.citations} == {"Atlas News"}

        box = app.screen.query_one(QuestionInput)
        box.value = "/all"
        await pilot.press("enter")
        await pilot.pause()
        assert not line.display and box.value == ""
        assert app._notifications and list(app._notifications)[-1].message == (
            "Searching every document."
        )
        box.value = "/since 2023"
        await pilot.press("enter")
        await pilot.pause()
        assert text_of(line).startswith("Searching only documents since 2023-01-01")
        since = await ask(pilot, QUESTION)
        assert {c.document.published for c in since.answer.citations} == {"2023-04-02"}
        box.value = "/until someday"
        await pilot.press("enter")
        await pilot.pause()
        assert list(app._notifications)[-1].message.startswith("dates are YYYY")
        assert text_of(line).startswith("Searching only documents since 2023-01-01")


async def test_clearing_the_chat_while_the_model_writes_is_safe(user_env, chat_index, scripted):
    scripted.reply, scripted.piece_delay = LLM_REPLY, 0.05
    app = AssistantApp(chat_index, llm=_llm(scripted.url))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        assert await ask_until_streaming(pilot, QUESTION)
        await pilot.press("ctrl+l")  # while pieces are still arriving
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.screen.query(Exchange) and not app.screen.conversation.turns
        second = await ask(pilot, "Who is Kioumars Heydari?")
        assert second.answer is not None and not second.has_class("failed")


# -- where the keys go ------------------------------------------------------------------


async def test_focus_comes_back_to_the_question_when_a_screen_closes(user_env, chat_index):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await ask(pilot, QUESTION)
        box = app.screen.query_one(QuestionInput)
        await pilot.press("escape")
        assert isinstance(app.focused, SourceCard)
        await pilot.press("escape")  # Esc on a card: back to the question
        assert app.focused is box

        for opening, closing in (("f1", "escape"), ("ctrl+r", "escape")):
            await pilot.press("escape", opening)  # opened from a source card
            await pilot.pause()
            assert not isinstance(app.screen, ChatScreen)
            await pilot.press(closing)
            await pilot.pause()
            assert isinstance(app.screen, ChatScreen) and app.focused is box, opening


async def test_typing_on_a_source_card_goes_to_the_question(user_env, chat_index):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await ask(pilot, QUESTION)
        await pilot.press("escape")
        assert isinstance(app.focused, SourceCard)
        # "q" quits and "o" opens from a card: but the first letter took the focus away.
        await pilot.press(*"What is a quota?")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, ChatScreen)
        box = app.screen.query_one(QuestionInput)
        assert app.focused is box and box.value == "What is a quota?"


def _blocking_ask(app, monkeypatch) -> threading.Event:
    """Make the index's answers wait until the returned event is set (or 10 s)."""
    release = threading.Event()
    real_ask = app.index.ask

    def slow_ask(question, **options):
        release.wait(10)
        return real_ask(question, **options)

    monkeypatch.setattr(app.index, "ask", slow_ask)
    return release


async def test_q_quits_only_outside_the_box_and_asks_while_answering(
    user_env, chat_index, monkeypatch
):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await ask(pilot, QUESTION)
        box = app.screen.query_one(QuestionInput)
        await pilot.press("q")  # in the question box: a letter
        assert app.is_running and box.value == "q"

        release = _blocking_ask(app, monkeypatch)
        try:
            box.value = "Who is Heydari?"
            await pilot.press("enter", "escape")
            assert app.screen.pending is not None and isinstance(app.focused, SourceCard)
            await pilot.press("q")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmQuitScreen) and app.is_running
            await pilot.press("n")
            await pilot.pause()
            assert isinstance(app.screen, ChatScreen) and app.is_running
            assert app.focused is box
            await pilot.press("escape", "q")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmQuitScreen)
            release.set()  # the index is closed on quitting: let the answer finish first
            await app.workers.wait_for_complete()
            await pilot.press("y")
            await pilot.pause()
        finally:
            release.set()
    assert app.return_code == 0 and not app.is_running


async def test_q_on_a_card_quits_at_once_when_nothing_is_being_answered(user_env, chat_index):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await ask(pilot, QUESTION)
        await pilot.press("escape", "q")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running


async def test_keys_pressed_while_the_reader_loads_are_dropped(user_env, chat_index, monkeypatch):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await ask(pilot, QUESTION)
        release = threading.Event()
        real_text = app.index.document_text

        def slow_text(doc_id):
            release.wait(2)
            return real_text(doc_id)

        monkeypatch.setattr(app.index, "document_text", slow_text)
        await pilot.press("escape", "o")  # open the first source
        stale = events.Key("escape", None)  # typed now, delivered once the reader is up
        await pilot.press("y", "escape")  # while the document is being read
        assert isinstance(app.screen, OpeningScreen)
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        assert not app.clipboard  # "y" copied nothing
        app.screen.post_message(stale)
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        await pilot.press("escape")  # a key typed now is the reader's
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)


# -- what the chat shows ------------------------------------------------------------------

WRAPPED = (
    "The harbour master said the ferry to Aktau would sail again on\n"
    "Monday once the storm had passed over the northern coast.\n\n"
    "Another paragraph about the weather in Baku, which was mild all week.\n"
)


@pytest.fixture(scope="module")
def wrapped_index(tmp_path_factory) -> Path:
    """A hard-wrapped text file (no title of its own), indexed."""
    from assistant import IndexWriter

    folder = tmp_path_factory.mktemp("wrapped")
    docs = folder / "docs"
    docs.mkdir()
    (docs / "ferry.txt").write_text(WRAPPED)
    IndexWriter(folder / "index").build([docs])
    return folder / "index"


async def test_line_breaks_inside_a_sentence_are_spaces_in_the_chat_and_export(
    user_env, wrapped_index
):
    joined = "would sail again on Monday once the storm"
    app = AssistantApp(wrapped_index)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        exchange = await ask(pilot, "When would the ferry to Aktau sail again?")
        assert "\n" in exchange.answer.citations[0].quote_text  # the text as it is
        shown = text_of(exchange.query_one(".answer", Static))
        assert joined in shown and "\\x0a" not in shown
        body = text_of(cards(app)[0].query_one(".card-body", Static))
        assert joined in body and "\n" not in body
        await pilot.press("ctrl+e")
        await pilot.pause()
        (exported,) = (user_env / "exports").glob("conversation-*.md")
        markdown = exported.read_text()
        assert f"> The harbour master said the ferry to Aktau {joined}" in markdown
        assert "\\x0a" not in markdown


async def test_the_placeholder_names_what_the_titles_speak_of(user_env, chat_index):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        box = app.screen.query_one(QuestionInput)
        assert box.placeholder.startswith("Ask about Azerbaijan, Iran, ")
        welcome = text_of(app.screen.query_one("#welcome", Static))
        assert "132" not in box.placeholder and "132" not in welcome


async def test_the_placeholder_is_neutral_without_titles(user_env, wrapped_index):
    app = AssistantApp(wrapped_index)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        placeholder = app.screen.query_one(QuestionInput).placeholder
        assert placeholder.startswith("Ask about your sources…")
