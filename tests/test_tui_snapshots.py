"""Screenshots of the chat at a fixed terminal size, compared with the stored SVGs.

Update them after an intended change with ``pytest tests/test_tui_snapshots.py
--snapshot-update`` and look at the report before committing.
"""

from __future__ import annotations

import pytest

from assistant.frontends.tui.app import AssistantApp
from assistant.frontends.tui.widgets import QuestionInput

from .test_tui import OUT_OF_SCOPE, QUESTION, chat_index, user_env  # noqa: F401

SIZE = (110, 32)


async def steady_cursor(pilot) -> None:
    """A blinking cursor would be on or off depending on how busy the machine is."""
    await pilot.app.workers.wait_for_complete()  # the placeholder comes from a worker
    await pilot.pause()
    pilot.app.screen.query_one(QuestionInput).cursor_blink = False


async def _ask(pilot, question: str) -> None:
    await steady_cursor(pilot)
    await pilot.press(*question, "enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.fixture
def app(user_env, chat_index):  # noqa: F811
    return AssistantApp(chat_index)


def test_snapshot_chat_with_answer(snap_compare, app):
    assert snap_compare(app, terminal_size=SIZE, run_before=lambda p: _ask(p, QUESTION))


def test_snapshot_reader(snap_compare, app):
    async def open_second_source(pilot):
        await _ask(pilot, QUESTION)
        await pilot.press("escape", "2", "enter")
        await pilot.app.workers.wait_for_complete()  # the document is read in a worker
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=open_second_source)


def test_snapshot_abstained(snap_compare, app):
    assert snap_compare(app, terminal_size=SIZE, run_before=lambda p: _ask(p, OUT_OF_SCOPE))


def test_snapshot_help(snap_compare, app):
    async def open_help(pilot):
        await steady_cursor(pilot)
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=open_help)
