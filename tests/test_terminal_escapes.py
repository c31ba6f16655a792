"""Document text, file names and server errors reach the terminal as text, never as commands.

Markup in a notification, control characters in what `y` copies, raw file names in
`assistant eval`, and characters that print as nothing (line separators, zero-width,
tags) are each tried here, in the chat and on the command line.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import Static

from assistant import IndexWriter
from assistant.frontends.tui.app import AssistantApp
from assistant.frontends.tui.screens import HistorySearchScreen
from assistant.frontends.tui.widgets import Exchange, QuestionInput, SourceCard, SourcesPanel
from assistant.text.display import escape_json_controls, inert

from .conftest import ROOT
from .llm_servers import ScriptedServer

# Textual markup that does not parse (MarkupError), and markup that would run an action.
MARKUP_TITLE = "[link=https://evil.example/t]T[/link]"
MARKUP_OUTLET = "[@click=app.quit]The Herald"
MARKUP_FILE = "[link=https:evil.example]T.md"  # a file name cannot hold a '/'
OSC52_FILE = "\x1b]52;c;cHduZWQ=\x07clip.txt"  # sets the clipboard when printed raw
PASTEJACK = "\x1b[201~\rtouch PASTEJACKED\r"  # ends a bracketed paste, then runs a command
INVISIBLE = {
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
    "\u200b": "\\u200b",
    "\u200c": "\\u200c",
    "\u200d": "\\u200d",
    "\u2060": "\\u2060",
    "\ufeff": "\\ufeff",
    "\U000e0041": "\\U000e0041",
    "\U000e007f": "\\U000e007f",
}
RAW_CONTROLS = ("\x1b", "\r", "\x07", "\u202e", "\u2066", *INVISIBLE)

BORDER_QUESTION = "Was the border crossing at Astara closed?"
FERRY_QUESTION = "When did the Caspian ferry resume sailing?"
FERRY_TEXT = (
    "The Caspian ferry from Baku to Aktau\u2028resumed\u2029sailing\u200b on\u200c"
    " Monday\u200d after\u2060 the\ufeff storm\U000e0041\U000e007f, the port said."
)


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory) -> Path:
    """Two documents: one with markup in its title, outlet and file name and a paste-jack
    in its text; one named with an OSC 52 sequence and full of invisible characters.
    The index directory's own name holds an OSC 0 title sequence."""
    from assistant import IndexWriter

    folder = tmp_path_factory.mktemp("terminal-hardening")
    docs = folder / "docs"
    docs.mkdir()
    (docs / MARKUP_FILE).write_text(
        f'---\ntitle: "{MARKUP_TITLE}"\noutlet: "{MARKUP_OUTLET}"\n---\n\n'
        "Azerbaijan said the border crossing at Astara was closed for the whole week of"
        f" talks.{PASTEJACK} The crossing \u202eevil\u202c reopens next week,"
        " \u2066officials\u2069 said.\n\n"
        "Another paragraph about the weather in Baku, mild all week.\n"
    )
    (docs / OSC52_FILE).write_text(
        f"Caspian report\n\n{FERRY_TEXT}\n\nMore text about the port of Aktau and its cranes.\n"
    )
    IndexWriter(folder / "index\x1b]0;pwned\x07").build([str(docs)])
    return folder


@pytest.fixture
def hostile_index(hostile_folder) -> Path:
    return hostile_folder / "index\x1b]0;pwned\x07"


@pytest.fixture
def user_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_USER_DIR", str(tmp_path / "user"))
    monkeypatch.setenv("ASSISTANT_EXPORT_DIR", str(tmp_path / "exports"))
    return tmp_path


# -- the text functions ------------------------------------------------------------------


def test_invisible_characters_are_shown_as_escapes():
    text = "a" + "".join(INVISIBLE) + "b"
    shown = inert(text)
    assert shown == "a" + "".join(INVISIBLE.values()) + "b"
    assert inert("x\u2028y", keep_newlines=False) == "x\\u2028y"
    # Ordinary text, newlines and other scripts are untouched.
    assert inert("Bakı\nТегеран آذربایجان") == "Bakı\nТегеран آذربایجان"


def test_json_keeps_invisible_characters_exactly_but_escaped():
    data = {"text": FERRY_TEXT}
    written = escape_json_controls(json.dumps(data, ensure_ascii=False))
    assert json.loads(written) == data  # the data round-trips unchanged
    for raw in INVISIBLE:
        assert raw not in written, repr(raw)
    assert "\\u2028" in written and "\\udb40\\udc41" in written  # a tag as a surrogate pair


