"""The Textual chat. Imported only by ``assistant chat``; the library never imports it."""

from __future__ import annotations

from pathlib import Path


def run_chat(index_path: str | Path | None = None, llm=None, search_filter=None) -> None:
    """Run the chat; ``llm`` (an :class:`~assistant.query.llm.LLMConfig`) makes a model answer,
    ``search_filter`` (a :class:`~assistant.filters.SearchFilter`) restricts the search."""
    from .app import AssistantApp

    AssistantApp(index_path, llm=llm, search_filter=search_filter).run()
