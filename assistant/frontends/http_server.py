"""How ``assistant serve`` holds its connections: read timeouts, a connection cap, and
an accept loop that survives running out of file descriptors.

uvicorn keeps a connection that never finishes its request for ever (its keep-alive
timeout starts only after a response), so a few hundred idle or trickling clients
could hold every file descriptor the process may open. Here:

* a client has :attr:`ConnectionLimits.header_timeout` seconds, from connecting (or
  from the end of the previous response), to send its request's headers; one that
  sent part of a request gets 408, a silent one is closed;
* its body has :attr:`ConnectionLimits.body_timeout` seconds (kept by the app's
  ``Guard``, see :mod:`assistant.frontends.http`);
* past :attr:`ConnectionLimits.max_connections` open connections, a new one is told
  503 at once and closed, so the cap (kept below the process's open-file limit) holds
  whatever the clients do;
* when ``accept()`` still fails for want of descriptors (other files, a low limit),
  asyncio retries every second; that is one line a minute at most, not a traceback
  for every retry and every waiting client.

Imported only by ``assistant serve``; uvicorn and h11 only when the server starts.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import resource
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

log = logging.getLogger("assistant.http")

DEFAULT_READ_TIMEOUT = 10.0  # seconds for a request's headers, and again for its body
DEFAULT_MAX_CONNECTIONS = 256
# Descriptors kept for everything but client connections: the index's files, the
# model's, connections to a language model (one per LLM worker), logs.
RESERVED_FILES = 64
# How long a refused connection is kept after its 503, reading (and dropping) what the
# client sends: closing with unread data would reset the connection, and the client
# might lose the 503 with it.
REFUSED_LINGER = 1.0
# How often running out of descriptors is said again while it lasts.
REPEAT_SECONDS = 60.0


@dataclass(frozen=True)
class ConnectionLimits:
    """The limits one server keeps on its clients' connections. ``max_connections``
    None: :data:`DEFAULT_MAX_CONNECTIONS`, or fewer where the process's open-file limit
    leaves less room (see :meth:`resolved`)."""

    max_connections: int | None = None
    header_timeout: float = DEFAULT_READ_TIMEOUT
    body_timeout: float = DEFAULT_READ_TIMEOUT

    def resolved(self) -> ConnectionLimits:
        """These limits with the default cap made a number: at most what the open-file
        limit (``ulimit -n``) leaves for clients, so that the cap is reached first. A
        cap the user set is kept as set."""
        if self.max_connections is not None:
            return self
        return replace(self, max_connections=min(DEFAULT_MAX_CONNECTIONS, room_for_clients()))


def room_for_clients() -> int:
    """Descriptors the open-file limit leaves for client connections."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_MAX_CONNECTIONS
    return max(soft - RESERVED_FILES, soft // 2, 1)


def error_bytes(status: int, reason: str, message: str, extra: str = "") -> bytes:
    """A whole HTTP/1.1 response ``{"error": message}`` that closes the connection."""
    body = json.dumps({"error": message}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n{extra}\r\n"
    )
    return head.encode("latin-1") + body


class AcceptState:
    """Says that ``accept()`` fails for want of descriptors: once, then at most once
    every :data:`REPEAT_SECONDS` while it goes on, with how often it failed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.said_at: float | None = None
        self.failures = 0  # since the last message
        self.stopped = False  # the server has closed its listening socket

    def handle(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        """The loop's exception handler: out of descriptors is one line; anything
        else goes to asyncio's own handler."""
        error = context.get("exception")
        if self.stopped and isinstance(error, ValueError):
            # asyncio's retry of accept() fired after the socket was closed at shutdown.
            return
        if not _out_of_resources(error):
            loop.default_exception_handler(context)
            return
        self.failures += 1
        now = self.clock()
        if self.said_at is not None and now - self.said_at < REPEAT_SECONDS:
            return
        again = f"; {self.failures} times in the last minute" if self.said_at else ""
        log.warning(
            "cannot accept connections: %s (retrying every second%s; raise `ulimit -n`"
            " or lower --max-connections)",
            error.strerror or error,
            again,
        )
        self.said_at, self.failures = now, 0


class ListeningSocket(socket.socket):
    """The server's listening socket. After ``accept()`` fails for want of
    descriptors it answers "nothing waiting" until the loop's next turn: asyncio's
    accept loop (3.11) does not stop at that error, and would report it and schedule
    a retry for each of the 2048 connections its backlog allows, every second."""

    resting = False

    def accept(self):
        if self.resting:
            raise BlockingIOError(errno.EAGAIN, "resting after running out of descriptors")
        try:
            return super().accept()
        except OSError as error:
            if _out_of_resources(error):
                self.resting = True
                asyncio.get_running_loop().call_soon(self._wake)
            raise

    def _wake(self) -> None:
        self.resting = False


def _out_of_resources(error) -> bool:
    return isinstance(error, OSError) and error.errno in (
        errno.EMFILE,
        errno.ENFILE,
        errno.ENOBUFS,
        errno.ENOMEM,
    )


def guarded_protocol(limits: ConnectionLimits, accepting: AcceptState) -> type:
    """uvicorn's HTTP/1.1 protocol with the header timeout and the connection cap."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    too_many = error_bytes(
        503,
        "Service Unavailable",
        f"the server has {limits.max_connections} connections open, its limit; try again",
        "retry-after: 1\r\n",
    )
    too_slow = error_bytes(
        408,
        "Request Timeout",
        f"the request's headers did not arrive within {limits.header_timeout:g} s",
    )

    class GuardedProtocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _refused = False

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                self._refuse(transport)
                return
            self._await_headers()

        def _refuse(self, transport) -> None:
            self._refused = True
            transport.write(too_many)
            if transport.can_write_eof():
                transport.write_eof()
            self.loop.call_later(REFUSED_LINGER, transport.close)

        def data_received(self, data: bytes) -> None:
            if self._refused:
                return  # read and dropped until the linger ends
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._stop_header_timer()  # the request's headers are in

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._await_headers()  # the next request's headers, on a kept connection

        def connection_lost(self, exc) -> None:
            self._stop_header_timer()
            super().connection_lost(exc)

        def _await_headers(self) -> None:
            self._stop_header_timer()
            self._header_timer = self.loop.call_later(limits.header_timeout, self._too_slow)

        def _stop_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _too_slow(self) -> None:
            """A client that began a request gets 408; one that sent nothing (an idle
            kept connection, a port scan) is closed without a word."""
            self._header_timer = None
            if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
                return
            if self.conn.trailing_data[0]:
                self.transport.write(too_slow)
            self.transport.close()

    return GuardedProtocol


def serve(app, sock: socket.socket, limits: ConnectionLimits, *, access_log: bool) -> None:
    """Serve ``app`` on ``sock`` until interrupted (uvicorn stops gracefully on SIGINT
    and SIGTERM)."""
    import uvicorn

    accepting = AcceptState()
    config = uvicorn.Config(
        app,
        http=guarded_protocol(limits, accepting),
        log_level="info" if access_log else "warning",
        access_log=access_log,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    listener = ListeningSocket(fileno=sock.detach())

    async def serving() -> None:
        asyncio.get_running_loop().set_exception_handler(accepting.handle)
        try:
            await server.serve(sockets=[listener])
        finally:
            accepting.stopped = True

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(serving())
