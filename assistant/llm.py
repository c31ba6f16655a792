"""Talking to an OpenAI-compatible chat server (llama.cpp, Ollama, vLLM, OpenAI).

Settings come from, in order: the caller (the CLI's ``--llm`` options), environment
variables, the ``[llm]`` table of the config file, defaults. The client is the
``openai`` package, imported on first use; every failure it can raise (refused
connection, timeout, HTTP status, a stream that breaks off or makes no sense) becomes
one :class:`LLMError` with a sentence a person can act on.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .errors import AssistantError, UsageError

DEFAULT_CONTEXT_WINDOW = 4096
DEFAULT_ANSWER_TOKENS = 512
DEFAULT_TIMEOUT = 60.0

# setting -> environment variable
ENVIRONMENT = {
    "url": "ASSISTANT_LLM_URL",
    "model": "ASSISTANT_LLM_MODEL",
    "api_key": "ASSISTANT_LLM_API_KEY",
    "context_window": "ASSISTANT_LLM_CONTEXT_WINDOW",
    "answer_tokens": "ASSISTANT_LLM_ANSWER_TOKENS",
    "timeout": "ASSISTANT_LLM_TIMEOUT",
}


class LLMError(AssistantError):
    """The language model server could not give an answer (down, slow, refused, cut off)."""

    exit_code = 12


def config_path() -> Path:
    """``$ASSISTANT_CONFIG``, else ``$XDG_CONFIG_HOME/assistant/config.toml``."""
    configured = os.environ.get("ASSISTANT_CONFIG")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".config") / "assistant/config.toml"


def _config_file_settings() -> dict:
    import tomllib

    path = config_path()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"cannot read the config file {path}: {error}") from None
    table = data.get("llm", {})
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [llm] must be a table")
    return table


def normalise_url(url: str) -> str:
    """The base URL the client appends ``/chat/completions`` to.

    ``http://host:8080`` becomes ``http://host:8080/v1`` (what llama.cpp, Ollama and
    vLLM serve); a URL with a path is kept as given.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"--llm needs an http(s) URL such as http://127.0.0.1:8080/v1, not {url!r}"
        )
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


@dataclass(frozen=True)
class LLMConfig:
    url: str
    model: str | None = None  # None: the first model the server lists
    api_key: str | None = field(default=None, repr=False)
    context_window: int = DEFAULT_CONTEXT_WINDOW
    answer_tokens: int = DEFAULT_ANSWER_TOKENS
    timeout: float = DEFAULT_TIMEOUT
    prompts: Path | None = None

    @classmethod
    def resolve(cls, **given) -> LLMConfig | None:
        """Settings from the caller, else the environment, else the config file.

        Returns None when no URL is set anywhere: the extractive answerer is the default.
        """
        settings = _config_file_settings()
        for name, variable in ENVIRONMENT.items():
            if os.environ.get(variable):
                settings[name] = os.environ[variable]
        settings.update({k: v for k, v in given.items() if v is not None})
        if not settings.get("url"):
            return None
        known = {"url", "model", "api_key", "context_window", "answer_tokens", "timeout", "prompts"}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise UsageError(
                f"unknown LLM setting {unknown[0]!r} (known: {', '.join(sorted(known))})"
            )
        try:
            config = cls(
                url=normalise_url(str(settings["url"])),
                model=str(settings["model"]) if settings.get("model") else None,
                api_key=str(settings["api_key"]) if settings.get("api_key") else None,
                context_window=int(settings.get("context_window", DEFAULT_CONTEXT_WINDOW)),
                answer_tokens=int(settings.get("answer_tokens", DEFAULT_ANSWER_TOKENS)),
                timeout=float(settings.get("timeout", DEFAULT_TIMEOUT)),
                prompts=Path(settings["prompts"]).expanduser() if settings.get("prompts") else None,
            )
        except (TypeError, ValueError) as error:
            raise UsageError(f"bad LLM setting: {error}") from None
        if config.answer_tokens < 16 or config.context_window < config.answer_tokens + 64:
            raise UsageError(
                f"the context window ({config.context_window} tokens) must leave room for the"
                f" answer ({config.answer_tokens}) and a prompt"
            )
        if config.timeout <= 0:
            raise UsageError("the LLM timeout must be positive")
        return config

    def with_model(self, model: str) -> LLMConfig:
        return replace(self, model=model)


@dataclass
class StreamResult:
    """What a finished (or stopped) stream gave: the text and why it ended."""

    text: str = ""
    finish_reason: str | None = None
    prompt_tokens: int | None = None  # as the server counted them, when it says
    completion_tokens: int | None = None


