"""What the HTTP API's OpenAPI schema says of the JSON it sends and takes.

The routes answer with the CLI's ``--json`` documents, written by
:mod:`assistant.frontends.render`, not with pydantic models, so FastAPI cannot see
their shape and would declare each as ``{"type": "string"}``. The models here describe
those documents (a test checks them against real answers, and schemathesis checks
every response it gets); :func:`describe` puts them into the schema FastAPI writes.
They leave extra fields allowed: a field added to a document does not break a client
that validates against an older schema.

The request rules that the engine checks (an empty question, a date) are written into
the schema too, so that it accepts nothing the server refuses for its shape alone.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# A question or query must hold a character that is not a space nor a control: the
# engine removes the others and refuses what is left empty ("the question is empty").
VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
# YYYY, YYYY-MM or YYYY-MM-DD (a day past the month's end is still refused, with 400).
DATE = r"^(|\s*[0-9]{4}(-(0?[1-9]|1[0-2])(-(0?[1-9]|[12][0-9]|3[01]))?)?\s*)$"
TEXT_RULE = {"minLength": 1, "pattern": VISIBLE}
DATE_RULE = {"pattern": DATE}


class Filter(BaseModel):
    since: str | None = Field(description="First day, YYYY-MM-DD.")
    until: str | None = Field(description="Last day, YYYY-MM-DD.")
    sources: list[str]
    languages: list[str]


class Passage(BaseModel):
    """A search result, or a passage offered when the answer abstains."""

    rank: int
    source: str
    doc_id: str
    paragraph: int
    start: int = Field(description="Offset of the passage in its document (code points).")
    end: int
    text: str
    score: float
    language: str | None


class Quote(BaseModel):
    start: int = Field(description="Offset in the document (code points).")
    end: int
    text: str


class Speaker(BaseModel):
    name: str
    side: str | None


class Citation(BaseModel):
    n: int
    source: str
    doc_id: str
    title: str | None
    outlet: str | None
    published: str | None
    paragraph: int
    page: int | None
    start: int = Field(description="Offset of the passage in its document (code points).")
    end: int
    text: str
    score: float
    quote: Quote
    speaker: Speaker | None
    language: str | None
    other_language: bool


class CheckedSentence(BaseModel):
    text: str
    citations: list[int]
    verified: bool
    problems: list[str]


class GivenPassage(BaseModel):
    n: int
    source: str
    paragraph: int


class LLMReport(BaseModel):
    url: str
    model: str | None
    raw: str
    sentences: list[CheckedSentence]
    removed_citations: list[int]
    tokens: dict[str, int | str] | None
    passages_given: list[GivenPassage]
    finish_reason: str | None
    error: str | None
    fallback: str | None


class AskResponse(BaseModel):
    """The answer, as ``assistant ask --json`` prints it."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    nearest: list[Passage]
    reason: str | None
    mode: Literal["extractive", "llm"]
    notice: str | None
    llm: LLMReport | None
    language: str | None
    warnings: list[str]
    filter: Filter | None


class SearchResponse(BaseModel):
    """The passages, as ``assistant search --json`` prints them."""

    query: str
    results: list[Passage]
    filter: Filter | None


class Source(BaseModel):
    source: str
    state: Literal["indexed", "changed", "missing", "skipped"]
    documents: int
    passages: int
    modified: str | None
    published: str | None
    reason: str | None
    source_chars: int
    kept_chars: int
    dropped: list[str]


class SourcesResponse(BaseModel):
    """The sources, as ``assistant index sources --json`` prints them."""

    index: str
    sources: list[Source]


class DocumentPassage(BaseModel):
    paragraph: int
    start: int = Field(description="Offset in the document's text (code points).")
    end: int
    page: int | None
    kind: Literal["head", "body", "boilerplate"]


class DocumentResponse(BaseModel):
    """One document, its whole text and where its passages are."""

    doc_id: str
    source: str
    title: str | None
    outlet: str | None
    byline: str | None
    published: str | None
    url: str | None
    page_starts: list[int]
    text: str
    passages: list[DocumentPassage]
    warnings: list[str]


