"""Who said what: ``Index.statements`` and ``assistant said`` on a small corpus of two
outlets quoting three people on a harbour toll (one quote reported by both), a story
with no statement, and the seeds' "132-km border" with the real model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import SaidSpeaker, SaidStatement, WhoSaid
from assistant.frontends.said_view import columns, markdown_table
from assistant.query.said import name_and_role

HERALD = """---
title: Toll dispute at the Tarsk harbour
date: 2024-05-02
outlet: The Harbour Herald
---

The port of Tarsk raised its harbour toll on Monday, angering shipping firms.

“The new harbour toll is fair and long overdue,” said Mayor Anna Kovac.

“The harbour toll will drive ships to rival ports,” said Velmar Shipping chief executive Lars Holm.
"""
COURIER = """---
title: Mayor defends the harbour toll
date: 2024-05-03
outlet: Coast Courier
---

“The new harbour toll is fair and long overdue,” Mayor Anna Kovac told reporters on Tuesday.

Fishermen's union leader Piet Brandt said that the harbour toll would ruin the small boats of Tarsk.

“Our members cannot pay the harbour toll twice a day,” Brandt said.
"""
WEATHER = """---
title: Wet June in Tarsk
date: 2024-06-30
outlet: Coast Courier
---

The June rainfall record in Tarsk was broken on Sunday, the third wet June in a row.

