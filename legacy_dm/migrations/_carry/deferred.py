"""A bulk load into an empty table: its secondary indexes and foreign keys set aside, then rebuilt.

Maintaining `messaging_message`'s dozen secondary indexes (the full-text GIN one among them) and checking its
foreign keys row by row would be most of the carry's time; building each index once over the loaded table and
checking each foreign key with one set-based query takes a fraction of it (PostgreSQL's manual,
"Populating a Database"). So when a table the carry fills is still empty (a fresh
`migrate`: nobody reads or writes it yet), the carry sets aside

- its indexes that enforce nothing (not the primary key, not a unique index: the carry's own anti-joins and
  the pair rule of the conversation map rely on those), and
- its foreign-key constraints,

and rebuilds them from their own definitions (`pg_get_indexdef`, `pg_get_constraintdef`, whatever migrations
created them) once every row is in. The rows themselves keep every rule: placeholders for missing users and
reply links only to carried rows are the carry's SQL's own doing, and re-adding a foreign key validates
every row again.

The definitions are written to a ledger table (`LEDGER`) in the transaction that drops them, so a copy that
is interrupted (a killed process, a lock timeout) loses nothing: the next run finds them in the ledger, keeps
loading without them, and rebuilds them at its end; the rollback rebuilds them before it removes rows. Each
rebuilt index or constraint leaves the ledger in its own transaction, and the ledger is dropped once empty:
no ledger, nothing set aside.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from django.db import connections, transaction

from .batches import scalar

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

LEDGER = "legacy_dm_carry_deferred"

# What an index build may use (a session setting, for that build only): a GIN build over a million rows is
# several times faster with it than with PostgreSQL's default 64 MB.
BUILD_MEMORY = "512MB"


def pending(connection: BaseDatabaseWrapper, table: str | None = None) -> bool:
    """Whether indexes or constraints (of `table`, or of any table) are set aside and not rebuilt yet."""
    with connection.cursor() as cursor:
        if not scalar(cursor, "SELECT to_regclass(%s) IS NOT NULL", [LEDGER]):
            return False
        if table is None:
            return True
        return bool(scalar(cursor, f"SELECT EXISTS (SELECT 1 FROM {LEDGER} WHERE table_name = %s)", [table]))


def _lock(cursor: CursorWrapper, lock_timeout_ms: int) -> None:
    cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", [])


def set_aside(connection: BaseDatabaseWrapper, table: str, *, source: str, lock_timeout_ms: int) -> int:
    """If `table` is empty and the old table `source` is not (outside a caller's transaction),
    record and drop `table`'s foreign keys and the indexes that enforce nothing, in one transaction; how many
    were set aside.
    """
    if connection.in_atomic_block or pending(connection, table):
        return 0
    with connection.cursor() as cursor:
        if not scalar(cursor, f"SELECT EXISTS (SELECT 1 FROM {source})"):
            return 0
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _lock(cursor, lock_timeout_ms)
        # Nothing may write between the check and the drop (DROP INDEX takes this lock anyway).
        cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE", [])
        if scalar(cursor, f"SELECT EXISTS (SELECT 1 FROM {table})"):
            return 0
        cursor.execute(
            "SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT 'index', c.relname, pg_get_indexdef(i.indexrelid)"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE i.indrelid = %s::regclass AND NOT i.indisunique AND NOT i.indisprimary"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
            " ORDER BY c.relname",
            [table],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {LEDGER} (position serial PRIMARY KEY, table_name text NOT NULL,"
            " kind text NOT NULL CHECK (kind IN ('index', 'constraint')), name text NOT NULL,"
            " definition text NOT NULL)",
            [],
        )
        # Indexes are rebuilt first (in ledger order), then the foreign keys are validated.
        for kind, name, definition in [*indexes, *constraints]:
            cursor.execute(
                f"INSERT INTO {LEDGER} (table_name, kind, name, definition) VALUES (%s, %s, %s, %s)",
                [table, kind, name, definition],
            )
            if kind == "index":
                cursor.execute(f'DROP INDEX "{name}"', [])
            else:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"', [])
        return len(indexes) + len(constraints)


def _rebuild_one(connection: BaseDatabaseWrapper, item: tuple[int, str, str, str, str], lock_timeout_ms: int) -> float:
    """Rebuild one ledger item and strike it from the ledger, in one transaction; the seconds it took."""
    position, table, kind, name, definition = item
    started = time.monotonic()
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _lock(cursor, lock_timeout_ms)
        if kind == "index":
            cursor.execute(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'", [])
            cursor.execute(definition, [])
        else:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}', [])
        cursor.execute(f"DELETE FROM {LEDGER} WHERE position = %s", [position])
    return time.monotonic() - started


def rebuild(connection: BaseDatabaseWrapper, *, lock_timeout_ms: int, workers: int = 2) -> dict[str, float]:
    """Rebuild everything the ledger holds, each index or constraint in its own transaction (an interrupted
    rebuild resumes), then drop the ledger; the seconds each rebuilt index or constraint took, by name.

    The indexes are built by `workers` sessions at once (outside a caller's transaction): two builds of one
    table's indexes do not block each other (each takes a SHARE lock), and the GIN build, which PostgreSQL
    cannot spread over parallel workers, takes as long as all the B-trees together, so one session builds
    it while the other builds the rest. The foreign keys are added after every index (adding one takes a lock
    that waits for index builds), one after the other.
    """
    took: dict[str, float] = {}
    if not pending(connection):
        return took
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT position, table_name, kind, name, definition FROM {LEDGER}"
            " ORDER BY kind = 'constraint', definition NOT LIKE '%% USING gin %%', position",
            [],
        )
        items = cursor.fetchall()
    indexes = [item for item in items if item[2] == "index"]
    constraints = [item for item in items if item[2] == "constraint"]
    if workers > 1 and len(indexes) > 1 and not connection.in_atomic_block:
        took.update(_rebuild_in_parallel(connection, indexes, lock_timeout_ms, workers))
    else:
        for item in indexes:
            took[item[3]] = _rebuild_one(connection, item, lock_timeout_ms)
    for item in constraints:
        took[item[3]] = _rebuild_one(connection, item, lock_timeout_ms)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        _lock(cursor, lock_timeout_ms)
        if not scalar(cursor, f"SELECT EXISTS (SELECT 1 FROM {LEDGER})"):
            cursor.execute(f"DROP TABLE {LEDGER}", [])
    return took


def _rebuild_in_parallel(
    connection: BaseDatabaseWrapper, items: list[tuple[int, str, str, str, str]], lock_timeout_ms: int, workers: int
) -> dict[str, float]:
    """Build `items` (indexes, longest first) in this session and `workers - 1` more, each taking the next one.

    Each extra session is the thread's own Django connection to the same database, closed when it is done. An
    error in any session is raised here once all have stopped (what was built stays built and struck off).
    """
    queue = list(reversed(items))
    took: dict[str, float] = {}
    errors: list[BaseException] = []
    guard = threading.Lock()

    def work(session: BaseDatabaseWrapper) -> None:
        while not errors:
            with guard:
                if not queue:
                    return
                item = queue.pop()
            try:
                seconds = _rebuild_one(session, item, lock_timeout_ms)
            except BaseException as exc:  # handed to the main thread, which raises it
                errors.append(exc)
                return
            with guard:
                took[item[3]] = seconds

    def in_a_thread() -> None:
        session = connections[connection.alias]
        try:
            work(session)
        finally:
            session.close()

    threads = [threading.Thread(target=in_a_thread, name=f"rebuild-{n}") for n in range(1, workers)]
    for thread in threads:
        thread.start()
    work(connection)
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return took
