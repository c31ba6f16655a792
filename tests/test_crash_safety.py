"""Hard to break: killed writers, concurrent readers, damaged files, hostile input.

Crash tests run the real CLI in a subprocess that stops at a named point inside the
writer (``ASSISTANT_FAULT_POINT``) and SIGKILL it there: during embedding, half-way
through writing the FAISS file, before the SQLite commit, after the new generation is
renamed into place and after the manifest swap.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant import Index, IndexWriter, verify_index
from assistant.errors import IndexNotFoundError

from .conftest import ROOT, SEEDS

QUESTION = "What did Azerbaijan say about the 132-km border?"
NEW_WORD = "Zanzibarian"
FAULT_POINTS = [
    "embedding",
    "vectors-write",
    "database-commit",
    "generation-renamed",
    "manifest-written",
]


def shell(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
        env={**os.environ, **env},
    )


def start_until_fault(args: list[str], point: str, marker: Path) -> subprocess.Popen:
    """Start the CLI and return once it has stopped at ``point`` (still alive)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "assistant", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "ASSISTANT_FAULT_POINT": point, "ASSISTANT_FAULT_MARKER": str(marker)},
    )
    deadline = time.monotonic() + 180
    while not marker.exists():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the writer ended before {point}: {out.decode()} {err.decode()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the writer never reached {point}")
        time.sleep(0.05)
    return process


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stdout.close()
    process.stderr.close()


def generation_dirs(index_dir: Path) -> list[str]:
    return sorted(p.name for p in index_dir.iterdir() if p.name.startswith("gen-"))


@pytest.fixture
def corpus(tmp_path) -> tuple[Path, Path]:
    """A copy of the seeds, indexed; then one article gains a paragraph."""
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    index_dir = tmp_path / "index"
    IndexWriter(index_dir).build([str(docs)])
    changed = next(docs.glob("003_*.txt"))
    changed.write_text(
        changed.read_text() + f"\n\nThe {NEW_WORD} delegation arrived late to the talks.\n"
    )
    return docs, index_dir


def assert_answers(index_dir: Path) -> Index:
    index = Index(index_dir)
    answer = index.ask(QUESTION)
    assert not answer.abstained and answer.citations
    for citation in answer.citations:  # offsets still reproduce the quoted text
        text = index.store.document_text(citation.passage.doc_id)
        assert text[citation.passage.start : citation.passage.end] == citation.passage.text
    return index


def finds_new_word(index: Index) -> bool:
    return any(NEW_WORD in hit.passage.text for hit in index.search(NEW_WORD, k=3))


# -- crash safety ------------------------------------------------------------------------


@pytest.mark.parametrize("point", FAULT_POINTS)
def test_update_killed_at_any_point_leaves_a_usable_index(corpus, tmp_path, point):
    _docs, index_dir = corpus
    before = json.loads((index_dir / "manifest.json").read_text())["generation"]

    writer = start_until_fault(
        ["index", "update", "--index", str(index_dir)], point, tmp_path / "marker"
    )
    # While the writer is stopped mid-way, readers still get complete answers.
    assert_answers(index_dir).close()
    kill(writer)

    after = json.loads((index_dir / "manifest.json").read_text())["generation"]
    swapped = point == "manifest-written"
    assert (after != before) is swapped
    index = assert_answers(index_dir)
    assert finds_new_word(index) is swapped
    index.close()
    checks = {c.name: c.ok for c in verify_index(index_dir).checks}
    assert checks["manifest"] and checks["model"] and checks["database"] and checks["vectors"]
    assert checks["sources"] is swapped  # the changed file is still pending

    # The next update finishes the job and clears what the killed writer left.
    report = IndexWriter(index_dir).update()
    if not swapped:
        assert report.files_embedded == [str(next(_docs.glob("003_*.txt")))]
    assert verify_index(index_dir).ok
    assert len(generation_dirs(index_dir)) == 1
    assert not list(index_dir.glob("*.partial"))
    with Index(index_dir) as index:
        assert finds_new_word(index)


def test_update_killed_at_random_moments_never_breaks_the_index(corpus):
    """Besides the named points: SIGKILL after random delays, wherever the writer is."""
    import random

    _docs, index_dir = corpus
    moments = random.Random(11).sample(range(50, 1500, 10), 6)
    for delay_ms in sorted(moments):
        writer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistant.frontends.cli",
                "index",
                "update",
                "--index",
                str(index_dir),
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay_ms / 1000)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        checks = {c.name: c.ok for c in verify_index(index_dir).checks}
        assert checks["database"] and checks["vectors"], (delay_ms, checks)
        assert_answers(index_dir).close()
    IndexWriter(index_dir).update()
    assert verify_index(index_dir).ok
    with Index(index_dir) as index:
        assert finds_new_word(index)


