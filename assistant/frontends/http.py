"""The HTTP API (``assistant serve``): a small FastAPI app under uvicorn.

Routes: ``GET /search``, ``POST /ask`` (``"stream": true`` for server-sent events),
``GET /said`` (who said what on a topic), ``GET /sources``, ``GET /documents/{id}`` (or
``/documents?id=``), ``GET /health`` and the OpenAPI schema at ``/openapi.json``. The
JSON is the CLI's ``--json``, built by the same functions (:mod:`assistant.frontends.render`,
:mod:`assistant.frontends.said_view`).

Searching and answering are CPU-bound and blocking, so they run in worker threads (never
on the event loop), at most :data:`WORKERS` at a time. They share the one
:class:`~assistant.api.Index`, which is safe for concurrent readers (no lock of ours is
needed) and follows an ``index update`` made by another process; each query runs on one
generation from start to end.

Every failure is a status and a one-line ``{"error": "..."}``, never a traceback: bad
input 400, a missing or wrong token 401, an unknown document or route 404, a request
too slow to arrive 408, a body over :data:`MAX_BODY_BYTES` 413, an unusable index (or a
server at its connection limit) 503, anything unexpected 500. How connections are held
(timeouts, the cap) is :mod:`assistant.frontends.http_server`; what the schema says of
the JSON is :mod:`assistant.frontends.http_schema`.

FastAPI, uvicorn and pydantic are imported by this module only, which the CLI imports
only for ``assistant serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import API_TOKEN_VARIABLE
from ..errors import (
    AssistantError,
    IndexCorruptError,
    IndexIncompatibleError,
    IndexNotFoundError,
    ModelUnavailableError,
    StoreUnavailableError,
    UsageError,
)
from ..query.llm import stopped_by
from ..text.display import escape_json_controls
from .http_schema import ErrorBody
from .http_server import ConnectionLimits
from .render import answer_warnings, ask_json, changed_warning, one_line, search_json

if TYPE_CHECKING:
    from ..api import Index
    from ..query.llm import LLMConfig

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8321
TOKEN_VARIABLE = API_TOKEN_VARIABLE  # read by config.Settings.http_token
# A question and its filter fit in far less; a bigger body is a mistake or an attack.
MAX_BODY_BYTES = 64 * 1024
# The most passages or citations one request may ask for (the CLI has no limit, but a
# server should not let one request cost a hundred times another).
MAX_K = 50
# Searches and answers running at once. Not one per core: much of a query is spent in
# SQLite, FAISS and onnxruntime outside the GIL and between them, so on 2 cores 16
# threads served 16 clients 1.5x (search) and 2.1x (ask) faster than 2 did, at a lower
# p99 (bench/serve.py); past that, requests only wait longer in the threads.
WORKERS = 16
# Asks that wait on a language model hold a thread while the model writes; they get
# their own pool so that they do not take the cores from searches.
LLM_WORKERS = 16

log = logging.getLogger("assistant.http")


class JSONText(Response):
    """JSON exactly as ``--json`` writes it: UTF-8, with C1 controls, bidi overrides and
    invisible characters as ``\\uXXXX`` escapes (the data round-trips unchanged)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json_text(content).encode()


def json_text(content: Any) -> str:
    return escape_json_controls(json.dumps(content, ensure_ascii=False))


def error_response(status: int, message: str, headers: dict | None = None) -> JSONText:
    return JSONText({"error": one_line(message)}, status_code=status, headers=headers)


def status_for(error: AssistantError) -> int:
    """The HTTP status of a library error: the caller's mistake is 4xx, an index that
    cannot answer is 503 (the server is up, the service is not)."""
    if isinstance(error, UsageError):
        return 400
    if isinstance(
        error,
        IndexNotFoundError
        | IndexCorruptError
        | IndexIncompatibleError
        | ModelUnavailableError
        | StoreUnavailableError,  # the Milvus server is down: the service is
    ):
        return 503
    return 500


