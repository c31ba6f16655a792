"""The application: decides whether the index must be prepared, then opens the chat."""

from __future__ import annotations

from pathlib import Path

from textual.app import App

from ...config import Settings
from ...errors import AssistantError
from ...paths import default_index_dir, seeds_dir
from .screens import (
    APP_BINDINGS,
    AddSourcesScreen,
    BrokenIndexScreen,
    BuildScreen,
    ChatScreen,
    HelpScreen,
)


class AssistantApp(App):
    CSS_PATH = "assistant.tcss"
    TITLE = "assistant"
    BINDINGS = APP_BINDINGS  # ctrl+c quits, F1 helps (listed in the help: screens.py)

    def __init__(
        self,
        index_path: str | Path | None = None,
        seeds: Path | None = None,
        llm=None,
        search_filter=None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__()
        self.llm = llm  # an LLMConfig: a language model writes the answers
        self.search_filter = search_filter  # a SearchFilter the chat starts with
        # Where collections, seeds, history and exports are (the environment's, read once).
        self.settings = settings if settings is not None else Settings.load()
        self.index_path = (
            Path(index_path) if index_path is not None else default_index_dir(self.settings)
        )
        # The bundled articles in the project's checkout; None for an installed tool.
        self.seeds = seeds or seeds_dir(self.settings)
        self.index = None

    def on_mount(self) -> None:
        from ...api import Index

        if not Index.exists(self.index_path):
            if self.seeds is None or not self.seeds.is_dir():
                self.push_screen(AddSourcesScreen(self.index_path))
                return
            reason = f"There is no index at {self.index_path} yet: building it from {self.seeds}."
            self.push_screen(BuildScreen(self.index_path, [self.seeds], reason))
            return
        try:
            index = Index(self.index_path)
            status = index.status()
        except AssistantError as error:
            self.push_screen(BrokenIndexScreen(str(error)))  # the message ends with the fix
            return
        changes = len(status.stale) + len(status.missing) + len(status.new)
        if changes:
            index.close()
            reason = (
                f"The sources changed since the index was built ({len(status.stale)} changed,"
                f" {len(status.new)} new, {len(status.missing)} missing): updating it."
            )
            self.push_screen(BuildScreen(self.index_path, None, reason))
            return
        self.index = index
        self.push_screen(ChatScreen(index, self.llm, self.search_filter, self.settings))

    def open_chat(self) -> None:
        """Called once the index is prepared: replace the build screen by the chat."""
        from ...api import Index

        try:
            self.index = Index(self.index_path)
        except AssistantError as error:
            self.switch_screen(BrokenIndexScreen(str(error)))
            return
        self.switch_screen(ChatScreen(self.index, self.llm, self.search_filter, self.settings))

    def open_said(self, topic: str, search_filter=None) -> None:
        """Who said what on ``topic``, side by side (``/said``, or ``w`` on a card)."""
        from .said import SaidScreen

        self.push_screen(SaidScreen(self.index, topic, search_filter, self.settings))

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def on_unmount(self) -> None:
        if self.index is not None:
            self.index.close()
