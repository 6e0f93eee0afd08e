"""Old servers' writes that Relay's clients should hear of, noted in an outbox (old -> events).

Old servers write the old tables with raw SQL: the `to_new` triggers apply their rows to the new tables, but
no Relay code runs, so the services' events (`messaging.events`) are not published. A trigger on
`direct_messages` therefore notes each such write in `legacy_dm_sync_event` (the `SyncEvent` model) inside
the old server's transaction, and `pg_notify`s `CHANNEL`; `legacy_dm.sync.events` (run by
`manage.py legacy_sync_events`) publishes the services' own events for them and deletes the rows.

An outbox rather than a NOTIFY payload alone: a notification reaches only a session that listens at that
moment, so a worker restarting would lose events; rows wait until a worker takes them, each exactly once
(`FOR UPDATE SKIP LOCKED`), however many workers run. The trigger writes only ids and kinds: what the event
says, and to whom, is decided in `messaging.events`, as for every other write.

The trigger has the sync's guard, like every sync trigger: a row the new side mirrors into `direct_messages`
(`to_old`, marked `relay.syncing`) notes nothing, since the service that wrote it published its events.
Raw SQL only, like the rest of this package (migrations import it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .sql import function

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "legacy_dm_sync_event"
CHANNEL = "relay_sync_events"
FUNCTION = "relay_sync_direct_messages_events"

# The columns whose change an old server's UPDATE is noted for: reads and per-user deletes.
NOTED_COLUMNS = ("is_read", "is_deleted_by_sender", "is_deleted_by_receiver")

# What each write is noted as (`SyncEvent.Kind`): (condition on OLD/NEW, kind, the user whose action it is).
_UPDATES = (
    ("NEW.is_read AND NOT OLD.is_read", "read", "NEW.receiver_id"),
    ("OLD.is_read AND NOT NEW.is_read", "unread", "NEW.receiver_id"),
    ("NEW.is_deleted_by_sender AND NOT OLD.is_deleted_by_sender", "deleted", "NEW.sender_id"),
    ("NEW.is_deleted_by_receiver AND NOT OLD.is_deleted_by_receiver", "deleted", "NEW.receiver_id"),
    ("OLD.is_deleted_by_receiver AND NOT NEW.is_deleted_by_receiver", "unread", "NEW.receiver_id"),
)


def _note(kind: str, user: str) -> str:
    return f"INSERT INTO {TABLE} (kind, message_id, user_id, created_at) VALUES ('{kind}', NEW.id, {user}, now());"


def _body() -> str:
    updates = "\n".join(f"IF {condition} THEN {_note(kind, user)} END IF;" for condition, kind, user in _UPDATES)
    return f"""
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {_note("sent", "NULL")}
            ELSE
                {updates}
            END IF;
            PERFORM pg_notify('{CHANNEL}', '');
            RETURN NULL;
        END"""


def exists(connection: BaseDatabaseWrapper) -> bool:
    """Whether the outbox table is there: `legacy_dm` 0005 creates it, after 0004 has turned the sync on."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [TABLE])
        return bool(cursor.fetchone()[0])


def install_sql(guard: str) -> list[str]:
    """CREATE FUNCTION and CREATE TRIGGER statements of the outbox (after the `to_new` ones)."""
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in NOTED_COLUMNS)
    return [
        function(FUNCTION, _body()),
        f"CREATE TRIGGER {FUNCTION}_insert AFTER INSERT ON direct_messages FOR EACH ROW WHEN ({guard})"
        f" EXECUTE FUNCTION {FUNCTION}()",
        f"CREATE TRIGGER {FUNCTION}_update AFTER UPDATE ON direct_messages FOR EACH ROW"
        f" WHEN ({guard} AND ({changed})) EXECUTE FUNCTION {FUNCTION}()",
    ]


def trigger_names() -> list[tuple[str, str]]:
    return [("direct_messages", f"{FUNCTION}_insert"), ("direct_messages", f"{FUNCTION}_update")]


def function_names() -> list[str]:
    return [FUNCTION]
