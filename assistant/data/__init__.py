"""The rule files (word lists, site tables, fitted weights): each JSON file says where
its entries came from and what its numbers were fitted on. One loader for all of them."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

DATA_DIR = Path(__file__).parent


@cache
def load_rules(name: str) -> dict:
    """The parsed ``name`` (e.g. ``"speakers.json"``), read once per process."""
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))
