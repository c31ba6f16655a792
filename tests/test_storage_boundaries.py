"""Each on-disk thing has one owner: the import graph of ``assistant`` has no cycles,
only ``assistant/storage/`` touches the passage database and the vector files, and the
front ends (CLI, chat) go through ``Index`` alone.

Static checks over the source (``ast``), so they cost milliseconds; the behaviour
behind them is tested where it always was (test_index, test_reliability, ...).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "assistant"
STORAGE = PACKAGE / "storage"
# The files of a generation (database.py and vectors.py own them).
GENERATION_FILES = ("passages.sqlite", "vectors.faiss", "vectors.npy", "sentences.npy")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def module_level_statements(tree: ast.Module):
    """Statements run at import: the module's body, and the bodies of module-level
    ``if`` (``TYPE_CHECKING`` too: a checker still follows those) and ``try``."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If):
            pending.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            pending.extend(node.body + node.orelse + node.finalbody)
            pending.extend(statement for handler in node.handlers for statement in handler.body)
        else:
            yield node


def imported(name: str, nodes) -> set[str]:
    """The ``assistant`` modules these import statements of module ``name`` import."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # ``from . import x`` imports the module x
                child = f"{target}.{alias.name}"
                found.add(child if child in MODULES else target)
    return {module for module in found if module in MODULES and module != name}


@functools.cache
def import_graph(level: str) -> dict[str, set[str]]:
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = module_level_statements(tree) if level == "module" else ast.walk(tree)
        graph[name] = imported(name, nodes)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_relative_and_submodule_imports():
    graph = import_graph("module")
    assert "assistant.storage.layout" in graph["assistant.indexing.writer"]  # from . import
    assert "assistant.types" in graph["assistant.api"]  # from .types import ...
    assert "assistant.errors" in graph["assistant.storage.layout"]  # from ..errors


def test_no_import_cycles_among_assistant_modules():
    assert cycles(import_graph("module")) == []


@pytest.mark.parametrize(
    ("importer", "imported_module"),
    [
        ("assistant.ingest.metadata", "assistant.ingest.sources"),
        ("assistant.frontends.tui.screens", "assistant.frontends.tui.app"),
        ("assistant.indexing.writer", "assistant.api"),
    ],
)
def test_the_old_circles_are_gone_even_inside_functions(importer, imported_module):
    """These went round through imports inside functions, which the module-level
    graph does not see."""
    assert imported_module not in import_graph("any")[importer]


# What storage must not know: how sources are read and split, how an index is written
# or queried, and the embedding model (it compares a ModelSpec it is given).
NOT_FOR_STORAGE = (
    "assistant.ingest",
    "assistant.indexing",
    "assistant.query",
    "assistant.frontends",
    "assistant.embeddings",
)


def test_storage_knows_nothing_of_ingestion_querying_or_the_model():
    """Not even through an import inside a function."""
    reached = sorted(
        f"{name} imports {module}"
        for name, modules in import_graph("any").items()
        if name.startswith("assistant.storage")
        for module in modules
        if module.startswith(NOT_FOR_STORAGE)
    )
    assert reached == []


def is_store_chain(node: ast.AST) -> bool:
    """``store``, ``index.store``, ``self._store``...: an expression naming a store."""
    while isinstance(node, ast.Attribute | ast.Call):
        if isinstance(node, ast.Attribute) and "store" in node.attr:
            return True
        node = node.value if isinstance(node, ast.Attribute) else node.func
    return isinstance(node, ast.Name) and "store" in node.id


def touches_index_files(path: Path) -> list[str]:
    """What in one module opens or queries the database or the vector files: a SQLite
    file connected to (an in-memory database is not the index's), faiss imported,
    ``np.load``, a store's SQLite connection used (``store.db``), or a generation
    file named in a string (not a docstring)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found = []
    for node in ast.walk(tree):
        where = f"{shown}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            names.append(getattr(node, "module", None) or "")
            if any(name.split(".")[0] == "faiss" for name in names):
                found.append(f"{where} imports faiss")
        elif isinstance(node, ast.Call) and (
            isinstance(node.func, ast.Attribute)
            and node.func.attr == "connect"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "sqlite3"
            and not (
                node.args
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == ":memory:"
            )
        ):
            found.append(f"{where} connects to a SQLite file")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "load"
            and isinstance(node.value, ast.Name)
            and node.value.id in ("np", "numpy")
        ):
            found.append(f"{where} calls {node.value.id}.load")
        elif isinstance(node, ast.Attribute) and node.attr == "db" and is_store_chain(node.value):
            found.append(f"{where} uses a store's connection")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and any(name in node.value for name in GENERATION_FILES)
        ):
            found.append(f"{where} names {node.value!r}")
    return found


def test_the_check_finds_each_kind_of_access(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Docstrings may name passages.sqlite."""\n'
        "import sqlite3\n"
        "from faiss import read_index\n"
        "import numpy as np\n"
        "rows = np.load('x')\n"
        "NAME = 'vectors.npy'\n"
        "db = sqlite3.connect(path)\n"
        "scratch = sqlite3.connect(':memory:')\n"
        "index.store.db.execute('SELECT 1')\n"
        "self.db.execute('SELECT 1')\n"
    )
    found = [line.split(" ", 1)[1] for line in touches_index_files(sample)]
    assert sorted(found) == sorted(
        [
            "imports faiss",
            "calls np.load",
            "names 'vectors.npy'",
            "connects to a SQLite file",
            "uses a store's connection",
        ]
    )


def test_only_the_storage_package_touches_the_database_and_vector_files():
    outside = [path for path in PACKAGE.rglob("*.py") if STORAGE not in path.parents]
    assert [line for path in outside for line in touches_index_files(path)] == []
    # ... and inside it, each file has its one module.
    assert touches_index_files(STORAGE / "database.py")
    assert touches_index_files(STORAGE / "vectors.py")


FRONT_ENDS = [
    PACKAGE / "frontends" / "cli.py",
    PACKAGE / "frontends" / "http.py",
    PACKAGE / "frontends" / "mcp.py",
    *sorted((PACKAGE / "frontends" / "tui").glob("*.py")),
]


@pytest.mark.parametrize("path", FRONT_ENDS, ids=lambda path: path.name)
def test_the_cli_and_the_chat_use_only_index(path):
    """No import of the storage modules (old names included), and no reaching into
    ``Index.store``, a store's connection or Index's private methods (the CLI, the
    chat, the HTTP API and the MCP server alike)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    storage_modules = {"assistant.store", "assistant.indexer"}
    reached = sorted(
        module
        for module in imported(name, ast.walk(tree))
        if module in storage_modules or module.startswith("assistant.storage")
    )
    assert reached == []
    attributes = sorted(
        f"{path.name}:{node.lineno} .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("store", "_store", "db", "_follow_writer", "_manifest")
    )
    assert attributes == []
