"""Writers and readers at once: a second writer gets a clear message, and readers (in
this process and CLI processes) see one consistent version during updates, never a
healthy index taken for a damaged one."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant import Index, IndexWriter, verify_index

from .conftest import ROOT, SEEDS
from .writers import NEW_WORD, changed_corpus, kill, shell, start_until_fault

QUESTION = "What did Azerbaijan say about the 132-km border?"


@pytest.fixture
def corpus(tmp_path) -> tuple[Path, Path]:
    """A copy of the seeds, indexed; then one article gains a paragraph."""
    return changed_corpus(tmp_path, None)


@pytest.fixture
def fake_corpus(tmp_path, fake_encoder) -> tuple[Path, Path]:
    """``corpus``, embedded by the fake encoder."""
    return changed_corpus(tmp_path, fake_encoder)


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


def test_readers_see_one_consistent_version_during_updates(fake_corpus, fake_encoder):
    docs, index_dir = fake_corpus
    index = Index(index_dir, encoder=fake_encoder)
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
        IndexWriter(index_dir, encoder=fake_encoder).update()
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
# (0.6 s a call, which would leave a 2-core machine a handful of swaps a minute), with
# the fake encoder (the model is not the subject; with it, a loaded 2-core machine
# managed fewer than 40 swaps in 4 minutes). Every call opens the index from its
# manifest: the step a swap could catch half-way.
CLI_LOOP = """
import json, os, sys
from pathlib import Path
from click.testing import CliRunner
from assistant.frontends.cli import main
from tests.fakes import FakeEncoder, front_end_patches

for module, name, replacement in front_end_patches(FakeEncoder()):
    setattr(module, name, replacement)

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


def test_cli_readers_never_see_a_healthy_index_as_damaged(tmp_path, fake_encoder):
    """4 CLI readers (`ask`, `search`) and 1 CLI writer (`index update` after each change)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "border.txt").write_text(f"Border talks\n\n{EXPECTED}\n\nThe commission met twice.\n")
    (docs / "weather.txt").write_text("Weather report\n\nIt rained in Tbilisi all week.\n")
    index_dir = tmp_path / "index"
    IndexWriter(index_dir, encoder=fake_encoder).build([str(docs)])
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
    assert verify_index(index_dir, encoder=fake_encoder).ok
