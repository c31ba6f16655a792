"""Chat latency: Enter to the answer rendered on screen, warm, and startup to prompt.

The app runs headless (Textual's test driver) on the seeds index; after one warm-up
question, each question's time is taken inside the app from the Enter key to the
first screen refresh after the answer and its cards are mounted. Startup is measured
in a real terminal (tmux) by scripts/tmux_chat_check.py: process start to the prompt
on screen.

    .venv/bin/python bench/ui.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import ROOT, SEEDS, median, table, write_json

QUESTIONS = [
    "What did Azerbaijan say about the 132-km border?",
    "Who is Heydari?",
    "What did Iran say about Zionist elements?",
    "and what did Armenia say?",
    "When did Aliyev speak in Jabrayil?",
    "What did Khamenei warn about?",
    "Who won the 2022 FIFA World Cup final?",
    "What did the Ministry of Defense call the statements?",
]


async def chat_latencies(index_dir: Path, rounds: int) -> list[float]:
    from assistant.frontends.tui.app import AssistantApp
    from assistant.frontends.tui.widgets import QuestionInput

    app = AssistantApp(index_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        screen = app.screen
        box = screen.query_one(QuestionInput)
        for question in ["warm-up: who is Aliyev?"] + QUESTIONS * rounds:
            box.value = question
            await pilot.press("enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
        return screen.latencies[1:]


def startup_seconds(index_dir: Path, runs: int) -> list[float]:
    if shutil.which("tmux") is None:
        return []
    found = []
    for _ in range(runs):
        script = ROOT / "scripts" / "tmux_chat_check.py"
        out = subprocess.run(
            [sys.executable, str(script), "--index", str(index_dir)],
            capture_output=True, text=True, check=True, cwd=index_dir.parent,
        ).stdout  # fmt: skip
        found.append(float(re.search(r"prompt ready after ([\d.]+) s", out).group(1)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from assistant import IndexWriter

    with tempfile.TemporaryDirectory() as tmp:
        index_dir = Path(tmp) / "index"
        IndexWriter(index_dir).build([str(SEEDS)])
        os.environ.setdefault("ASSISTANT_USER_DIR", str(Path(tmp) / "user"))
        latencies = asyncio.run(chat_latencies(index_dir, args.rounds))
        startups = startup_seconds(index_dir, 5)
    ms = sorted(x * 1000 for x in latencies)
    rows = [
        [
            "Enter to answer on screen (warm)",
            len(ms),
            median(ms),
            ms[int(0.9 * len(ms)) - 1],
            ms[-1],
        ]
    ]
    print(table(["chat", "n", "median ms", "p90 ms", "max ms"], rows))
    print("\ntarget: at most 150 ms once warm")
    if startups:
        print(f"startup to prompt (tmux, 5 runs): median {median(startups):.2f} s (target < 2 s)")
    print(f"written: {write_json('ui', {'answer_ms': ms, 'startup_s': startups})}")


if __name__ == "__main__":
    main()