# -- requests --------------------------------------------------------------------------


def whole_number(value: Any) -> Any:
    """2.0 is the integer 2, as JSON Schema counts it (strict validation would refuse it)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class AskRequest(BaseModel):
    """The body of ``POST /ask``."""

    # A misspelt field is an error, not ignored; and a value of another JSON type is
    # refused, not converted ("stream": 0, "k": "3"), as the schema says.
    model_config = ConfigDict(extra="forbid", strict=True)

    question: str = Field(description="The question; control characters are removed.")
    k: Annotated[int, BeforeValidator(whole_number)] = Field(
        3, ge=1, le=MAX_K, description="Most citations to give."
    )
    since: str | None = Field(
        None, description="Only documents published on or after this date (YYYY[-MM[-DD]])."
    )
    until: str | None = Field(None, description="Only documents published up to this date.")
    sources: list[str] = Field(
        default_factory=list, description="Only these outlets, files, folders or globs."
    )
    lang: str | None = Field(
        None,
        description="Only passages whose source states this language (en, es, pt-BR);"
        " passages stating none are left out.",
    )
    stream: bool = Field(
        False,
        description="Answer as server-sent events: `text` events as the model writes"
        " (with --llm), then one `answer` event holding the whole answer.",
    )


def search_filter(since: str | None, until: str | None, sources, lang: str | None = None) -> Any:
    from ..filters import SearchFilter

    return SearchFilter.parse(since, until, sources, lang or ())


# -- the app ---------------------------------------------------------------------------


@dataclass
class Service:
    """What the routes share (``app.state.service``): the index, the model settings and
    the worker pools searches and answers run in."""

    index: Index
    llm: LLMConfig | None = None
    workers: int = WORKERS
    # Limiters belong to the running event loop, so the app's lifespan makes them.
    limiters: dict[str, anyio.CapacityLimiter] = field(default_factory=dict)

    @property
    def answer_pool(self) -> str:
        return "engine" if self.llm is None else "llm"

    async def in_thread(self, work: Callable[[], Any], pool: str = "engine") -> Any:
        return await anyio.to_thread.run_sync(work, limiter=self.limiters[pool])


def create_app(
    index: Index,
    *,
    llm: LLMConfig | None = None,
    token: str | None = None,
    workers: int | None = None,
    max_body: int = MAX_BODY_BYTES,
    hosts: frozenset[str] | None = None,
    debug: bool = False,
    limits: ConnectionLimits | None = None,
) -> FastAPI:
    """The ASGI app serving ``index``; ``token`` (when given) is required as
    ``Authorization: Bearer <token>`` on every route but ``/health``. ``hosts`` (when
    given) are the only names a request may address the server by (its ``Host``, and
    the ``Origin`` a browser sends). ``debug`` logs the traceback of an unexpected
    error (``$ASSISTANT_DEBUG``). ``limits`` bound how long a request may take to
    arrive and how many connections are served at once (:func:`run` keeps them)."""
    from .. import __version__

    app = FastAPI(
        title="assistant",
        version=__version__,
        summary="Ask questions of your own documents; answers quote the sources verbatim.",
        description="The JSON is that of `assistant ask --json` and `search --json`."
        ' Errors are `{"error": "..."}` with a 4xx or 5xx status.',
        lifespan=_lifespan,
        default_response_class=JSONText,
        # The interactive pages load their scripts from a CDN; this assistant stays
        # offline, so only the schema itself is served.
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = Service(index, llm, workers or WORKERS)
    app.state.limits = limits or ConnectionLimits()
    app.add_middleware(
        Guard,
        token=token,
        max_body=max_body,
        hosts=hosts,
        debug=debug,
        body_timeout=app.state.limits.body_timeout,
    )
    _install_error_handlers(app)
    _add_routes(app, _error_responses(with_token=token is not None))
    _document_schema(app, token is not None)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    service: Service = app.state.service
    service.limiters["engine"] = anyio.CapacityLimiter(service.workers)
    service.limiters["llm"] = anyio.CapacityLimiter(LLM_WORKERS)
    yield


def _service(request: Request) -> Service:
    return request.app.state.service


# The routes' shared state, as a parameter FastAPI fills (and leaves out of the schema).
ServiceParam = Annotated[Service, Depends(_service)]


def _error_responses(*, with_token: bool) -> dict:
    """The error statuses every route documents (401 only when a token is required)."""
    errors: dict = {400: {"model": ErrorBody, "description": "Bad input"}}
    if with_token:
        errors[401] = {"model": ErrorBody, "description": "Missing or wrong bearer token"}
    errors[503] = {"model": ErrorBody, "description": "The index cannot be read"}
    return errors


def _add_routes(app: FastAPI, errors: dict) -> None:
    """The routes, in the order the schema lists them; each keeps the name FastAPI made
    its operation id from."""
    ask_responses = {
        **errors,
        200: {
            "description": "The answer as `assistant ask --json` gives it; with"
            ' `"stream": true`, server-sent events instead (`text`, then `answer`).',
            "content": {"text/event-stream": {}},
        },
    }
    document_errors = {**errors, 404: {"model": ErrorBody, "description": "No such document"}}
    routes = [
        ("/health", health_route, "GET", errors, "Is the index readable (no token needed)"),
        ("/search", search_route, "GET", errors, "The passages that best match a query"),
        ("/ask", ask_route, "POST", ask_responses, "Answer a question, citing passages verbatim"),
        ("/said", said_route, "GET", errors, "Who said what on a topic, with dates and sources"),
        ("/sources", sources_route, "GET", errors, "The indexed files and their state"),
        ("/documents", document_by_query_route, "GET", document_errors, "One document, by ?id="),
        ("/documents/{doc_id:path}", document_route, "GET", document_errors, "One document"),
    ]
    for path, endpoint, method, responses, summary in routes:
        app.add_api_route(
            path,
            endpoint,
            methods=[method],
            responses=responses,
            summary=summary,
            name=endpoint.__name__.removesuffix("_route"),
        )


async def health_route(service: ServiceParam) -> JSONText:
    """`{"status": "ok", "documents", "passages", "updated_at"}` from the index's
    manifest as it is on disk now; 503 with `"error"` when it cannot be read."""
    index = service.index
    manifest = await service.in_thread(lambda: index.read_manifest(index.path))
    return JSONText(
        {
            "status": "ok",
            "documents": manifest.documents,
            "passages": manifest.passages,
            "updated_at": manifest.updated_at,
        }
    )


async def search_route(
    service: ServiceParam,
    q: Annotated[str, Query(description="The query.")],
    k: Annotated[int, Query(ge=1, le=MAX_K, description="How many passages.")] = 5,
    since: Annotated[str | None, Query(description="YYYY[-MM[-DD]]")] = None,
    until: Annotated[str | None, Query(description="YYYY[-MM[-DD]]")] = None,
    source: Annotated[
        list[str] | None, Query(description="An outlet, file, folder or glob (repeatable).")
    ] = None,
    lang: Annotated[
        str | None, Query(description="Only passages in this stated language (en, es, ...).")
    ] = None,
) -> JSONText:
    """As `assistant search --json`: `{"query", "results": [{"rank", "source",
    "doc_id", "paragraph", "start", "end", "text", "score"}], "filter"}`."""
    restrict = search_filter(since, until, source or (), lang)

    def work() -> dict:
        hits = service.index.search(q, k=k, search_filter=restrict)
        return search_json(q, hits, restrict)

    return JSONText(await service.in_thread(work))


async def ask_route(service: ServiceParam, body: AskRequest, request: Request) -> Response:
    """As `assistant ask --json`: `{"question", "answer", "abstained", "citations",
    "nearest", "reason", "mode", "notice", "llm", "warnings", "filter"}`."""
    index, llm, pool = service.index, service.llm, service.answer_pool
    restrict = search_filter(body.since, body.until, body.sources, body.lang)
    if body.stream:
        return await stream_answer(
            index, body, restrict, llm, service.limiters[pool], request.receive
        )
    gone = threading.Event()

    def work() -> dict:
        with stopped_by(gone):
            answer = index.ask(body.question, k=body.k, llm=llm, search_filter=restrict)
        return ask_json(answer, answer_warnings(index, answer, llm), restrict)

    return JSONText(await unless_gone(request.receive, service.in_thread(work, pool), gone))


async def said_route(
    service: ServiceParam,
    topic: Annotated[str, Query(description="What the statements are about.")],
    k: Annotated[int, Query(ge=1, le=MAX_K, description="Most speakers to list.")] = 20,
    since: Annotated[str | None, Query(description="YYYY[-MM[-DD]]")] = None,
    until: Annotated[str | None, Query(description="YYYY[-MM[-DD]]")] = None,
    source: Annotated[
        list[str] | None, Query(description="An outlet, file, folder or glob (repeatable).")
    ] = None,
    lang: Annotated[
        str | None, Query(description="Only passages in this stated language (en, es, ...).")
    ] = None,
) -> JSONText:
    """As `assistant said --json`: `{"topic", "speakers": [{"speaker", "role", "side",
    "statements": [{"quote", "doc_id", "source", "title", "outlet", "published",
    "paragraph", "start", "end", "also_in"}]}], "abstained", "reason", "nearest",
    "warnings", "filter"}`."""
    from .said_view import said_json, said_warnings

    restrict = search_filter(since, until, source or (), lang)

    def work() -> dict:
        found = service.index.statements(topic, k=k, search_filter=restrict)
        return said_json(found, said_warnings(service.index, found), restrict)

    return JSONText(await service.in_thread(work))


async def sources_route(service: ServiceParam) -> JSONText:
    """As `assistant index sources --json`: `{"index", "sources": [{"source",
    "state", "documents", "passages", "modified", "published", "reason"}]}`."""
    index = service.index

    def work() -> dict:
        return {"index": str(index.path), "sources": [s.to_json() for s in index.sources()]}

    return JSONText(await service.in_thread(work))


async def document_by_query_route(
    service: ServiceParam,
    id: Annotated[str, Query(description="The document's `doc_id`.")],
) -> JSONText:
    """The same as `/documents/{doc_id}`, for clients that would rather not put an
    id holding slashes and `#` in the path."""
    return JSONText(await service.in_thread(lambda: document_json(service.index, id)))


async def document_route(service: ServiceParam, doc_id: str) -> JSONText:
    """A document's metadata, its whole text and where its passages are:
    `{"doc_id", "source", "title", "outlet", "byline", "published", "url",
    "page_starts", "text", "passages": [{"paragraph", "start", "end", "page",
    "kind"}], "warnings"}`; `text[start:end]` is each passage (and each citation).
    The id is the `doc_id` of a citation or result, percent-encoded: its slashes may
    stay as they are, a `#` must be `%23` (`data.jsonl%23a40`)."""
    return JSONText(await service.in_thread(lambda: document_json(service.index, doc_id)))


# A path holding an absolute file name loses its leading slash ("/documents/usr/share/x"
# asks for "usr/share/x"), and a `#` ends it: the 404 says how to ask by id.
BY_ID_HINT = (
    " (ask for a document by its doc_id, as a citation or a search result gives it:"
    " GET /documents?id=DOC_ID, or /documents/DOC_ID percent-encoded, / as %2F and # as %23)"
)


def document_json(index: Index, doc_id: str) -> dict:
    """One document as ``GET /documents/{id}`` gives it; 404 when the index has none."""
    whole = index.document_whole(doc_id)
    if whole is None:
        raise StarletteHTTPException(404, f"no document {doc_id!r} in the index{BY_ID_HINT}")
    document, text, found = whole
    passages = []
    for passage in found:
        kind = "head" if passage.is_head else "boilerplate" if passage.is_boilerplate else "body"
        passages.append(
            {
                "paragraph": passage.paragraph,
                "start": passage.start,
                "end": passage.end,
                "page": document.page_at(passage.start),
                "kind": kind,
            }
        )
    return {
        "doc_id": document.doc_id,
        "source": document.source,
        "title": document.title,
        "outlet": document.outlet,
        "byline": document.byline,
        "published": document.published,
        "url": document.url,
        "page_starts": list(document.page_starts),
        "text": text,
        "passages": passages,
        "warnings": [changed_warning(name) for name in index.changed_sources([document.source])],
    }


# -- streaming -------------------------------------------------------------------------


async def stream_answer(index, body: AskRequest, restrict, llm, limiter, receive) -> Response:
    """``POST /ask`` with ``"stream": true``: ``event: text`` for each piece the model
    writes, then ``event: answer`` with the whole JSON (``event: error`` if it fails).

    The answer runs in a worker thread that hands its pieces to the event loop. Until
    the first event, nothing is sent, so an error found before any text (an empty
    question, an unreadable index) is still a plain 4xx or 5xx response. When the client
    goes away, before the first event or after, the model's exchange is stopped at once
    (:func:`unless_gone`).
    """
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    gone = threading.Event()

    def put(kind: str, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: the server is stopping
            loop.call_soon_threadsafe(events.put_nowait, (kind, value))

    def on_text(piece: str) -> None:
        if gone.is_set():
            from ..query.llm import LLMError

            # The generative answerer stops the model's stream on an LLMError.
            raise LLMError("the HTTP client went away")
        put("text", {"text": piece})

    def work() -> None:
        try:
            with stopped_by(gone):
                answer = index.ask(
                    body.question, k=body.k, llm=llm, on_text=on_text, search_filter=restrict
                )
            put("answer", ask_json(answer, answer_warnings(index, answer, llm), restrict))
        except BaseException as error:  # handed to the event loop, answered there
            put("error", error)

    # Held until it ends (the event loop keeps only weak references to tasks); it ends
    # soon after the client goes.
    _keep(asyncio.ensure_future(anyio.to_thread.run_sync(work, limiter=limiter)))
    kind, value = await unless_gone(receive, events.get(), gone)
    if kind == "error":
        gone.set()
        raise value

    async def event_stream() -> AsyncIterator[str]:
        current = (kind, value)
        try:
            while True:
                event, data = current
                if event == "error":
                    data = {"error": one_line(_error_message(data))}
                yield f"event: {event}\ndata: {json_text(data)}\n\n"
                if event != "text":
                    break
                current = await events.get()
        finally:
            gone.set()

    return StreamingResponse(
        event_stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
    )


async def unless_gone(receive, work: Awaitable, gone: threading.Event) -> Any:
    """``work``'s result; if the client hangs up first, ``gone`` is set, which stops
    the answer's exchange with the model (:func:`~assistant.query.llm.stopped_by`), so
    the worker and the model's connection are free at once, not when the model's
    timeout passes. Once the body is read, ``receive`` gives only the disconnect."""

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            result = await work
        except Exception as error:  # raised below, as itself, not in an ExceptionGroup
            failure = error
        finally:
            group.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return result


_running: set = set()


def _keep(task) -> None:
    _running.add(task)
    task.add_done_callback(_running.discard)


def _error_message(error: BaseException) -> str:
    if isinstance(error, AssistantError):
        return str(error)
    log.error("unexpected %s: %s", type(error).__name__, one_line(str(error)))
    return f"unexpected {type(error).__name__}: {error}"


# -- errors, the token and the body limit ----------------------------------------------


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AssistantError)
    async def library_error(request: Request, error: AssistantError) -> JSONText:
        return error_response(status_for(error), str(error))

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, error: RequestValidationError) -> JSONText:
        return error_response(400, validation_message(error.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONText:
        message = error.detail if isinstance(error.detail, str) else str(error.detail)
        if error.status_code == 404 and message == "Not Found":
            message = f"no route {request.url.path} (see /openapi.json)"
        return error_response(error.status_code, message, getattr(error, "headers", None))


def validation_message(problems: list[dict]) -> str:
    """``k: Input should be less than or equal to 50`` (the first two problems)."""
    parts = []
    for problem in problems[:2]:
        kind, where = problem.get("type"), tuple(problem.get("loc", ()))
        if kind == "json_invalid":
            reason = (problem.get("ctx") or {}).get("error", "")
            parts.append(f"the body is not valid JSON ({reason})" if reason else "bad JSON")
        elif where == ("body",):
            parts.append(
                'the body must be a JSON object such as {"question": "..."}'
                " (Content-Type: application/json)"
            )
        else:
            name = ".".join(str(p) for p in where[1:]) or "body"
            parts.append(f"{name}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


class Guard:
    """ASGI middleware in front of the app: the bearer token, the body limit, and the
    last word on any exception (a one-line 500, never a traceback in the response)."""

    def __init__(
        self,
        app,
        token: str | None,
        max_body: int,
        hosts: frozenset[str] | None = None,
        debug: bool = False,
        body_timeout: float | None = None,
    ) -> None:
        self.app = app
        self.debug = debug
        self.body_timeout = body_timeout
        self.token = token.encode() if token is not None else None
        self.max_body = max_body
        self.hosts = hosts

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is None:
                receive, refusal = await self._bounded_body(scope, receive)
            if refusal is not None:
                await refusal(scope, receive, tracked_send)
                return
            await self.app(scope, receive, tracked_send)
        except Exception as error:
            if self.debug:
                log.exception("unexpected error")
            else:
                log.error("unexpected %s: %s", type(error).__name__, one_line(str(error)))
            if not started:  # once a response began, all we can do is end it
                response = error_response(
                    500, f"unexpected {type(error).__name__}: {error} (see the server's log)"
                )
                await response(scope, receive, send)

    def _refusal(self, scope) -> Response | None:
        """421/403 for a request addressed by another name (DNS rebinding); 401 without
        the right token (``/health`` needs none); 413 when the declared length is over
        the limit, before a byte of the body is read."""
        if self.hosts is not None:
            misdirected = self._foreign_host(dict(scope["headers"]))
            if misdirected is not None:
                return misdirected
        if self.token is not None and scope["path"] != "/health":
            headers = dict(scope["headers"])
            given = headers.get(b"authorization", b"")
            scheme, _, credential = given.partition(b" ")
            # compare_digest takes as long whatever the token's first wrong byte is.
            if scheme.lower() != b"bearer" or not hmac.compare_digest(
                credential.strip(), self.token
            ):
                return error_response(
                    401,
                    f"this server needs Authorization: Bearer <token> (the {TOKEN_VARIABLE}"
                    " it was started with)",
                    {"www-authenticate": "Bearer"},
                )
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    return error_response(400, "the Content-Length header is not a number")
                if declared > self.max_body:
                    return self._too_big()
        return None

    def _foreign_host(self, headers: dict[bytes, bytes]) -> Response | None:
        """A web page can point a name of its own at 127.0.0.1 and then read this server
        as its own origin (DNS rebinding): such requests carry that name in ``Host``, and
        a browser's cross-site request carries the page's ``Origin``."""
        host = _host_name(headers.get(b"host", b"").decode("latin-1"))
        if host not in self.hosts:
            return error_response(
                421, f"this server answers to {', '.join(sorted(self.hosts))}, not {host!r}"
            )
        origin = headers.get(b"origin")
        if origin is not None and origin != b"null":
            origin_host = _host_name(origin.decode("latin-1").split("://", 1)[-1])
            if origin_host not in self.hosts:
                return error_response(
                    403, f"requests from web pages at {origin_host!r} are refused"
                )
        return None

    def _too_big(self) -> Response:
        return error_response(
            413, f"the request body is over the {self.max_body // 1024} KiB limit"
        )

    async def _bounded_body(self, scope, receive):
        """Read the body (at most the limit, also when no length was declared, within
        the body timeout) and hand the app a ``receive`` that replays it; 408 and the
        connection closed when the body is too slow to arrive (a client trickling a
        byte at a time would hold its connection for ever)."""
        try:
            with anyio.fail_after(self.body_timeout):
                return await self._read_body(receive)
        except TimeoutError:
            message = f"the request body did not arrive within {self.body_timeout:g} s"
            return receive, error_response(408, message, {"connection": "close"})

    async def _read_body(self, receive):
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return _replay([message], receive), None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body:
                return receive, self._too_big()
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return _replay([body], receive), None


def _replay(messages: list[dict], receive):
    async def replayed():
        if messages:
            return messages.pop(0)
        return await receive()  # after the body: the disconnect, when it comes

    return replayed


def _document_schema(app: FastAPI, with_token: bool) -> None:
    """The schema FastAPI writes, corrected where this app differs: bad input is 400
    (FastAPI's default is 422), the bearer token when one is required, and what the
    JSON documents hold (:mod:`assistant.frontends.http_schema`)."""

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        from .http_schema import describe as describe_json

        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        describe_json(schema)  # the shape of each response, the rules of each request
        if with_token:
            components = schema.setdefault("components", {})
            components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            for route, path in schema.get("paths", {}).items():
                if route != "/health":
                    for operation in path.values():
                        operation["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


# -- running it ------------------------------------------------------------------------


def _host_name(authority: str) -> str:
    """``127.0.0.1:8321`` -> ``127.0.0.1``; ``[::1]:8321`` -> ``::1``; lower case."""
    authority = authority.strip().lower().split("/", 1)[0]
    if authority.startswith("["):
        return authority[1:].split("]", 1)[0]
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def allowed_hosts(host: str) -> frozenset[str] | None:
    """The names a server listening on ``host`` answers to: on loopback only the
    loopback names and the address it listens on (``127.0.0.2`` or ``[::1]`` as its
    printed URL says; other programs on this machine, never a web page that rebinds
    its own name); elsewhere any (the token is what guards it there)."""
    if not is_loopback(host):
        return None
    own = _host_name(host)
    with contextlib.suppress(ValueError):
        own = str(ipaddress.ip_address(own))  # the form getsockname gives, as printed
    return LOOPBACK_NAMES | {own, _host_name(host)}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_warnings(host: str, token: str | None) -> list[str]:
    """What to say when the server listens beyond this machine."""
    if is_loopback(host):
        return []
    warning = (
        f"listening on {host}, not 127.0.0.1: other machines that can reach this one can"
        " read the whole index"
    )
    if token is None:
        warning += f" (set {TOKEN_VARIABLE} to require a bearer token)"
    return [warning]


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, opened here so that a port in use is one clear error (and
    ``--port 0`` gets a free port whose number can be printed)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, UnicodeError) as error:
        raise UsageError(f"cannot listen on {host}:{port} ({error})") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        reason = error.strerror or str(error)
        raise UsageError(
            f"cannot listen on {host}:{port} ({reason})", hint="choose another --port"
        ) from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def run(app: FastAPI, sock: socket.socket, *, access_log: bool = False) -> None:
    """Serve until interrupted (uvicorn stops gracefully on SIGINT and SIGTERM), within
    the app's connection limits (:mod:`assistant.frontends.http_server`)."""
    from .http_server import serve

    serve(app, sock, app.state.limits.resolved(), access_log=access_log)
