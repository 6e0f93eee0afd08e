"""The one module that touches the ORM's compiler internals, so that a Django upgrade which changes them is
checked against this module and its tests (`test_hot_queries.py`; the search, list and thread tests use it):

- `precompiled_rows`: the SQL of a hot read compiled once per database and shape, run with new values;
- `sql_of`: a queryset's SQL and parameters compiled now, for SQL written around it;
- `StoredSearchVector`: the search's stored full-text column, named through the compiler's alias for the
  message table (`messaging.filters` builds the search on it).

Why precompile: compiling a query (its lookups, joins and select list) can cost the ORM several times what
the database takes to run it. The inbox and thread reads run such queries on every request with other
values: a conversation list's page, its last messages and the inbox totals (`selectors.ConversationRows`,
`attach_last_messages`, `_conversation_count`, and `unread_counts`, the unread and badge counts of every
surface), a thread's page (`selectors.ThreadPages`), and the legacy conversation list's page with its
conversation ids and its openings (`legacy_dm.conversations`). BENCHMARKS.md ("Third pass", "Issue 14's
targets") has the numbers; nothing else pays for the dependency on ORM internals, so only these reads use
`precompiled_rows`, and writes never do. `sql_of` serves the conversation summary's triggers and rebuild
(`messaging.conversations`).

How `precompiled_rows` works: `build(*values)` returns a QuerySet. It is called once per database alias and
`key` with stand-ins for the values (ids and times that no real value equals); its compiler gives SQL and
parameters, and the real values are bound where the stand-ins were. Rows are converted by that compiler (`apply_converters`, what its
own `results_iter` does), so they are what the QuerySet itself would give.

Its limits:
- `key` must name everything that changes the SQL besides the values, such as the number of ids in an
  `__in` lookup: one key, one SQL.
- Values are ids (ints) and times (aware datetimes) only; anything else is a `TypeError`.
- Every value must reach the SQL as a parameter. A value the ORM writes into the SQL itself (a slice's LIMIT
  or OFFSET) or one the query does not use is a `ValueError` when the query is compiled, never a silent
  query with a stand-in left in it.
- The cache holds at most `_COMPILED_MAX` entries and starts over past them (keys are few).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.postgres.search import SearchVectorField
from django.db import connections
from django.db.models import Expression

_STAND_IN_INT = -2_000_000_001  # minus k: never an id (ids are positive) nor another parameter of a query
# Plus k microseconds: never a stored time; year 2 stays above datetime.min under any UTC offset.
_STAND_IN_TIME = datetime(2, 1, 1, tzinfo=UTC)
_COMPILED = {}  # (database alias, key) -> _Compiled
_COMPILED_MAX = 512


def _stand_in(position: int, value):
    if isinstance(value, datetime):
        return _STAND_IN_TIME + timedelta(microseconds=position)
    if isinstance(value, int) and not isinstance(value, bool):
        return _STAND_IN_INT - position
    raise TypeError(f"precompiled queries take ids and times, not {type(value).__name__}")


def _bound(connection, value):
    """A value as the compiler puts it among a query's parameters."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


@dataclass
class _Compiled:
    """A QuerySet's SQL compiled with stand-ins, and what binds other values in their place."""

    sql: str
    params: tuple
    stand_ins: list  # as bound among `params`
    compiler: object
    _converters: dict | None = None

    def params_for(self, connection, values) -> list:
        bound = dict(zip(self.stand_ins, (_bound(connection, value) for value in values), strict=True))
        return [bound.get(param, param) for param in self.params]

    @property
    def converters(self) -> dict:
        """What the compiler does to the values it reads (`get_converters`, as its own `results_iter`)."""
        if self._converters is None:
            self._converters = self.compiler.get_converters([expression for expression, _, _ in self.compiler.select])
        return self._converters


def _compile(key, build, values, connection) -> _Compiled:
    stand_ins = [_stand_in(position, value) for position, value in enumerate(values)]
    compiler = build(*stand_ins).query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    bound = [_bound(connection, stand_in) for stand_in in stand_ins]
    missing = [stand_in for stand_in, as_param in zip(stand_ins, bound, strict=True) if as_param not in params]
    if missing:
        raise ValueError(
            f"precompiled query {key!r}: the values at positions "
            f"{[stand_ins.index(stand_in) for stand_in in missing]} are not parameters of its SQL "
            "(unused, or written into the SQL by the ORM, as a LIMIT is)"
        )
    return _Compiled(sql, tuple(params), bound, compiler)


def _compiled(key, build, values, connection) -> _Compiled:
    compiled = _COMPILED.get((connection.alias, key))
    if compiled is None:
        compiled = _compile(key, build, values, connection)
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[connection.alias, key] = compiled
    return compiled


def sql_of(queryset) -> tuple[str, tuple]:
    """The SQL and parameters of `queryset`, compiled now (for SQL written around it, such as a GROUP BY
    over a UNION, which the ORM cannot build, or a trigger's body)."""
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def precompiled_rows(key, build, *values, using: str = "default") -> list[tuple]:
    """The rows of `build(*values)`, a `values_list()` QuerySet, as the QuerySet would give them."""
    connection = connections[using]
    compiled = _compiled(key, build, values, connection)
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, compiled.params_for(connection, values))
        rows = cursor.fetchall()
    converters = compiled.converters
    return [tuple(row) for row in compiled.compiler.apply_converters(rows, converters)] if converters else rows


class StoredSearchVector(Expression):
    """`messaging_message.search_tsv`: the body's full-text vector, stored by PostgreSQL (migration 0001),
    with a `vis <user id>` lexeme for each user who may see the message.

    Not a model field: the generated column exists on PostgreSQL only. Filtering on it uses its GIN index,
    and ranking reads it instead of parsing every matching body again. It is here because naming the column
    takes the compiler's alias for the message table of the (sub)query at hand, an ORM internal.
    """

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()  # the message table of this (sub)query
        return f"{compiler.quote_name_unless_alias(alias)}.search_tsv", []
