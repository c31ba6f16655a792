"""The Textual chat. Imported only by ``assistant chat``; the library never imports it."""

from __future__ import annotations

from pathlib import Path


def run_chat(index_path: str | Path | None = None) -> None:
    from .app import AssistantApp

    AssistantApp(index_path).run()
