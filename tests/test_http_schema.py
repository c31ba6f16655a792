"""The OpenAPI schema of `assistant serve` says what is sent and what is taken: each
route's 200 JSON validates against its response schema (an answer by a model, one
that abstains, search results with a filter, sources, a document, health), errors
against ErrorBody, and the request schemas refuse what the server refuses for its
shape (an empty question). schemathesis checks the same on generated requests
(tests/test_http_fuzz.py); these are the answers it rarely reaches."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from tests.llm_servers import ScriptedServer
from tests.test_http_api import GOOD_REPLY, QUESTION, Served

httpx = pytest.importorskip("httpx")


@pytest.fixture(scope="module")
def model():
    chat = ScriptedServer()
    chat.mode, chat.reply = "stream", GOOD_REPLY
    yield chat
    chat.close()


@pytest.fixture(scope="module")
def server(seeds_index_dir, model):
    served = Served(seeds_index_dir, "--llm", model.url, env={"ASSISTANT_LLM_TIMEOUT": "30"})
    yield served
    served.stop()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=120) as session:
        yield session


@pytest.fixture(scope="module")
def schema(client) -> dict:
    return client.get("/openapi.json").json()


def validator(schema: dict, node: dict) -> Draft202012Validator:
    """A validator of ``node`` whose ``#/components/...`` references resolve in ``schema``."""
    return Draft202012Validator({**node, "components": schema["components"]})


def response_schema(schema: dict, path: str, method: str, status: str = "200") -> dict:
    responses = schema["paths"][path][method]["responses"]
    return responses[status]["content"]["application/json"]["schema"]


def assert_fits(schema: dict, path: str, method: str, response: httpx.Response) -> None:
    status = str(response.status_code)
    documented = schema["paths"][path][method]["responses"]
    node = response_schema(schema, path, method, status if status in documented else "default")
    assert node != {"type": "string"}
    problems = [error.message for error in validator(schema, node).iter_errors(response.json())]
    assert not problems, problems[:3]


def test_every_200_json_is_described_not_a_string(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            node = response_schema(schema, path, method)
            assert node.get("$ref", "").startswith("#/components/schemas/"), (path, method)
            assert "default" in operation["responses"]


def test_answers_fit_the_schema(client, schema, model):
    by_model = client.post("/ask", json={"question": QUESTION, "k": 2})
    assert by_model.json()["mode"] == "llm" and by_model.json()["llm"]["sentences"]
    assert_fits(schema, "/ask", "post", by_model)
    abstained = client.post("/ask", json={"question": "What is the GDP of Japan?"})
    assert abstained.json()["abstained"] and abstained.json()["nearest"]
    assert_fits(schema, "/ask", "post", abstained)
    model.mode = "status"
    try:
        fallback = client.post("/ask", json={"question": QUESTION, "since": "2023"})
    finally:
        model.mode = "stream"
    assert fallback.json()["mode"] == "extractive" and fallback.json()["llm"]["error"]
    assert_fits(schema, "/ask", "post", fallback)


def test_the_other_routes_fit_the_schema(client, schema):
    found = client.get("/search", params={"q": "border", "since": "2023", "lang": "en"})
    assert found.status_code == 200 and found.json()["filter"]
    assert_fits(schema, "/search", "get", found)
    assert_fits(schema, "/search", "get", client.get("/search", params={"q": "border"}))
    sources = client.get("/sources")
    assert_fits(schema, "/sources", "get", sources)
    doc_id = client.get("/search", params={"q": "border"}).json()["results"][0]["doc_id"]
    document = client.get("/documents", params={"id": doc_id})
    assert_fits(schema, "/documents", "get", document)
    assert_fits(schema, "/health", "get", client.get("/health"))
    missing = client.get("/documents", params={"id": "nothing"})
    assert missing.status_code == 404
    assert_fits(schema, "/documents", "get", missing)
    too_big = client.post("/ask", json={"question": "x" * 70_000})
    assert too_big.status_code == 413
    assert_fits(schema, "/ask", "post", too_big)  # under "default"


@pytest.mark.parametrize("question", ["", " \t\n", "\x1b\x07", "\u200b"])
def test_a_question_the_server_refuses_as_empty_does_not_fit_the_schema(client, schema, question):
    body = schema["components"]["schemas"]["AskRequest"]
    assert not validator(schema, body).is_valid({"question": question})
    assert client.post("/ask", json={"question": question}).status_code == 400
    (q,) = [p for p in schema["paths"]["/search"]["get"]["parameters"] if p["name"] == "q"]
    assert not validator(schema, q["schema"]).is_valid(question)


def test_a_real_question_and_dates_fit_the_schema(schema):
    body = validator(schema, schema["components"]["schemas"]["AskRequest"])
    assert body.is_valid({"question": "¿Qué dijo Azerbaiyán?", "since": "2023-04", "until": ""})
    assert not body.is_valid({"question": "x", "since": "May"})
    assert body.is_valid({"question": "x", "k": 2.0})  # an integer, for JSON Schema too


@pytest.mark.parametrize("field", [{"stream": 0}, {"k": "3"}, {"k": 2.5}, {"sources": "x"}])
def test_a_body_field_of_another_json_type_is_refused_as_the_schema_says(client, schema, field):
    body = {"question": QUESTION, **field}
    assert not validator(schema, schema["components"]["schemas"]["AskRequest"]).is_valid(body)
    refused = client.post("/ask", json=body)
    assert refused.status_code == 400 and refused.json()["error"].startswith(next(iter(field)))