Heavy rain fell on the Tarsk hills all week, and the river rose by two metres.
"""
TOPIC = "the harbour toll"
NARRATIVE_ONLY = "the June rainfall record"


@pytest.fixture(scope="module")
def toll_index(tmp_path_factory, fake_encoder) -> Path:
    from assistant import IndexWriter

    folder = tmp_path_factory.mktemp("toll")
    docs = folder / "docs"
    docs.mkdir()
    for name, text in (("herald.md", HERALD), ("courier.md", COURIER), ("weather.md", WEATHER)):
        (docs / name).write_text(text, encoding="utf-8")
    IndexWriter(folder / "index", encoder=fake_encoder).build([str(docs)])
    return folder / "index"


@pytest.fixture(scope="module")
def toll(toll_index, fake_encoder):
    from assistant import Index

    index = Index(toll_index, encoder=fake_encoder)
    yield index
    index.close()


def _names(said: WhoSaid) -> list[str]:
    return [speaker.speaker for speaker in said.speakers]


# -- the library -----------------------------------------------------------------------


def test_every_speaker_on_the_topic_with_verbatim_quotes_most_statements_first(toll):
    said = toll.statements(TOPIC)
    assert not said.abstained and said.reason is None
    assert _names(said) == ["Piet Brandt", "Lars Holm", "Anna Kovac"]
    brandt = said.speakers[0]
    assert (brandt.role, brandt.side) == ("Fishermen's union leader", None)
    assert [s.quote for s in brandt.statements] == [
        "that the harbour toll would ruin the small boats of Tarsk.",
        "Our members cannot pay the harbour toll twice a day,",
    ]
    for speaker in said.speakers:
        for statement in speaker.statements:
            for where in (statement.where, *statement.also_in):
                text = toll.document_text(where.doc_id)
                assert text[where.start : where.end] == statement.quote
            assert statement.passage.start <= statement.start < statement.end
            assert statement.end <= statement.passage.end


def test_the_same_words_from_two_outlets_are_one_statement_with_both_sources(toll):
    kovac = toll.statements(TOPIC).speakers[-1]
    [statement] = kovac.statements
    assert statement.quote == "The new harbour toll is fair and long overdue,"
    assert (statement.outlet, statement.published) == ("The Harbour Herald", "2024-05-02")
    [other] = statement.also_in
    assert (other.outlet, other.published, other.paragraph) == ("Coast Courier", "2024-05-03", 2)


def test_filters_and_k_restrict_the_speakers(toll):
    courier = toll.statements(TOPIC, source="Coast Courier")
    assert "Lars Holm" not in _names(courier)
    assert all(s.outlet == "Coast Courier" for sp in courier.speakers for s in sp.statements)
    assert _names(toll.statements(TOPIC, k=1)) == ["Piet Brandt"]
    late = toll.statements(TOPIC, since="2024-05-03")
    assert all(s.published >= "2024-05-03" for sp in late.speakers for s in sp.statements)
    nothing = toll.statements(TOPIC, source="No Such Outlet")
    assert nothing.abstained and "no document matches the filter" in nothing.reason


def test_a_topic_nobody_is_quoted_on_is_refused_with_the_nearest_passages(toll):
    said = toll.statements(NARRATIVE_ONLY)
    assert said.abstained and not said.speakers
    assert said.reason == "the passages that cover it quote nobody"
    assert "June rainfall record" in said.nearest[0].passage.text
    absent = toll.statements("the lighthouse of Orsk")
    assert absent.abstained and absent.reason.startswith("the sources never mention")


def test_bad_arguments_are_usage_errors(toll):
    from assistant import UsageError

    with pytest.raises(UsageError):
        toll.statements("   ")
    with pytest.raises(UsageError):
        toll.statements(TOPIC, k=0)


def test_names_are_split_from_the_roles_the_sources_give():
    assert name_and_role(
        "Brigadier General Kioumars Heydari, commander of Iran’s Ground Force"
    ) == (
        "Kioumars Heydari",
        "Brigadier General, commander of Iran’s Ground Force",
    )
    assert name_and_role("Azeri Foreign Ministry press manager Leyla Abdullyeva") == (
        "Leyla Abdullyeva",
        "Azeri Foreign Ministry press manager",
    )
    assert name_and_role("Azerbaijan’s Ministry of Defense") == (
        "Azerbaijan’s Ministry of Defense",
        None,
    )


# -- the side-by-side view and its export ------------------------------------------------


def _statement(quote: str, published: str | None, doc: str = "a.txt") -> SaidStatement:
    from assistant.types import Passage, Reported

    passage = Passage(1, doc, doc, 1, 0, len(quote), quote)
    where = Reported(doc, doc, "T", "Outlet", published, 1, 0, len(quote))
    return SaidStatement(quote, where, passage, "x")


def test_columns_are_sides_when_known_else_speakers_and_the_export_is_a_table():
    iran = SaidSpeaker("Heydari", None, "Iran", (_statement("we will | resist", None),))
    baku = SaidSpeaker(
        "Defence Ministry",
        None,
        "Azerbaijan",
        (_statement("no foreign forces", "2023-04-02"), _statement("slander", "2021-10-04")),
    )
    said = WhoSaid("Zionist elements", (baku, iran))
    assert [name for name, _ in columns(said)] == ["Azerbaijan", "Iran"]
    assert [s.quote for _, s in columns(said)[0][1]] == ["slander", "no foreign forces"]
    assert markdown_table(said) == (
        "# Who said what: Zionist elements\n\n"
        "| Azerbaijan | Iran |\n"
        "|---|---|\n"
        "| **2021-10-04** Defence Ministry (Azerbaijan): “slander” — a.txt ¶1"
        " | **undated** Heydari (Iran): “we will \\| resist” — a.txt ¶1 |\n"
        "| **2023-04-02** Defence Ministry (Azerbaijan): “no foreign forces” — a.txt ¶1 |  |\n"
    )
    sideless = WhoSaid("t", (SaidSpeaker("A", None, None, ()), SaidSpeaker("B", None, None, ())))
    assert [name for name, _ in columns(sideless)] == ["A", "B"]


# -- the command line ------------------------------------------------------------------


def test_cli_lists_speakers_with_dated_sourced_quotes(cli, fake_model, toll_index):
    result = cli("said", TOPIC, "--index", toll_index)
    assert result.exit_code == 0, result.output
    herald, courier = (
        toll_index.parent / "docs" / "herald.md",
        toll_index.parent / "docs" / "courier.md",
    )
    assert result.output == (
        f"Who said what on “{TOPIC}” (3 speakers, 4 statements):\n"
        "\n"
        "Piet Brandt — Fishermen's union leader\n"
        "  2024-05-03  “that the harbour toll would ruin the small boats of Tarsk.”\n"
        f"              Coast Courier — Mayor defends the harbour toll — {courier} ¶3,"
        " characters 222–280\n"
        "  2024-05-03  “Our members cannot pay the harbour toll twice a day,”\n"
        f"              Coast Courier — Mayor defends the harbour toll — {courier} ¶4,"
        " characters 283–335\n"
        "\n"
        "Lars Holm — Velmar Shipping chief executive\n"
        "  2024-05-02  “The harbour toll will drive ships to rival ports,”\n"
        f"              The Harbour Herald — Toll dispute at the Tarsk harbour — {herald} ¶4,"
        " characters 247–296\n"
        "\n"
        "Anna Kovac — Mayor\n"
        "  2024-05-02  “The new harbour toll is fair and long overdue,”\n"
        f"              The Harbour Herald — Toll dispute at the Tarsk harbour — {herald} ¶3,"
        " characters 174–220\n"
        f"              also 2024-05-03: Coast Courier — Mayor defends the harbour toll — {courier}"
        " ¶2, characters 87–133\n"
        "              (reported by The Harbour Herald and Coast Courier)\n"
    )


def test_cli_timeline_is_one_line_a_statement_in_date_order(cli, fake_model, toll_index):
    result = cli("said", TOPIC, "--index", toll_index, "--timeline")
    assert result.exit_code == 0, result.output
    herald, courier = (
        toll_index.parent / "docs" / "herald.md",
        toll_index.parent / "docs" / "courier.md",
    )
    assert result.output.splitlines() == [
        f"Timeline of what was said on “{TOPIC}” (3 speakers, 4 statements):",
        f"2024-05-02  Anna Kovac: “The new harbour toll is fair and long overdue,” — {herald} ¶3"
        " (+1 more)",
        f"2024-05-02  Lars Holm: “The harbour toll will drive ships to rival ports,” — {herald} ¶4",
        f"2024-05-03  Piet Brandt: “that the harbour toll would ruin the small boats of Tarsk.”"
        f" — {courier} ¶3",
        f"2024-05-03  Piet Brandt: “Our members cannot pay the harbour toll twice a day,”"
        f" — {courier} ¶4",
    ]


def test_cli_json_is_the_public_contract(cli, fake_model, toll_index):
    result = cli("said", TOPIC, "--index", toll_index, "--json", "--since", "2024-05-01")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"topic", "speakers", "abstained", "reason"} <= set(data)
    assert data["topic"] == TOPIC and data["abstained"] is False and data["reason"] is None
    assert data["filter"]["since"] == "2024-05-01"
    speaker = data["speakers"][-1]
    assert {"speaker", "role", "side", "statements"} <= set(speaker)
    [statement] = speaker["statements"]
    fields = {"quote", "doc_id", "source", "title", "outlet", "published", "paragraph"}
    assert fields | {"start", "end", "also_in"} <= set(statement)
    assert statement["also_in"][0]["outlet"] == "Coast Courier"


def test_cli_abstains_with_the_reason_and_the_nearest_passages(cli, fake_model, toll_index):
    result = cli("said", NARRATIVE_ONLY, "--index", toll_index)
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "No one is quoted on this: the passages that cover it quote nobody."
    assert lines[2] == "Nearest passages:"
    assert lines[3] == "[1] Wet June in Tarsk — Coast Courier, 2024-06-30"
    data = json.loads(cli("said", NARRATIVE_ONLY, "--index", toll_index, "--json").output)
    assert data["abstained"] is True and data["speakers"] == []
    assert data["reason"] == "the passages that cover it quote nobody" and data["nearest"]


def test_cli_errors_are_one_line_and_an_exit_code(cli, fake_model, toll_index, tmp_path):
    empty = cli("said", "  ", "--index", toll_index)
    assert (empty.exit_code, empty.output) == (2, "error: the question is empty\n")
    missing = cli("said", TOPIC, "--index", tmp_path / "none")
    assert missing.exit_code == 4 and missing.output.startswith("error: ")
    bad_date = cli("said", TOPIC, "--index", toll_index, "--since", "May")
    assert bad_date.exit_code == 2 and bad_date.output.count("\n") == 1


# -- the seeds, with the real model ------------------------------------------------------


@pytest.mark.model
def test_seeds_132_km_border_holds_the_defence_ministry_from_both_reports(cli, seeds_index_dir):
    from assistant import Index

    result = cli("said", "132-km border", "--index", seeds_index_dir, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["abstained"] is False
    ministry = [s for s in data["speakers"] if "Minist" in s["speaker"]]
    assert ministry and ministry[0]["side"] == "Azerbaijan"
    documents = {Path(s["doc_id"]).stem[:3] for s in ministry[0]["statements"]}
    assert {"002", "004"} <= documents
    with Index(seeds_index_dir) as index:
        for speaker in data["speakers"]:
            for statement in speaker["statements"]:
                text = index.document_text(statement["doc_id"])
                assert text[statement["start"] : statement["end"]] == statement["quote"]
        nobody = index.statements("the Caspian Sea fishing quotas")
        assert nobody.abstained and nobody.reason


@pytest.mark.model
def test_questions_and_who_said_what_load_no_parser(seeds_index_dir):
    """Statements are found at index time (by patterns, or by spaCy's parse when asked);
    the query path reads them from the index and never imports spaCy (nor torch)."""
    import subprocess
    import sys

    code = (
        "import sys; from assistant import Index;"
        f"index = Index({str(seeds_index_dir)!r});"
        "index.ask('What did Azerbaijan say about the 132-km border?');"
        "index.statements('132-km border');"
        "print(sorted(m for m in ('spacy', 'thinc', 'torch') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# -- HTTP and MCP ----------------------------------------------------------------------


@pytest.fixture
def http_client(toll):
    from fastapi.testclient import TestClient

    from assistant.frontends.http import create_app

    with TestClient(create_app(toll)) as client:
        yield client


def test_http_said_gives_the_json_of_the_cli(http_client, cli, fake_model, toll_index):
    answered = http_client.get("/said", params={"topic": TOPIC, "source": "Coast Courier"})
    assert answered.status_code == 200
    expected = json.loads(cli("said", TOPIC, "--index", toll_index, "--json",
                              "--source", "Coast Courier").output)  # fmt: skip
    assert answered.json() == expected
    refused = http_client.get("/said", params={"topic": NARRATIVE_ONLY}).json()
    assert refused["abstained"] is True and refused["reason"]
    assert http_client.get("/said", params={"topic": " "}).status_code == 400
    assert http_client.get("/said", params={"topic": TOPIC, "k": 0}).status_code == 400
    schema = http_client.get("/openapi.json").json()["paths"]["/said"]["get"]
    assert {p["name"] for p in schema["parameters"]} >= {"topic", "k", "since", "until", "source"}
    assert "400" in schema["responses"] and "422" not in schema["responses"]


def test_the_mcp_tool_gives_the_json_of_the_cli_with_documents(toll, cli, fake_model, toll_index):
    from assistant.frontends.mcp import IndexTools

    tools = IndexTools(toll_index)
    tools._index = toll  # opened with the fake encoder the index was built with
    found = tools.who_said(TOPIC, k=2)
    expected = json.loads(cli("said", TOPIC, "--index", toll_index, "--json", "-k", "2").output)
    assert [s["speaker"] for s in found["speakers"]] == ["Piet Brandt", "Lars Holm"]
    for mine, theirs in zip(found["speakers"], expected["speakers"], strict=True):
        for statement, cli_statement in zip(mine["statements"], theirs["statements"], strict=True):
            assert statement.items() >= cli_statement.items()
            assert statement["addresses_model"] is False
    refused = tools.who_said(NARRATIVE_ONLY)
    assert refused["abstained"] and refused["nearest"][0]["title"] == "Wet June in Tarsk"
