"""Database helpers shared by the apps."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

# A transaction-local PostgreSQL setting (`set_config(BULK_LOAD, 'on', true)`) that a bulk load (the carry's
# batches) turns on: derived state kept by triggers (the conversation summary) is not kept row by row for
# what it writes, and whoever runs the load rebuilds that state set-based afterwards.
BULK_LOAD = "relay.bulk_load"


def reading(model: type[Model]) -> BaseDatabaseWrapper:
    """The connection for a literal-SQL read of `model`'s table: the one the database router reads it from
    (the replica or the primary, config/db_router.py; the primary when no replica is configured)."""
    return connections[router.db_for_read(model)]


@contextmanager
def planned_per_call(using: str = "default") -> Iterator[None]:
    """Run the queries inside without prepared statements: PostgreSQL plans each one for its parameters.

    With `DB_PREPARED_STATEMENTS` (settings), psycopg prepares a statement that a connection has run 5 times,
    and PostgreSQL may then run it with one generic plan for every parameter. That suits lookups by id and
    user, and not a query whose best plan changes with its parameters by orders of magnitude: a full-text
    search for a common word (tens of thousands of postings) against a rare one. On the benchmark data the
    generic plan makes a typical user's common-word search 2-4x slower.
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


def describe_database(using: str = "default") -> str:
    """Which database a connection uses and where, for people (never the password): the PostgreSQL server
    (or the embedded server's socket folder), database and user."""
    settings_dict = connections[using].settings_dict
    host = settings_dict.get("HOST") or "localhost (socket)"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    user = f" as {settings_dict['USER']}" if settings_dict.get("USER") else ""
    return f"{connections[using].display_name}, database {settings_dict['NAME']} on {host}{port}{user}"
