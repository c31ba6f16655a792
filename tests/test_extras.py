"""Optional parts: a command whose extra is not installed says, in one line, which
``pip install`` adds it, and exits with its own status."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from assistant.errors import MissingExtraError
from assistant.extras import EXTRAS, require
from assistant.frontends.cli import EXIT_CODES, main
from assistant.query.llm import ChatClient, LLMConfig


def _blocked(monkeypatch, *modules: str) -> None:
    """Make ``import module`` fail as it does when the package is not installed."""
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


@pytest.mark.parametrize(
    ("args", "module", "extra"),
    [
        (["chat"], "textual", "chat"),
        (["serve", "--port", "0"], "fastapi", "serve"),
        (["serve", "--port", "0"], "uvicorn", "serve"),
        (["mcp"], "mcp", "mcp"),
    ],
)
def test_a_missing_extra_is_one_line_naming_the_install(monkeypatch, args, module, extra):
    _blocked(monkeypatch, module)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == EXIT_CODES[MissingExtraError] == 16
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert f"needs {module}, which is not installed" in lines[0]
    assert lines[0].endswith(f"(pip install 'assistant[{extra}]')")


def test_the_exit_status_of_a_missing_extra_is_used_by_no_other_error():
    codes = list(EXIT_CODES.values())
    assert codes.count(EXIT_CODES[MissingExtraError]) == 1


def test_the_llm_client_without_openai_names_the_llm_extra(monkeypatch):
    _blocked(monkeypatch, "openai")
    client = ChatClient(LLMConfig(url="http://127.0.0.1:9/v1"))
    with pytest.raises(MissingExtraError) as caught:
        client.stream([{"role": "user", "content": "hi"}], 16).__next__()
    assert caught.value.extra == "llm" and caught.value.module == "openai"
    assert str(caught.value) == (
        "the LLM answerer needs openai, which is not installed (pip install 'assistant[llm]')"
    )


def test_require_returns_an_installed_module():
    import json

    assert require("json", "web") is json


def test_an_import_error_inside_an_installed_package_is_not_hidden(monkeypatch, tmp_path):
    # A package that is there but breaks on import is a fault to see, not an extra to add.
    (tmp_path / "brokenpkg").mkdir()
    (tmp_path / "brokenpkg" / "__init__.py").write_text("import module_that_is_not_there\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="module_that_is_not_there"):
        require("brokenpkg", "web")


def test_every_extra_is_declared_in_pyproject():
    import tomllib

    from assistant.paths import PROJECT_ROOT

    declared = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert set(EXTRAS) <= set(declared)
    everything = declared["all"][0]
    assert everything == f"assistant[{','.join(EXTRAS)}]"
    assert "assistant[all]" in declared["dev"]


def test_a_pdf_or_docx_without_its_extra_is_skipped_and_the_rest_builds(
    cli, fake_model, monkeypatch, tmp_path
):
    _blocked(monkeypatch, "pypdf", "docx")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("Border talks\n\nThe talks resumed on Monday in Baku.\n")
    (docs / "report.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (docs / "letter.docx").write_bytes(b"PK\x03\x04")
    result = cli("index", "build", docs, "--index", tmp_path / "index")
    assert result.exit_code == 0, result.output
    assert "indexed 1 documents" in result.stdout
    assert "skipped: " in result.stderr
    for kind, module in (("PDF", "pypdf"), ("DOCX", "docx")):
        assert (
            f"reading {kind} files needs {module}, which is not installed"
            " (pip install 'assistant[formats]')"
        ) in result.stderr


def test_fetching_a_page_without_the_web_extra_names_it(monkeypatch):
    from assistant.ingest.web import http_client

    _blocked(monkeypatch, "httpx")
    with pytest.raises(MissingExtraError) as caught, http_client():
        pass
    assert caught.value.extra == "web"
    assert str(caught.value).startswith("fetching web pages needs httpx, which is not installed")
