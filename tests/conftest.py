"""Shared fixtures.

Two seeds indexes, each built once per session: ``fake_seeds_index`` embedded by
:class:`tests.fakes.FakeEncoder` (no model: for everything but the model and the
ranking it gives), and ``seeds_index`` embedded by the real model, for the tests of
real answers and ranking; a test that uses the real one is marked ``model`` (added
here where a test does not say so itself). ``cli`` runs the command line in-process;
with ``fake_model`` it opens and writes indexes with the fake encoder.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from .fakes import FakeEncoder, front_end_patches

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


# Fixtures that load the real model: a test using one is a ``model`` test.
REAL_MODEL_FIXTURES = ("seeds_index", "seeds_index_dir")


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if item.get_closest_marker("model") is None and any(
            name in REAL_MODEL_FIXTURES for name in getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.model)


@pytest.fixture
def cli():
    """The command line, in-process through click's CliRunner:
    ``cli("ask", question, "--index", path, env={...})`` returns click's Result
    (``exit_code``, ``output``, ``stdout``, ``stderr``, ``exception``)."""
    from click.testing import CliRunner

    from assistant.frontends.cli import main

    def invoke(*args, env: dict[str, str] | None = None, input: str | None = None):
        return CliRunner().invoke(main, [str(arg) for arg in args], env=env, input=input)

    return invoke


@pytest.fixture(scope="session")
def fake_encoder() -> FakeEncoder:
    """One fake encoder for the session's fake-encoded indexes (see tests/fakes.py)."""
    return FakeEncoder()


@pytest.fixture
def fake_model(monkeypatch, fake_encoder) -> FakeEncoder:
    """The front ends in this process (the CLI through ``cli``, the chat) open, write
    and verify indexes with the fake encoder: for their tests that are not about the
    model (see :func:`tests.fakes.front_end_patches`)."""
    for module, name, replacement in front_end_patches(fake_encoder):
        monkeypatch.setattr(module, name, replacement)
    return fake_encoder


@pytest.fixture(scope="session")
def fake_seeds_index_dir(tmp_path_factory, fake_encoder) -> Path:
    """The seeds, embedded by the fake encoder: passages, offsets, metadata, keyword
    search and filters as the real build makes them, in a fraction of the time."""
    from assistant import IndexWriter

    target = tmp_path_factory.mktemp("fake-seeds-index") / "index"
    IndexWriter(target, encoder=fake_encoder).build([str(SEEDS)])
    return target


@pytest.fixture(scope="session")
def fake_seeds_index(fake_seeds_index_dir, fake_encoder):
    """``fake_seeds_index_dir`` opened, questions embedded by the same fake encoder."""
    from assistant import Index

    index = Index(fake_seeds_index_dir, encoder=fake_encoder)
    yield index
    index.close()


@pytest.fixture(scope="session")
def seeds_index_dir(tmp_path_factory) -> Path:
    """The seeds embedded by the real model (for ``model`` tests)."""
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


# -- a small index, for the storage tests ------------------------------------------------

SMALL_QUESTION = "What did Azerbaijan say about the border?"
SMALL_EXPECTED = "Azerbaijan said the 132-km border would open in May after the talks in Baku."


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, fake_encoder) -> Path:
    """Two short files, indexed (by the fake encoder): each test works on its own copy."""
    from assistant import IndexWriter

    folder = tmp_path_factory.mktemp("small")
    docs = folder / "docs"
    docs.mkdir()
    (docs / "border.txt").write_text(
        f"Border talks\n\n{SMALL_EXPECTED}\n\nThe commission met twice.\n"
    )
    (docs / "weather.txt").write_text("Weather report\n\nIt rained in Tbilisi all week.\n")
    IndexWriter(folder / "index", encoder=fake_encoder).build([str(docs)])
    return folder / "index"


@pytest.fixture
def index_copy(small_index, tmp_path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(small_index, copy)
    return copy
