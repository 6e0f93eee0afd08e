"""The carry's statements as static SQL inside a PL/pgSQL trigger function.

The carry builds each statement for an id range `[low, high)` with bound parameters. A trigger applies the
same statement to one row: the range becomes `[NEW.id, NEW.id + 1)`, and the other parameters become SQL
literals (quoted by psycopg). The statements are built with marker values where the trigger's variables
go; `render` puts the variables there and inlines everything else, so the trigger runs the carry's rule
itself, not a copy of it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from psycopg import sql

from legacy_dm.carry.batches import SQLParam, Statement

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

# Marker values, passed to the carry's statement builders in place of the range and the migration time.
# No real id or time is ever one of them.
LOW = -(2**62) + 17
HIGH = -(2**62) + 18
NOW = "\x00now"

# What the trigger functions put where the markers are bound.
VARIABLES: dict[SQLParam, str] = {LOW: "p_low", HIGH: "p_high", NOW: "now()"}

_PLACEHOLDER = re.compile(r"%s|%%")
_END = object()


def render(connection: BaseDatabaseWrapper, statement: Statement) -> str:
    """`statement` as one static SQL text: markers replaced by the trigger's variables, the rest quoted."""
    text, params = statement
    connection.ensure_connection()
    values = iter(params)

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        param = next(values)
        if param in VARIABLES and type(param) in (int, str):
            return VARIABLES[param]
        return sql.Literal(param).as_string(connection.connection)

    rendered = _PLACEHOLDER.sub(value, text)
    if next(values, _END) is not _END:
        raise ValueError("more parameters than placeholders")
    return rendered.strip()


def render_all(connection: BaseDatabaseWrapper, statements: list[Statement]) -> str:
    """Several statements, each ended by `;`, one after the other."""
    return "\n".join(render(connection, statement) + ";" for statement in statements)