def test_paste_safe_drops_escape_sequences_controls_and_bidi():
    from assistant.text.display import paste_safe

    text = (
        f"col1\tcol2\nline two{PASTEJACK} and"
        " \x1b]8;;https://evil.example\x07link\x1b]8;;\x1b\\ \x1b]52;c;cHduZWQ=\x07"
        " \x1bP+q\x1b\\ \x1b7saved \x9b31mC1 \x9d0;t\x9c \x00\x08\x7f\x85"
        " \u202eevil\u202c \u2066iso\u2069 \u202a\u202b\u202d \u2067\u2068 Bakı"
    )
    cleaned, removed = paste_safe(text)
    assert cleaned == (
        "col1\tcol2\nline twotouch PASTEJACKED and link   saved C1   evil iso   Bakı"
    )
    assert removed == 23
    assert paste_safe("“A quote.” — file.txt ¶2") == ("“A quote.” — file.txt ¶2", 0)
    # An escape sequence cut off at the end is dropped whole, too.
    assert paste_safe("text\x1b]52;c;cHdu") == ("text", 1)
    assert paste_safe("a\x1b]0;title\nthe rest of the quote") == ("a\nthe rest of the quote", 1)
    assert paste_safe("lone \ud800 surrogate") == ("lone  surrogate", 1)


# -- the chat ----------------------------------------------------------------------------


async def ask(pilot, question: str) -> Exchange:
    box = pilot.app.screen.query_one(QuestionInput)
    box.focus()
    box.value = question
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    return list(pilot.app.screen.query(Exchange))[-1]


def toasts(app) -> list[str]:
    """What the notifications on screen paint (rendering them is where markup failed).
    ``run_test`` shows no notifications unless asked: ``notifications=True``."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


def text_of(widget: Static) -> str:
    return str(widget.render())


def painted(widget) -> str:
    """The characters the widget paints, line after line."""
    strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return "".join(strip.text for strip in strips)


async def test_copy_removes_paste_jacking_and_markup_stays_text(user_env, hostile_index):
    from assistant.frontends.conversation import citation_clipboard_text

    app = AssistantApp(hostile_index)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.pause()
        exchange = await ask(pilot, BORDER_QUESTION)
        card = next(c for c in app.screen.query(SourceCard) if "\x1b[201~" in c.passage.text)
        assert "\x1b[201~" in citation_clipboard_text(card.citation)  # what used to be copied
        card.focus()
        await pilot.press("y")
        await pilot.pause()
        copied = app.clipboard
        assert copied.startswith("“") and MARKUP_TITLE in copied and MARKUP_FILE in copied
        for raw in ("\x1b", "\r", "\u202e", "\u2066"):
            assert raw not in copied, repr(raw)
        (message,) = [n.message for n in app._notifications]
        assert message.startswith(f"Copied {card.label}: {MARKUP_TITLE}")
        assert message.endswith("(removed 1 control character or sequence)")
        assert any(MARKUP_TITLE in shown for shown in toasts(app))
        # The title, outlet and file name are painted as typed: never a link or an action.
        meta = text_of(card.query_one(".card-meta", Static))
        assert MARKUP_OUTLET in meta and MARKUP_FILE in meta
        assert MARKUP_OUTLET in painted(card.query_one(".card-meta", Static))
        assert exchange.answer is not None

        # A nearest passage copies its whole text: the command stays, inert, on one line.
        panel = app.screen.query_one(SourcesPanel)
        nearest = SourceCard("~1", card.passage, card.document)
        await panel.mount(nearest)
        nearest.focus()
        await pilot.press("y")
        await pilot.pause()
        assert "\x1b[201~\rtouch" in card.passage.text  # the stored text is unchanged
        assert "closed for the whole week of talks.touch PASTEJACKED The crossing" in (
            app.clipboard
        )
        assert list(app._notifications)[-1].message.endswith(
            "(removed 7 control characters or sequences)"
        )


async def test_notifications_from_data_are_plain_text(user_env, hostile_folder, monkeypatch):
    """A failing answer, a changed cited file and a filter value, each carrying markup."""
    import shutil

    from assistant import IndexWriter
    from assistant.errors import ModelUnavailableError

    docs = user_env / "docs"
    shutil.copytree(hostile_folder / "docs", docs)
    IndexWriter(user_env / "index").build([str(docs)])
    app = AssistantApp(user_env / "index")
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.pause()
        real_ask = app.index.ask

        def broken(question, **_):
            raise ModelUnavailableError(f"cannot load {MARKUP_TITLE} [/]")

        monkeypatch.setattr(app.index, "ask", broken)
        failed = await ask(pilot, BORDER_QUESTION)
        assert failed.has_class("failed")
        monkeypatch.setattr(app.index, "ask", real_ask)

        edited = docs / MARKUP_FILE
        edited.write_text(edited.read_text().replace("Astara", "Astara (north)"))
        await ask(pilot, BORDER_QUESTION)

        box = app.screen.query_one(QuestionInput)
        box.value = "/source [link=https:evil.example]"
        await pilot.press("enter")
        await pilot.pause()
        box.value = "/since [@click=app.quit]x"
        await pilot.press("enter")
        await pilot.pause()

        messages = [n.message for n in app._notifications]
        assert messages[0] == f"cannot load {MARKUP_TITLE} [/]"
        assert messages[1].startswith(f"{edited} changed since it was indexed")
        assert messages[2] == "Searching from [link=https:evil.example]."
        assert "[@click=app.quit]x" in messages[3]
        shown = "\n".join(toasts(app))
        assert f"cannot load {MARKUP_TITLE} [/]" in shown and "[link=https:evil.example]" in shown
        assert app.is_running


async def test_llm_server_error_bodies_are_plain_text(user_env, hostile_index):
    """The server's error body reaches the notice line, the notification and the
    follow-up's rewrite warning; all three show it as typed."""
    from assistant.query.llm import LLMConfig

    server = ScriptedServer()
    body = json.dumps({"error": {"message": f"overloaded {MARKUP_TITLE} \x1b]0;t\x07"}})
    server.handle = lambda handler, request: handler._send(500, body.encode(), "application/json")
    try:
        app = AssistantApp(hostile_index, llm=LLMConfig.resolve(url=server.url, timeout=5))
        async with app.run_test(size=(160, 40), notifications=True) as pilot:
            await pilot.pause()
            first = await ask(pilot, BORDER_QUESTION)
            await ask(pilot, "and when does it reopen?")
            notice = text_of(first.query_one(".notice", Static))
            assert MARKUP_TITLE in notice and "\\x1b]0;t\\x07" in notice
            messages = [n.message for n in app._notifications]
            assert len(messages) == 3 and all(MARKUP_TITLE in m for m in messages)
            assert messages[1].startswith("Could not rewrite the follow-up with the model")
            assert all("\x1b" not in m for m in messages)
            assert any(MARKUP_TITLE in shown for shown in toasts(app))
    finally:
        server.close()


