"""Typed errors raised by the engine.

Front ends catch :class:`AssistantError` and show ``str(error)`` as one line; each
subclass carries an exit code so the CLI's exit status says what kind of failure it was.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class for every error the engine raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} ({self.hint})" if self.hint else message


class UsageError(AssistantError):
    """The caller asked for something that cannot be done (empty question, bad option)."""

    exit_code = 2


class SourceNotFoundError(AssistantError):
    """A path given to build or update does not exist."""

    exit_code = 3


class IndexNotFoundError(AssistantError):
    """There is no index at the given location."""

    exit_code = 4


class IndexCorruptError(AssistantError):
    """The index files are unreadable or disagree with the manifest."""

    exit_code = 5


class IndexIncompatibleError(AssistantError):
    """The index was written by another schema version or with another model."""

    exit_code = 6


class IndexLockedError(AssistantError):
    """Another process is writing this index."""

    exit_code = 7


class ModelUnavailableError(AssistantError):
    """The bundled embedding model (or its ONNX export) cannot be loaded."""

    exit_code = 8


class VectorsCorruptError(IndexCorruptError):
    """The FAISS file is truncated, corrupt or disagrees with the manifest."""

    exit_code = 9


class DatabaseCorruptError(IndexCorruptError):
    """The SQLite passage database is corrupt or disagrees with the manifest."""

    exit_code = 10


class SourcesChangedError(AssistantError):
    """Source files changed, vanished or appeared since the index was written."""

    exit_code = 11


class DiskFullError(AssistantError):
    """The disk (or the user's quota) ran out while writing; nothing half-written is kept."""

    exit_code = 14


class NothingToIndexError(AssistantError):
    """A build found nothing to index, or an update would remove every document; the
    index is left as it was (``allow_empty`` / ``--allow-empty`` to write it anyway)."""

    exit_code = 13


class StoreUnavailableError(AssistantError):
    """The Milvus store cannot be reached, or pymilvus is not installed."""

    exit_code = 15