@pytest.mark.parametrize("point", ["embedding", "database-commit"])
def test_first_build_killed_leaves_no_index_and_the_next_build_works(tmp_path, point):
    index_dir = tmp_path / "index"
    writer = start_until_fault(
        ["index", "build", str(SEEDS), "--index", str(index_dir)], point, tmp_path / "marker"
    )
    kill(writer)
    with pytest.raises(IndexNotFoundError):
        Index(index_dir)
    result = shell("ask", QUESTION, "--index", str(index_dir))
    assert result.returncode == 4 and result.stderr.startswith("error: no index at ")

    IndexWriter(index_dir).build([str(SEEDS)])
    assert verify_index(index_dir).ok
    assert not list(index_dir.glob("*.partial"))
    assert_answers(index_dir).close()


# -- concurrency -------------------------------------------------------------------------


def test_a_second_writer_gets_a_clear_message(corpus, tmp_path):
    _docs, index_dir = corpus
    writer = start_until_fault(
        ["index", "update", "--index", str(index_dir)], "embedding", tmp_path / "marker"
    )
    try:
        for args in (["index", "update"], ["index", "build", str(SEEDS)]):
            result = shell(*args, "--index", str(index_dir))
            assert result.returncode == 7
            assert result.stderr.startswith("error: ") and "another process" in result.stderr
            assert len(result.stderr.splitlines()) == 1
    finally:
        kill(writer)
    assert verify_index(index_dir).checks[0].ok


def test_readers_see_one_consistent_version_during_updates(corpus):
    docs, index_dir = corpus
    index = Index(index_dir)
    errors: list[BaseException] = []
    answers = 0
    stop = threading.Event()

    def reader() -> None:
        nonlocal answers
        while not stop.is_set():
            try:
                answer = index.ask(QUESTION)
                store = index.store
                assert answer.citations
                for citation in answer.citations:
                    passage = citation.passage
                    # Quote, passage and document all come from the same generation.
                    assert passage.start <= citation.quote.start < citation.quote.end
                    assert citation.quote.end <= passage.end
                    assert passage.text[
                        citation.quote.start - passage.start : citation.quote.end - passage.start
                    ] == (citation.quote_text)
                del store
                answers += 1
            except BaseException as error:  # collected, reported below
                errors.append(error)
                return

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    changed = next(docs.glob("001_*.txt"))
    original = changed.read_text()
    for round_number in range(3):
        changed.write_text(original + f"\n\nRound {round_number} of {NEW_WORD} talks ended.\n")
        IndexWriter(index_dir).update()
    time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert answers > 3
    # A long-lived reader follows the writer to the newest version.
    hits = index.search(f"Round 2 of {NEW_WORD} talks", k=1)
    assert "Round 2" in hits[0].passage.text
    index.close()


# Readers and the writer are processes that run the CLI again and again through click,
# exactly as `assistant ...` would, minus the interpreter start and the model load
# (0.6 s a call, which would leave a 2-core machine a handful of swaps a minute). Every
# call opens the index from its manifest: the step a swap could catch half-way.
CLI_LOOP = """
import json, os, sys
from pathlib import Path
from click.testing import CliRunner
from assistant.frontends.cli import main

index, stop, question, docs = sys.argv[1], Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
runner, n = CliRunner(), 0
while not stop.exists():
    if question:
        args = [["ask", question, "--json"], ["search", question, "--json", "-k", "3"]][n % 2]
    else:  # the writer: append a paragraph (earlier offsets keep their text), touch the rest
        with open(docs / "weather.txt", "a") as handle:
            handle.write(f"\\nRound {n}: the weather stayed mild in Tbilisi.\\n")
        os.utime(docs / "border.txt")
        args = ["index", "update"]
    result = runner.invoke(main, [*args, "--index", index])
    print(json.dumps([args[0], result.exit_code, result.stdout, result.stderr]), flush=True)
    n += 1
"""
EXPECTED = "Azerbaijan said the 132-km border would open in May after the talks in Baku."


def check_cli_reply(command: str, code: int, stdout: str, stderr: str) -> None:
    """Exit 0, the expected passage found, every quote equal to its file at its offsets."""
    assert code == 0, (command, code, stderr)
    if command == "index":
        return
    data = json.loads(stdout)
    found = data["citations"] if command == "ask" else data["results"]
    assert any(EXPECTED in item["text"] for item in found), found
    for item in found:
        # The writer only appends to files, so the offsets of any generation still hold.
        text = Path(item["source"]).read_text(encoding="utf-8")
        assert text[item["start"] : item["end"]] == item["text"]
        quote = item.get("quote")
        if quote:
            assert text[quote["start"] : quote["end"]] == quote["text"]


