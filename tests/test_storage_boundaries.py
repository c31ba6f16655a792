"""Each on-disk thing has one owner: the import graph of ``assistant`` has no cycles,
only ``assistant/storage/`` touches the passage database and the vector files, and the
front ends (CLI, chat) go through ``Index`` alone.

Static checks over the source (``ast``), so they cost milliseconds; the behaviour
behind them is tested where it always was (test_index, test_crash_safety,
test_concurrent_access, ...).
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


def imports_in(name: str, source: str, is_package: bool = False) -> set[str]:
    """The modules that module ``name`` imports anywhere in ``source``: at the top,
    under ``if``/``try``, and inside functions (an import there is still an edge: it
    runs when the function does). Relative imports are resolved against ``name``;
    ``from . import x`` imports the module ``x`` where there is one."""
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def imported(name: str) -> set[str]:
    """The other ``assistant`` modules that module ``name`` imports."""
    path = MODULES[name]
    found = imports_in(name, path.read_text(encoding="utf-8"), path.name == "__init__.py")
    # ``from .x import y`` names x.y too: keep only what is a module of the package.
    modules = {module for module in found if module in MODULES}
    # ``from .pkg import mod`` imports pkg's __init__ only for mod: keep the module alone.
    packages = {module.rpartition(".")[0] for module in modules}
    return {m for m in modules if m != name and not (m in packages and _only_as_parent(m, found))}


def _only_as_parent(package: str, found: set[str]) -> bool:
    """Whether ``package`` was named only as the place of a submodule imported from it
    (``from . import layout`` in assistant.storage names assistant.storage too)."""
    return any(other.startswith(package + ".") for other in found if other in MODULES)


@functools.cache
def import_graph() -> dict[str, set[str]]:
    return {name: imported(name) for name in MODULES}


def edges_into(importers: str, targets: tuple[str, ...]) -> list[str]:
    """Each import of a module under one of ``targets`` by a module under ``importers``."""
    return sorted(
        f"{name} -> {module}"
        for name, modules in import_graph().items()
        if name == importers or name.startswith(importers + ".")
        for module in modules
        if any(module == target or module.startswith(target + ".") for target in targets)
    )


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


def test_imports_are_seen_inside_functions_and_resolved_from_relative_names():
    source = (
        "from __future__ import annotations\n"
        "import assistant.errors\n"
        "from ..storage import layout\n"
        "if True:\n"
        "    from . import sources\n"
        "def late():\n"
        "    from ...query.llm import config_path\n"
        "    class Inner:\n"
        "        def method(self):\n"
        "            import click\n"
    )
    found = imports_in("assistant.ingest.readers.pdf", source)
    assert {
        "assistant.errors",
        "assistant.ingest.storage.layout",  # two dots from readers/pdf.py: assistant.ingest
        "assistant.ingest.readers.sources",
        "assistant.query.llm",
        "click",
    } <= found
    assert "assistant.indexing.query.llm" not in found
    in_a_package = imports_in("assistant.storage", "from .milvus import backend\n", True)
    assert "assistant.storage.milvus.backend" in in_a_package


def test_the_graph_sees_relative_submodule_and_function_level_imports():
    graph = import_graph()
    assert "assistant.storage.layout" in graph["assistant.indexing.writer"]  # from . import
    assert "assistant.types" in graph["assistant.api"]  # from .types import ...
    assert "assistant.errors" in graph["assistant.storage.layout"]  # from ..errors
    # Retriever loads the encoder inside a method (a late import: still an edge).
    assert "assistant.embeddings" in graph["assistant.query.retrieval"]


def test_no_import_cycles_among_assistant_modules():
    assert cycles(import_graph()) == []


LOWER_THAN_STORAGE_IS_NOT = ("ingest", "indexing", "query", "frontends", "embeddings")
# Edges known to exist, each stage's marked xfail(strict) until they are gone; an
# import under ``if TYPE_CHECKING:`` counts too (a type checker follows it).
KNOWN_STORAGE_EDGES: dict[str, list[str]] = {}


@pytest.mark.parametrize(
    "stage",
    [
        pytest.param(
            stage,
            marks=pytest.mark.xfail(
                strict=True, reason="known edges: " + "; ".join(KNOWN_STORAGE_EDGES[stage])
            ),
        )
        if stage in KNOWN_STORAGE_EDGES
        else stage
        for stage in LOWER_THAN_STORAGE_IS_NOT
    ],
)
def test_storage_imports_nothing_from_the_stages_above_it(stage):
    assert edges_into("assistant.storage", (f"assistant.{stage}",)) == []


def test_only_the_front_ends_import_click_or_textual():
    outside = [name for name in MODULES if not name.startswith("assistant.frontends")]
    found = sorted(
        f"{name} imports {module}"
        for name in outside
        for module in imports_in(name, MODULES[name].read_text(encoding="utf-8"))
        if module.split(".")[0] in ("click", "textual")
    )
    assert found == []


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


FRONT_ENDS = sorted((PACKAGE / "frontends").rglob("*.py"))


@pytest.mark.parametrize("path", FRONT_ENDS, ids=module_name)
def test_the_cli_and_the_chat_use_only_index(path):
    """No import of the storage modules (old names included), and no reaching into
    ``Index.store``, a store's connection or Index's private methods (the CLI, the
    chat, the HTTP API and the MCP server alike)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    storage_modules = {"assistant.store", "assistant.indexer"}
    reached = sorted(
        module
        for module in imported(name)
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
