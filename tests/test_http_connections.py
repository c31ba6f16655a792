"""How `assistant serve` holds its connections (issue 24, items 14, 15 and 17): read
timeouts for headers and bodies, a cap on connections with 503 past it, accept()
failures at the open-file limit told in one line, clients that hang up freeing their
model connection, and any loopback address answering its own URL.

Each server is a real `assistant serve` on loopback with small timeouts given on its
command line; the clients are raw sockets, so that a test can send half a request."""

from __future__ import annotations

import json
import resource
import socket
import time

import httpx
import pytest

from tests.llm_servers import ScriptedServer
from tests.test_http_api import QUESTION, Served

READ_TIMEOUT = "0.5"


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host.strip("[]"), int(port)))
    sock.settimeout(60)  # a safety net for a broken server, not a measurement
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def read_one(sock: socket.socket) -> bytes:
    """One whole response (it has a Content-Length) from a connection kept open."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.fixture(scope="module")
def impatient(seeds_index_dir):
    """A server that gives a request half a second to arrive."""
    served = Served(seeds_index_dir, "--read-timeout", READ_TIMEOUT)
    yield served
    served.stop()
    assert "Traceback" not in served.stderr()


@pytest.fixture
def capped(seeds_index_dir):
    """A server that serves 4 connections (and waits long for requests, so that the
    connections a test holds are not closed as slow however slow the machine)."""
    served = Served(seeds_index_dir, "--read-timeout", "60", "--max-connections", "4")
    yield served
    served.stop()
    assert "Traceback" not in served.stderr()


# -- read timeouts ------------------------------------------------------------------------


def test_a_connection_that_sends_nothing_is_closed(impatient):
    with connect(impatient.url) as idle:
        assert read_all(idle) == b""


def test_a_request_whose_headers_stall_gets_408_and_is_closed(impatient):
    with connect(impatient.url) as slow:
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: appl")
        reply = read_all(slow)
    assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b"connection: close" in reply
    assert reply.endswith(b'{"error": "the request\'s headers did not arrive within 0.5 s"}')


def test_a_body_that_stalls_gets_408_and_is_closed(impatient):
    with connect(impatient.url) as slow:
        slow.sendall(
            b"POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b'content-length: 100\r\n\r\n{"question": "Wh'
        )
        reply = read_all(slow)
    assert reply.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert reply.endswith(b'{"error": "the request body did not arrive within 0.5 s"}')


def test_a_kept_connection_waits_as_long_for_its_next_request(impatient):
    with connect(impatient.url) as kept:
        kept.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert read_one(kept).startswith(b"HTTP/1.1 200 OK\r\n")
        kept.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0")  # and no more
        assert read_all(kept).startswith(b"HTTP/1.1 408 ")


# -- the connection cap --------------------------------------------------------------------


def test_past_the_connection_cap_a_new_connection_gets_503_then_service_resumes(capped):
    held = [connect(capped.url) for _ in range(4)]
    try:
        for sock in held:
            sock.sendall(b"GET /health HTTP/1.1\r\n")  # begun, never finished
        with connect(capped.url) as fifth:
            fifth.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            reply = read_all(fifth)
    finally:
        for sock in held:
            sock.close()
    assert reply.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
    assert b"retry-after: 1" in reply
    assert reply.endswith(b'{"error": "the server has 4 connections open, its limit; try again"}')
    assert eventually_healthy(capped.url)


def eventually_healthy(url: str, tries: int = 200) -> bool:
    """/health answers 200 (the server may see the closed connections a moment after
    the new one)."""
    for _ in range(tries):
        with httpx.Client(timeout=60) as client:
            if client.get(f"{url}/health").status_code == 200:
                return True
        time.sleep(0.05)
    return False


def test_at_the_open_file_limit_accept_failures_are_one_line(seeds_index_dir):
    """With 48 descriptors allowed and a cap above that, idle clients use them all:
    accept() fails with EMFILE and asyncio retries each second. That is one warning
    (not a traceback per retry and per waiting connection), and the server serves
    again once the clients go."""

    def few_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))

    served = Served(
        seeds_index_dir,
        "--read-timeout",
        "60",
        "--max-connections",
        "1000",
        preexec_fn=few_files,
    )
    held: list[socket.socket] = []
    try:
        for _ in range(60):
            held.append(connect(served.url))
        assert wait_for(lambda: "cannot accept connections" in served.stderr())
        time.sleep(2.5)  # two more retries by asyncio, each of which used to log
        while_full = served.stderr()
        for sock in held:
            sock.close()
        held.clear()
        assert eventually_healthy(served.url)
    finally:
        for sock in held:
            sock.close()
        served.stop()
    assert "Traceback" not in served.stderr(), served.stderr()[:2000]
    assert while_full.splitlines() == [
        "cannot accept connections: Too many open files (retrying every second; raise"
        " `ulimit -n` or lower --max-connections)"
    ]


# -- the Host check ----------------------------------------------------------------------


def test_any_loopback_address_answers_its_own_printed_url(seeds_index_dir):
    served = Served(seeds_index_dir, "--host", "127.0.0.2")
    try:
        assert served.url.startswith("http://127.0.0.2:")
        with httpx.Client(timeout=60) as client:
            assert client.get(f"{served.url}/health").status_code == 200
            rebound = client.get(f"{served.url}/health", headers={"host": "evil.example"})
            assert rebound.status_code == 421
    finally:
        served.stop()
    assert served.stderr() == ""  # loopback: no warning


# -- clients that hang up --------------------------------------------------------------


@pytest.fixture
def silent_model():
    model = ScriptedServer()
    model.mode = "silent"
    yield model
    model.close()


def ask_bytes(url: str, stream: bool) -> bytes:
    body = json.dumps({"question": QUESTION, "stream": stream}).encode()
    host = url.removeprefix("http://")
    return (
        f"POST /ask HTTP/1.1\r\nHost: {host}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_a_client_that_hangs_up_frees_its_model_connection_at_once(seeds_index_dir, silent_model):
    """The model never answers and its timeout is 10 minutes. A client that hangs up
    (asking for a streamed answer or a whole one) ends the server's exchange with the
    model: the model sees its connection closed, and the next client is answered."""
    served = Served(
        seeds_index_dir, "--llm", silent_model.url, env={"ASSISTANT_LLM_TIMEOUT": "600"}
    )
    try:
        for number, stream in enumerate((False, True), 1):
            with connect(served.url) as client:
                client.sendall(ask_bytes(served.url, stream))
                assert wait_for(lambda: len(silent_model.requests) == number)  # noqa: B023
            # The client has hung up while the model was silent.
            assert wait_for(lambda: silent_model.hung_up == number), served.stderr()  # noqa: B023
        silent_model.mode = "stream"
        with httpx.Client(timeout=120) as client:
            answer = client.post(f"{served.url}/ask", json={"question": QUESTION}).json()
        assert answer["mode"] == "llm", answer
    finally:
        served.stop()
    assert "Traceback" not in served.stderr()


def wait_for(condition, tries: int = 600) -> bool:
    for _ in range(tries):
        if condition():
            return True
        time.sleep(0.05)
    return False
