"""The Milvus store is as hard to break as the local one: a write killed at any moment
leaves the index the manifest names answering (each write goes to new collections,
named by the manifest once whole), literals reach Milvus as it parses them (every C0
control character), the Milvus Lite store is private, and a store that cannot be
opened is one line and exit 15.

Milvus Lite runs inside the process that opens a store and holds its lock until that
process ends: a test whose writer runs in a child process releases it first.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

pytest.importorskip("pymilvus")

from assistant import Index, IndexWriter, verify_index
from assistant.storage.layout import read_manifest
from assistant.storage.milvus import connection

from .writers import NEW_WORD, fake_encoded_cli, kill, shell, start_until_fault

TEXTS = {
    "ferry.txt": "The Caspian ferry from Baku to Aktau runs twice a week.\n\n"
    "Tickets are sold at the port on the day of departure.\n",
    "bridge.txt": "The Araz bridge opened to trucks in May.\n\n"
    "Customs officers work on both banks of the river.\n",
    "esc\x1bape.txt": "A file whose name holds an escape character is indexed too.\n",
}


def release(store: Path) -> None:
    """Stop this process's Milvus Lite server for ``store``: a child process can
    then open it."""
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(str(store))


@pytest.fixture
def lite(tmp_path, fake_encoder):
    """(docs, index directory, store): three small files in a Milvus Lite store."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in TEXTS.items():
        (docs / name).write_text(text)
    index_dir, store = tmp_path / "index", tmp_path / "m.db"
    IndexWriter(index_dir, encoder=fake_encoder).build([str(docs)], store=f"milvus:{store}")
    release(store)
    yield docs, index_dir, store
    release(store)


def collections_in(store: Path) -> set[str]:
    client = connection.connect(connection.parse_store_uri(f"milvus:{store}"))
    try:
        return set(client.list_collections())
    finally:
        client.close()


def finds(index: Index, word: str) -> bool:
    return any(word in hit.passage.text for hit in index.search(word, k=3))


# -- a killed write ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "point"),
    [
        ("build", "milvus-source-written"),  # half the rows written
        ("update", "milvus-written"),  # every row written and flushed
        ("update", "manifest-written"),  # switched, the old collections not yet dropped
    ],
)
def test_a_killed_milvus_write_leaves_the_index_answering(
    lite, fake_encoder, tmp_path, command, point
):
    docs, index_dir, store = lite
    before = read_manifest(index_dir).store_index
    with open(docs / "ferry.txt", "a") as handle:
        handle.write(f"\nThe {NEW_WORD} delegation took the ferry.\n")
    args = ["index", command, *([str(docs)] if command == "build" else []), "--index", index_dir]
    kill(start_until_fault([str(a) for a in args], point, tmp_path / "marker", fake_encoded_cli))

    swapped = point == "manifest-written"
    assert (read_manifest(index_dir).store_index != before) is swapped
    with Index(index_dir, encoder=fake_encoder) as index:
        assert index.status().documents == 3
        assert finds(index, "Caspian") and finds(index, NEW_WORD) is swapped
    checks = {c.name: c.ok for c in verify_index(index_dir, encoder=fake_encoder).checks}
    assert checks.pop("sources") is swapped  # the changed file is still pending
    assert all(checks.values()), checks

    # The next write that writes drops what the killed one left.
    with open(docs / "bridge.txt", "a") as handle:
        handle.write("\nA second lane opens in June.\n")
    IndexWriter(index_dir, encoder=fake_encoder).update()
    with Index(index_dir, encoder=fake_encoder) as index:
        assert finds(index, NEW_WORD) and finds(index, "lane")
    current = read_manifest(index_dir).store_index
    assert collections_in(store) == set(connection.collection_names(current))
    assert verify_index(index_dir, encoder=fake_encoder).ok


def test_verify_advises_what_repairs_the_store(lite, cli, fake_model):
    """Rows changed behind the index's back: verify says rebuild, and that works."""
    docs, index_dir, store = lite
    names = connection.collection_names(read_manifest(index_dir).store_index)
    client = connection.connect(connection.parse_store_uri(f"milvus:{store}"))
    client.delete(names[0], filter="id >= 0")
    client.close()
    result = cli("index", "verify", "--index", index_dir)
    assert result.exit_code == 5, result.output
    assert "(rebuild it with: assistant index build PATH)" in result.output
    assert cli("index", "build", docs, "--index", index_dir, "-q").exit_code == 0
    assert cli("index", "verify", "--index", index_dir).exit_code == 0


# -- literals ------------------------------------------------------------------------------

C0 = [chr(code) for code in range(32)]


