"""Where things live: the default index, the bundled seeds, caches and user data.

Each location can be moved with an environment variable, so tests and scripts
never touch a user's real files.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def default_index_dir() -> Path:
    """``$ASSISTANT_INDEX``, else the project's ``index/`` beside ``seeds/``, else ``./index``."""
    configured = _env_path("ASSISTANT_INDEX")
    if configured:
        return configured
    if (PROJECT_ROOT / "seeds").is_dir():
        return PROJECT_ROOT / "index"
    return Path("index")


def seeds_dir() -> Path:
    """The bundled news articles, the corpus used when nothing else is given."""
    return _env_path("ASSISTANT_SEEDS") or PROJECT_ROOT / "seeds"


def cache_dir() -> Path:
    """Derived files that can be rebuilt (the ONNX export of the model)."""
    configured = _env_path("ASSISTANT_CACHE_DIR")
    if configured:
        return configured
    base = _env_path("XDG_CACHE_HOME") or Path.home() / ".cache"
    return base / "assistant"


def user_dir() -> Path:
    """The user's own data (chat history, exports)."""
    configured = _env_path("ASSISTANT_USER_DIR")
    if configured:
        return configured
    base = _env_path("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return base / "assistant"


def export_dir() -> Path:
    """Where the chat writes exported conversations: ``$ASSISTANT_EXPORT_DIR`` or the cwd."""
    return _env_path("ASSISTANT_EXPORT_DIR") or Path.cwd()
