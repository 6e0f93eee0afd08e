"""The live sync's switch: what `legacy_dm`'s migrations and `manage.py legacy_sync` run to turn it on and off.

The sync's functions and triggers are literal SQL in migrations 0008 and 0009 (`sql()` reads them from
there). Since 0009 every database has them; the sync is on while its triggers are enabled and off while they
are disabled (`ALTER TABLE ... ENABLE/DISABLE TRIGGER`, the names below being data). Migrations 0004 and 0006,
which ran before 0009 existed, install the same text instead of enabling it (`turn_on`'s `switch_on`).

Turning the sync on (`turn_on`):
1. the catch-up copy, batched (old servers keep writing): what old servers wrote while the sync was off;
2. in one transaction: the triggers are switched on, which locks the tables against writes until it commits;
   a second catch-up copies what old servers wrote during step 1; new rows written while the sync was off
   get their old rows, and messages changed meanwhile (edited, unsent, read, deleted) the old rows' new
   content and state (`BACKFILL`); the old sequences move past every id either side holds. When it commits,
   every write on either side reaches the other.

Turning it off (`turn_off`, the cut-over): the triggers are switched off (the old tables are frozen from then
on) and the new tables' sequences move past every old id plus the headroom.

Like every module of this package, this one imports only Django, the standard library and its own package,
so what a migration does never changes with app code; `legacy_dm.sync` is the app's entry to it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING

from django.db import transaction

from . import _carry
from ._carry import statements
from ._carry.batches import SYNCING, Progress, run_batch, scalar
from ._carry.options import CarryOptions
from ._carry.sequences import move_sequence

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.utils import CursorWrapper

# (table, trigger) of the sync's triggers, as 0009 creates them.
TO_NEW_TRIGGERS = [
    ("users", "relay_sync_users_to_new_insert"),
    ("users", "relay_sync_users_to_new_update"),
    ("direct_messages", "relay_sync_direct_messages_to_new_insert"),
    ("direct_messages", "relay_sync_direct_messages_to_new_update"),
    ("conversations", "relay_sync_conversations_to_new_insert"),
    ("conversations", "relay_sync_conversations_to_new_update"),
    ("conversation_participants", "relay_sync_participants_to_new_insert"),
    ("conversation_participants", "relay_sync_participants_to_new_update"),
]
TO_OLD_TRIGGERS = [
    ("users_user", "relay_sync_users_user_ids"),
    ("users_user", "relay_sync_users_user_to_old_insert"),
    ("users_user", "relay_sync_users_user_to_old_delete"),
    ("users_user", "relay_sync_users_user_to_old_update"),
    ("messaging_message", "relay_sync_messaging_message_ids"),
    ("messaging_message", "relay_sync_messaging_message_to_old_insert"),
    ("messaging_message", "relay_sync_messaging_message_to_old_delete"),
    ("messaging_message", "relay_sync_messaging_message_to_old_update"),
    ("legacy_dm_conversation", "relay_sync_legacy_dm_conversation_ids"),
    ("legacy_dm_conversation", "relay_sync_legacy_dm_conversation_to_old_insert"),
    ("legacy_dm_conversation", "relay_sync_legacy_dm_conversation_to_old_delete"),
]
OUTBOX_TRIGGERS = [
    ("direct_messages", "relay_sync_direct_messages_events_insert"),
    ("direct_messages", "relay_sync_direct_messages_events_update"),
]
TRIGGERS = TO_NEW_TRIGGERS + TO_OLD_TRIGGERS + OUTBOX_TRIGGERS
FUNCTIONS = [
    "relay_sync_users_to_new",
    "relay_sync_direct_messages_to_new",
    "relay_sync_conversations_to_new",
    "relay_sync_participants_to_new",
    "relay_sync_users_user_ids",
    "relay_sync_users_user_to_old",
    "relay_sync_messaging_message_ids",
    "relay_sync_messaging_message_to_old",
    "relay_sync_legacy_dm_conversation_ids",
    "relay_sync_legacy_dm_conversation_to_old",
    "relay_sync_direct_messages_events",
]

# new table -> (old table, the old table's id sequence, which 0009's `*_ids` triggers name): new rows take
# their ids from it, as old servers' INSERTs do, so the two sides never hand out the same id.
SEQUENCES = {
    "users_user": ("users", "public.users_id_seq"),
    "messaging_message": ("direct_messages", "public.direct_messages_id_seq"),
    "legacy_dm_conversation": ("conversations", "public.conversations_id_seq"),
}
OLD_TABLES = ("users", "conversations", "conversation_participants", "direct_messages")

# The old shape of every new row that has no old row yet (written while the sync was off), and of every
# message changed meanwhile; the same SQL as the `*_to_old` functions of 0009 and 0010, for all such rows at once.
BACKFILL = {
    "users": r"""
        INSERT INTO users (id, username, email, hashed_password, full_name, is_active, is_superuser, created_at)
        SELECT n.id, n.username,
               CASE WHEN n.email = '' OR EXISTS (SELECT 1 FROM users o WHERE o.email = n.email AND o.id <> n.id)
                    THEN 'user-' || CAST(n.id AS TEXT) || '@users.invalid' ELSE n.email END,
               COALESCE(
                   CASE
                       WHEN substr(n.password, 1, 7) = 'bcrypt$'
                            AND substr(n.password, 8) ~ '\A\$2[aby]\$(0[4-9]|1[0-5])\$[./A-Za-z0-9]{53}\Z'
                            THEN substr(n.password, 8)
                       WHEN substr(n.password, 1, 6) = 'argon2'
                            AND substr(n.password, 7) ~ '\A\$argon2(id|i|d)\$v=(16|19)\$m=[0-9]{1,6},t=[0-9]{1,2},p=[0-9]{1,2}\$[A-Za-z0-9+/]{11,64}\$[A-Za-z0-9+/]{16,128}\Z'
                            THEN substr(n.password, 7)
                       WHEN substr(n.password, 1, 13) = 'pbkdf2-sha512'
                            AND substr(n.password, 14) ~ '\A\$pbkdf2-sha512\$[0-9]{1,6}\$[./A-Za-z0-9]{0,64}\$[./A-Za-z0-9]{86}\Z'
                            THEN substr(n.password, 14)
                   END,
                   n.legacy_password, '!'),
               NULLIF(left(n.display_name, 100), ''), n.is_active, n.is_superuser, (n.date_joined AT TIME ZONE 'UTC')
        FROM users_user n
        WHERE NOT EXISTS (SELECT 1 FROM users o WHERE o.id = n.id) AND n.password <> '!legacy-placeholder'
        ON CONFLICT (id) DO UPDATE SET
            username = EXCLUDED.username, email = EXCLUDED.email, full_name = EXCLUDED.full_name,
            is_active = EXCLUDED.is_active, is_superuser = EXCLUDED.is_superuser,
            hashed_password = EXCLUDED.hashed_password
    """,
    "conversations": r"""
        INSERT INTO conversations (id, created_at, updated_at)
        SELECT c.id, (c.created_at AT TIME ZONE 'UTC'), (c.updated_at AT TIME ZONE 'UTC')
        FROM legacy_dm_conversation c
        WHERE NOT EXISTS (SELECT 1 FROM conversations o WHERE o.id = c.id)
        ON CONFLICT (id) DO NOTHING
    """,
    "conversation_participants": r"""
        INSERT INTO conversation_participants (conversation_id, user_id, joined_at)
        SELECT c.id, p.user_id, (c.created_at AT TIME ZONE 'UTC')
        FROM legacy_dm_conversation c CROSS JOIN LATERAL (VALUES (c.user_low_id), (c.user_high_id)) p(user_id)
        WHERE p.user_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id)
          AND NOT EXISTS (SELECT 1 FROM conversation_participants cp
                          WHERE cp.conversation_id = c.id AND cp.user_id = p.user_id)
    """,
    "direct_messages": r"""
        INSERT INTO direct_messages (id, sender_id, receiver_id, conversation_id, content, file_data, file_name,
                                     file_type, reply_to_id, is_read, read_at, is_deleted_by_sender,
                                     is_deleted_by_receiver, created_at, updated_at)
        SELECT m.id, m.sender_id, m.recipient_id,
               (SELECT c.id FROM legacy_dm_conversation c
                WHERE c.user_low_id = LEAST(m.sender_id, m.recipient_id)
                  AND c.user_high_id = GREATEST(m.sender_id, m.recipient_id) AND c.alias_of_id IS NULL),
               m.body, m.attachment_data, NULLIF(m.attachment_name, ''), NULLIF(m.attachment_content_type, ''),
               m.reply_to_id, m.read_at IS NOT NULL, (m.read_at AT TIME ZONE 'UTC'),
               m.sender_deleted_at IS NOT NULL OR m.hidden_at IS NOT NULL,
               m.recipient_deleted_at IS NOT NULL OR m.hidden_at IS NOT NULL,
               (m.created_at AT TIME ZONE 'UTC'), (m.updated_at AT TIME ZONE 'UTC')
        FROM messaging_message m
        WHERE NOT EXISTS (SELECT 1 FROM direct_messages o WHERE o.id = m.id)
        ON CONFLICT (id) DO UPDATE SET
            content = EXCLUDED.content,
            is_read = EXCLUDED.is_read,
            read_at = CASE WHEN direct_messages.is_read = EXCLUDED.is_read THEN direct_messages.read_at
                           ELSE EXCLUDED.read_at END,
            is_deleted_by_sender = EXCLUDED.is_deleted_by_sender,
            is_deleted_by_receiver = EXCLUDED.is_deleted_by_receiver,
            updated_at = COALESCE(EXCLUDED.updated_at, direct_messages.updated_at)
    """,
    # New rows that have an old row, changed while the sync was off (an edit, an unsend, a read or a delete):
    # what 0010's `relay_sync_messaging_message_to_old` sets on an existing old row, for every row whose old
    # content or read or delete state differs (the catch-up before this brought old servers' reads and
    # deletes over, so the new side holds both). A NULL content that stands for an empty body stays NULL.
    "direct_messages_changed": r"""
        UPDATE direct_messages o SET
            content = CASE WHEN COALESCE(o.content, '') = m.body THEN o.content ELSE m.body END,
            is_read = m.read_at IS NOT NULL,
            read_at = CASE WHEN o.is_read = (m.read_at IS NOT NULL) THEN o.read_at
                           ELSE (m.read_at AT TIME ZONE 'UTC') END,
            is_deleted_by_sender = m.sender_deleted_at IS NOT NULL OR m.hidden_at IS NOT NULL,
            is_deleted_by_receiver = m.recipient_deleted_at IS NOT NULL OR m.hidden_at IS NOT NULL,
            updated_at = COALESCE((m.updated_at AT TIME ZONE 'UTC'), o.updated_at)
        FROM messaging_message m
        WHERE o.id = m.id
          AND (COALESCE(o.content, '') <> m.body
               OR o.is_read IS DISTINCT FROM (m.read_at IS NOT NULL)
               OR o.is_deleted_by_sender IS DISTINCT FROM (m.sender_deleted_at IS NOT NULL OR m.hidden_at IS NOT NULL)
               OR o.is_deleted_by_receiver IS DISTINCT FROM
                  (m.recipient_deleted_at IS NOT NULL OR m.hidden_at IS NOT NULL))
    """,
    "legacy_ids": r"""
        UPDATE messaging_message SET legacy_id = id, legacy_reply_to_id = reply_to_id WHERE legacy_id IS NULL
    """,
}


class SyncUnavailable(Exception):
    """The sync cannot run on this database; the message says why."""


@dataclass
class SyncReport:
    """What `turn_on` did: the catch-up copy's rows, and the new rows written to the old tables."""

    changed: bool
    caught_up: dict[str, int]
    backfilled: dict[str, int]


