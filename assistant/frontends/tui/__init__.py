"""The Textual chat. Imported only by ``assistant chat``; the library never imports it."""

from __future__ import annotations

from pathlib import Path


def run_chat(
    index_path: str | Path | None = None, llm=None, search_filter=None, settings=None
) -> None:
    """Run the chat; ``llm`` (an :class:`~assistant.query.llm.LLMConfig`) makes a model answer,
    ``search_filter`` (a :class:`~assistant.filters.SearchFilter`) restricts the search,
    ``settings`` (:class:`~assistant.config.Settings`) say where seeds, history and
    exports go."""
    from .app import AssistantApp

    AssistantApp(index_path, llm=llm, search_filter=search_filter, settings=settings).run()
