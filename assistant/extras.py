"""Optional parts of the package, installed as pip extras (see pyproject.toml).

The core install is the library, the command line and the local store. The chat, the
HTTP and MCP servers, web pages and feeds, PDF and DOCX files, the Milvus store and the
LLM client each need packages of their own; a missing one is one line that names the
``pip install`` to run (:class:`~assistant.errors.MissingExtraError`), never an
ImportError from deep inside.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingExtraError, UnreadableSource

# extra -> what it adds (for messages and the README's table)
EXTRAS = {
    "chat": "the terminal chat (textual)",
    "serve": "the HTTP API (fastapi, starlette, uvicorn)",
    "mcp": "the MCP server (mcp)",
    "web": "web pages and news feeds (httpx, feedparser)",
    "formats": "PDF and DOCX files (pypdf, python-docx)",
    "milvus": "the Milvus store (pymilvus, milvus-lite)",
    "llm": "answers written by a language model (openai)",
}


def install_command(extra: str) -> str:
    return f"pip install 'assistant[{extra}]'"


def require(module: str, extra: str, purpose: str | None = None) -> ModuleType:
    """``module`` imported, or :class:`MissingExtraError` naming the extra to install.

    ``purpose`` says what needs it ("the chat"); by default the extra's description.
    Only the module itself being absent is turned into the error: an ImportError from
    inside an installed package is a real fault and goes on up.
    """
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}")
    try:
        return importlib.import_module(module)
    except ImportError as error:
        top = module.split(".")[0]
        if error.name is not None and error.name.split(".")[0] != top:
            raise
        what = purpose or EXTRAS[extra]
        raise MissingExtraError(
            f"{what} needs {top}, which is not installed",
            hint=install_command(extra),
            module=module,
            extra=extra,
        ) from None


def require_for_file(module: str, extra: str, kind: str) -> ModuleType:
    """``module`` for reading one file of ``kind`` ("PDF"): when it is missing, the
    file is skipped with a reason that names the extra to install, and the rest of the
    build goes on (:class:`~assistant.errors.UnreadableSource`)."""
    try:
        return require(module, extra)
    except MissingExtraError:
        top = module.split(".")[0]
        raise UnreadableSource(
            f"reading {kind} files needs {top}, which is not installed ({install_command(extra)})"
        ) from None