Switch = Callable[["CursorWrapper"], None]


def sql(migration: str) -> ModuleType:
    """The module of one of `legacy_dm`'s migrations (its SQL constants), by name: "0008_...", "0009_..."."""
    return importlib.import_module(f"{__package__}.{migration}")


def enabled_triggers(connection: BaseDatabaseWrapper) -> int:
    """How many of the sync's triggers the database has enabled (all of them when on, none when off)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D' AND tgname = ANY(%s)",
            [[name for _, name in TRIGGERS]],
        )
        return int(cursor.fetchone()[0])


def is_on(connection: BaseDatabaseWrapper) -> bool:
    return enabled_triggers(connection) > 0


def old_tables_hold_rows(connection: BaseDatabaseWrapper) -> bool:
    with connection.cursor() as cursor:
        return any(scalar(cursor, f"SELECT EXISTS (SELECT 1 FROM {table})") for table in OLD_TABLES)


def switch_statements(verb: str, triggers: list[tuple[str, str]]) -> list[str]:
    """`ALTER TABLE ... ENABLE|DISABLE TRIGGER ...` for each of `triggers`."""
    return [f"ALTER TABLE {table} {verb} TRIGGER {name}" for table, name in triggers]


def drop_statements(triggers: list[tuple[str, str]], functions: list[str]) -> list[str]:
    return [f"DROP TRIGGER IF EXISTS {name} ON {table}" for table, name in triggers] + [
        f"DROP FUNCTION IF EXISTS {name}()" for name in functions
    ]


def _check_sequences(connection: BaseDatabaseWrapper) -> None:
    """The old tables' id sequences are the ones the `*_ids` triggers name (what old servers' INSERTs use)."""
    with connection.cursor() as cursor:
        for old_table, sequence in SEQUENCES.values():
            found = scalar(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [old_table])
            if found != sequence:
                raise SyncUnavailable(
                    f"the old table {old_table} takes its ids from {found or 'no sequence'}, not {sequence},"
                    " so the two sides cannot share ids"
                )


def _align_sequences(connection: BaseDatabaseWrapper) -> None:
    """Move each old sequence past every id either side holds, so the next id is free on both."""
    with connection.cursor() as cursor:
        for new_table, (old_table, _) in SEQUENCES.items():
            top = max(
                scalar(cursor, f"SELECT MAX(id) FROM {old_table}") or 0,
                scalar(cursor, f"SELECT MAX(id) FROM {new_table}") or 0,
            )
            if top:
                move_sequence(connection, old_table, top)


def _backfill(connection: BaseDatabaseWrapper) -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        # The sync's own writes (as the triggers' are): the old tables' triggers do not echo them back.
        cursor.execute("SELECT set_config(%s, 'on', true)", [SYNCING])
        for step, statement in BACKFILL.items():
            cursor.execute(statement)
            counts[step] = max(cursor.rowcount, 0)
    return {table: counts[table] for table in ("users", "conversations", "direct_messages")}


def turn_on(
    connection: BaseDatabaseWrapper,
    options: CarryOptions,
    *,
    switch_on: Switch,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Catch up, then sync both ways from now on (see the module docstring); `switch_on` switches the
    triggers on. Idempotent: when already on, nothing happens.
    """
    if is_on(connection):
        return SyncReport(False, {}, {})

    def catch_up(progress: Progress | None) -> _carry.CopyResult:
        return _carry.copy_legacy_data(connection, **options.as_kwargs(), now=now, progress=progress, sync_state=True)

    first = catch_up(progress)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(options.lock_timeout_ms)}ms'")
        _check_sequences(connection)
        switch_on(cursor)
        second = catch_up(None)
        backfilled = _backfill(connection)
        _align_sequences(connection)
    caught_up = {step: first.rows[step] + second.rows[step] for step in first.rows}
    return SyncReport(True, caught_up, backfilled)


