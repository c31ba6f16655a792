"""Prompt templates for the generative answerer, read from plain files users can edit.

Each template is ``<name>.md`` in the prompts directory (``$ASSISTANT_PROMPTS``, the
``prompts`` setting of the config file, or the project's ``prompts/``). Placeholders
are ``{name}``; ``{{`` and ``}}`` stand for literal braces. A template that uses a
placeholder its kind does not provide is an error naming the file and the allowed
names, so a typo is found at once rather than sent to the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..errors import UsageError

# Which placeholders each template may use (documented in prompts/README.md).
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "system": frozenset({"today"}),
    "answer": frozenset({"question", "passages", "passage_count", "today"}),
    "condense": frozenset({"history", "question", "today"}),
}
_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_]\w*)\}")


def default_prompts_dir(settings: Settings | None = None) -> Path:
    """``$ASSISTANT_PROMPTS``, else the checkout's ``prompts/``, else the copy an
    installed package carries (``<prefix>/share/assistant/prompts``: pip and pipx put
    the project's ``prompts/`` there)."""
    import sys

    from ..paths import PROJECT_ROOT

    configured = (settings if settings is not None else Settings.load()).prompts_dir
    if configured:
        return configured
    beside = PROJECT_ROOT / "prompts"
    if beside.is_dir():
        return beside
    return Path(sys.prefix) / "share" / "assistant" / "prompts"


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    path: Path
    text: str

    def render(self, **values: object) -> str:
        def substitute(match: re.Match) -> str:
            if match.group(1) is None:
                return match.group()[0]  # "{{" -> "{", "}}" -> "}"
            return str(values[match.group(1)])

        return _FIELD.sub(substitute, self.text).strip()


def load_prompt(
    name: str, directory: Path | None = None, settings: Settings | None = None
) -> PromptTemplate:
    """The template ``name`` ("system", "answer" or "condense"), checked for its
    placeholders, from ``directory`` (default: :func:`default_prompts_dir`)."""
    if name not in PLACEHOLDERS:
        raise UsageError(f"unknown prompt {name!r}; the prompts are {', '.join(PLACEHOLDERS)}")
    directory = directory or default_prompts_dir(settings)
    path = directory / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(
            f"prompt file {path} is missing",
            hint="restore it, or point ASSISTANT_PROMPTS at a folder with system.md,"
            " answer.md and condense.md",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read prompt file {path}: {error}") from None
    used = {m.group(1) for m in _FIELD.finditer(text) if m.group(1)}
    unknown = sorted(used - PLACEHOLDERS[name])
    if unknown:
        allowed = ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS[name]))
        raise UsageError(
            f"prompt file {path} uses unknown placeholder {{{unknown[0]}}}",
            hint=f"{name}.md may use {allowed}; write {{{{ and }}}} for literal braces",
        )
    required = {"answer": {"question", "passages"}, "condense": {"question"}}.get(name, set())
    missing = sorted(required - used)
    if missing:
        raise UsageError(f"prompt file {path} must contain {{{missing[0]}}}")
    return PromptTemplate(name, path, text)
