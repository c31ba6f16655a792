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


# A collection's name: letters, digits, dot, dash and underscore, not starting with a dot
# (a bare word on the command line, and a directory name on every system).
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
DEFAULT_COLLECTION = "default"


def in_checkout() -> bool:
    """Whether this is the project's source tree (``make demo``), not an installed copy:
    an installed package has no ``seeds/`` and ``pyproject.toml`` beside it."""
    return (PROJECT_ROOT / "seeds").is_dir() and (PROJECT_ROOT / "pyproject.toml").is_file()


def collections_dir() -> Path:
    """Where named indexes live: ``<user data dir>/indexes/NAME``."""
    return user_dir() / "indexes"


def is_collection_name(value: str) -> bool:
    return bool(value) and not value.startswith(".") and set(value) <= _NAME_CHARS


def resolve_index(value: str | Path | None) -> Path:
    """The index directory for ``--index NAME|DIR`` (None: the default).

    A bare name names a collection in the user's data directory, unless a folder of
    that name here holds an index; anything else (a path with a slash) is a directory
    (``make demo`` says ``--index ./index``). A bare word never means a plain folder
    here: ``--index news`` run beside a corpus folder called ``news`` must not write
    the index into the corpus.
    """
    if value is None or str(value) == "":
        return default_index_dir()
    text = str(value)
    path = Path(text).expanduser()
    if isinstance(value, Path) or not is_collection_name(text):
        return path
    if (path / "manifest.json").is_file():
        return path
    return collections_dir() / text


def default_index_dir() -> Path:
    """``$ASSISTANT_INDEX`` (a name or a directory); else, in the project's checkout, its
    ``index/``; else the collection ``default`` in the user's data directory.

    Never the current directory: an installed tool works the same from any folder.
    """
    configured = os.environ.get("ASSISTANT_INDEX", "").strip()
    if configured:
        return resolve_index(configured)
    if in_checkout():
        return PROJECT_ROOT / "index"
    return collections_dir() / DEFAULT_COLLECTION


def seeds_dir() -> Path | None:
    """The bundled news articles, used when the chat starts without an index: only in
    the project's checkout (or ``$ASSISTANT_SEEDS``), never inside site-packages."""
    configured = _env_path("ASSISTANT_SEEDS")
    if configured:
        return configured
    return PROJECT_ROOT / "seeds" if in_checkout() else None


def cache_dir() -> Path:
    """Derived files that can be rebuilt (the ONNX export of the model)."""
    configured = _env_path("ASSISTANT_CACHE_DIR")
    if configured:
        return configured
    base = _env_path("XDG_CACHE_HOME") or Path.home() / ".cache"
    return base / "assistant"


def config_path() -> Path:
    """``$ASSISTANT_CONFIG``, else ``$XDG_CONFIG_HOME/assistant/config.toml``."""
    configured = os.environ.get("ASSISTANT_CONFIG")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".config") / "assistant/config.toml"


def user_dir() -> Path:
    """The user's own data (collections, chat history): ``$ASSISTANT_USER_DIR``, else
    the platform's user data directory (``~/.local/share/assistant`` on Linux,
    ``~/Library/Application Support/assistant`` on macOS)."""
    configured = _env_path("ASSISTANT_USER_DIR")
    if configured:
        return configured
    from platformdirs import user_data_path

    return user_data_path("assistant", appauthor=False)


def export_dir() -> Path:
    """Where the chat writes exported conversations: ``$ASSISTANT_EXPORT_DIR`` or the cwd."""
    return _env_path("ASSISTANT_EXPORT_DIR") or Path.cwd()


# What the assistant writes (the index, which holds the text of every source, chat
# history, exports) is the user's alone: a 0600 source must not become readable by
# others through the index. ``$ASSISTANT_UMASK`` (octal, e.g. ``022``) shares them.
# The modes below still pass through the process umask, so a stricter one is kept.
PRIVATE_UMASK = 0o077


def file_umask() -> int:
    """The mask for the assistant's files and directories: ``$ASSISTANT_UMASK`` or 077."""
    configured = os.environ.get("ASSISTANT_UMASK", "").strip()
    try:
        return int(configured, 8) & 0o777 if configured else PRIVATE_UMASK
    except ValueError:
        return PRIVATE_UMASK  # a typo must not make the files public


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents as 0700 directories (see file_umask); an
    existing directory keeps its mode, which is the user's choice."""
    path = Path(path)
    if not path.is_dir():
        if not path.parent.is_dir():
            private_dir(path.parent)
        path.mkdir(mode=0o777 & ~file_umask(), exist_ok=True)  # or made meanwhile
    return path


def private_opener(path: str, flags: int) -> int:
    """``open(..., opener=private_opener)``: a new file is created 0600 (see file_umask)."""
    return os.open(path, flags, 0o666 & ~file_umask())


def make_private(path: Path) -> None:
    """Narrow the mode of a file another library created with its own (SQLite: 0644)."""
    mode = os.stat(path).st_mode & 0o777
    os.chmod(path, mode & ~file_umask())


def write_private_text(path: Path, text: str) -> None:
    """Write a text file (an export) that only the user can read."""
    private_dir(Path(path).parent)
    with open(path, "w", encoding="utf-8", opener=private_opener) as handle:
        handle.write(text)