def turn_off(connection: BaseDatabaseWrapper, options: CarryOptions, *, switch_off: Switch) -> bool:
    """The cut-over: `switch_off` switches the triggers off (the old tables are frozen from now on), and the
    new tables' sequences move past every old id plus the headroom. Idempotent; True when the sync was on.
    """
    if not is_on(connection):
        return False
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(options.lock_timeout_ms)}ms'")
        switch_off(cursor)
        _carry.move_sequences(connection, headroom=options.headroom, lock_timeout_ms=options.lock_timeout_ms)
    return True


def carry_unpaired_conversations(connection: BaseDatabaseWrapper, options: CarryOptions, *, first: Switch) -> int:
    """Run `first` (new old -> new functions), then carry again the old conversations an earlier version of the
    sync left mapping to no pair although they have two participants (`_carry.statements.unpaired_sql`); how
    many. Old servers' conversation writes wait for this transaction (those in flight commit first, with the
    earlier functions), so what is carried again is every conversation the earlier ones left.
    """
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(options.lock_timeout_ms)}ms'")
        cursor.execute("LOCK TABLE conversations, conversation_participants IN SHARE ROW EXCLUSIVE MODE")
        first(cursor)
        unpaired = statements.unpaired_sql()
        cursor.execute(f"SELECT COUNT(*), MIN(conversation_id), MAX(conversation_id) FROM ({unpaired}) u")
        count, low, high = cursor.fetchone()
        if count:
            run_batch(connection, options.lock_timeout_ms, statements.conversations_sql(connection, low, high + 1))
    return int(count)
