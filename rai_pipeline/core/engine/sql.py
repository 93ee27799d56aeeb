"""Identifiers and literals that may safely be placed into generated SQL.

Column and relation names come from configuration files, so every one of them is checked
against a strict rule and double-quoted before it reaches a query; values are bound as
parameters wherever the engine allows it, and :func:`quote_literal` covers the rest.

Examples
--------
>>> quote_identifier("model_version")
'"model_version"'
>>> qualified_relation("marts.eval_frame")
'"marts"."eval_frame"'
>>> quote_literal("O'Brien")
"'O''Brien'"
"""

from __future__ import annotations

import re
from typing import Any

IDENTIFIER_RULE = "^[A-Za-z_][A-Za-z0-9_]*$"
MAX_RELATION_PARTS = 3

MSG_INVALID_IDENTIFIER = (
    "invalid SQL identifier {value!r}: an identifier must match " + IDENTIFIER_RULE
)
MSG_INVALID_RELATION = (
    "invalid relation {value!r}: expected 'table', 'schema.table' or 'catalog.schema.table', "
    "each part matching " + IDENTIFIER_RULE
)
MSG_LITERAL_NOT_STRING = "a SQL string literal must be built from a str, got {type_name}"
MSG_LITERAL_NUL = "a SQL string literal cannot contain a NUL character"

_IDENTIFIER = re.compile(IDENTIFIER_RULE)


class InvalidIdentifierError(ValueError):
    """A name that was meant for SQL broke the identifier rule.

    Attributes
    ----------
    value : object
        The rejected value, as received.
    """

    def __init__(self, message: str, *, value: object) -> None:
        super().__init__(message)
        self.value = value


def is_identifier(name: object) -> bool:
    """Whether ``name`` is a ``str`` matching :data:`IDENTIFIER_RULE`."""
    return isinstance(name, str) and _IDENTIFIER.fullmatch(name) is not None


def quote_identifier(name: str) -> str:
    """Validate a column or table name and return it double-quoted.

    Parameters
    ----------
    name : str
        A bare name matching ``^[A-Za-z_][A-Za-z0-9_]*$``.

    Returns
    -------
    str
        ``name`` wrapped in double quotes, ready for SQL.

    Raises
    ------
    InvalidIdentifierError
        If ``name`` is not a string or breaks the rule (message :data:`MSG_INVALID_IDENTIFIER`).

    Examples
    --------
    >>> quote_identifier("race")
    '"race"'
    """
    if not is_identifier(name):
        raise InvalidIdentifierError(MSG_INVALID_IDENTIFIER.format(value=name), value=name)
    return f'"{name}"'


def qualified_relation(name: str) -> str:
    """Validate a dotted relation name and return it with every part quoted.

    Parameters
    ----------
    name : str
        ``table``, ``schema.table`` or ``catalog.schema.table``; each part must match
        :data:`IDENTIFIER_RULE`.

    Returns
    -------
    str
        The quoted parts joined by dots, e.g. ``"marts"."eval_frame"``.

    Raises
    ------
    InvalidIdentifierError
        If the name is not a string, has more than three parts, or a part breaks the rule
        (message :data:`MSG_INVALID_RELATION`).
    """
    parts = name.split(".") if isinstance(name, str) else []
    if not 1 <= len(parts) <= MAX_RELATION_PARTS or not all(map(is_identifier, parts)):
        raise InvalidIdentifierError(MSG_INVALID_RELATION.format(value=name), value=name)
    return ".".join(f'"{part}"' for part in parts)


def quote_literal(value: str) -> str:
    """Return ``value`` as a single-quoted SQL string literal (single quotes doubled).

    Prefer bound parameters; use this only where the engine cannot bind a value.

    Parameters
    ----------
    value : str
        Any string without NUL characters.

    Returns
    -------
    str
        The literal, e.g. ``'O''Brien'`` for ``O'Brien``.

    Raises
    ------
    TypeError
        If ``value`` is not a ``str`` (message :data:`MSG_LITERAL_NOT_STRING`).
    ValueError
        If ``value`` contains a NUL character (message :data:`MSG_LITERAL_NUL`).
    """
    if not isinstance(value, str):
        raise TypeError(MSG_LITERAL_NOT_STRING.format(type_name=type(value).__name__))
    if "\x00" in value:
        raise ValueError(MSG_LITERAL_NUL)
    return "'" + value.replace("'", "''") + "'"


def relation_columns(conn: Any, relation: str) -> list[str]:
    """The column names of ``relation`` (a table, view or table function call, given as SQL)
    in order, on any engine the slice engine runs on: from an empty ``select *``, where
    ``describe`` is DuckDB's alone.

    Examples
    --------
    >>> import duckdb
    >>> conn = duckdb.connect()
    >>> _ = conn.execute("create table t (example_id int, age int, sex varchar)")
    >>> relation_columns(conn, "t")
    ['example_id', 'age', 'sex']
    """
    return [str(name) for name in conn.execute(f"select * from {relation} limit 0").df().columns]
