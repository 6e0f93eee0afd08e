"""Turning the sync on and off, and saying whether it is on.

The sync's functions and triggers always exist (literal SQL in `legacy_dm` migrations 0008 and 0009); it is on
while its triggers are enabled. `turn_on` and `turn_off` are `legacy_dm.migrations._live_sync`'s, with the
switch being `ALTER TABLE ... ENABLE|DISABLE TRIGGER` for each of its triggers.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction

from legacy_dm.migrations import _live_sync
from legacy_dm.migrations._carry.batches import Progress
from legacy_dm.migrations._carry.options import CarryOptions
from legacy_dm.migrations._live_sync import SyncReport, SyncUnavailable, is_on, old_tables_hold_rows

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

__all__ = ["SyncReport", "SyncUnavailable", "is_on", "old_tables_hold_rows"]

# The old `users.full_name` is VARCHAR(100); longer display names are cut there on the old side.
OLD_FULL_NAME_MAX = 100
# The old `users.username` is VARCHAR(50): while the sync runs, registration refuses longer names.
OLD_USERNAME_MAX = 50


def trigger_names() -> list[tuple[str, str]]:
    """(table, trigger) of every trigger of the sync."""
    return list(_live_sync.TRIGGERS)


def expected_triggers(connection: BaseDatabaseWrapper) -> int:
    """How many triggers the sync has enabled when on."""
    return len(_live_sync.TRIGGERS)


def installed_triggers(connection: BaseDatabaseWrapper) -> int:
    """How many of the sync's triggers are enabled (all of them when on, none when off)."""
    return _live_sync.enabled_triggers(connection)


def _switch(verb: str, triggers: list[tuple[str, str]]) -> _live_sync.Switch:
    def switch(cursor: CursorWrapper) -> None:
        for statement in _live_sync.switch_statements(verb, triggers):
            cursor.execute(statement)

    return switch


def turn_on(
    connection: BaseDatabaseWrapper,
    options: CarryOptions,
    *,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Catch up, then sync both ways from now on (`_live_sync.turn_on`). Idempotent."""
    return _live_sync.turn_on(
        connection, options, switch_on=_switch("ENABLE", _live_sync.TRIGGERS), now=now, progress=progress
    )


def turn_off(connection: BaseDatabaseWrapper, options: CarryOptions) -> bool:
    """The cut-over (`_live_sync.turn_off`). Idempotent; True when the sync was on."""
    return _live_sync.turn_off(connection, options, switch_off=_switch("DISABLE", _live_sync.TRIGGERS))


def _switch_outbox(connection: BaseDatabaseWrapper, verb: str, lock_timeout_ms: int) -> None:
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'")
        _switch(verb, _live_sync.OUTBOX_TRIGGERS)(cursor)


def install_outbox(connection: BaseDatabaseWrapper, *, lock_timeout_ms: int) -> bool:
    """Enable the outbox's triggers of a sync that is on; True when it did. Idempotent."""
    if not is_on(connection):
        return False
    _switch_outbox(connection, "ENABLE", lock_timeout_ms)
    return True


def remove_outbox(connection: BaseDatabaseWrapper, *, lock_timeout_ms: int) -> None:
    """Disable the outbox's triggers, leaving the rest of the sync as it is."""
    _switch_outbox(connection, "DISABLE", lock_timeout_ms)
