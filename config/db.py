"""Database helpers shared by the apps."""

from contextlib import contextmanager
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
_COMPILED = {}  # (database vendor, key) -> (SQL, parameters, stand-ins as bound, compiler, converters)
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


def precompiled_rows(key, build, *values) -> list[tuple]:
    """The rows of `build(*values)`, a `values_list()` QuerySet, with its SQL compiled once per database vendor.

    Compiling a query (its lookups, joins and select list) can cost the ORM several times what the database
    takes to run it, for queries that every request of a hot endpoint runs with other values. Here `build`
    is called once per vendor and `key` with stand-ins for `values` (ids and times that no real value
    equals); the SQL is then run with the real values bound in their place, and its rows converted by the
    compiler that built it (`get_converters`, `apply_converters`: what its own `results_iter` does), so
    they are what the QuerySet itself would give. `key` must name everything that changes the SQL besides
    the values, such as the number of ids in an `__in` lookup.
    """
    template = _COMPILED.get((connection.vendor, key))
    if template is None:
        stand_ins = [_stand_in(position, value) for position, value in enumerate(values)]
        compiler = build(*stand_ins).query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        converters = compiler.get_converters([expression for expression, _, _ in compiler.select])
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        template = _COMPILED[connection.vendor, key] = (
            sql,
            tuple(params),
            [_bound(stand_in) for stand_in in stand_ins],
            compiler,
            converters,
        )
    sql, params, stand_ins, compiler, converters = template
    bound = dict(zip(stand_ins, map(_bound, values), strict=True))
    with connection.cursor() as cursor:
        cursor.execute(sql, [bound.get(param, param) for param in params])
        rows = cursor.fetchall()
    return [tuple(row) for row in compiler.apply_converters(rows, converters)] if converters else rows
