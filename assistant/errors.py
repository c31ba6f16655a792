"""Typed errors raised by the engine.

Front ends catch :class:`AssistantError` and show ``str(error)`` as one line. What each
kind of failure means to a caller is theirs to say: the CLI's exit statuses are in
``frontends/cli.py`` (``EXIT_CODES``), the HTTP statuses in ``frontends/http.py``.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class for every error the engine raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} ({self.hint})" if self.hint else message


class UsageError(AssistantError):
    """The caller asked for something that cannot be done (empty question, bad option)."""


class SourceNotFoundError(AssistantError):
    """A path given to build or update does not exist."""


class IndexNotFoundError(AssistantError):
    """There is no index at the given location."""


class IndexCorruptError(AssistantError):
    """The index files are unreadable or disagree with the manifest."""


class IndexIncompatibleError(AssistantError):
    """The index was written by another schema version or with another model."""


class IndexLockedError(AssistantError):
    """Another process is writing this index."""


class ModelUnavailableError(AssistantError):
    """The bundled embedding model (or its ONNX export) cannot be loaded."""


class VectorsCorruptError(IndexCorruptError):
    """The FAISS file is truncated, corrupt or disagrees with the manifest."""


class DatabaseCorruptError(IndexCorruptError):
    """The SQLite passage database is corrupt or disagrees with the manifest."""


class SourcesChangedError(AssistantError):
    """Source files changed, vanished or appeared since the index was written."""


class LLMError(AssistantError):
    """The language model server could not give an answer (down, slow, refused, cut off)."""


class NothingToIndexError(AssistantError):
    """A build found nothing to index, or an update would remove every document; the
    index is left as it was (``allow_empty`` / ``--allow-empty`` to write it anyway)."""


class DiskFullError(AssistantError):
    """The disk (or the user's quota) ran out while writing; nothing half-written is kept."""


class IndexNotWritableError(AssistantError):
    """The index directory cannot be written (its permissions, a read-only file
    system): found before anything is read or embedded."""


class StoreUnavailableError(AssistantError):
    """The Milvus store cannot be reached, or pymilvus is not installed."""


class MissingExtraError(AssistantError):
    """An optional part of the package is not installed; the message names the
    ``pip install 'assistant[EXTRA]'`` that adds it."""

    def __init__(self, message: str, *, module: str, extra: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.module = module
        self.extra = extra


class UnreadableSource(Exception):
    """One file that cannot be read or decoded; the build skips it and says why.

    Not an :class:`AssistantError`: it never reaches a caller, the build reports it as
    a skipped file."""


class FetchFailed(UnreadableSource):
    """One URL could not be fetched or read; the message is ``URL: reason``."""


class WriteInterrupted(KeyboardInterrupt):
    """An index write stopped by Ctrl-C; the message says in one line what was kept
    (the index as it was before the write, intact, or none). A KeyboardInterrupt, so
    that whoever handles Ctrl-C still does; not an :class:`AssistantError`."""
