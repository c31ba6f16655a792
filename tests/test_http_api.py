"""The HTTP API: a real `assistant serve` (uvicorn) on a free 127.0.0.1 port, driven by
httpx. The index is a copy of the seeds plus a `.jsonl` file whose record ids hold a
slash and a `#`, so that document ids of every shape go through the routes."""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import SEEDS
from tests.llm_servers import ScriptedServer, stop_process

QUESTION = "What did Azerbaijan say about the 132-km border?"
TOKEN = "s3cret-token-for-tests"
NEW_WORD = "Zanzibarian"
GOOD_REPLY = (
    "Azerbaijan reminded Heydari that Armenia kept Azerbaijani lands under"
    " occupation for 30 years, and a “132-kilometer section of the Azerbaijani-Iranian state"
    " border” was occupied [1]."
)
RECORDS = [
    {"id": "reports/2023#7", "title": "Harbour report", "text": "The harbour of Baku handled "
     "record grain shipments in March, the port authority said."},
    {"id": "plain", "title": "Rail note", "text": "A new rail link to Nakhchivan opened."},
]  # fmt: skip


class Served:
    """`assistant serve` in a child process; ``url`` once it listens."""

    def __init__(
        self, index_dir: Path, *args: str, env: dict | None = None, preexec_fn=None
    ) -> None:
        command = [
            sys.executable,
            "-m",
            "assistant.frontends.cli",
            "serve",
            "--index",
            str(index_dir),
        ]
        self.log = index_dir.parent / f"serve-{time.monotonic_ns()}.log"
        self.process = subprocess.Popen(
            [*command, "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self.log.open("wb"),
            env={**os.environ, **(env or {})},
            text=True,
            preexec_fn=preexec_fn,
        )
        self.banner = self._first_line(timeout=60)
        self.url = self.banner.split(" at ", 1)[1].split()[0]

    def _first_line(self, timeout: float) -> str:
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise AssertionError(f"serve did not start: {self.stderr()}")
        return line.strip()

    def stderr(self) -> str:
        return self.log.read_text()

    def stop(self) -> None:
        stop_process(self.process)
        self.process.stdout.close()


def make_corpus(folder: Path) -> tuple[Path, Path]:
    from assistant import IndexWriter

    docs = folder / "docs"
    shutil.copytree(SEEDS, docs)
    (docs / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    index_dir = folder / "index"
    IndexWriter(index_dir).build([str(docs)])
    return docs, index_dir


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, Path]:
    return make_corpus(tmp_path_factory.mktemp("http-corpus"))


@pytest.fixture(scope="module")
def server(corpus):
    served = Served(corpus[1], env={"ASSISTANT_API_TOKEN": TOKEN})
    yield served
    served.stop()
    assert "Traceback" not in served.stderr()


@pytest.fixture(scope="module")
def client(server):
    headers = {"authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as session:
        yield session


def cli_json(index_dir: Path, *args: str) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant.frontends.cli",
            *args,
            "--index",
            str(index_dir),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def without_scores(value):
    """JSON with scores rounded: two processes may differ in the last float bits."""
    if isinstance(value, dict):
        return {k: round(v, 3) if k == "score" else without_scores(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_scores(v) for v in value]
    return value


def assert_quotes_reproduce(answer: dict) -> None:
    for citation in answer["citations"]:
        assert citation["start"] <= citation["quote"]["start"] < citation["quote"]["end"]
        assert citation["quote"]["end"] <= citation["end"]
        inner = citation["quote"]["start"] - citation["start"]
        length = citation["quote"]["end"] - citation["quote"]["start"]
        assert citation["text"][inner : inner + length] == citation["quote"]["text"]


# -- the routes give the CLI's JSON -----------------------------------------------------


def test_ask_and_search_give_exactly_the_json_of_the_cli(client, corpus):
    asked = client.post("/ask", json={"question": QUESTION, "k": 2})
    assert asked.status_code == 200 and asked.headers["content-type"] == "application/json"
    assert without_scores(asked.json()) == without_scores(
        cli_json(corpus[1], "ask", QUESTION, "-k", "2")
    )
    assert not asked.json()["abstained"] and asked.json()["citations"]

    found = client.get("/search", params={"q": "132-km border", "k": 4, "since": "2023"})
    assert found.status_code == 200
    assert without_scores(found.json()) == without_scores(
        cli_json(corpus[1], "search", "132-km border", "-k", "4", "--since", "2023")
    )
    assert found.json()["filter"] == {
        "since": "2023-01-01",
        "until": None,
        "sources": [],
        "languages": [],
    }


def test_citations_are_the_text_of_the_document_at_their_offsets(client):
    answer = client.post("/ask", json={"question": QUESTION}).json()
    assert_quotes_reproduce(answer)
    for citation in answer["citations"]:
        document = client.get(f"/documents/{quote(citation['doc_id'], safe='/')}")
        assert document.status_code == 200
        text = document.json()["text"]
        assert text[citation["start"] : citation["end"]] == citation["text"]
        assert citation["paragraph"] in [p["paragraph"] for p in document.json()["passages"]]


def test_documents_take_ids_with_slashes_and_a_hash(client, corpus):
    docs = corpus[0]
    doc_id = f"{docs / 'data.jsonl'}#reports/2023#7"
    by_path = client.get(f"/documents/{quote(doc_id, safe='/')}")  # `#` sent as %23
    by_query = client.get("/documents", params={"id": doc_id})
    assert by_path.status_code == by_query.status_code == 200
    assert by_path.json() == by_query.json()
    document = by_path.json()
    assert document["doc_id"] == doc_id and document["title"] == "Harbour report"
    assert document["text"] == RECORDS[0]["text"]
    body = [p for p in document["passages"] if p["kind"] == "body"]
    assert [document["text"][p["start"] : p["end"]] for p in body] == [RECORDS[0]["text"]]
    # An id that is a path with a leading slash, whole, with its slashes encoded too.
    seed = next(iter(sorted(docs.glob("00*.txt"))))
    encoded = client.get(f"/documents/{quote(str(seed), safe='')}")
    assert encoded.status_code == 200 and encoded.json()["text"] == seed.read_text()

    missing = client.get(f"/documents/{quote(str(docs / 'data.jsonl') + '#nope', safe='/')}")
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error.startswith(f"no document '{docs / 'data.jsonl'}#nope' in the index (")


def test_a_document_path_without_its_slash_says_how_to_ask_by_id(client, corpus):
    seed = next(iter(sorted(corpus[0].glob("00*.txt"))))
    missing = client.get(f"/documents{seed}")  # the leading slash is lost in the path
    assert missing.status_code == 404
    error = missing.json()["error"]
    assert error.startswith(f"no document '{str(seed).lstrip('/')}' in the index")
    assert "GET /documents?id=DOC_ID" in error
    assert client.get("/documents", params={"id": str(seed)}).status_code == 200


def test_sources_and_health(client, server, corpus):
    sources = client.get("/sources").json()
    assert sources == cli_json(corpus[1], "index", "sources")
    assert len(sources["sources"]) == 6 and {s["state"] for s in sources["sources"]} == {"indexed"}
    health = httpx.get(f"{server.url}/health")  # no token needed
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["documents"] == 7


def test_the_openapi_schema_lists_the_routes(client):
    schema = client.get("/openapi.json").json()
    assert {"/search", "/ask", "/sources", "/documents", "/documents/{doc_id}", "/health"} <= set(
        schema["paths"]
    )
    ask = schema["paths"]["/ask"]["post"]
    assert "400" in ask["responses"] and "422" not in ask["responses"]
    assert ask["security"] == [{"bearer": []}]
    assert "security" not in schema["paths"]["/health"]["get"]
    body = schema["components"]["schemas"]["AskRequest"]["properties"]
    assert {"question", "k", "since", "until", "sources", "lang", "stream"} == set(body)


# -- concurrency --------------------------------------------------------------------------


def test_concurrent_requests_get_the_same_answers_as_one_at_a_time(client):
    questions = [
        QUESTION,
        "Who accused Azerbaijan of hosting Zionist forces?",
        "What is the GDP of Japan?",
        "What did the port authority say about grain?",
    ]
    alone = {q: client.post("/ask", json={"question": q}).json() for q in questions}
    searched = client.get("/search", params={"q": questions[1]}).json()

    def ask(question: str) -> tuple[str, dict]:
        return question, client.post("/ask", json={"question": question}).json()

    with ThreadPoolExecutor(16) as pool:
        together = list(pool.map(ask, questions * 4))
        searches = list(
            pool.map(lambda _: client.get("/search", params={"q": questions[1]}), range(8))
        )
    for question, answer in together:
        assert answer == alone[question]
    assert all(r.status_code == 200 and r.json() == searched for r in searches)
    assert alone["What is the GDP of Japan?"]["abstained"]


def test_requests_during_an_index_update_never_fail(tmp_path):
    """4 clients ask and search while another process updates the index twice: no
    error, every answer whole, and the server ends on the newest version."""
    from assistant import IndexWriter

    docs, index_dir = make_corpus(tmp_path)
    served = Served(index_dir)
    try:
        with httpx.Client(base_url=served.url, timeout=60) as session:
            before = session.post("/ask", json={"question": QUESTION}).json()
            passages = session.get("/health").json()["passages"]
            failures: list[str] = []
            counts = {"ask": 0, "search": 0}
            stop = threading.Event()

            def hammer(number: int) -> None:
                while not stop.is_set():
                    try:
                        if number % 2:
                            response = session.post("/ask", json={"question": QUESTION})
                            answer = response.json()
                            assert response.status_code == 200, answer
                            assert answer["answer"] == before["answer"]
                            assert_quotes_reproduce(answer)
                            counts["ask"] += 1
                        else:
                            response = session.get("/search", params={"q": f"{NEW_WORD} talks"})
                            assert response.status_code == 200, response.text
                            assert response.json()["results"]
                            counts["search"] += 1
                    except Exception as error:  # collected, asserted below
                        failures.append(repr(error))

            threads = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
            for thread in threads:
                thread.start()
            changed = next(docs.glob("001_*.txt"))
            original = changed.read_text()
            for round_number in range(2):
                changed.write_text(original + f"\n\nRound {round_number} of {NEW_WORD} talks.\n")
                IndexWriter(index_dir).update()
                time.sleep(0.3)
            stop.set()
            for thread in threads:
                thread.join(60)
            assert not failures, failures[:3]
            assert counts["ask"] >= 2 and counts["search"] >= 2, counts
            newest = session.get("/search", params={"q": f"Round 1 of {NEW_WORD} talks", "k": 1})
            assert "Round 1" in newest.json()["results"][0]["text"]
            assert session.get("/health").json()["passages"] > passages
    finally:
        served.stop()
    assert "Traceback" not in served.stderr()


# -- bad input: 4xx and one line ----------------------------------------------------------

LONG = "a" * (64 * 1024 + 1)


def _chunks():
    for _ in range(70):
        yield b"x" * 1024


BAD_REQUESTS = {
    "empty question": ("POST", "/ask", {"json": {"question": ""}}, 400, "the question is empty"),
    "blank question": ("POST", "/ask", {"json": {"question": " \t\n"}}, 400, "question is empty"),
    "control characters only": ("POST", "/ask", {"json": {"question": "\x1b\x07"}}, 400, "empty"),
    "empty query": ("GET", "/search", {"params": {"q": ""}}, 400, "empty"),
    "no query": ("GET", "/search", {}, 400, "q: Field required"),
    "k zero": ("GET", "/search", {"params": {"q": "x", "k": 0}}, 400, "k: Input should be"),
    "k too big": ("POST", "/ask", {"json": {"question": "x", "k": 51}}, 400, "less than or equal to 50"),  # noqa: E501
    "k not a number": ("GET", "/search", {"params": {"q": "x", "k": "many"}}, 400, "k: "),
    "bad date": ("GET", "/search", {"params": {"q": "x", "since": "2023-13"}}, 400, "no month 13"),
    "not a date": ("POST", "/ask", {"json": {"question": "x", "until": "May"}}, 400, "dates are YYYY"),  # noqa: E501
    "since after until": ("GET", "/search", {"params": {"q": "x", "since": "2024", "until": "2023"}}, 400, "is after"),  # noqa: E501
    "question not text": ("POST", "/ask", {"json": {"question": 5}}, 400, "question: "),
    "unknown field": ("POST", "/ask", {"json": {"question": "x", "kk": 2}}, 400, "kk: Extra inputs"),  # noqa: E501
    "invalid JSON": ("POST", "/ask", {"content": b"{bad", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),  # noqa: E501
    "form body": ("POST", "/ask", {"data": {"question": "x"}}, 400, "must be a JSON object"),
    "oversized body": ("POST", "/ask", {"json": {"question": LONG}}, 413, "over the 64 KiB limit"),
    "oversized chunked body": ("POST", "/ask", {"content": _chunks}, 413, "64 KiB"),
    "unknown document": ("GET", "/documents/nothing%23here", {}, 404, "no document 'nothing#here'"),
    "unknown route": ("GET", "/nowhere", {}, 404, "no route /nowhere"),
    "wrong method": ("GET", "/ask", {}, 405, "Method Not Allowed"),
}  # fmt: skip


@pytest.mark.parametrize("name", BAD_REQUESTS)
def test_bad_input_is_a_4xx_with_one_line(client, name):
    method, path, options, status, words = BAD_REQUESTS[name]
    if callable(options.get("content")):
        options = {**options, "content": options["content"]()}
    response = client.request(method, path, **options)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and words in body["error"], body
    assert "\n" not in body["error"] and "Traceback" not in response.text


def test_the_token_is_required_everywhere_but_health(server):
    with httpx.Client(base_url=server.url, timeout=30) as bare:
        for path in ("/search?q=border", "/sources", "/openapi.json", "/documents?id=x"):
            refused = bare.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"] == "Bearer"
            assert "Authorization: Bearer" in refused.json()["error"]
        assert bare.post("/ask", json={"question": QUESTION}).status_code == 401
        wrong = {"authorization": f"Bearer {TOKEN}x"}
        assert bare.get("/sources", headers=wrong).status_code == 401
        assert bare.get("/sources", headers={"authorization": TOKEN}).status_code == 401
        assert bare.get("/health").status_code == 200
        lower = {"authorization": f"bearer {TOKEN}"}  # the scheme is case-insensitive
        assert bare.get("/sources", headers=lower).status_code == 200


def test_a_web_page_cannot_reach_the_loopback_server_by_rebinding_its_name(server):
    # DNS rebinding: a page at evil.example points its name at 127.0.0.1, then asks as
    # its own origin. The request says Host: evil.example (and its Origin, if a browser
    # sends one); the server answers only to its loopback names.
    headers = {"authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=server.url, timeout=30, headers=headers) as client:
        refused = client.get("/sources", headers={"host": "evil.example:8321"})
        assert refused.status_code == 421
        assert "not 'evil.example'" in refused.json()["error"]
        assert client.get("/health", headers={"host": "evil.example"}).status_code == 421
        cross_site = client.get("/sources", headers={"origin": "http://evil.example"})
        assert cross_site.status_code == 403
        port = server.url.rsplit(":", 1)[1]
        for name in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
            assert client.get("/sources", headers={"host": name}).status_code == 200, name
        assert client.get("/sources", headers={"origin": f"http://localhost:{port}"}).is_success


# -- streaming with a language model ------------------------------------------------------


@pytest.fixture(scope="module")
def scripted():
    chat = ScriptedServer()
    yield chat
    chat.close()


@pytest.fixture(scope="module")
def llm_server(corpus, scripted):
    served = Served(corpus[1], "--llm", scripted.url, env={"ASSISTANT_LLM_TIMEOUT": "10"})
    yield served
    served.stop()
    assert "Traceback" not in served.stderr()


def read_events(response: httpx.Response) -> list[tuple[str, dict, float]]:
    """(event, data, seconds since the request) for each server-sent event."""
    started, events, event = time.monotonic(), [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[len("event: ") :]
        elif line.startswith("data: "):
            events.append((event, json.loads(line[len("data: ") :]), time.monotonic() - started))
    return events


def test_ask_streams_the_models_text_then_the_whole_answer(llm_server, scripted):
    scripted.mode, scripted.reply, scripted.piece_delay = "stream", GOOD_REPLY, 0.05
    body = {"question": QUESTION, "stream": True}
    with httpx.stream("POST", f"{llm_server.url}/ask", json=body, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response)
    kinds = [kind for kind, _, _ in events]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"text"} and len(kinds) > 10
    text = "".join(data["text"] for kind, data, _ in events if kind == "text")
    answer = events[-1][1]
    assert text == GOOD_REPLY == answer["llm"]["raw"]
    assert answer["mode"] == "llm" and answer["citations"] and answer["notice"] is None
    assert_quotes_reproduce(answer)
    # Sent as written: the first piece arrives well before the answer is complete.
    assert events[-1][2] - events[0][2] > 0.5


def test_a_failing_model_streams_the_extractive_answer_with_its_notice(llm_server, scripted):
    scripted.mode, scripted.status = "status", 503
    body = {"question": QUESTION, "stream": True}
    try:
        with httpx.stream("POST", f"{llm_server.url}/ask", json=body, timeout=60) as response:
            events = read_events(response)
    finally:
        scripted.mode = "stream"
    ((kind, answer, _),) = events
    assert kind == "answer" and answer["mode"] == "extractive" and answer["citations"]
    assert "showing the extractive answer instead" in answer["notice"]
    assert answer["warnings"][0] == answer["notice"]


def test_streaming_refuses_bad_input_before_any_event(llm_server):
    empty = httpx.post(f"{llm_server.url}/ask", json={"question": " ", "stream": True})
    assert empty.status_code == 400 and empty.json() == {"error": "the question is empty"}
    abstained = httpx.post(
        f"{llm_server.url}/ask", json={"question": "What is the GDP of Japan?", "stream": True}
    )
    events = [line for line in abstained.text.splitlines() if line.startswith("event: ")]
    assert events == ["event: answer"] and '"abstained": true' in abstained.text


# -- the command ------------------------------------------------------------------------


def test_another_address_than_loopback_draws_a_warning(corpus):
    served = Served(corpus[1], "--host", "0.0.0.0")
    try:
        port = served.url.rsplit(":", 1)[1]
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
    finally:
        served.stop()
    assert "warning: listening on 0.0.0.0, not 127.0.0.1" in served.stderr()
    assert "set ASSISTANT_API_TOKEN" in served.stderr()


def test_a_port_in_use_and_an_empty_token_are_one_line_errors(corpus):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [
            sys.executable,
            "-m",
            "assistant.frontends.cli",
            "serve",
            "--index",
            str(corpus[1]),
        ]
        busy = subprocess.run(
            [*command, "--port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert busy.returncode == 2, busy.stderr
    assert busy.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert len(busy.stderr.splitlines()) == 1 and "choose another --port" in busy.stderr
    empty = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "ASSISTANT_API_TOKEN": " "},
    )
    assert empty.returncode == 2 and "ASSISTANT_API_TOKEN is set but empty" in empty.stderr


def test_help_does_not_import_the_web_stack():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from assistant.frontends.cli import main\n"
        "for args in (['--help'], ['serve', '--help']):\n"
        "    result = CliRunner().invoke(main, args)\n"
        "    assert result.exit_code == 0, result.output\n"
        "print(result.output)\n"
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'pydantic') if m in sys.modules))\n"  # noqa: E501
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.rstrip().endswith("[]")
    assert "--host" in result.stdout and "ASSISTANT_API_TOKEN" in result.stdout
