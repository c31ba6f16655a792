#!/usr/bin/env python3
"""Drive the real chat in tmux: ask the 132-km question, check the screen shows [1] and its source.

Usage: python scripts/tmux_chat_check.py [--index DIR] [--size 120x40]
Prints the time to a usable prompt and the captured screen; exits 0 when the answer
and its first citation (with file and paragraph) are on screen, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time

QUESTION = "What did Azerbaijan say about the 132-km border?"
PROMPT_READY = "Ask a question"
CITATION = re.compile(r"\[1\] \S")
SOURCE = re.compile(r"\S+\.(?:txt|md|html?|jsonl) ¶\d+")


def tmux(*args: str, check: bool = True) -> str:
    done = subprocess.run(["tmux", *args], capture_output=True, text=True, check=check)
    return done.stdout


def capture(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session, check=False)


def wait_for(session: str, test, timeout: float) -> tuple[bool, str, float]:
    start = time.perf_counter()
    screen = ""
    while time.perf_counter() - start < timeout:
        screen = capture(session)
        if test(screen):
            return True, screen, time.perf_counter() - start
        time.sleep(0.02)
    return False, screen, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="index directory (default: the assistant's default)")
    parser.add_argument("--size", default="120x40", help="terminal WIDTHxHEIGHT")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    width, height = args.size.split("x")

    command = [sys.executable, "-m", "assistant", "chat"]
    if args.index:
        command += ["--index", args.index]
    session = f"assistant-check-{os.getpid()}"
    started = time.perf_counter()
    tmux(
        "new-session", "-d", "-s", session, "-x", width, "-y", height,
        "env", "TERM=xterm-256color", *command,
    )  # fmt: skip
    try:
        ready, screen, _ = wait_for(session, lambda s: PROMPT_READY in s, args.timeout)
        startup = time.perf_counter() - started
        if not ready:
            print(f"FAIL: no prompt after {args.timeout:.0f} s\n{screen}")
            return 1
        print(f"prompt ready after {startup:.2f} s (process start to prompt on screen)")
        tmux("send-keys", "-t", session, "-l", QUESTION)
        tmux("send-keys", "-t", session, "Enter")
        answered, screen, seconds = wait_for(
            session, lambda s: CITATION.search(s) and SOURCE.search(s), args.timeout
        )
        print(f"$ {shlex.join(command)}\n{screen}")
        if not answered:
            print("FAIL: citation [1] with its source never appeared")
            return 1
        print(
            f"OK: citation [1] and {SOURCE.search(screen).group()} on screen after {seconds:.2f} s"
        )
        tmux("send-keys", "-t", session, "C-c")
        wait_for(session, lambda s: False, 0.5)
        return 0
    finally:
        tmux("kill-session", "-t", session, check=False)


if __name__ == "__main__":
    sys.exit(main())
