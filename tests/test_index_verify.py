"""``index verify`` passes a healthy index, names each fault with its exit code and fix,
and reports changed sources (which ``ask`` warns about)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant import IndexWriter

from .conftest import SEEDS

QUESTION = "What did Azerbaijan say about the 132-km border?"


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
    assert names == ["manifest", "model", "database", "vectors", "documents", "sources"]
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


def test_verify_reports_changed_sources_and_ask_warns(cli, fake_model, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(SEEDS, docs)
    IndexWriter(tmp_path / "idx", encoder=fake_model).build([str(docs)])
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