async def test_history_search_lists_questions_as_typed(user_env, hostile_index):
    from assistant.frontends.history import QuestionHistory

    question = "[link=https:evil.example]T [@click=app.quit]q"
    QuestionHistory(hostile_index).add(question)
    app = AssistantApp(hostile_index)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, HistorySearchScreen)
        listed = painted(app.screen.query_one("#history-list"))
        assert question in listed
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one(QuestionInput).value == question


async def test_invisible_characters_are_painted_visibly(user_env, hostile_index):
    app = AssistantApp(hostile_index)
    async with app.run_test(size=(200, 40), notifications=True) as pilot:
        await pilot.pause()
        await ask(pilot, FERRY_QUESTION)
        card = next(c for c in app.screen.query(SourceCard) if "\u2028" in c.passage.text)
        body = text_of(card.query_one(".card-body", Static))
        assert "Aktau\\u2028resumed\\u2029sailing\\u200b on\\u200c Monday\\u200d" in body
        assert "storm\\U000e0041\\U000e007f," in body
        for raw in INVISIBLE:
            assert raw not in painted(card.query_one(".card-body", Static)), repr(raw)
        facts = text_of(app.screen.query_one("#facts", Static))
        assert "\\x1b]0;pwned\\x07" in facts and "\x1b" not in facts


