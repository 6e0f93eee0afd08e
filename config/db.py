"""Database helpers shared by the apps."""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, connections


@contextmanager
def planned_per_call(using: str = "default"):
    """Run the queries inside without prepared statements: PostgreSQL plans each one for its parameters.

    With `DB_PREPARED_STATEMENTS` (settings), psycopg prepares a statement that a connection has run 5 times,
    and PostgreSQL may then run it with one generic plan for every parameter. That suits lookups by id and
    user, and not a query whose best plan changes with its parameters by orders of magnitude: a full-text
    search for a common word (tens of thousands of postings) against a rare one. Measured on the benchmark
    data, the generic plan made a typical user's common-word search 2-4x slower.
    """
    wrapper = connections[using]
    wrapper.ensure_connection()
    raw = wrapper.connection
    threshold = getattr(raw, "prepare_threshold", None)  # psycopg 3; None: nothing is prepared anyway
    if threshold is None:
        yield
        return
    raw.prepare_threshold = None
    try:
        yield
    finally:
        raw.prepare_threshold = threshold


_STAND_IN_INT = -2_000_000_001  # minus k: never an id (ids are positive) nor another parameter of a query
# Plus k microseconds: never a stored time; year 2 stays above datetime.min under any UTC offset.
_STAND_IN_TIME = datetime(2, 1, 1, tzinfo=UTC)
_COMPILED = {}  # (database vendor, key) -> _Compiled
_COMPILED_MAX = 512  # keys are few (a query and a page shape); past this the cache starts over


def _stand_in(position: int, value):
    if isinstance(value, datetime):
        return _STAND_IN_TIME + timedelta(microseconds=position)
    if isinstance(value, int) and not isinstance(value, bool):
        return _STAND_IN_INT - position
    raise TypeError(f"precompiled queries take ids and times, not {type(value).__name__}")


def _bound(value):
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

    def params_for(self, values) -> list:
        bound = dict(zip(self.stand_ins, map(_bound, values), strict=True))
        return [bound.get(param, param) for param in self.params]

    @property
    def converters(self) -> dict:
        """What the compiler does to the values it reads (`get_converters`, as its own `results_iter`)."""
        if self._converters is None:
            self._converters = self.compiler.get_converters([expression for expression, _, _ in self.compiler.select])
        return self._converters


def _compiled(key, build, values) -> _Compiled:
    compiled = _COMPILED.get((connection.vendor, key))
    if compiled is None:
        stand_ins = [_stand_in(position, value) for position, value in enumerate(values)]
        compiler = build(*stand_ins).query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        compiled = _COMPILED[connection.vendor, key] = _Compiled(
            sql, tuple(params), [_bound(stand_in) for stand_in in stand_ins], compiler
        )
    return compiled


def precompiled_sql(key, build, *values) -> tuple[str, list]:
    """The SQL and parameters of `build(*values)`, a QuerySet, compiled once per database vendor and `key`.

    Compiling a query (its lookups, joins and select list) can cost the ORM several times what the database
    takes to run it, for queries that every request of a hot endpoint runs with other values. Here `build`
    is called once per vendor and `key` with stand-ins for `values` (ids and times that no real value
    equals), and the real values are bound in their place. `key` must name everything that changes the SQL
    besides the values, such as the number of ids in an `__in` lookup.
    """
    compiled = _compiled(key, build, values)
    return compiled.sql, compiled.params_for(values)


def precompiled_rows(key, build, *values) -> list[tuple]:
    """The rows of `build(*values)`, a `values_list()` QuerySet, its SQL compiled as by `precompiled_sql`.

    The rows are converted by the compiler that built the SQL (`apply_converters`: what its own
    `results_iter` does), so they are what the QuerySet itself would give.
    """
    compiled = _compiled(key, build, values)
    with connection.cursor() as cursor:
        cursor.execute(compiled.sql, compiled.params_for(values))
        rows = cursor.fetchall()
    converters = compiled.converters
    return [tuple(row) for row in compiled.compiler.apply_converters(rows, converters)] if converters else rows
