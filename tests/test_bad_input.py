"""Bad files and questions: every kind of unreadable file is reported one by one while
the rest builds, memory stays bounded on huge files, and unusual, control-laden or
empty questions get an answer or a clear refusal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant import Index, IndexWriter

from .conftest import ROOT

# -- bad input ---------------------------------------------------------------------------


def hostile_folder(root: Path) -> dict[str, str]:
    """Every kind of bad file next to one good one; returns name -> expected reason."""
    root.mkdir()
    (root / "good.txt").write_text(
        "Border talks resume\n\nNegotiators met in Baku to discuss the border crossing.\n"
    )
    (root / "binary.txt").write_bytes(b"\x7fELF\x00\x00\x01" + bytes(range(256)) * 8)
    (root / "latin1.txt").write_bytes("Caf\xe9 society".encode("latin-1"))
    (root / "empty.txt").write_bytes(b"")
    (root / "blank.md").write_text("   \n\n\t\n")
    with open(root / "huge.txt", "wb") as handle:  # 100 MB of prose-like text
        line = b"The border commission met again and talked about the river. " * 16 + b"\n"
        for _ in range(100 * 1024 * 1024 // len(line) + 1):
            handle.write(line)
    (root / "one-line.txt").write_bytes(b"word " * (2 * 1024 * 1024))  # a 10 MB single line
    os.symlink(root, root / "loop")  # a directory symlink back to itself
    os.symlink(root / "nowhere.txt", root / "dangling.txt")
    os.mkfifo(root / "pipe.txt")
    expected = {
        "binary.txt": "looks like a binary file",
        "latin1.txt": "not valid UTF-8 (at byte 3)",
        "empty.txt": "no text",
        "blank.md": "no text",
        "huge.txt": "over the 32 MiB limit",
        "one-line.txt": "10,485,760-character line (over 1,000,000); not prose",
        "dangling.txt": "No such file or directory",
        "pipe.txt": "not a regular file",
    }
    if os.geteuid() != 0:  # root reads anything, so this case needs a normal user
        (root / "locked.txt").write_text("secret")
        (root / "locked.txt").chmod(0)
        expected["locked.txt"] = "Permission denied"
    return expected


def test_bad_files_are_reported_one_by_one_and_the_rest_builds(tmp_path, fake_encoder):
    folder = tmp_path / "hostile"
    expected = hostile_folder(folder)
    report = IndexWriter(tmp_path / "idx", encoder=fake_encoder).build(
        [str(folder), str(tmp_path / "missing")]
    )
    reasons = {Path(s.source).name: s.reason for s in report.skipped}
    assert reasons.pop("missing") == f"{tmp_path / 'missing'}: no such file or directory"
    assert set(reasons) == set(expected)
    for name, reason in expected.items():
        assert reason in reasons[name], (name, reasons[name])
    assert report.documents == 1 and report.passages == 1
    with Index(tmp_path / "idx", encoder=fake_encoder) as index:
        assert index.search("border crossing", k=1)[0].passage.source.endswith("good.txt")


def test_memory_stays_bounded_on_huge_files(tmp_path):
    """Peak memory of a build with the 100 MB file and the 10 MB line beside one good
    file, against the same build of the good file alone."""
    hostile = tmp_path / "hostile"
    hostile_folder(hostile)
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(hostile / "good.txt", plain / "good.txt")
    snippet = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from assistant import IndexWriter\n"
        "IndexWriter(Path(sys.argv[2])).build([sys.argv[1]])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    peaks = {}
    for name, folder in (("plain", plain), ("hostile", hostile)):
        done = subprocess.run(
            [sys.executable, "-c", snippet, str(folder), str(tmp_path / f"idx-{name}")],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        peaks[name] = int(done.stdout.split()[-1]) / 1024  # MiB
    assert peaks["hostile"] - peaks["plain"] < 120, peaks


@pytest.mark.parametrize(
    "question",
    [
        "x" * 100_000,
        "What did Azerbaijan say\x00\x1b[2J\x07 about the 132-km border?",
        "ماذا قالت أذربيجان عن الحدود؟",  # Arabic
        "آذربایجان درباره مرز ۱۳۲ کیلومتری چه گفت؟",  # Persian
        "Что сказал Азербайджан о границе?",  # Russian
        "Azərbaycan 132 km-lik sərhəd barədə nə dedi?",  # Azerbaijani Latin
    ],
)
def test_unusual_questions_get_an_answer_or_a_clear_refusal(cli, seeds_index_dir, question):
    result = cli("ask", question, "--index", str(seeds_index_dir), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    if data["abstained"]:
        assert data["answer"].startswith("The sources do not answer this: ")
    else:
        assert data["citations"] and "[1]" in data["answer"]
    assert len(data["question"]) <= 2000


def test_control_characters_are_cleaned_from_questions(cli, seeds_index_dir):
    data = json.loads(
        cli(
            "ask", "What did Azerbaijan say\x1b[2J about\x07 the 132-km border?",
            "--index", str(seeds_index_dir), "--json",
        ).stdout
    )  # fmt: skip
    assert data["question"] == "What did Azerbaijan say [2J about the 132-km border?"
    assert not data["abstained"]


@pytest.mark.parametrize("question", ["", "   ", "\x00\x1b\x07"])
def test_empty_questions_are_a_usage_error(cli, seeds_index_dir, question):
    result = cli("ask", question, "--index", str(seeds_index_dir))
    assert result.exit_code == 2
    assert result.stderr == "error: the question is empty\n"
