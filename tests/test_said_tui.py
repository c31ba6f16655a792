"""The chat's side-by-side view of who said what (``/said TOPIC``, ``w`` on a source
card), driven through Textual's Pilot, and its screenshot."""

from __future__ import annotations

from assistant.frontends.tui.app import AssistantApp
from assistant.frontends.tui.said import SaidScreen, StatementCard
from assistant.frontends.tui.screens import ChatScreen, ReaderScreen, topic_of_question
from assistant.frontends.tui.widgets import QuestionInput

from .test_tui import QUESTION, ask, chat_index, user_env  # noqa: F401
from .test_tui_snapshots import SIZE, steady_cursor

TOPIC = "132-km border"


async def open_said(pilot, topic: str) -> SaidScreen:
    box = pilot.app.screen.query_one(QuestionInput)
    box.focus()
    box.value = f"/said {topic}"
    await pilot.press("enter")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    assert isinstance(pilot.app.screen, SaidScreen)
    return pilot.app.screen


def test_the_topic_of_an_answered_question():
    assert topic_of_question(QUESTION) == "the 132-km border"
    assert topic_of_question("Who shelled the ferry?") == "shelled ferry"


async def test_said_shows_a_column_per_side_with_dated_cards_and_opens_the_reader(
    user_env,  # noqa: F811
    chat_index,  # noqa: F811
):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        screen = await open_said(pilot, TOPIC)
        said = screen.said
        assert said is not None and not said.abstained
        columns = list(screen.query(".said-column"))
        assert [c.border_title for c in columns] == ["Azerbaijan"]
        cards = list(screen.query(StatementCard))
        ministry = said.speakers[0]
        assert [card.statement for card in cards] == list(ministry.statements)
        assert {card.statement.doc_id[-24:-21] for card in cards} >= {"002", "004"}
        assert app.focused is cards[0]

        # Enter opens the reader on the quote; Esc comes back to the view.
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ReaderScreen)
        cited = app.screen.query_one(".cited")
        assert cards[0].statement.quote[:40] in str(cited.render())
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SaidScreen)

        # ctrl+e writes the view as a Markdown table.
        await pilot.press("ctrl+e")
        await pilot.pause()
        [exported] = list((user_env / "exports").glob("said-*.md"))
        markdown = exported.read_text()
        assert markdown.startswith(f"# Who said what: {TOPIC}\n\n| Azerbaijan |\n|---|\n")
        assert "132-kilomet" in markdown
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ChatScreen)


async def test_w_on_a_source_card_asks_who_else_spoke_on_the_question(
    user_env,  # noqa: F811
    chat_index,  # noqa: F811
):
    app = AssistantApp(chat_index)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        await ask(pilot, QUESTION)
        await pilot.press("escape", "w")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, SaidScreen)
        assert app.screen.topic == "the 132-km border"
        assert app.screen.said.speakers


async def test_said_on_a_topic_nobody_speaks_on_says_so(user_env, chat_index):  # noqa: F811
    app = AssistantApp(chat_index)
    async with app.run_test(size=(130, 40)) as pilot:
        await pilot.pause()
        screen = await open_said(pilot, "the Caspian Sea fishing quotas")
        assert screen.said.abstained
        shown = str(screen.query_one(".said-abstained").render())
        assert shown.startswith("No one is quoted on this: the sources never mention")
        assert not list(screen.query(StatementCard))


def test_snapshot_said_side_by_side(snap_compare, user_env, chat_index):  # noqa: F811
    async def show(pilot):
        await steady_cursor(pilot)
        await open_said(pilot, "Zionist elements in Azerbaijan")

    assert snap_compare(AssistantApp(chat_index), terminal_size=SIZE, run_before=show)
