"""The real chat in a real terminal (tmux): type the 132-km question, read the screen."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT
from .test_tui import chat_index  # noqa: F401

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def test_chat_in_tmux_shows_citation_and_source(chat_index, tmp_path):  # noqa: F811
    env = dict(os.environ, ASSISTANT_USER_DIR=str(tmp_path / "user"))
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "tmux_chat_check.py"), "--index", str(chat_index)],
        capture_output=True,
        text=True,
        env=env,
        cwd=chat_index.parent,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"OK: citation \[1\] and seeds/00\d_\w+\.txt ¶\d+ on screen", done.stdout)
    startup = float(re.search(r"prompt ready after ([\d.]+) s", done.stdout).group(1))
    assert startup < 10  # the 2 s target is measured by the benchmark, not on a busy CI box
