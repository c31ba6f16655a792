"""The command line: exact output shapes, exit codes, one-line errors."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DEV_QUESTIONS, ROOT, SEEDS

QUESTION_132 = "What did Azerbaijan say about the 132-km border?"


def test_ask_json_contract(cli, seeds_index_dir):
    result = cli("ask", QUESTION_132, "--index", str(seeds_index_dir), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["question"] == QUESTION_132
    assert data["abstained"] is False
    assert isinstance(data["answer"], str) and "[1]" in data["answer"]
    types = {
        "n": int, "source": str, "doc_id": str, "paragraph": int, "start": int, "end": int,
        "text": str, "score": float,
    }  # fmt: skip
    for n, citation in enumerate(data["citations"], 1):
        assert citation["n"] == n
        for key, kind in types.items():
            assert isinstance(citation[key], kind), key
        for key in ("title", "outlet", "published"):
            assert citation[key] is None or isinstance(citation[key], str)
        raw = Path(citation["source"]).read_text(encoding="utf-8")
        assert raw[citation["start"] : citation["end"]] == citation["text"]
        assert citation["doc_id"] == citation["source"]
    assert {Path(c["source"]).name[:3] for c in data["citations"]} >= {"002", "004"}


def test_ask_plain_shows_answer_then_sources(cli, seeds_index_dir):
    result = cli("ask", QUESTION_132, "--index", str(seeds_index_dir))
    assert result.exit_code == 0
    answer, sources = result.output.split("\nSources:\n")
    assert answer.splitlines()[0].endswith("[1]")
    # First the Defence Ministry's own words (quoted by Atlas News), then MEMO's report.
    assert sources.startswith("[1] Tensions Rise as Iranian General Accuses Azerbaijan")
    assert sources.splitlines()[0].endswith("— Atlas News")
    assert "002_ae98e70f0ec14293.txt ¶10, characters 2651–3194" in sources.splitlines()[1]
    assert "[2] Azerbaijan rejects Iran commander accusation" in sources
    assert "004_5c92c3c2da052747.txt ¶11, characters 1916–2183" in sources


def test_ask_abstains_with_nearest_passages(cli, seeds_index_dir):
    result = cli("ask", "What is the GDP of Japan?", "--index", str(seeds_index_dir))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == (
        "The sources do not answer this: the sources never mention “GDP”, “Japan”."
        " The nearest passages are listed below."
    )
    assert "Nearest passages:" in lines


def test_search_json_contract(cli, seeds_index_dir):
    result = cli("search", "132-km", "--index", str(seeds_index_dir), "-k", "3", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["query"] == "132-km"
    assert [r["rank"] for r in data["results"]] == [1, 2, 3]
    assert set(data["results"][0]) == {
        "rank", "source", "doc_id", "paragraph", "start", "end", "text", "score", "language"
    }  # fmt: skip
    assert {Path(r["source"]).name[:3] for r in data["results"][:2]} == {"002", "004"}


@pytest.mark.skipif(not DEV_QUESTIONS.is_file(), reason="shared questions not present")
def test_eval_prints_the_metrics(cli, seeds_index_dir):
    result = cli("eval", str(DEV_QUESTIONS), "--index", str(seeds_index_dir))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    start = lines.index("questions            21 (16 answerable)")
    tail = lines[start : start + 6]
    assert tail[1].startswith("hit@1 ")
    assert float(tail[1].split()[-1]) >= 0.9
    assert tail[4] == "abstention accuracy  1.000"
    assert tail[5] == "abstentions          precision 1.000, recall 1.000 (0 false, 0 missed)"
    data = json.loads(
        cli("eval", str(DEV_QUESTIONS), "--index", str(seeds_index_dir), "--json").output
    )
    assert data["metrics"]["abstention_accuracy"] == 1.0


def test_index_status_json(cli, seeds_index_dir):
    result = cli("index", "status", "--index", str(seeds_index_dir), "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert (data["documents"], data["passages"], data["dimension"]) == (5, 81, 384)
    assert data["stale"] == data["missing"] == data["new"] == []


def test_index_build_reports_counts_quietly_when_piped(cli, tmp_path):
    single = tmp_path / "one"
    single.mkdir()
    (single / "a.txt").write_text("A Headline\n\nThe only paragraph, about a border post.\n")
    result = cli("index", "build", str(single), "--index", str(tmp_path / "idx"))
    assert result.exit_code == 0, result.output
    (line,) = result.output.splitlines()  # piped: one summary line, no progress
    assert line.startswith(
        f"indexed 1 documents, 1 passages (0 boilerplate) into {tmp_path / 'idx'};"
        " files: 1 new or changed, 0 unchanged, 0 removed, 0 skipped;"
        " embedded 1 passages, reused 0 in "
    )


def shell(*args, **kwargs):
    """The installed entry point in a subprocess: what a user's shell sees."""
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True, text=True, cwd=kwargs.get("cwd", ROOT), timeout=120,
    )  # fmt: skip


