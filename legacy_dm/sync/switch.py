"""Turning the sync on and off, and saying whether it is on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction

from legacy_dm import carry
from legacy_dm.carry import statements
from legacy_dm.carry.batches import Progress, run_batch, scalar
from legacy_dm.carry.sequences import move_sequence

from . import outbox, to_new, to_old
from .sql import GUARD

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

OLD_TABLES = ("users", "conversations", "conversation_participants", "direct_messages")


class SyncUnavailable(Exception):
    """The sync cannot run on this database; the message says why."""


@dataclass
class SyncReport:
    """What `turn_on` did: the catch-up copy's rows, and the new rows written to the old tables."""

    changed: bool
    caught_up: dict[str, int]
    backfilled: dict[str, int]


def trigger_names() -> list[tuple[str, str]]:
    return to_new.trigger_names() + to_old.trigger_names() + outbox.trigger_names()


def expected_triggers(connection: BaseDatabaseWrapper) -> int:
    """How many triggers the sync has when on: the outbox's only once its table exists (`outbox.exists`)."""
    expected = len(trigger_names())
    return expected if outbox.exists(connection) else expected - len(outbox.trigger_names())


def installed_triggers(connection: BaseDatabaseWrapper) -> int:
    """How many of the sync's triggers the database has (all of them when on, none when off)."""
    names = [name for _, name in trigger_names()]
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname = ANY(%s)", [names])
        return int(cursor.fetchone()[0])


def is_on(connection: BaseDatabaseWrapper) -> bool:
    return installed_triggers(connection) > 0


def old_tables_hold_rows(connection: BaseDatabaseWrapper) -> bool:
    with connection.cursor() as cursor:
        return any(scalar(cursor, f"SELECT EXISTS (SELECT 1 FROM {table})") for table in OLD_TABLES)


def _sequences(connection: BaseDatabaseWrapper) -> dict[str, str]:
    """Old table -> the sequence its ids come from (what old servers' INSERTs use)."""
    found = {}
    with connection.cursor() as cursor:
        for old_table in to_old.TABLES.values():
            sequence = scalar(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [old_table])
            if sequence is None:
                raise SyncUnavailable(
                    f"the old table {old_table} has no id sequence, so the two sides cannot share ids"
                )
            found[old_table] = sequence
    return found


def _align_sequences(connection: BaseDatabaseWrapper) -> None:
    """Move each old sequence past every id either side holds, so the next id is free on both."""
    with connection.cursor() as cursor:
        for new_table, old_table in to_old.TABLES.items():
            top = max(
                scalar(cursor, f"SELECT MAX(id) FROM {old_table}") or 0,
                scalar(cursor, f"SELECT MAX(id) FROM {new_table}") or 0,
            )
            if top:
                move_sequence(connection, old_table, top)


def _backfill(connection: BaseDatabaseWrapper) -> dict[str, int]:
    """Write the old shape of every new row that has no old row yet (written while the sync was off)."""
    counts = {}
    missing = "NOT EXISTS (SELECT 1 FROM {old} o WHERE o.id = {alias}.id)"
    with connection.cursor() as cursor:
        cursor.execute(
            to_old.users_to_old_sql(connection, missing.format(old="users", alias="n"), password_changed="true"), []
        )
        counts["users"] = max(cursor.rowcount, 0)
        conversations, _ = to_old.conversations_to_old_sql(missing.format(old="conversations", alias="c"))
        cursor.execute(conversations, [])
        counts["conversations"] = max(cursor.rowcount, 0)
        _, participants = to_old.conversations_to_old_sql("true")  # idempotent: only missing participants
        cursor.execute(participants, [])
        cursor.execute(to_old.messages_to_old_sql(missing.format(old="direct_messages", alias="m")), [])
        counts["direct_messages"] = max(cursor.rowcount, 0)
        cursor.execute(
            "UPDATE messaging_message SET legacy_id = id, legacy_reply_to_id = reply_to_id WHERE legacy_id IS NULL",
            [],
        )
    return counts


