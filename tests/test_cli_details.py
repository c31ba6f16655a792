"""CLI details: progress on a terminal only, quiet pipes, -h, filters that match nothing,
the Markdown export, and the shared rendering helpers."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

QUESTION_132 = "What did Azerbaijan say about the 132-km border?"
PARAGRAPHS = [
    "The ministry said the border post at Lachin would reopen on Monday after talks.",
    "The river flooded three villages near the capital after two days of heavy rain.",
    "A new ferry line links the two harbours from the first of May, the port said.",
]


def corpus(base: Path) -> Path:
    base.mkdir()
    for number, text in enumerate(PARAGRAPHS):
        (base / f"{number}.txt").write_text(f"Report {number}\n\n{text}\n")
    return base


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "assistant", *args]


def on_a_terminal(args: list[str], timeout: float = 120) -> tuple[int, str]:
    """Run the real CLI with stdin, stdout and stderr on a pseudo-terminal."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, cwd=ROOT)
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], timeout)
        if not ready:
            process.kill()
            raise AssertionError(f"no output for {timeout} s: {output!r}")
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    return process.wait(timeout=timeout), output.decode("utf-8", "replace")


def test_progress_shows_on_a_terminal_and_not_in_a_pipe(tmp_path):
    docs = corpus(tmp_path / "docs")
    code, shown = on_a_terminal(
        command("index", "build", str(docs), "--index", str(tmp_path / "t"))
    )
    assert code == 0, shown
    assert "\r[####################] Reading 3 of 3 files" in shown
    assert "Embedding 3 of 3 passages" in shown
    assert "indexed 3 documents, 3 passages" in shown  # the full report follows

    piped = subprocess.run(
        command("index", "build", str(docs), "--index", str(tmp_path / "p")),
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert piped.stderr == ""  # no progress
    (line,) = piped.stdout.splitlines()  # one summary line
    assert line.startswith(f"indexed 3 documents, 3 passages (0 boilerplate) into {tmp_path}/p;")
    assert "files: 3 new or changed, 0 unchanged, 0 removed, 0 skipped;" in line


def test_quiet_prints_nothing_even_on_a_terminal(tmp_path):
    docs = corpus(tmp_path / "docs")
    index = str(tmp_path / "q")
    code, shown = on_a_terminal(command("index", "add", str(docs), "--index", index, "--quiet"))
    assert (code, shown) == (0, "")
    code, shown = on_a_terminal(command("index", "update", "--index", index, "-q"))
    assert (code, shown) == (0, "")


def test_progress_figures_give_rate_and_time_left():
    from assistant.frontends.render import ProgressFigures

    now = [100.0]
    figures = ProgressFigures(clock=lambda: now[0])
    figures.update("reading", 40, 40)
    figures.update("embedding", 0, 11000)
    now[0] += 30
    figures.update("embedding", 1200, 11000)
    assert figures.line() == "Embedding 1,200 of 11,000 passages · 40/s · about 4 min 05 s left"
    assert (figures.files_read, figures.passages_embedded) == (40, 1200)
    figures.update("embedding", 11000, 11000)
    assert "left" not in figures.line()


def test_a_closed_pipe_ends_quietly(seeds_index_dir):
    process = subprocess.Popen(
        command("search", "border", "--index", str(seeds_index_dir), "-k", "5"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    process.stdout.close()  # as `| head -1` does once it has its line
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert stderr == ""


def test_dash_h_is_help(cli):
    for args in (["-h"], ["ask", "-h"], ["index", "add", "-h"]):
        result = cli(*args)
        assert result.exit_code == 0, args
        assert result.output.startswith("Usage: ")
    assert "--index NAME|DIR" in cli("ask", "-h").output


def test_eval_help_documents_the_question_file(cli):
    shown = cli("eval", "--help").output
    for field in ('"q"', '"gold"', '"abstain": true', "kind"):
        assert field in shown


def test_ask_with_a_source_nothing_matches_says_so(cli, seeds_index_dir):
    args = ["ask", QUESTION_132, "--index", str(seeds_index_dir), "--source", "CNN"]
    result = cli(*args)
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == (
        "The sources do not answer this: no document matches the filter (from CNN)."
    )
    result = cli(*args, "--json")
    assert '"reason": "no document matches the filter (from CNN)"' in result.output


def test_markdown_export_keeps_who_said_it_and_quotes_as_blockquotes(fake_seeds_index):
    from assistant.frontends.conversation import Conversation

    answer = fake_seeds_index.ask(QUESTION_132)
    spoken = [c for c in answer.citations if c.said_by]
    assert spoken
    conversation = Conversation()
    conversation.add(QUESTION_132, QUESTION_132, answer)
    markdown = conversation.to_markdown("Test")
    for citation in spoken:
        assert f"— {citation.said_by} [{citation.n}]" in markdown
        assert f"*said by {citation.said_by}*" in markdown
    sources = markdown.split("Sources:", 1)[1]
    assert "\n    >" not in sources  # not an indented code block
    for citation in answer.citations:
        assert f"\n\n> {citation.passage.text[:40]}" in sources


def test_one_rendering_module_for_cli_chat_and_export(cli, seeds_index):
    from assistant.frontends import conversation, render
    from assistant.frontends.tui import widgets

    assert widgets.one_line is render.one_line
    assert conversation.citation_label is render.citation_label
    assert widgets.citation_label is render.citation_label
    citation = seeds_index.ask(QUESTION_132).citations[0]
    label = render.document_label(citation.document)
    assert label.startswith("Tensions Rise as Iranian General Accuses Azerbaijan")
    assert label.endswith("” — Atlas News")
    printed = cli("ask", QUESTION_132, "--index", str(seeds_index.path))
    assert f"[1] {label}" in printed.output
    assert render.citation_label(citation).startswith(label + " — ")
