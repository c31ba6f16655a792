"""Where things live: the default index, the bundled seeds, caches and user data.

Each location can be moved with an environment variable (read by
:class:`~assistant.config.Settings`), so tests and scripts never touch a user's real
files. Every function takes the run's settings; without them it reads the process
environment (``Settings.load()``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .config import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _settings(settings: Settings | None) -> Settings:
    return settings if settings is not None else Settings.load()


# A collection's name: letters, digits, dot, dash and underscore, not starting with a dot
# (a bare word on the command line, and a directory name on every system).
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
DEFAULT_COLLECTION = "default"


def in_checkout() -> bool:
    """Whether this is the project's source tree (``make demo``), not an installed copy:
    an installed package has no ``seeds/`` and ``pyproject.toml`` beside it."""
    return (PROJECT_ROOT / "seeds").is_dir() and (PROJECT_ROOT / "pyproject.toml").is_file()


def collections_dir(settings: Settings | None = None) -> Path:
    """Where named indexes live: ``<user data dir>/indexes/NAME``."""
    return _settings(settings).collections_dir


def is_collection_name(value: str) -> bool:
    return bool(value) and not value.startswith(".") and set(value) <= _NAME_CHARS


def resolve_index(value: str | Path | None, settings: Settings | None = None) -> Path:
    """The index directory for ``--index NAME|DIR`` (None: the default).

    A bare name names a collection in the user's data directory, unless a folder of
    that name here holds an index; anything else (a path with a slash) is a directory
    (``make demo`` says ``--index ./index``). A bare word never means a plain folder
    here: ``--index news`` run beside a corpus folder called ``news`` must not write
    the index into the corpus.
    """
    if value is None or str(value) == "":
        return default_index_dir(settings)
    text = str(value)
    path = Path(text).expanduser()
    if isinstance(value, Path) or not is_collection_name(text):
        return path
    if (path / "manifest.json").is_file():
        return path
    return collections_dir(settings) / text


def default_index_dir(settings: Settings | None = None) -> Path:
    """``$ASSISTANT_INDEX`` (a name or a directory); else, in the project's checkout, its
    ``index/``; else the collection ``default`` in the user's data directory.

    Never the current directory: an installed tool works the same from any folder.
    """
    settings = _settings(settings)
    if settings.index:
        return resolve_index(settings.index, settings)
    if in_checkout():
        return PROJECT_ROOT / "index"
    return settings.collections_dir / DEFAULT_COLLECTION


def seeds_dir(settings: Settings | None = None) -> Path | None:
    """The bundled news articles, used when the chat starts without an index: only in
    the project's checkout (or ``$ASSISTANT_SEEDS``), never inside site-packages."""
    configured = _settings(settings).seeds_dir
    if configured:
        return configured
    return PROJECT_ROOT / "seeds" if in_checkout() else None


def cache_dir(settings: Settings | None = None) -> Path:
    """Derived files that can be rebuilt (the ONNX export of the model):
    ``$ASSISTANT_CACHE_DIR``, else ``$XDG_CACHE_HOME/assistant``."""
    return _settings(settings).cache_dir


def user_dir(settings: Settings | None = None) -> Path:
    """The user's own data (collections, chat history): ``$ASSISTANT_USER_DIR``, else
    the platform's user data directory (``~/.local/share/assistant`` on Linux,
    ``~/Library/Application Support/assistant`` on macOS)."""
    return _settings(settings).user_dir


def export_dir(settings: Settings | None = None) -> Path:
    """Where the chat writes exported conversations: ``$ASSISTANT_EXPORT_DIR`` or the cwd."""
    return _settings(settings).export_dir or Path.cwd()


# The modes below still pass through the process umask, so a stricter one is kept.
def file_umask(settings: Settings | None = None) -> int:
    """The mask for the assistant's files and directories: ``$ASSISTANT_UMASK`` or 077
    (see config.PRIVATE_UMASK)."""
    return _settings(settings).umask


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