def test_every_notification_and_option_list_in_the_chat_is_plain():
    """Textual reads notifications and option prompts as markup unless told not to; every
    call in the chat passes markup=False, so no later edit can bring the crash back."""
    missing = []
    for path in sorted((ROOT / "assistant" / "tui").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in ("notify", "OptionList"):
                continue
            plain = any(
                k.arg == "markup" and isinstance(k.value, ast.Constant) and k.value.value is False
                for k in node.keywords
            )
            if not plain:
                missing.append(f"{path.name}:{node.lineno} {name}")
    assert missing == []


# -- the command line --------------------------------------------------------------------


def assert_inert(result) -> None:
    for raw in RAW_CONTROLS:
        assert raw not in result.stdout and raw not in result.stderr, repr(raw)


def test_eval_prints_file_names_questions_and_kinds_inert(cli, hostile_index, tmp_path):
    questions = tmp_path / "questions.jsonl"
    items = [
        # Expected to be refused but answered: the line lists the cited files.
        {"q": FERRY_QUESTION, "abstain": True, "kind": "ferry\x1b]0;kind\x07"},
        {"q": f"{BORDER_QUESTION} \x1b]8;;https://evil.example\x07", "gold": ["Astara"]},
    ]
    questions.write_text("\n".join(json.dumps(item) for item in items) + "\n")
    result = cli("eval", str(questions), "--index", str(hostile_index))
    assert result.exit_code == 0, result.output
    assert_inert(result)
    assert "\\x1b]52;c;cHduZWQ=\\x07clip.txt:" in result.stdout  # the file, shown
    assert "ferry\\x1b]0;kind" in result.stdout

    as_json = cli("eval", str(questions), "--index", str(hostile_index), "--json")
    data = json.loads(as_json.stdout)
    assert any(OSC52_FILE in cited for cited in data["questions"][0]["cited"])  # exact


@pytest.mark.parametrize("args", [["index", "status"], ["index", "update"]])
def test_index_paths_are_printed_inert(cli, hostile_index, args):
    result = cli(*args, "--index", str(hostile_index))
    assert result.exit_code == 0, result.output
    assert_inert(result)
    assert "index\\x1b]0;pwned\\x07" in result.stdout


@pytest.mark.parametrize("command", ["ask", "search"])
def test_plain_output_shows_invisible_characters(cli, hostile_index, command):
    result = cli(command, FERRY_QUESTION, "--index", str(hostile_index))
    assert result.exit_code == 0, result.output
    assert_inert(result)
    shown = " ".join(result.stdout.split())
    assert "Aktau\\u2028resumed\\u2029sailing\\u200b on\\u200c Monday\\u200d" in shown
    assert "storm\\U000e0041\\U000e007f," in shown
    assert "\\x1b]52;c;cHduZWQ=\\x07clip.txt" in shown


@pytest.mark.parametrize("command", ["ask", "search"])
def test_json_output_keeps_the_exact_text(cli, hostile_index, command):
    result = cli(command, FERRY_QUESTION, "--index", str(hostile_index), "--json")
    assert result.exit_code == 0, result.output
    assert_inert(result)
    data = json.loads(result.stdout)
    first = (data.get("citations") or data.get("results"))[0]
    assert first["text"] == FERRY_TEXT
    # The offsets contract: the stored text still reproduces the passage exactly.
    document = Path(first["source"]).read_text()
    assert document[first["start"] : first["end"]] == FERRY_TEXT


# -- the command line, as a shell sees it ---------------------------------------------


def shell(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
        env={**os.environ, **env},
    )


# -- terminal safety ---------------------------------------------------------------------

HOSTILE_TEXT = (
    "Border statement\n\n"
    "Azerbaijan said the border \x1b[2J\x1b[31mwas closed\x1b[0m"
    " \x1b]8;;https://evil.example\x07click here\x1b]8;;\x07"
    " \x1b]0;pwned title\x07 and \rOVERWRITE\b\b and \u202egnirts desrever\u202c"
    " and \u009b31m C1 and [bold red]markup[/bold red] [link=https://x]link[/link].\n\n"
    "A second paragraph about the weather in Baku, mild all week long.\n"
)
ATTACK_CONTROLS = ("\x1b", "\r", "\b", "\x07", "\u202e", "\u009b")


@pytest.fixture(scope="module")
def terminal_attack_index(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("terminal")
    (folder / "docs").mkdir()
    (folder / "docs" / "attack.txt").write_text(HOSTILE_TEXT)
    IndexWriter(folder / "index").build([str(folder / "docs")])
    return folder / "index"


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "what did Azerbaijan say about the border?"],
        ["ask", "what did Azerbaijan say about the border?", "--json"],
        ["search", "Azerbaijan border closed"],
        ["search", "Azerbaijan border closed", "--json"],
        ["index", "status"],
    ],
)
def test_cli_output_is_inert(terminal_attack_index, args):
    result = shell(*args, "--index", str(terminal_attack_index))
    assert result.returncode == 0, result.stderr
    for raw in ATTACK_CONTROLS:
        assert raw not in result.stdout and raw not in result.stderr, repr(raw)
    if "--json" in args:
        data = json.loads(result.stdout)
        first = (data.get("citations") or data.get("results"))[0]
        assert "\x1b]8;;https://evil.example\x07" in first["text"]  # data kept exactly
    elif args[0] != "index":
        shown = " ".join(result.stdout.split())  # the CLI wraps long passages
        assert "\\x1b[31mwas closed" in shown  # shown, visibly, as text
        assert "[bold red]markup[/bold red]" in shown
