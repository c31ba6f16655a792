"""Talking to an OpenAI-compatible chat server (llama.cpp, Ollama, vLLM, OpenAI).

Settings come from, in order: the caller (the CLI's ``--llm`` options), environment
variables, the ``[llm]`` table of the config file, defaults (the last two as read by
:class:`~assistant.config.Settings`). The client is the
``openai`` package, imported on first use; every failure it can raise (refused
connection, timeout, HTTP status, a stream that breaks off or makes no sense) becomes
one :class:`LLMError` with a sentence a person can act on.

A server is not trusted to behave: the timeout bounds the whole answer by the wall
clock (a watchdog shuts the socket down, so a server trickling one byte at a time
cannot hold a read open), the answer is cut at its token limit plus a margin however
much the server sends, redirects to another origin are refused (a 307 would re-send
the passages elsewhere), ``OPENAI_API_KEY`` goes only to api.openai.com, and a
password written in the URL is never shown.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from ..config import LLM_ENVIRONMENT, Settings
from ..deadline import Deadline
from ..errors import AssistantError, LLMError, UsageError

DEFAULT_CONTEXT_WINDOW = 4096
DEFAULT_ANSWER_TOKENS = 512
DEFAULT_TIMEOUT = 60.0
# A server may count tokens differently from cl100k, so its answer may run a little past
# max_tokens by our count; past this margin it is ignoring the limit and is cut off.
ANSWER_MARGIN_SHARE = 0.25
ANSWER_MARGIN_MIN = 32
# No token is longer than this many characters in a real answer; a bigger piece is cut
# before it is counted, so one huge piece costs no more than a normal answer.
MAX_CHARS_PER_TOKEN = 16
# The only host that gets $OPENAI_API_KEY: the key is OpenAI's, not any server's.
OPENAI_HOST = "api.openai.com"

# setting -> environment variable (read by config.Settings; named here for callers that
# must clear them, such as a test session)
ENVIRONMENT = LLM_ENVIRONMENT
# The settings a config may have (options, environment, the config file's [llm] table).
KNOWN_SETTINGS = frozenset(
    {"url", "model", "api_key", "context_window", "answer_tokens", "timeout", "prompts"}
)


def redact_url(url: str) -> str:
    """The URL with any ``user:password@`` replaced by ``***@``: safe to show and log."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unreadable URL>"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def _origin(url) -> tuple[str, str, int | None]:
    parts = urlsplit(str(url))
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def normalise_url(url: str) -> str:
    """The base URL the client appends ``/chat/completions`` to.

    ``http://host:8080`` becomes ``http://host:8080/v1`` (what llama.cpp, Ollama and
    vLLM serve); a URL with a path is kept as given.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(
            f"--llm needs an http(s) URL such as http://127.0.0.1:8080/v1, not {redact_url(url)!r}"
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
    # $OPENAI_API_KEY, sent only when the server is OpenAI's (see ChatClient._api_key).
    openai_api_key: str | None = field(default=None, repr=False, compare=False)
    # Things a person should know about the settings (a config file others can read).
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def shown_url(self) -> str:
        """The URL for messages, reports and JSON: without a password."""
        return redact_url(self.url)

    @classmethod
    def resolve(cls, settings: Settings | None = None, **given) -> LLMConfig | None:
        """Settings from the caller, else the environment, else the config file (both
        as read by ``settings``; default: this process's, see config.Settings).

        Returns None when no URL is set anywhere: the extractive answerer is the default.
        """
        settings = settings if settings is not None else Settings.load()
        values, warnings = settings.llm_settings()
        values.update({k: v for k, v in given.items() if v is not None})
        if not values.get("url"):
            return None
        unknown = sorted(set(values) - KNOWN_SETTINGS)
        if unknown:
            raise UsageError(
                f"unknown LLM setting {unknown[0]!r} (known: {', '.join(sorted(KNOWN_SETTINGS))})"
            )
        try:
            config = cls._from_values(values, settings, warnings)
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

    @classmethod
    def _from_values(cls, values: dict, settings: Settings, warnings) -> LLMConfig:
        # The config file's prompt folder wins over $ASSISTANT_PROMPTS (as it always has).
        prompts = Path(values["prompts"]).expanduser() if values.get("prompts") else None
        return cls(
            url=normalise_url(str(values["url"])),
            model=str(values["model"]) if values.get("model") else None,
            api_key=str(values["api_key"]) if values.get("api_key") else None,
            context_window=int(values.get("context_window", DEFAULT_CONTEXT_WINDOW)),
            answer_tokens=int(values.get("answer_tokens", DEFAULT_ANSWER_TOKENS)),
            timeout=float(values.get("timeout", DEFAULT_TIMEOUT)),
            prompts=prompts or settings.prompts_dir,
            openai_api_key=settings.openai_api_key,
            warnings=tuple(warnings),
        )

    def with_model(self, model: str) -> LLMConfig:
        return replace(self, model=model)


@dataclass
class StreamResult:
    """What a finished (or stopped) stream gave: the text and why it ended."""

    text: str = ""
    finish_reason: str | None = None
    prompt_tokens: int | None = None  # as the server counted them, when it says
    completion_tokens: int | None = None
    cut_at: int | None = None  # set when the server ran past the limit and was cut off


def answer_cap(answer_tokens: int) -> int:
    """Most tokens (cl100k) of an answer kept: the limit asked for plus a margin."""
    return answer_tokens + max(ANSWER_MARGIN_MIN, int(answer_tokens * ANSWER_MARGIN_SHARE))


class _TokenCap:
    """Counts an answer's tokens as it streams and says where it must stop."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, piece: str) -> str:
        """The part of ``piece`` that fits; less than all of it means: stop here."""
        from .budget import count_tokens

        left = self.limit - self.used
        piece = piece[: max(left, 0) * MAX_CHARS_PER_TOKEN]
        count = count_tokens(piece)
        if count > left:
            # The longest prefix that fits, found by halving (a few counts of a short text).
            low, high = 0, len(piece)
            while low < high:
                middle = (low + high + 1) // 2
                if count_tokens(piece[:middle]) <= left:
                    low = middle
                else:
                    high = middle - 1
            piece = piece[:low]
            count = count_tokens(piece)
            self.used = self.limit
        else:
            self.used += count
        return piece

    @property
    def full(self) -> bool:
        return self.used >= self.limit


class _StopSignal(threading.local):
    """The event that stops this thread's exchanges (see :func:`stopped_by`)."""

    event: threading.Event | None = None


_stop_signal = _StopSignal()


@contextmanager
def stopped_by(event: threading.Event) -> Iterator[None]:
    """Exchanges with a model that this thread makes inside the block end as soon as
    ``event`` is set: their connections are shut, as when the timeout passes, and the
    answerer falls back to the extractive answer. The HTTP server sets it when its
    client hangs up, so that a slow or silent model does not keep the worker, and the
    model's connection, for the whole timeout."""
    previous, _stop_signal.event = _stop_signal.event, event
    try:
        yield
    finally:
        _stop_signal.event = previous


class _ThreadState(threading.local):
    """What one thread's exchanges own. A deadline shuts down the connections of its
    own thread only: with one client shared by the HTTP server's worker threads, one
    answer's limit must neither cut another's connection nor end with it."""

    def __init__(self) -> None:
        self.client = None  # the thread's own HTTP client and connection pool
        # Every connection the thread's client opened, so that a deadline can shut them.
        self.streams: weakref.WeakSet = weakref.WeakSet()
        self.current: Deadline | None = None  # the limit of the exchange under way


class ChatClient:
    """One server, one model. Safe to share between threads: each thread has its own
    connections and its own deadline. ``clock`` measures the timeout (a test's fake
    clock makes it pass at will)."""

    def __init__(self, config: LLMConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._model = config.model
        self._thread = _ThreadState()

    @property
    def _client(self):
        return self._thread.client

    @property
    def _streams(self) -> weakref.WeakSet:
        return self._thread.streams

    @property
    def _current(self) -> Deadline | None:
        return self._thread.current

    @_current.setter
    def _current(self, deadline: Deadline | None) -> None:
        self._thread.current = deadline

    def _openai(self):
        if self._client is None:
            from ..extras import require

            openai = require("openai", "llm", "the LLM answerer")
            self._thread.client = openai.OpenAI(
                base_url=self.config.url,
                # Local servers ignore the key but the client insists on one.
                api_key=self._api_key() or "none",
                timeout=openai.Timeout(self.config.timeout, connect=min(self.config.timeout, 5.0)),
                max_retries=0,  # a retry would double the wait before the fallback
                http_client=openai.DefaultHttpxClient(
                    event_hooks={"request": [self._trace], "response": [self._same_origin]},
                ),
            )
        return self._client

    def _api_key(self) -> str | None:
        """The configured key; ``$OPENAI_API_KEY`` only when the server is OpenAI's."""
        if self.config.api_key:
            return self.config.api_key
        parts = urlsplit(self.config.url)
        if parts.scheme == "https" and (parts.hostname or "").lower() == OPENAI_HOST:
            # A config made by hand (not resolve()d) still finds the process's key.
            return self.config.openai_api_key or Settings.load().openai_api_key
        return None

    def _trace(self, request) -> None:
        """Asks the HTTP layer to report each connection it opens (httpcore's trace)."""

        def record(event: str, info: dict) -> None:
            if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
                if self._current is not None:
                    self._current.opened(info["return_value"])
                else:
                    self._streams.add(info["return_value"])

        request.extensions = {**request.extensions, "trace": record}

    def _same_origin(self, response) -> None:
        """Refuses a redirect to another origin: following it would re-send the prompt
        (the passages) and the key to a server nobody configured."""
        if not response.has_redirect_location:
            return
        target = response.headers.get("location", "")
        resolved = response.url.join(target)
        if _origin(resolved) != _origin(response.url):
            raise LLMError(
                f"the LLM server at {self.config.shown_url} redirected to another server"
                f" ({redact_url(str(resolved))}); not following it"
            )

    @contextmanager
    def _deadline(self) -> Iterator[Deadline]:
        """The wall-clock limit of one exchange; an outer one (the stream's, around the
        model listing) stays in force."""
        if self._current is not None:
            yield self._current
            return
        self._openai()  # importing the client is not the server's time
        with Deadline(
            self.config.timeout, self._streams, self.clock, stop=_stop_signal.event
        ) as deadline:
            self._current = deadline
            try:
                yield deadline
            finally:
                self._current = None

    @property
    def model(self) -> str:
        """The configured model, else the first one the server lists."""
        if self._model is None:
            with self._deadline() as deadline, self._errors("listing models", deadline):
                models = [m.id for m in self._openai().models.list()]
            if not models:
                raise LLMError(
                    f"the server at {self.config.shown_url} lists no models; set --llm-model"
                )
            self._model = models[0]
        return self._model

    def stream(self, messages: list[dict], max_tokens: int) -> Iterator[str]:
        """Text pieces as the server sends them; the return value is a :class:`StreamResult`.

        Use as ``result = yield from client.stream(...)``. The whole exchange, listing
        the models included, ends within the configured timeout, and the text stops at
        :func:`answer_cap` tokens whatever the server sends.
        """
        result = StreamResult()
        pieces: list[str] = []  # joined once: adding to a string each time is quadratic
        cap = _TokenCap(answer_cap(max_tokens))
        with self._deadline() as deadline:
            model = self.model
            with self._errors("streaming the answer", deadline) as errors:
                stream = self._openai().chat.completions.create(
                    model=model,
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=0,
                    stream=True,
                )
                try:
                    for chunk in stream:
                        if deadline.expired:
                            break
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
                            piece = cap.take(piece)
                            if piece:
                                pieces.append(piece)
                                yield piece
                            if cap.full:
                                result.finish_reason, result.cut_at = "length", cap.limit
                                break
                        if choice.finish_reason:
                            result.finish_reason = choice.finish_reason
                finally:
                    stream.close()  # stops reading from a server that would go on
            if deadline.expired:
                raise LLMError(errors.timed_out())
        result.text = "".join(pieces)
        if result.finish_reason is None:
            raise LLMError(
                f"the answer stream from {self.config.shown_url} ended before the model finished"
            )
        return result

    def complete(self, messages: list[dict], max_tokens: int) -> str:
        with self._deadline() as deadline:
            model = self.model
            with self._errors("asking the model", deadline) as errors:
                response = self._openai().chat.completions.create(
                    model=model, messages=messages, max_tokens=max_tokens, temperature=0
                )
                if not response.choices:
                    raise LLMError(
                        f"the server at {self.config.shown_url} answered with no choices"
                    )
                text = response.choices[0].message.content or ""
            if deadline.expired:
                raise LLMError(errors.timed_out())
        # A reply that ignores max_tokens is cut like a streamed one.
        return _TokenCap(answer_cap(max_tokens)).take(text)

    def _errors(self, doing: str, deadline: Deadline | None = None):
        return _translate_errors(self.config, doing, deadline)


class _translate_errors:
    """Every client failure as one :class:`LLMError` that names the server and the cause."""

    def __init__(self, config: LLMConfig, doing: str, deadline: Deadline | None = None) -> None:
        self.config, self.doing, self.deadline = config, doing, deadline
        self.started = False  # whether the server had begun to answer

    def __enter__(self):
        return self

    def __exit__(self, kind, error, _traceback) -> bool:
        if error is None or isinstance(error, AssistantError):
            return False
        if not isinstance(error, Exception):
            return False  # KeyboardInterrupt and friends go on up
        if self.deadline is not None and self.deadline.expired:
            raise LLMError(self.timed_out()) from error
        cause = error.__cause__ or error.__context__
        if isinstance(cause, AssistantError):
            raise cause from None  # our own refusal (a redirect), wrapped by the client
        raise LLMError(self.describe(error)) from error

    def timed_out(self) -> str:
        if self.deadline is not None and self.deadline.stopped:
            return f"the exchange with the LLM server at {self.config.shown_url} was stopped"
        # The timeout bounds the whole answer: a server still sending when it passes
        # (a byte at a time, or without end) is cut off like one that never answered.
        still = " (it was still sending)" if self.started else ""
        return (
            f"the LLM server at {self.config.shown_url} did not answer within"
            f" {self.config.timeout:g} s{still}"
        )

    def describe(self, error: Exception) -> str:
        import openai

        where = self.config.shown_url
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
        if isinstance(error, OSError) or library in (
            "httpx",
            "httpx2",
            "httpcore",
            "httpcore2",
            "h11",
        ):
            # The HTTP library's own errors surface unwrapped while a stream is read.
            return f"the connection to the LLM server at {where} broke while {self.doing}: {error}"
        return f"the LLM server at {where} sent something unreadable while {self.doing}: {error}"