def test_cli_readers_never_see_a_healthy_index_as_damaged(tmp_path):
    """4 CLI readers (`ask`, `search`) and 1 CLI writer (`index update` after each change)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "border.txt").write_text(f"Border talks\n\n{EXPECTED}\n\nThe commission met twice.\n")
    (docs / "weather.txt").write_text("Weather report\n\nIt rained in Tbilisi all week.\n")
    index_dir = tmp_path / "index"
    IndexWriter(index_dir).build([str(docs)])
    logs = {name: tmp_path / f"{name}.jsonl" for name in ("r1", "r2", "r3", "r4", "writer")}
    stops = {"reader": tmp_path / "stop-readers", "writer": tmp_path / "stop-writer"}

    def start(name: str) -> subprocess.Popen:
        question, stop = (QUESTION, stops["reader"]) if name != "writer" else ("", stops["writer"])
        with open(logs[name], "w") as out:
            return subprocess.Popen(
                [sys.executable, "-c", CLI_LOOP, str(index_dir), str(stop), question, str(docs)],
                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def calls(*names: str) -> int:
        return sum(logs[name].read_text().count("\n") for name in names)

    readers = [start(name) for name in ("r1", "r2", "r3", "r4")]
    writer = None
    try:
        deadline = time.monotonic() + 240
        while calls("r1", "r2", "r3", "r4") < 4 and time.monotonic() < deadline:
            time.sleep(0.05)  # every reader has its model loaded
        writer = start("writer")
        while (calls("writer") < 40 or calls("r1", "r2", "r3", "r4") < 200) and (
            time.monotonic() < deadline and writer.poll() is None
        ):
            time.sleep(0.05)
    finally:
        stops["writer"].touch()
        if writer is not None:
            writer.wait(timeout=60)
        stops["reader"].touch()
        for reader in readers:
            reader.wait(timeout=60)
    replies = [json.loads(line) for log in logs.values() for line in log.read_text().splitlines()]
    updates = sum(reply[0] == "index" for reply in replies)
    assert len(replies) - updates >= 200 and updates >= 40, (len(replies), updates)
    failed = [reply for reply in replies if reply[1] != 0]
    assert not failed, f"{len(failed)} of {len(replies)} calls failed: {failed[:3]}"
    for reply in replies:
        check_cli_reply(*reply)
    assert verify_index(index_dir).ok


# -- integrity ---------------------------------------------------------------------------


def damaged_copy(seeds_index_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    copy = tmp_path / "idx"
    shutil.copytree(seeds_index_dir, copy)
    generation = copy / json.loads((copy / "manifest.json").read_text())["generation"]
    return copy, generation


def flip_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def edit_manifest(index_dir: Path, **changes) -> None:
    path = index_dir / "manifest.json"
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


def test_verify_passes_a_healthy_index(cli, seeds_index_dir):
    result = cli("index", "verify", "--index", str(seeds_index_dir))
    assert result.exit_code == 0, result.output
    names = [line.split()[1] for line in result.output.splitlines()]
    assert names == ["manifest", "model", "database", "vectors", "sources"]
    assert all(line.startswith("ok  ") for line in result.output.splitlines())


@pytest.mark.parametrize(
    ("damage", "code", "message"),
    [
        ("truncated-vectors", 9, "the vector file: vectors.faiss is"),
        ("flipped-vectors", 9, "the vector file: vectors.faiss does not match its SHA-256"),
        ("flipped-sentences", 9, "the vector file: sentences.npy does not match its SHA-256"),
        ("truncated-sentences", 9, "sentences.npy is"),
        ("flipped-database", 10, "the passage database: passages.sqlite does not match"),
        ("garbage-database", 10, "the passage database: passages.sqlite is"),
        ("other-model", 6, "was built with intfloat/e5-small-v2"),
        ("other-dimension", 6, "(768 dimensions)"),
        ("other-weights", 6, "was built with other weights"),
        ("missing-generation", 5, "is missing"),
        ("manifest", 5, "the manifest of"),
    ],
)
def test_verify_names_each_fault_with_its_code_and_fix(
    cli, seeds_index_dir, tmp_path, damage, code, message
):
    index_dir, generation = damaged_copy(seeds_index_dir, tmp_path)
    vectors, database = generation / "vectors.faiss", generation / "passages.sqlite"
    if damage == "truncated-vectors":
        vectors.write_bytes(vectors.read_bytes()[:1000])
    elif damage == "flipped-vectors":
        flip_middle(vectors)
    elif damage == "flipped-sentences":
        flip_middle(generation / "sentences.npy")
    elif damage == "truncated-sentences":
        sentences = generation / "sentences.npy"
        sentences.write_bytes(sentences.read_bytes()[:1000])
    elif damage == "flipped-database":
        flip_middle(database)
    elif damage == "garbage-database":
        database.write_bytes(b"garbage" * 10)
    elif damage == "other-model":
        edit_manifest(index_dir, model="intfloat/e5-small-v2")
    elif damage == "other-dimension":
        edit_manifest(index_dir, dimension=768)
    elif damage == "other-weights":
        edit_manifest(index_dir, model_fingerprint="minilm-l6-v2-1")
    elif damage == "missing-generation":
        shutil.rmtree(generation)
    else:
        (index_dir / "manifest.json").write_text("{ torn")

    result = cli("index", "verify", "--index", str(index_dir))
    assert result.exit_code == code, result.output
    assert message in result.output
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
    fix = "(run: assistant index update)" if code == 11 else "(rebuild it with: assistant"
    assert fix in result.stderr

    # Every other command says the same kind of thing instead of a traceback. Damage
    # that keeps a file's size is only visible to hashing (verify), so `ask` may work.
    asked = cli("ask", QUESTION, "--index", str(index_dir))
    if damage.startswith("flipped"):
        assert asked.exit_code in (0, code)
    else:
        assert asked.exit_code == code, asked.output
    assert "Traceback" not in asked.output
    if asked.exit_code:
        assert asked.stderr.startswith("error: ") and len(asked.stderr.splitlines()) == 1


def test_verify_reports_changed_sources_and_ask_warns(cli, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    IndexWriter(tmp_path / "idx").build([str(docs)])
    cited = next(docs.glob("004_*.txt"))
    cited.write_text(cited.read_text().replace("132", "133"))
    (docs / "extra.txt").write_text("A new file.\n\nWith a paragraph of its own text.\n")

    result = cli("index", "verify", "--index", str(tmp_path / "idx"))
    assert result.exit_code == 11
    assert "FAIL  sources" in result.output
    assert f"1 changed ({cited})" in result.output and "1 new" in result.output

    asked = cli("ask", QUESTION, "--index", str(tmp_path / "idx"), "--json")
    assert asked.exit_code == 0
    warnings = json.loads(asked.stdout)["warnings"]
    assert warnings == [
        f"{cited} changed since it was indexed; its quotes show the indexed text"
        " (run: assistant index update)"
    ]


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


def test_bad_files_are_reported_one_by_one_and_the_rest_builds(tmp_path):
    folder = tmp_path / "hostile"
    expected = hostile_folder(folder)
    report = IndexWriter(tmp_path / "idx").build([str(folder), str(tmp_path / "missing")])
    reasons = {Path(s.source).name: s.reason for s in report.skipped}
    assert reasons.pop("missing") == f"{tmp_path / 'missing'}: no such file or directory"
    assert set(reasons) == set(expected)
    for name, reason in expected.items():
        assert reason in reasons[name], (name, reasons[name])
    assert report.documents == 1 and report.passages == 1
    with Index(tmp_path / "idx") as index:
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


# -- terminal safety ---------------------------------------------------------------------

HOSTILE_TEXT = (
    "Border statement\n\n"
    "Azerbaijan said the border \x1b[2J\x1b[31mwas closed\x1b[0m"
    " \x1b]8;;https://evil.example\x07click here\x1b]8;;\x07"
    " \x1b]0;pwned title\x07 and \rOVERWRITE\b\b and \u202egnirts desrever\u202c"
    " and \u009b31m C1 and [bold red]markup[/bold red] [link=https://x]link[/link].\n\n"
    "A second paragraph about the weather in Baku, mild all week long.\n"
)
RAW_CONTROLS = ("\x1b", "\r", "\b", "\x07", "\u202e", "\u009b")


@pytest.fixture(scope="module")
def terminal_attack_index(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("terminal")
    (folder / "docs").mkdir()
    (folder / "docs" / "attack.txt").write_text(HOSTILE_TEXT)
    IndexWriter(folder / "index").build([str(folder / "docs")])
    return folder / "index"


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "what did Azerbaijan say about the border?"],
        ["ask", "what did Azerbaijan say about the border?", "--json"],
        ["search", "Azerbaijan border closed"],
        ["search", "Azerbaijan border closed", "--json"],
        ["index", "status"],
    ],
)
def test_cli_output_is_inert(terminal_attack_index, args):
    result = shell(*args, "--index", str(terminal_attack_index))
    assert result.returncode == 0, result.stderr
    for raw in RAW_CONTROLS:
        assert raw not in result.stdout and raw not in result.stderr, repr(raw)
    if "--json" in args:
        data = json.loads(result.stdout)
        first = (data.get("citations") or data.get("results"))[0]
        assert "\x1b]8;;https://evil.example\x07" in first["text"]  # data kept exactly
    elif args[0] != "index":
        shown = " ".join(result.stdout.split())  # the CLI wraps long passages
        assert "\\x1b[31mwas closed" in shown  # shown, visibly, as text
        assert "[bold red]markup[/bold red]" in shown
