"""How the carry walks a table: id ranges, one short transaction per batch, lock timeouts, progress."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from django.db import OperationalError, transaction

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

LOCK_RETRIES = 3

# A transaction-local PostgreSQL setting, 'on' while a write is the sync's or the carry's own: the sync's
# triggers (`legacy_dm.sync`) skip such writes, so a carried or mirrored row never echoes back.
SYNCING = "relay.syncing"
# A transaction-local setting that marks a bulk load (its value is `config.db.BULK_LOAD`'s, written out: a
# migration imports no app code): the conversation summary's triggers skip the carry's rows, and the carry's
# callers rebuild the summary afterwards.
BULK_LOAD = "relay.bulk_load"


# The steps of a copy, in order ("state" only runs when asked: see `state_sql`).
STEPS = ("users", "direct_messages", "conversations", "replies", "state")


Progress: TypeAlias = Callable[["BatchReport"], None]

# A value bound to a `%s` of the carry's SQL (booleans are ints; datetimes arrive adapted, as text).
SQLParam: TypeAlias = int | str | bytes | None

# One statement of a batch and its parameters.
Statement: TypeAlias = tuple[str, list[SQLParam]]


@dataclass
class BatchReport:
    """What one batch did; handed to the progress callback after the batch committed."""

    step: str  # one of STEPS
    rows: int  # rows written by this batch
    done_rows: int  # rows written by this step so far
    first_id: int
    last_id: int  # ids of the step's whole range: progress = (upto - first_id) / (last_id - first_id + 1)
    upto: int  # ids below this one are done
    started: float  # time.monotonic() at the start of the step

    @property
    def fraction(self) -> float:
        span = self.last_id - self.first_id + 1
        return 1.0 if span <= 0 else min(1.0, max(0.0, (self.upto - self.first_id) / span))


@dataclass
class CopyResult:
    """Rows written per step (0 everywhere on a run that found nothing missing)."""

    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STEPS, 0))
    placeholders: int = 0
    sequences: dict[str, int] = field(default_factory=dict)
    complete: bool = True
    seconds: dict[str, float] = field(default_factory=dict)  # per step, and "rebuild" and "vacuum"
    rebuilt: dict[str, float] = field(default_factory=dict)  # indexes and constraints set aside, rebuilt: seconds


class CopyConflict(Exception):
    """Old rows that cannot be carried as they are; nothing was written. The message names them."""


class CopyInterrupted(Exception):
    """Raised when `max_batches` stops a copy early (tests use it to simulate an interrupted run)."""


def scalar(cursor: CursorWrapper, sql: str, params: Sequence[SQLParam] = ()) -> Any:
    """The first column of the first row `sql` returns (a raw database value), or None without a row."""
    cursor.execute(sql, list(params))
    row = cursor.fetchone()
    return row[0] if row else None


def id_range(connection: BaseDatabaseWrapper, table: str, column: str = "id") -> tuple[int, int] | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN({column}), MAX({column}) FROM {table}", [])
        low, high = cursor.fetchone()
    return None if low is None else (int(low), int(high))


def run_batch(connection: BaseDatabaseWrapper, lock_timeout_ms: int, statements: list[Statement]) -> list[int]:
    """Run `statements` in one short transaction (with a lock timeout); their row counts.

    A batch that could not get its lock in time is rolled back and retried a few times before giving up.

    A batch also turns off JIT compilation: a batch's estimated cost is far above
    `jit_above_cost`, so the server would compile its expressions afresh for every batch, which took about
    0.9 s per batch, longer than copying the batch's rows. A batch that is
    its own transaction (not one nested in a caller's, such as `legacy_sync on`'s) commits without waiting
    for its WAL to reach the disk (`synchronous_commit = off`): a crash can lose only the last batches'
    commits, never a half batch, and the next run copies them again, as it copies whatever is missing.
    """
    own_transaction = not connection.in_atomic_block
    for attempt in range(1, LOCK_RETRIES + 1):
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", [])
                cursor.execute("SET LOCAL jit = off", [])
                if own_transaction:
                    cursor.execute("SET LOCAL synchronous_commit = off", [])
                cursor.execute("SELECT set_config(%s, 'on', true)", [SYNCING])
                cursor.execute("SELECT set_config(%s, 'on', true)", [BULK_LOAD])
                counts = []
                for sql, params in statements:
                    cursor.execute(sql, params)
                    counts.append(max(cursor.rowcount, 0))
                return counts
        except OperationalError as exc:
            if attempt == LOCK_RETRIES or "lock" not in str(exc).lower():
                raise
            time.sleep(attempt)
    raise AssertionError("unreachable")


def walk(
    connection: BaseDatabaseWrapper,
    *,
    step: str,
    table: str,
    batch_size: int,
    lock_timeout_ms: int,
    make_statements: Callable[[int, int], list[Statement]],
    counted: int = -1,
    analyze: tuple[str, ...] = (),
    first_todo: str | None = None,
    progress: Progress | None,
    budget: list[int],
    result: CopyResult,
) -> None:
    """Walk `table`'s ids in ranges of `batch_size`, one transaction per range.

    The tables in `analyze` get fresh statistics first and each time this walk has doubled
    what it wrote: a new table's statistics still say "empty" while it grows by millions of rows
    (autovacuum lags, or is off), and with them the planner answers each batch's anti-join with a scan of
    the whole table, which makes the copy quadratic. A handful of ANALYZEs (each reads a sample) keep every
    batch an index lookup.

    The rows a batch wrote are those of its statements from index `counted` on (by default the last one's).

    `first_todo` is a query for the lowest id that has work left (NULL when none has): the walk starts at its
    batch, or does nothing. A catch-up after a complete carry so skips the million ids that are done with one
    set-based anti-join instead of a hundred batches of them.
    """
    bounds = id_range(connection, table)
    if bounds is None:
        return
    first_id, last_id = bounds
    started = time.monotonic()
    low = first_id
    if first_todo is not None:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", [])
            cursor.execute("SET LOCAL jit = off", [])
            todo = scalar(cursor, first_todo)
        if todo is None:
            result.seconds[step] = result.seconds.get(step, 0.0) + time.monotonic() - started
            return
        low = max(first_id, first_id + (int(todo) - first_id) // batch_size * batch_size)
    analyze_at = None
    if analyze:
        run_batch(connection, lock_timeout_ms, [(f"ANALYZE {', '.join(analyze)}", [])])
        analyze_at = batch_size
    while low <= last_id:
        if budget[0] == 0:
            result.complete = False
            raise CopyInterrupted(f"stopped before {step} id {low}")
        high = low + batch_size
        counts = run_batch(connection, lock_timeout_ms, make_statements(low, high))
        rows = sum(counts[counted:])
        result.rows[step] += rows
        if step == "direct_messages":
            result.placeholders += counts[0]
        if budget[0] > 0:
            budget[0] -= 1
        if analyze_at is not None and result.rows[step] >= analyze_at:
            run_batch(connection, lock_timeout_ms, [(f"ANALYZE {', '.join(analyze)}", [])])
            analyze_at = 2 * result.rows[step]
        if progress is not None:
            progress(BatchReport(step, rows, result.rows[step], first_id, last_id, high, started))
        low = high
    result.seconds[step] = result.seconds.get(step, 0.0) + time.monotonic() - started