def test_every_c0_control_character_reaches_milvus_as_written(tmp_path):
    """A filter literal holding any C0 control character, a quote or a backslash
    matches exactly the value stored."""
    from pymilvus import DataType

    store = tmp_path / "m.db"
    client = connection.connect(connection.parse_store_uri(f"milvus:{store}"))
    values = [f"a{c}b" for c in [*C0, '"', "'", "\\", "\\n"]]
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("source", DataType.VARCHAR, max_length=64)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=2)
    index = client.prepare_index_params()
    index.add_index("vector", index_type="FLAT", metric_type="IP")
    client.create_collection("escapes", schema=schema, index_params=index)
    rows = [{"id": i, "source": v, "vector": [1.0, 0.0]} for i, v in enumerate(values)]
    client.insert("escapes", rows)
    for number, value in enumerate(values):
        found = client.query("escapes", filter=f"source == {connection.literal(value)}")
        assert [row["id"] for row in found] == [number], repr(value)
    every = client.query("escapes", filter=connection.in_list("source", values), limit=100)
    assert len(every) == len(values)
    client.close()
    release(store)


def test_control_characters_in_names_and_filters_on_milvus(lite, cli, fake_model):
    """A file whose name holds ESC is indexed (the build wrote it), and found by its
    name; a filter of every C0 control character is a search like any other; so is
    one of 500 values."""
    docs, index_dir, _ = lite
    escaped = str(docs / "esc\x1bape.txt")
    result = cli("search", "escape character", "--index", index_dir, "--source", escaped)
    assert result.exit_code == 0 and "escape character is indexed" in result.output
    controls = [arg for c in C0 for arg in ("--source", f"x{c}y")]
    result = cli("search", "ferry", "--index", index_dir, *controls)
    assert result.exit_code == 0 and result.output.startswith("No passages found from")
    many = [arg for n in range(500) for arg in ("--source", f"nothing-{n}")]
    result = cli("search", "ferry", "--index", index_dir, *many, "--source", docs / "ferry.txt")
    assert result.exit_code == 0 and "Caspian ferry" in result.output, result.output


# -- a private store, and one line when it cannot be opened ----------------------------------


def modes(store: Path) -> set[tuple[str, int]]:
    return {
        ("dir" if path.is_dir() else "file", stat.S_IMODE(path.stat().st_mode))
        for path in [store, *store.rglob("*")]
    }


def test_the_milvus_lite_store_is_private_unless_the_umask_says(
    lite, fake_encoder, monkeypatch, tmp_path
):
    docs, index_dir, store = lite
    assert modes(store) == {("dir", 0o700), ("file", 0o600)}
    for path in [store, *store.rglob("*")]:  # as an older version left it
        path.chmod(0o755 if path.is_dir() else 0o644)
    IndexWriter(index_dir, encoder=fake_encoder).build([str(docs)])
    assert modes(store) == {("dir", 0o700), ("file", 0o600)}

    monkeypatch.setenv("ASSISTANT_UMASK", "022")
    shared = tmp_path / "shared.db"
    previous = os.umask(0o022)
    try:
        IndexWriter(tmp_path / "shared", encoder=fake_encoder).build(
            [str(docs)], store=f"milvus:{shared}"
        )
    finally:
        os.umask(previous)
        release(shared)
    assert modes(shared) == {("dir", 0o755), ("file", 0o644)}


def test_a_store_open_elsewhere_is_one_line_and_exit_15(lite):
    _, index_dir, store = lite
    holder = connection.connect(connection.parse_store_uri(f"milvus:{store}"))
    try:
        result = shell("index", "status", "--index", str(index_dir), command=fake_encoded_cli)
    finally:
        holder.close()
    assert result.returncode == 15, result.stderr
    assert result.stderr.startswith(f"error: the Milvus Lite store {store} is open in another")
    assert len(result.stderr.splitlines()) == 1


def test_a_store_it_may_not_open_is_one_line_and_exit_15(lite, cli, fake_model, monkeypatch):
    """Permission denied on the store's lock file (root reads anything: the refusal is
    made where Milvus Lite opens it)."""
    _, index_dir, store = lite
    opener = os.open

    def refusing(path, flags, *args, **kwargs):
        if str(path) == str(store / "LOCK"):
            raise PermissionError(13, "Permission denied", str(path))
        return opener(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing)
    result = cli("index", "status", "--index", index_dir)
    assert result.exit_code == 15
    assert result.output == (
        f"error: permission denied: {store / 'LOCK'} (the Milvus Lite store {store})"
        " (check the store's owner and mode, or use another --store)\n"
    )
