"""The id sequences of the new tables, moved past the carried ids plus a headroom for old servers' new rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from .batches import scalar
from .statements import PLACEHOLDER_PASSWORD

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper


def move_sequence(connection: BaseDatabaseWrapper, table: str, target: int) -> int:
    """Make `table`'s next generated id greater than `target` (never moves it backwards); the new last value."""
    with connection.cursor() as cursor:
        sequence = scalar(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [table])
        if sequence is None:
            return 0
        cursor.execute(f"SELECT last_value, is_called FROM {sequence}", [])
        last_value, is_called = cursor.fetchone()
        current = int(last_value if is_called else last_value - 1)
        if current < target:
            cursor.execute("SELECT setval(%s, %s, true)", [sequence, target])
            current = target
        return current


def move_sequences(connection: BaseDatabaseWrapper, *, headroom: int, lock_timeout_ms: int = 5_000) -> dict[str, int]:
    """Move the id sequences of the new tables past the largest carried id plus `headroom`.

    Rows that old servers still write during a rolling deploy take ids above the old maximum; the headroom
    keeps those ids free, so a later catch-up copy can carry them with their own ids.
    """
    moved: dict[str, int] = {}
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", [])
        max_user = max(
            scalar(cursor, "SELECT MAX(id) FROM users") or 0,
            scalar(cursor, "SELECT MAX(id) FROM users_user WHERE password = %s", [PLACEHOLDER_PASSWORD]) or 0,
        )
        max_message = scalar(cursor, "SELECT MAX(id) FROM direct_messages") or 0
        max_conversation = scalar(cursor, "SELECT MAX(id) FROM conversations") or 0
        for table, top in (
            ("users_user", max_user),
            ("messaging_message", max_message),
            ("legacy_dm_conversation", max_conversation),
        ):
            if top:
                moved[table] = move_sequence(connection, table, top + headroom)
    return moved
