"""A wall-clock limit on one exchange over HTTP, kept by a watchdog thread.

An HTTP client's timeout applies to each read, so a server that sends a byte every few
seconds (or its headers one byte at a time) never trips it. The watchdog shuts the
exchange's connections down when the limit passes; the blocked read then returns at
once. Used by the model client (:mod:`assistant.query.llm`) and the web fetcher
(:mod:`assistant.ingest.web`).

The limit is read from a ``clock`` (``time.monotonic`` unless one is given): the
watchdog looks at it at least every :data:`POLL_SECONDS`, so a test can move a fake
clock past the limit and see the exchange end, however slow the machine.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import weakref
from collections.abc import Callable

# How often the watchdog looks at the clock when the limit is further away than that:
# an injected clock may jump, and the watchdog must notice it soon after.
POLL_SECONDS = 0.05


class Deadline:
    """A limit of ``seconds`` on one exchange, measured on ``clock``: when it passes,
    or ``stop`` is set, the watchdog thread shuts down every connection in ``streams``
    and the exchange ends with :attr:`expired` set."""

    def __init__(
        self,
        seconds: float,
        streams: weakref.WeakSet,
        clock: Callable[[], float] = time.monotonic,
        stop: threading.Event | None = None,
    ) -> None:
        self.seconds = seconds
        self.streams = streams
        self.clock = clock
        # Set by someone else (the HTTP server, when its client hangs up): the exchange
        # ends at once, as when the limit passes, with ``stopped`` set too.
        self.stop = stop
        self.stopped = False
        self.expired = False
        self.ends_at: float | None = None
        self._done = threading.Event()
        self._watchdog = threading.Thread(target=self._watch, name="deadline", daemon=True)

    def __enter__(self) -> Deadline:
        self.ends_at = self.clock() + self.seconds
        self._watchdog.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._done.set()

    def _watch(self) -> None:
        while not self._done.is_set():
            if self.stop is not None and self.stop.is_set():
                self.stopped = True
                self._expire()
                return
            left = self.ends_at - self.clock()
            if left <= 0:
                self._expire()
                return
            self._done.wait(min(left, POLL_SECONDS))

    def _expire(self) -> None:
        self.expired = True
        for stream in list(self.streams):
            shut_down(stream)

    def opened(self, stream) -> None:
        """A new connection: shut at once if the limit has already passed. (Added
        before the check, as the watchdog sets the flag before it looks: no gap.)"""
        self.streams.add(stream)
        if self.expired:
            shut_down(stream)


def shut_down(stream) -> None:
    """Shut a connection down from another thread: wakes a read blocked on it."""
    sock = stream.get_extra_info("socket")
    try:
        fileno = sock.fileno() if sock is not None else -1
        if fileno < 0:
            return
        # A duplicate descriptor: shutdown acts on the connection, and the original
        # (maybe wrapped in TLS) is left for its owner to close.
        with socket.socket(fileno=os.dup(fileno)) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def tracing(deadline: Deadline):
    """An httpcore ``trace`` extension that hands each connection a request opens to
    ``deadline``."""

    def record(event: str, info: dict) -> None:
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            deadline.opened(info["return_value"])

    return record
