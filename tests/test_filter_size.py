"""A filter of any size works: 500 ``--source`` names are one query, not an
expression SQLite refuses as too deep. And a query SQLite refuses is called damage
(exit 10, "rebuild it") only when SQLite says the file is damaged, as ``index verify``
would."""

from __future__ import annotations

import sqlite3

import pytest

from assistant import Index
from assistant.errors import AssistantError, DatabaseCorruptError, UsageError
from assistant.filters import SearchFilter

from .conftest import SMALL_EXPECTED


def many_sources(small_index, count: int = 500) -> list[str]:
    border = str(small_index.parent / "docs" / "border.txt")
    return [f"outlet-{number}" for number in range(count - 1)] + [border]


def test_five_hundred_sources_are_one_filter(index_copy, small_index, fake_encoder):
    wanted = many_sources(small_index)
    with Index(index_copy, encoder=fake_encoder) as index:
        hits = index.search("border talks", k=3, search_filter=SearchFilter(sources=wanted))
    assert hits and {hit.passage.source for hit in hits} == {wanted[-1]}
    assert any(SMALL_EXPECTED in hit.passage.text for hit in hits)


def test_the_cli_takes_five_hundred_sources(cli, fake_model, index_copy, small_index):
    options = [part for name in many_sources(small_index) for part in ("--source", name)]
    result = cli("search", "border talks", "--index", index_copy, *options)
    assert result.exit_code == 0, result.output
    assert "border.txt" in result.stdout
    assert "damaged" not in result.output


def test_a_filter_naming_nothing_indexed_finds_nothing(index_copy, fake_encoder):
    with Index(index_copy, encoder=fake_encoder) as index:
        none = index.search("border", k=3, search_filter=SearchFilter(sources=["NO SUCH"]))
    assert none == []


def sqlite_error(kind, message: str, code: int | None):
    error = kind(message)
    if code is not None:
        error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (sqlite_error(sqlite3.DatabaseError, "database disk image is malformed", 11), 10),
        (sqlite_error(sqlite3.DatabaseError, "file is not a database", 26), 10),
        (sqlite_error(sqlite3.OperationalError, "Expression tree is too large", 1), 2),
        (sqlite_error(sqlite3.OperationalError, "too many SQL variables", 1), 2),
        (sqlite_error(sqlite3.OperationalError, "string or blob too big", 18), 2),
        (sqlite_error(sqlite3.OperationalError, "disk I/O error", 10), 1),
        (sqlite_error(sqlite3.OperationalError, "database is locked", 5), 1),
        (sqlite_error(sqlite3.OperationalError, "no such table: passages", None), 1),
    ],
)
def test_only_damage_is_called_damage(tmp_path, error, expected):
    from assistant.frontends.cli import exit_code
    from assistant.storage.database import query_error

    said = query_error(tmp_path, error)
    assert isinstance(said, AssistantError) and exit_code(said) == expected
    assert isinstance(said, DatabaseCorruptError) == (expected == 10)
    assert isinstance(said, UsageError) == (expected == 2)
    assert ("damaged" in str(said)) == (expected == 10)
