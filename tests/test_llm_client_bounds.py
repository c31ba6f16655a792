"""The model client is bounded whatever the server does: the timeout bounds the whole
exchange (measured on a fake clock), an answer is cut at its token limit, credentials go
only where they belong and redirects to another server are refused, and a config file
holding a key is warned about.

The servers here misbehave on purpose, on 127.0.0.1: one trickles a byte at a time
forever, one ignores max_tokens, one redirects to another server, one records the
credentials it is sent.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.query.llm import ChatClient, LLMConfig, LLMError, answer_cap, redact_url

from .fakes import FakeClock
from .llm_servers import ScriptedServer, free_port, sse_chunk

MESSAGES = [{"role": "user", "content": "Passages: [1] the border. Question: how long?"}]


def _lower(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class HostileServer:
    """An OpenAI-compatible server whose ``behaviour`` decides how it misbehaves.

    "trickle": SSE headers, then one byte every ``interval`` seconds, forever.
    "trickle-headers": the status line itself one byte at a time, forever.
    "endless": well-formed chunks without text as fast as it can, never a finish_reason.
    "flood": ``flood_bytes`` of answer in small pieces, ignoring max_tokens.
    "one-piece": the whole ``flood_bytes`` answer in a single chunk.
    "redirect": 307 to ``redirect_to`` (another server).
    "answer": a normal short answer.
    """

    def __init__(self, behaviour: str = "answer") -> None:
        self.behaviour = behaviour
        self.interval = 0.3
        self.flood_bytes = 2_000_000
        self.redirect_to = ""
        self.requests: list[dict] = []  # path, headers and body of each request
        self.sent = 0  # answer bytes written
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append({"path": self.path, "headers": _lower(self.headers)})
                body = json.dumps({"object": "list", "data": [{"id": "hostile"}]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length))
                server.requests.append(
                    {"path": self.path, "headers": _lower(self.headers), "body": body}
                )
                with contextlib.suppress(OSError):  # the client hung up, as it should
                    server.handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def handle(self, handler) -> None:
        out = handler.wfile
        if self.behaviour == "redirect":
            handler.send_response(307)
            handler.send_header("location", self.redirect_to + "/chat/completions")
            handler.send_header("content-length", "0")
            handler.end_headers()
            return
        if self.behaviour == "trickle-headers":
            while True:
                for byte in b"HTTP/1.1 200 OK\r\nX-Padding: ":
                    out.write(bytes([byte]))
                    out.flush()
                    time.sleep(self.interval)
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("connection", "close")
        handler.end_headers()
        if self.behaviour == "answer":
            out.write(sse_chunk("The border is 132 km long [1].") + sse_chunk(finish="stop"))
            out.write(b"data: [DONE]\n\n")
        elif self.behaviour == "trickle":
            while True:  # a valid chunk now and then, a byte at a time, never the end
                for byte in sse_chunk("border "):
                    out.write(bytes([byte]))
                    out.flush()
                    time.sleep(self.interval)
        elif self.behaviour == "endless":
            while True:
                out.write(sse_chunk(""))  # no text, so no token limit ends it
                out.flush()
                time.sleep(0.001)
        elif self.behaviour == "flood":
            piece = sse_chunk("border " * 20)
            while self.sent < self.flood_bytes:
                out.write(piece)
                self.sent += len(piece)
            out.write(sse_chunk(finish="stop") + b"data: [DONE]\n\n")
        elif self.behaviour == "one-piece":
            out.write(sse_chunk("border " * (self.flood_bytes // 7)))
            out.write(sse_chunk(finish="stop") + b"data: [DONE]\n\n")
        out.flush()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def hostile():
    servers: list[HostileServer] = []

    def start(behaviour: str) -> HostileServer:
        servers.append(HostileServer(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _config(url: str, **settings) -> LLMConfig:
    return LLMConfig.resolve(url=url, **{"timeout": 1, "model": "hostile", **settings})


def _stream(config: LLMConfig, max_tokens: int = 64, clock=time.monotonic):
    """All pieces and the result (or the LLMError)."""
    pieces: list[str] = []
    stream = ChatClient(config, clock=clock).stream(MESSAGES, max_tokens)
    try:
        while True:
            pieces.append(next(stream))
    except StopIteration as done:
        outcome = done.value
    except LLMError as error:
        outcome = error
    return pieces, outcome


def _in_background(work) -> tuple[threading.Thread, dict]:
    """``work()`` on a thread of its own; its return value lands in ``result["value"]``."""
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", work()), daemon=True)
    thread.start()
    return thread, result


def _wait_for(condition, what: str) -> None:
    """Until ``condition()`` holds (a guard against a hang, not a measure of speed)."""
    give_up = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < give_up, f"gave up waiting for {what}"
        time.sleep(0.01)


def _passes_its_limit_only_on_the_clock(thread, result, server, clock: FakeClock) -> None:
    """The exchange is under way and outlives every read timeout until ``clock`` moves
    past its 300 s limit; then it ends (within the 60 s that only guard against a hang)."""
    _wait_for(lambda: server.requests, "the request to reach the server")
    clock.advance(299.5)
    thread.join(0.5)
    assert thread.is_alive() and not result, "it ended before its limit"
    clock.advance(1)
    thread.join(60)
    assert not thread.is_alive(), "the limit passed on the clock and the exchange went on"


# -- the timeout bounds the whole answer ----------------------------------------------


@pytest.mark.parametrize("behaviour", ["trickle", "trickle-headers", "endless"])
def test_the_timeout_bounds_the_whole_answer_not_each_read(hostile, behaviour):
    # Each read gets a byte well within the 300 s timeout, so only the limit on the
    # whole exchange can end it; it is measured on a fake clock that the test moves.
    server = hostile(behaviour)
    server.interval = 0.3
    clock = FakeClock()
    config = _config(server.url, timeout=300)
    thread, result = _in_background(lambda: _stream(config, clock=clock)[1])
    _passes_its_limit_only_on_the_clock(thread, result, server, clock)
    outcome = result["value"]
    assert isinstance(outcome, LLMError), outcome
    assert "did not answer within 300 s" in str(outcome)


def test_a_trickling_server_falls_back_to_the_extractive_answer_in_time(
    fake_seeds_index, hostile, monkeypatch
):
    import functools

    from assistant.query import generative

    server = hostile("trickle")
    clock = FakeClock()
    monkeypatch.setattr(generative, "ChatClient", functools.partial(ChatClient, clock=clock))
    config = _config(server.url, timeout=300)
    question = "What did Azerbaijan say about the 132-km border?"
    thread, result = _in_background(lambda: fake_seeds_index.ask(question, llm=config))
    _passes_its_limit_only_on_the_clock(thread, result, server, clock)
    answer = result["value"]
    assert answer.mode == "extractive"
    assert "did not answer within 300 s" in answer.notice


def _drain(client: ChatClient):
    """What ``_stream`` gives, with a client shared between threads."""
    stream = client.stream(MESSAGES, 64)
    try:
        while True:
            next(stream)
    except StopIteration as done:
        return done.value
    except LLMError as error:
        return error


def test_concurrent_answers_on_one_client_each_keep_their_own_limit():
    # `assistant serve --llm` shares one client between its worker threads. The first
    # answer runs past its 2 s limit; the second starts later and needs less than 2 s:
    # the first one's limit must not cut it (nor end with the first one's exchange).
    server = ScriptedServer()
    try:
        server.mode, server.delay = "slow", 3.0
        client = ChatClient(_config(server.url, timeout=2, model="scripted"))
        outcomes: dict[str, tuple] = {}
        first = threading.Thread(target=lambda: outcomes.setdefault("first", _drain(client)))
        first.start()
        time.sleep(0.5)  # the first request is with the server, asleep for 3 s
        server.delay = 0.8
        time.sleep(1.2)
        second = threading.Thread(target=lambda: outcomes.setdefault("second", _drain(client)))
        second.start()  # in flight when the first one's limit passes, 2 s after it began
        first.join(10)
        second.join(10)
    finally:
        server.close()
    first_outcome, second_outcome = outcomes["first"], outcomes["second"]
    assert isinstance(first_outcome, LLMError) and "did not answer within 2 s" in str(first_outcome)
    # Not an error: it ended within its own 2 s limit, cut neither by the first one's.
    assert not isinstance(second_outcome, LLMError), second_outcome


# -- the answer is cut at its limit -----------------------------------------------------


@pytest.mark.parametrize("behaviour", ["flood", "one-piece"])
def test_a_server_ignoring_max_tokens_is_cut_at_the_limit_plus_a_margin(hostile, behaviour):
    from assistant.query.budget import count_tokens

    server = hostile(behaviour)
    pieces, outcome = _stream(_config(server.url, timeout=10), max_tokens=64)
    assert not isinstance(outcome, LLMError), outcome
    text = "".join(pieces)
    assert outcome.text == text
    assert count_tokens(text) <= answer_cap(64) == 96
    assert outcome.cut_at == 96 and outcome.finish_reason == "length"
    if behaviour == "flood":  # it stopped reading: the server did not get to send it all
        assert server.sent < server.flood_bytes


def test_the_cut_answer_says_so(fake_seeds_index, hostile):
    server = hostile("flood")
    config = _config(server.url, timeout=10, answer_tokens=64, context_window=4096)
    answer = fake_seeds_index.ask("What did Azerbaijan say about the 132-km border?", llm=config)
    assert len(answer.llm.raw) < 2_000
    assert answer.llm.finish_reason == "length"
    # Nothing it wrote verifies ("border border ..." cites nothing), so it falls back.
    assert answer.mode == "extractive"


# -- credentials and redirects ----------------------------------------------------------


def test_a_redirect_to_another_server_is_not_followed(hostile):
    target = hostile("answer")
    server = hostile("redirect")
    server.redirect_to = target.url
    _, outcome = _stream(_config(server.url))
    assert isinstance(outcome, LLMError)
    assert str(outcome) == (
        f"the LLM server at {server.url} redirected to another server"
        f" ({target.url}/chat/completions); not following it"
    )
    assert target.requests == []  # the passages never reached it


def test_a_redirect_within_the_same_server_is_followed(hostile):
    server = hostile("redirect")
    server.redirect_to = f"http://127.0.0.1:{server.port}/v2"
    server.behaviour = "redirect"
    # The second request (to /v2/chat/completions) is answered normally.
    original = server.handle

    def redirect_once(handler):
        server.behaviour = "answer" if handler.path.startswith("/v2") else "redirect"
        original(handler)

    server.handle = redirect_once
    _, outcome = _stream(_config(server.url))
    assert not isinstance(outcome, LLMError), outcome
    assert outcome.text == "The border is 132 km long [1]."


def test_openai_key_goes_only_to_openai(hostile, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-of-openai")
    server = hostile("answer")
    _stream(_config(server.url))
    (request,) = server.requests
    assert "sk-secret-of-openai" not in json.dumps(request["headers"])

    monkeypatch.setenv("ASSISTANT_LLM_API_KEY", "assistant-key")
    _stream(_config(server.url))
    assert server.requests[-1]["headers"]["authorization"] == "Bearer assistant-key"

    monkeypatch.delenv("ASSISTANT_LLM_API_KEY")
    assert ChatClient(_config("https://api.openai.com/v1"))._api_key() == "sk-secret-of-openai"
    assert ChatClient(_config("https://api.openai.com.evil.example/v1"))._api_key() is None


def test_a_password_in_the_url_is_never_shown(seeds_index_dir):
    import subprocess
    import sys

    assert redact_url("http://user:pa55@127.0.0.1:9/v1") == "http://***@127.0.0.1:9/v1"
    url = f"http://admin:hunter2@127.0.0.1:{free_port()}/v1"
    question = "What did Azerbaijan say about the 132-km border?"
    for json_flag in ([], ["--json"]):
        result = subprocess.run(
            [sys.executable, "-m", "assistant", "ask", question, "--index",
             str(seeds_index_dir), "--llm", url, *json_flag],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "ASSISTANT_LLM_TIMEOUT": "1"},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "hunter2" not in result.stdout + result.stderr
        assert "***@127.0.0.1" in result.stdout + result.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", question, "--llm", "ftp://a:hunter2@x"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and "hunter2" not in bad.stderr


# -- the config file that holds a key ---------------------------------------------------


def test_a_config_file_with_a_key_that_others_can_read_is_warned_about(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[llm]\nurl = "http://127.0.0.1:9"\napi_key = "file-key"\n')
    monkeypatch.setenv("ASSISTANT_CONFIG", str(config))
    config.chmod(0o644)
    (warning,) = LLMConfig.resolve().warnings
    assert warning == (
        f"the config file {config} holds an API key and is readable by other users"
        f" (mode 644; fix: chmod 600 {config})"
    )
    config.chmod(0o666)
    (warning,) = LLMConfig.resolve().warnings
    assert "is readable and writable by other users (mode 666" in warning
    config.chmod(0o600)
    assert LLMConfig.resolve().warnings == ()
    config.chmod(0o644)
    config.write_text('[llm]\nurl = "http://127.0.0.1:9"\n')  # no key: nothing to leak
    assert LLMConfig.resolve().warnings == ()


def test_the_cli_prints_the_config_warning(tmp_path, seeds_index_dir):
    import subprocess
    import sys

    config = tmp_path / "config.toml"
    config.write_text(f'[llm]\nurl = "http://127.0.0.1:{free_port()}"\napi_key = "k"\n')
    config.chmod(0o644)
    env = {**os.environ, "ASSISTANT_CONFIG": str(config), "ASSISTANT_LLM_TIMEOUT": "1"}
    command = [sys.executable, "-m", "assistant", "ask", "What did Azerbaijan say about"
               " the 132-km border?", "--index", str(seeds_index_dir)]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert f"warning: the config file {config} holds an API key and is readable" in result.stderr
    as_json = subprocess.run(
        [*command, "--json"], capture_output=True, text=True, timeout=120, env=env
    )
    warnings = json.loads(as_json.stdout)["warnings"]
    assert any("holds an API key" in w for w in warnings)