class Reported(BaseModel):
    """Where a statement was reported: offsets into the document's text (code points)."""

    doc_id: str
    source: str
    title: str | None
    outlet: str | None
    published: str | None
    paragraph: int
    start: int
    end: int


class Statement(Reported):
    quote: str = Field(description="The speaker's words, verbatim at start..end.")
    said_as: str
    also_in: list[Reported]


class SaidSpeaker(BaseModel):
    speaker: str
    role: str | None
    side: str | None
    statements: list[Statement]


class SaidResponse(BaseModel):
    """Who said what on a topic, as ``assistant said --json`` prints it."""

    topic: str
    speakers: list[SaidSpeaker]
    abstained: bool
    reason: str | None
    nearest: list[Passage]
    warnings: list[str]
    filter: Filter | None


class ErrorBody(BaseModel):
    error: str = Field(description="What went wrong, on one line.")


class HealthResponse(BaseModel):
    status: Literal["ok"]
    documents: int
    passages: int
    updated_at: str


# (path, method) -> the model of its 200 response's JSON.
RESPONSES: dict[tuple[str, str], type[BaseModel]] = {
    ("/health", "get"): HealthResponse,
    ("/search", "get"): SearchResponse,
    ("/ask", "post"): AskResponse,
    ("/sources", "get"): SourcesResponse,
    ("/documents", "get"): DocumentResponse,
    ("/documents/{doc_id}", "get"): DocumentResponse,
    ("/said", "get"): SaidResponse,
}
# (path, method, parameter) -> rules the engine keeps that the schema should say.
PARAMETER_RULES = {
    ("/search", "get", "q"): TEXT_RULE,
    ("/search", "get", "since"): DATE_RULE,
    ("/search", "get", "until"): DATE_RULE,
}
BODY_RULES = {"question": TEXT_RULE, "since": DATE_RULE, "until": DATE_RULE}
# Statuses any route may answer beside those it lists, each with {"error": "..."}.
OTHER_ERRORS = (
    "Any other failure, with its status: 405 wrong method, 408 a request too slow to"
    " arrive, 413 a body over the limit, 421 or 403 another host's name, 500"
    " unexpected, 503 over the connection limit or the index unreadable."
)


def describe(schema: dict) -> None:
    """Fill FastAPI's schema in place: each route's 200 JSON, any other error, and
    the request rules."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for (path, method), model in RESPONSES.items():
        operation = schema.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        json_body = operation["responses"]["200"].setdefault("content", {})
        json_body["application/json"] = {"schema": _component(model, components)}
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            _other_errors(operation, components)
            ok = operation.get("responses", {}).get("200", {}).get("content", {})
            if ok.get("application/json", {}).get("schema") == {"type": "string"}:
                ok["application/json"]["schema"] = {"type": "object"}  # JSON, shape unsaid
    for (path, method, name), rule in PARAMETER_RULES.items():
        operation = schema.get("paths", {}).get(path, {}).get(method, {})
        for parameter in operation.get("parameters", []):
            if parameter["name"] == name:
                _add_rule(parameter["schema"], rule)
    body = components.get("AskRequest", {}).get("properties", {})
    for name, rule in BODY_RULES.items():
        if name in body:
            _add_rule(body[name], rule)


def _component(model: type[BaseModel], components: dict) -> dict:
    """A reference to ``model``, its schema (and those it uses) added to components."""
    generated = model.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(generated.pop("$defs", {}))
    components[model.__name__] = generated
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _other_errors(operation: dict, components: dict) -> None:
    if "ErrorBody" not in components:
        components["ErrorBody"] = ErrorBody.model_json_schema()
    reference = {"$ref": "#/components/schemas/ErrorBody"}
    operation.setdefault("responses", {})["default"] = {
        "description": OTHER_ERRORS,
        "content": {"application/json": {"schema": reference}},
    }


def _add_rule(field_schema: dict, rule: dict) -> None:
    """The rule on a string, also inside ``anyOf: [string, null]``."""
    if field_schema.get("type") == "string":
        field_schema.update(rule)
    for choice in field_schema.get("anyOf", []):
        if choice.get("type") == "string":
            choice.update(rule)