def test_missing_index_is_one_line_and_exit_4(tmp_path):
    result = shell("ask", "anything", "--index", str(tmp_path / "none"))
    assert result.returncode == 4
    assert result.stdout == ""
    assert result.stderr == (
        f"error: no index at {tmp_path / 'none'} (add sources with: assistant index add PATH)\n"
    )


def test_unknown_path_is_one_line_and_exit_3(tmp_path):
    result = shell("index", "build", "no/such/dir", "--index", str(tmp_path / "idx"))
    assert result.returncode == 3
    assert result.stderr == "error: no such file or directory: no/such/dir\n"
    assert not (tmp_path / "idx").exists()


def test_empty_question_is_one_line_and_exit_2(seeds_index_dir):
    result = shell("ask", "  ", "--index", str(seeds_index_dir))
    assert result.returncode == 2
    assert result.stderr == "error: the question is empty\n"


@pytest.mark.parametrize("command", ["ask", "search"])
def test_empty_question_is_a_usage_error_before_the_index_is_opened(cli, tmp_path, command):
    result = cli(command, "", "--index", tmp_path / "none")
    assert result.exit_code == 2
    assert result.stderr == "error: the question is empty\n"
    assert not (tmp_path / "none").exists()


def modules_loaded_by(snippet: str, watch: tuple[str, ...]) -> list[str]:
    """Run a snippet in a fresh interpreter; which of ``watch`` did it import?"""
    code = f"import sys\n{snippet}\nprint([m for m in {watch!r} if m in sys.modules])\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return ast.literal_eval(result.stdout.strip())


def test_help_imports_no_heavy_modules():
    snippet = (
        "from click.testing import CliRunner\n"
        "from assistant.frontends.cli import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0"
    )
    heavy = ("torch", "sentence_transformers", "textual", "faiss", "numpy", "pymilvus")
    assert modules_loaded_by(snippet, heavy) == []


def test_library_answers_without_ui_or_torch(seeds_index_dir):
    snippet = (
        "from assistant import Index\n"
        f"index = Index({str(seeds_index_dir)!r})\n"
        "assert index.ask('What did Azerbaijan say about the 132-km border?').citations"
    )
    heavy = ("torch", "sentence_transformers", "textual", "click")
    assert modules_loaded_by(snippet, heavy) == []


def test_seeds_are_the_shared_articles():
    shared = ROOT.parent / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("shared seeds not present")
    for path in shared.iterdir():
        assert (SEEDS / path.name).read_bytes() == path.read_bytes()


@pytest.mark.parametrize(("damage", "code"), [("vectors", 9), ("database", 10), ("manifest", 5)])
def test_damaged_index_is_one_line_and_its_own_exit_code(seeds_index_dir, tmp_path, damage, code):
    import shutil

    copy = tmp_path / "idx"
    shutil.copytree(seeds_index_dir, copy)
    generation = copy / json.loads((copy / "manifest.json").read_text())["generation"]
    if damage == "vectors":
        data = (generation / "vectors.faiss").read_bytes()
        (generation / "vectors.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "database":
        (generation / "passages.sqlite").write_bytes(b"not a database" * 100)
    else:
        (copy / "manifest.json").write_text('{"schema_version": 1')
    result = shell("ask", "anything at all", "--index", str(copy))
    assert result.returncode == code
    assert result.stderr.startswith("error: ")
    assert result.stderr.endswith("(rebuild it with: assistant index build PATH)\n")
    assert len(result.stderr.splitlines()) == 1


def test_chat_without_a_terminal_says_how_to_script_instead(seeds_index_dir):
    for args in (("chat", "--index", str(seeds_index_dir)), ()):
        result = shell(*args)
        assert result.returncode == 2
        assert result.stderr == (
            "error: the chat needs a terminal;"
            " for scripts use `assistant ask` or `assistant search`\n"
        )
        assert result.stdout == ""


def test_chat_is_listed_in_help(cli):
    result = cli("--help")
    assert result.exit_code == 0
    assert "  chat    Open the terminal chat" in result.output
