"""Questions asked of an index, kept across runs (one JSON line per question).

History belongs to an index, not to the user at large: questions about one corpus are
noise when chatting with another. Files live under the user directory, named after
the index's resolved path.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..config import Settings
from ..paths import private_dir, private_opener

HISTORY_LIMIT = 1000


def history_file(index_path: str | Path, directory: Path | None = None) -> Path:
    """The index's history file in ``directory`` (default: the settings' history_dir,
    ``<user dir>/history``)."""
    resolved = str(Path(index_path).resolve())
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:16]
    directory = directory if directory is not None else Settings.load().history_dir
    return directory / f"{Path(resolved).name}-{digest}.jsonl"


class QuestionHistory:
    """Oldest first in memory; appended to disk as questions are asked."""

    def __init__(
        self, index_path: str | Path, limit: int = HISTORY_LIMIT, directory: Path | None = None
    ) -> None:
        self.path = history_file(index_path, directory)
        self.limit = limit
        self.questions: list[str] = self._load()

    def _load(self) -> list[str]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return []
        questions = []
        for line in lines:
            try:
                question = json.loads(line).get("q")
            except (ValueError, AttributeError):
                continue  # a half-written line from a crash: skip it, keep the rest
            if isinstance(question, str) and question.strip():
                questions.append(question)
        if len(lines) > 2 * self.limit:
            self._rewrite(questions[-self.limit :])
        return questions[-self.limit :]

    def _rewrite(self, questions: list[str]) -> None:
        """Keep the file as short as the limit: write aside, then rename over it."""
        partial = self.path.with_suffix(".partial")
        try:
            partial.unlink(missing_ok=True)  # created anew, so with the private mode
            with open(partial, "w", encoding="utf-8", opener=private_opener) as handle:
                handle.write(
                    "".join(json.dumps({"q": q}, ensure_ascii=False) + "\n" for q in questions)
                )
            partial.replace(self.path)
        except OSError:
            pass

    def add(self, question: str) -> None:
        question = question.strip()
        if not question:
            return
        if self.questions and self.questions[-1] == question:
            return
        self.questions.append(question)
        del self.questions[: -self.limit]
        try:
            private_dir(self.path.parent)  # questions are the user's own: 0700 / 0600
            with open(self.path, "a", encoding="utf-8", opener=private_opener) as handle:
                handle.write(json.dumps({"q": question}, ensure_ascii=False) + "\n")
        except OSError:
            pass  # history is a convenience; a read-only home must not stop the chat

    def search(self, text: str) -> list[str]:
        """Distinct questions containing ``text`` (case-insensitive), newest first."""
        needle = text.casefold().strip()
        seen: set[str] = set()
        found = []
        for question in reversed(self.questions):
            if question in seen:
                continue
            seen.add(question)
            if needle in question.casefold():
                found.append(question)
        return found

    def __len__(self) -> int:
        return len(self.questions)
