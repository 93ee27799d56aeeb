"""Identifiers from config are validated and quoted; literals are escaped."""

import duckdb
import pytest

from rai_pipeline.core.engine import sql
from rai_pipeline.core.engine.sql import (
    MSG_INVALID_IDENTIFIER,
    MSG_INVALID_RELATION,
    MSG_LITERAL_NOT_STRING,
    MSG_LITERAL_NUL,
    InvalidIdentifierError,
    qualified_relation,
    quote_identifier,
    quote_literal,
)

INJECTIONS = [
    'label"; DROP TABLE ev; --',
    "label; DROP TABLE ev",
    "a b",
    "1abc",
    "",
    "a.b",
    "naïve",
    "race\n",
    'x"y',
]


@pytest.mark.parametrize("name", ["race", "_private", "Model_Version2", "a"])
def test_valid_identifier_is_double_quoted(name):
    assert quote_identifier(name) == f'"{name}"'


@pytest.mark.parametrize("name", [*INJECTIONS, None, 5])
def test_identifier_breaking_the_rule_is_rejected_with_its_value(name):
    with pytest.raises(InvalidIdentifierError) as raised:
        quote_identifier(name)
    assert str(raised.value) == MSG_INVALID_IDENTIFIER.format(value=name)
    assert raised.value.value == name
    assert isinstance(raised.value, ValueError)


def test_identifier_message_names_the_rule():
    assert sql.IDENTIFIER_RULE in MSG_INVALID_IDENTIFIER.format(value="x y")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("eval_frame", '"eval_frame"'),
        ("marts.eval_frame", '"marts"."eval_frame"'),
        ("memory.main.eval_frame", '"memory"."main"."eval_frame"'),
    ],
)
def test_relation_parts_are_each_quoted(name, expected):
    assert qualified_relation(name) == expected


@pytest.mark.parametrize(
    "name",
    ["a..b", ".a", "a.", "a.b.c.d", '"a".b', "a.b; DROP TABLE x", "a.b c", "", None],
)
def test_relation_breaking_the_rule_is_rejected(name):
    with pytest.raises(InvalidIdentifierError) as raised:
        qualified_relation(name)
    assert str(raised.value) == MSG_INVALID_RELATION.format(value=name)


@pytest.mark.parametrize(
    "value",
    ["plain", "O'Brien", "'; DROP TABLE ev; --", "''", "back\\slash", "Ünïcødé & more", ""],
)
def test_literal_round_trips_through_duckdb(value):
    conn = duckdb.connect()
    assert conn.execute(f"SELECT {quote_literal(value)}").fetchone() == (value,)


def test_literal_doubles_single_quotes():
    assert quote_literal("it's") == "'it''s'"


def test_literal_rejects_non_strings_and_nul():
    with pytest.raises(TypeError) as raised:
        quote_literal(3)
    assert str(raised.value) == MSG_LITERAL_NOT_STRING.format(type_name="int")
    with pytest.raises(ValueError) as raised_nul:
        quote_literal("a\x00b")
    assert str(raised_nul.value) == MSG_LITERAL_NUL


def test_quoted_identifier_selects_the_column_and_nothing_else():
    conn = duckdb.connect()
    conn.execute("CREATE TABLE ev AS SELECT 1 AS label")
    assert conn.execute(f"SELECT {quote_identifier('label')} FROM ev").fetchall() == [(1,)]
