"""The settings of one run, read in one place: the environment and the config file.

A front end builds :class:`Settings` once (``Settings.load(os.environ)``) and passes it
to what needs it; library functions take it as an optional argument and, when not
given, read the process environment through :meth:`Settings.load` themselves, so the
package used from Python honours the same variables as the command line.

Nothing else in the package reads ``os.environ`` or ``config.toml``.

The variables (each also described where it is used):

========================== =====================================================
``ASSISTANT_USER_DIR``     the user's data: collections (``indexes/``), history
``ASSISTANT_INDEX``        the default index (a collection name or a directory)
``ASSISTANT_SEEDS``        the bundled articles the chat starts from
``ASSISTANT_CACHE_DIR``    rebuildable files (``$XDG_CACHE_HOME/assistant``)
``ASSISTANT_EXPORT_DIR``   where the chat writes exported conversations (cwd)
``ASSISTANT_UMASK``        octal mask for the files written (077: private)
``ASSISTANT_PROMPTS``      the prompt templates' folder
``ASSISTANT_CONFIG``       the config file (``$XDG_CONFIG_HOME/assistant/config.toml``)
``ASSISTANT_DEBUG``        show tracebacks of unexpected errors
``ASSISTANT_API_TOKEN``    the bearer token the HTTP API requires
``ASSISTANT_MILVUS_TOKEN`` the Milvus server's token (else ``[milvus] token``)
``ASSISTANT_LLM_*``        the LLM settings (URL, MODEL, API_KEY, CONTEXT_WINDOW,
                           ANSWER_TOKENS, TIMEOUT; else the ``[llm]`` table)
``ASSISTANT_FAULT_POINT``  crash tests: the write step to stop at
``ASSISTANT_FAULT_MARKER`` crash tests: the file written when stopped there
``OPENAI_API_KEY``         sent only to api.openai.com
========================== =====================================================
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

from .errors import UsageError

# LLM setting -> environment variable
LLM_ENVIRONMENT = {
    "url": "ASSISTANT_LLM_URL",
    "model": "ASSISTANT_LLM_MODEL",
    "api_key": "ASSISTANT_LLM_API_KEY",
    "context_window": "ASSISTANT_LLM_CONTEXT_WINDOW",
    "answer_tokens": "ASSISTANT_LLM_ANSWER_TOKENS",
    "timeout": "ASSISTANT_LLM_TIMEOUT",
}
API_TOKEN_VARIABLE = "ASSISTANT_API_TOKEN"
MILVUS_TOKEN_VARIABLE = "ASSISTANT_MILVUS_TOKEN"

# What the assistant writes (the index, which holds the text of every source, chat
# history, exports) is the user's alone: a 0600 source must not become readable by
# others through the index. ``$ASSISTANT_UMASK`` (octal, e.g. ``022``) shares them.
PRIVATE_UMASK = 0o077


@dataclass(frozen=True)
class ConfigFile:
    """``config.toml`` as read: its tables, or why it could not be read. A file that
    cannot be read fails only the commands that need a setting from it."""

    path: Path
    data: Mapping = field(default_factory=dict, repr=False)
    mode: int = 0
    error: str | None = None

    @classmethod
    def read(cls, path: Path) -> ConfigFile:
        import tomllib

        try:
            with path.open("rb") as handle:
                mode = os.fstat(handle.fileno()).st_mode
                data = tomllib.load(handle)
        except FileNotFoundError:
            return cls(path)
        except (OSError, tomllib.TOMLDecodeError) as error:
            return cls(path, error=str(error))
        return cls(path, data, mode)

    def table(self, name: str) -> dict:
        """The ``[name]`` table (empty when the file or the table is absent)."""
        if self.error is not None:
            raise UsageError(f"cannot read the config file {self.path}: {self.error}")
        table = self.data.get(name, {})
        if not isinstance(table, dict):
            raise UsageError(f"{self.path}: [{name}] must be a table")
        return dict(table)

    def exposed_key_warning(self, table: dict) -> str | None:
        """A sentence when the file holds an API key and others can read or change it."""
        if not table.get("api_key"):
            return None
        exposed = []
        if self.mode & (stat.S_IRGRP | stat.S_IROTH):
            exposed.append("readable")
        if self.mode & (stat.S_IWGRP | stat.S_IWOTH):
            exposed.append("writable")
        if not exposed:
            return None
        return (
            f"the config file {self.path} holds an API key and is {' and '.join(exposed)}"
            f" by other users (mode {stat.S_IMODE(self.mode):o}; fix: chmod 600 {self.path})"
        )


@dataclass(frozen=True)
class Settings:
    """Everything a run takes from its environment, read once."""

    user_dir: Path
    cache_dir: Path
    config_path: Path
    index: str | None = None  # $ASSISTANT_INDEX as given (a name or a directory)
    seeds_dir: Path | None = None  # None: the checkout's seeds/, if any
    export_dir: Path | None = None  # None: the current directory when exporting
    prompts_dir: Path | None = None  # None: the config file's, else the project's
    umask: int = PRIVATE_UMASK
    debug: bool = False
    # Set but blank is an error the server reports, so the raw value is kept.
    api_token: str | None = field(default=None, repr=False)
    milvus_token_variable: str | None = field(default=None, repr=False)
    openai_api_key: str | None = field(default=None, repr=False)
    llm_environment: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )
    fault_point: str | None = None
    fault_marker: str | None = None
    model_precision: str | None = None  # None: fp32 (embeddings.DEFAULT_PRECISION)
    onnx_threads: int | None = None  # None: one a core, up to 4
    sentence_vectors: str | None = None  # None: separate (embeddings.SENTENCE_MODES)

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings from ``environ`` (default: the process environment). The config
        file is read the first time a setting from it is needed."""
        env = os.environ if environ is None else environ
        return cls(
            user_dir=_path(env, "ASSISTANT_USER_DIR") or _platform_user_dir(),
            cache_dir=_path(env, "ASSISTANT_CACHE_DIR") or _cache_home(env) / "assistant",
            config_path=_path(env, "ASSISTANT_CONFIG") or _config_home(env) / _CONFIG_NAME,
            index=env.get("ASSISTANT_INDEX", "").strip() or None,
            seeds_dir=_path(env, "ASSISTANT_SEEDS"),
            export_dir=_path(env, "ASSISTANT_EXPORT_DIR"),
            prompts_dir=_path(env, "ASSISTANT_PROMPTS"),
            umask=parse_umask(env.get("ASSISTANT_UMASK", "")),
            debug=bool(env.get("ASSISTANT_DEBUG")),
            api_token=env.get(API_TOKEN_VARIABLE),
            milvus_token_variable=env.get(MILVUS_TOKEN_VARIABLE) or None,
            openai_api_key=env.get("OPENAI_API_KEY"),
            llm_environment=MappingProxyType(
                {name: env[var] for name, var in LLM_ENVIRONMENT.items() if env.get(var)}
            ),
            fault_point=env.get("ASSISTANT_FAULT_POINT"),
            fault_marker=env.get("ASSISTANT_FAULT_MARKER"),
            model_precision=env.get("ASSISTANT_MODEL_PRECISION", "").strip() or None,
            onnx_threads=_positive_int(env.get("ASSISTANT_ONNX_THREADS", "")),
            sentence_vectors=env.get("ASSISTANT_SENTENCE_VECTORS", "").strip() or None,
        )

    # -- places derived from the user directory -----------------------------------------

    @property
    def collections_dir(self) -> Path:
        """Where named indexes live: ``<user dir>/indexes/NAME``."""
        return self.user_dir / "indexes"

    @property
    def history_dir(self) -> Path:
        """The chat's question history, one file per index."""
        return self.user_dir / "history"

    # -- the config file ------------------------------------------------------------------

    @cached_property
    def config_file(self) -> ConfigFile:
        """``config.toml``, read once for this run (on first use)."""
        return ConfigFile.read(self.config_path)

    def llm_settings(self) -> tuple[dict, tuple[str, ...]]:
        """The LLM settings of the environment over those of the config file's ``[llm]``
        table, and warnings about the file (an API key others can read). None when no
        URL is set is the caller's decision; options win over both."""
        table = self.config_file.table("llm")
        warning = self.config_file.exposed_key_warning(table)
        table.update(self.llm_environment)
        return table, (warning,) if warning else ()

    def milvus_token(self) -> str | None:
        """``$ASSISTANT_MILVUS_TOKEN``, else ``[milvus] token`` in the config file."""
        if self.milvus_token_variable:
            return self.milvus_token_variable
        value = self.config_file.table("milvus").get("token")
        return str(value) if value else None

    def http_token(self) -> str | None:
        """``$ASSISTANT_API_TOKEN`` stripped; set but blank is refused rather than taken
        as no token (a typo must not open the server to everyone)."""
        if self.api_token is None:
            return None
        if not self.api_token.strip():
            raise UsageError(
                f"{API_TOKEN_VARIABLE} is set but empty (unset it, or give it a token)"
            )
        return self.api_token.strip()


_CONFIG_NAME = Path("assistant") / "config.toml"


def parse_umask(text: str) -> int:
    """An octal mask such as ``022``; blank or unreadable: private (077), since a typo
    must not make the files public."""
    text = text.strip()
    try:
        return int(text, 8) & 0o777 if text else PRIVATE_UMASK
    except ValueError:
        return PRIVATE_UMASK


def _positive_int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _path(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name)
    return Path(value).expanduser() if value else None


def _cache_home(env: Mapping[str, str]) -> Path:
    return _path(env, "XDG_CACHE_HOME") or Path.home() / ".cache"


def _config_home(env: Mapping[str, str]) -> Path:
    return _path(env, "XDG_CONFIG_HOME") or Path.home() / ".config"


def _platform_user_dir() -> Path:
    """The platform's user data directory (``~/.local/share/assistant`` on Linux,
    ``~/Library/Application Support/assistant`` on macOS); platformdirs reads
    ``$XDG_DATA_HOME`` itself."""
    from platformdirs import user_data_path

    return user_data_path("assistant", appauthor=False)