def turn_on(
    connection: BaseDatabaseWrapper,
    *,
    batch_size: int,
    headroom: int,
    lock_timeout_ms: int,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Catch up, then sync both ways from now on. Idempotent: when already on, nothing happens.

    1. The catch-up copy, batched (old servers keep writing): what old servers wrote while the sync was off.
    2. In one transaction: the triggers are created, which locks the tables against writes until it commits;
       a second catch-up copies what old servers wrote during step 1; new rows written while the sync was
       off get their old rows; the old sequences move past every id. When it commits, every write on
       either side reaches the other, and old servers' sends, reads and deletes are noted in the outbox
       for `legacy_sync_events` (`outbox`).
    """
    if is_on(connection):
        return SyncReport(False, {}, {})

    def catch_up(progress: Progress | None) -> carry.CopyResult:
        return carry.copy_legacy_data(
            connection,
            batch_size=batch_size,
            headroom=headroom,
            lock_timeout_ms=lock_timeout_ms,
            now=now,
            progress=progress,
            sync_state=True,
        )

    first = catch_up(progress)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", [])
        sequences = _sequences(connection)
        installed = to_new.install_sql(connection, GUARD) + to_old.install_sql(connection, GUARD, sequences)
        # `legacy_dm` 0004 turns the sync on before 0005 creates the outbox; 0006 then adds its triggers.
        if outbox.exists(connection):
            installed += outbox.install_sql(GUARD)
        for statement in installed:
            cursor.execute(statement, [])
        second = catch_up(None)
        backfilled = _backfill(connection)
        _align_sequences(connection)
    caught_up = {step: first.rows[step] + second.rows[step] for step in first.rows}
    return SyncReport(True, caught_up, backfilled)


def _drop_outbox(cursor: CursorWrapper) -> None:
    for table, name in outbox.trigger_names():
        cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}", [])
    for name in outbox.function_names():
        cursor.execute(f"DROP FUNCTION IF EXISTS {name}()", [])


def install_outbox(connection: BaseDatabaseWrapper, *, lock_timeout_ms: int) -> bool:
    """Give a sync that is on the outbox's triggers (one turned on before `legacy_dm` 0005 made the outbox);
    True when it did. Idempotent.
    """
    if not is_on(connection):
        return False
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", [])
        _drop_outbox(cursor)
        for statement in outbox.install_sql(GUARD):
            cursor.execute(statement, [])
    return True


def replace_functions(connection: BaseDatabaseWrapper, *, lock_timeout_ms: int) -> int | None:
    """Give a sync that is on this version's old -> new trigger functions (the triggers stay as they are), and
    carry again the old conversations that an earlier version left mapping to no pair although they have two
    participants (`carry.statements.unpaired_sql`): how many; None when the sync is off. Idempotent.
    """
    if not is_on(connection):
        return None
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", [])
        # Old servers' conversation writes wait for this transaction (those in flight commit first, with the
        # earlier functions), so what is carried again below is every conversation the earlier ones left.
        cursor.execute("LOCK TABLE conversations, conversation_participants IN SHARE ROW EXCLUSIVE MODE", [])
        for statement in to_new.functions_sql(connection):
            cursor.execute(statement, [])
        cursor.execute(
            f"SELECT COUNT(*), MIN(conversation_id), MAX(conversation_id) FROM ({statements.unpaired_sql()}) u", []
        )
        count, low, high = cursor.fetchone()
        if count:
            run_batch(connection, lock_timeout_ms, statements.conversations_sql(connection, low, high + 1))
    return int(count)


def remove_outbox(connection: BaseDatabaseWrapper, *, lock_timeout_ms: int) -> None:
    """Drop the outbox's triggers (before its table goes), leaving the rest of the sync as it is."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", [])
        _drop_outbox(cursor)


def turn_off(connection: BaseDatabaseWrapper, *, headroom: int, lock_timeout_ms: int) -> bool:
    """The cut-over: drop the triggers (the old tables are frozen from now on) and move the new tables'
    sequences past every old id plus `headroom`. Idempotent; True when the sync was on.
    """
    if not is_on(connection):
        return False
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", [])
        for table, name in trigger_names():
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}", [])
        for name in to_new.function_names() + to_old.function_names() + outbox.function_names():
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}()", [])
        carry.move_sequences(connection, headroom=headroom, lock_timeout_ms=lock_timeout_ms)
    return True
