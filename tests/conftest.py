"""Shared fixtures. The real model is loaded once per session (building the seeds index)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
DEV_QUESTIONS = SHARED / "questions" / "seeds-dev.jsonl"


@pytest.fixture(scope="session", autouse=True)
def isolated_dirs(tmp_path_factory):
    """Keep tests away from the user's cache, data and default index."""
    base = tmp_path_factory.mktemp("assistant-env")
    from assistant.query.llm import ENVIRONMENT

    # A developer's own model settings must not leak into the tests.
    names = ["ASSISTANT_CACHE_DIR", "ASSISTANT_USER_DIR", "ASSISTANT_CONFIG", "ASSISTANT_PROMPTS"]
    names += list(ENVIRONMENT.values())
    previous = {k: os.environ.get(k) for k in names}
    for name in ENVIRONMENT.values():
        os.environ.pop(name, None)
    os.environ.pop("ASSISTANT_PROMPTS", None)
    os.environ["ASSISTANT_CONFIG"] = str(base / "no-config.toml")
    # The ONNX export is derived from the installed model, so sharing it between
    # test sessions is safe and saves a few seconds; ASSISTANT_TEST_CACHE overrides.
    os.environ["ASSISTANT_CACHE_DIR"] = os.environ.get(
        "ASSISTANT_TEST_CACHE", str(ROOT / ".pytest_cache" / "assistant-cache")
    )
    os.environ["ASSISTANT_USER_DIR"] = str(base / "user")
    yield
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def seeds_index_dir(tmp_path_factory) -> Path:
    from assistant import IndexWriter

    target = tmp_path_factory.mktemp("seeds-index") / "index"
    IndexWriter(target).build([str(SEEDS)])
    return target


@pytest.fixture(scope="session")
def seeds_index(seeds_index_dir):
    from assistant import Index

    index = Index(seeds_index_dir)
    yield index
    index.close()


@pytest.fixture(scope="session")
def dev_questions() -> list[dict]:
    if not DEV_QUESTIONS.is_file():
        pytest.skip(f"{DEV_QUESTIONS} is not beside the checkout")
    return [json.loads(line) for line in DEV_QUESTIONS.read_text().splitlines() if line.strip()]