class ChatClient:
    """One server, one model. Thread-safe for sequential use from one worker thread."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self._client = None
        self._model = config.model

    def _openai(self):
        if self._client is None:
            try:
                import openai
            except ImportError:
                raise UsageError(
                    "the LLM answerer needs the openai package",
                    hint="pip install openai, or run: make install",
                ) from None
            self._client = openai.OpenAI(
                base_url=self.config.url,
                # Local servers ignore the key but the client insists on one.
                api_key=self.config.api_key or os.environ.get("OPENAI_API_KEY") or "none",
                timeout=openai.Timeout(self.config.timeout, connect=min(self.config.timeout, 5.0)),
                max_retries=0,  # a retry would double the wait before the fallback
            )
        return self._client

    @property
    def model(self) -> str:
        """The configured model, else the first one the server lists."""
        if self._model is None:
            with self._errors("listing models"):
                models = [m.id for m in self._openai().models.list()]
            if not models:
                raise LLMError(f"the server at {self.config.url} lists no models; set --llm-model")
            self._model = models[0]
        return self._model

    def stream(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        """Text pieces as the server sends them; the return value is a :class:`StreamResult`.

        Use as ``result = yield from client.stream(...)``.
        """
        result = StreamResult()
        model = self.model
        with self._errors("streaming the answer") as errors:
            stream = self._openai().chat.completions.create(
                model=model,
                messages=messages,
                max_tokens=max_tokens,
                temperature=0,
                stream=True,
            )
            for chunk in stream:
                usage = getattr(chunk, "usage", None)
                if usage is not None:
                    result.prompt_tokens = getattr(usage, "prompt_tokens", None)
                    result.completion_tokens = getattr(usage, "completion_tokens", None)
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                piece = getattr(choice.delta, "content", None) if choice.delta else None
                if piece:
                    errors.started = True
                    result.text += piece
                    yield piece
                if choice.finish_reason:
                    result.finish_reason = choice.finish_reason
        if result.finish_reason is None:
            raise LLMError(
                f"the answer stream from {self.config.url} ended before the model finished"
            )
        return result

    def complete(self, messages: list[dict], max_tokens: int) -> str:
        model = self.model
        with self._errors("asking the model"):
            response = self._openai().chat.completions.create(
                model=model, messages=messages, max_tokens=max_tokens, temperature=0
            )
            if not response.choices:
                raise LLMError(f"the server at {self.config.url} answered with no choices")
            return response.choices[0].message.content or ""

    def _errors(self, doing: str):
        return _translate_errors(self.config, doing)


class _translate_errors:
    """Every client failure as one :class:`LLMError` that names the server and the cause."""

    def __init__(self, config: LLMConfig, doing: str) -> None:
        self.config, self.doing = config, doing
        self.started = False  # whether the server had begun to answer

    def __enter__(self):
        return self

    def __exit__(self, kind, error, _traceback) -> bool:
        if error is None or isinstance(error, AssistantError):
            return False
        if not isinstance(error, Exception):
            return False  # KeyboardInterrupt and friends go on up
        raise LLMError(self.describe(error)) from error

    def describe(self, error: Exception) -> str:
        import openai

        where = self.config.url
        if isinstance(error, openai.APITimeoutError):
            return f"the LLM server at {where} did not answer within {self.config.timeout:g} s"
        if isinstance(error, openai.APIConnectionError) and self.started:
            cause = error.__cause__ or error.__context__ or error
            return f"the connection to the LLM server at {where} broke while {self.doing}: {cause}"
        if isinstance(error, openai.APIConnectionError):
            cause = error.__cause__ or error.__context__
            detail = f": {cause}" if cause else ""
            return f"cannot reach the LLM server at {where} while {self.doing}{detail}"
        if isinstance(error, openai.APIStatusError):
            body = error.body if isinstance(error.body, dict) else {}
            detail = (
                body.get("message") or (body.get("error") or {}).get("message") or error.message
            )
            return f"the LLM server at {where} refused ({error.status_code}): {str(detail)[:200]}"
        library = type(error).__module__.split(".")[0]
        if isinstance(error, OSError) or library in ("httpx", "httpx2", "httpcore", "h11"):
            # The HTTP library's own errors surface unwrapped while a stream is read.
            return f"the connection to the LLM server at {where} broke while {self.doing}: {error}"
        return f"the LLM server at {where} sent something unreadable while {self.doing}: {error}"
