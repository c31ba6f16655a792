"""The extractive answerer's fitted weights and thresholds (rank, abstain, soft
matching), as ``bench/fit_answer.py`` wrote them, with what they were fitted on."""

from __future__ import annotations

import json
from functools import cache

from ..data import DATA_DIR

WEIGHTS_FILE = DATA_DIR / "answer_weights.json"


@cache
def fitted() -> dict:
    """The fitted weights, thresholds and what they were fitted on."""
    return json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
