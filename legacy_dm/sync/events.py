"""The live events of old servers' writes: the outbox's drain, and the loop that runs it.

The services publish the events of every write made through Relay (`messaging.events`). An old server's
write runs no Relay code: the `outbox` trigger notes it in `legacy_dm_sync_event` instead, and this
module hands each noted write to the same `messaging.events` function the matching service calls, so it
produces exactly the events the same write through Relay would. What an event says and whom it reaches
(the message's shape per viewer, read-receipt privacy, unread counts) is decided there, never here.

| an old server | is published as |
|---|---|
| inserts a message | `message_sent` |
| sets `is_read` | `messages_read` (one call for a run of reads by one reader at one time, as an old conversation read makes) |
| sets `is_deleted_by_sender` / `_receiver` | `messages_deleted`, for that party |
| clears `is_read` or `is_deleted_by_receiver` | `unread_changed`, for the recipient |

`drain` takes the rows in batches, each one transaction: claim (`SELECT ... FOR UPDATE SKIP LOCKED`, so
workers side by side never take the same row), read the messages as they are now, call `messaging.events`
(which publish once the transaction commits), delete the rows, commit. A worker that dies mid-batch rolls
back and leaves its rows to the next; rows wait while no worker runs. As for the services, a broker that is
down when the batch commits loses that batch's events (logged), never a write.

`listen` (`manage.py legacy_sync_events`) LISTENs on the outbox's channel on a connection of its own and
drains at start (what waited while no worker ran), on each notification, and every `interval` seconds
without one (rows a dying worker's batch gave back, which no new notification announces). It ends on a
lost connection, for the process supervisor to start it again.
"""

from __future__ import annotations

import threading
from datetime import datetime
from itertools import groupby

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from legacy_dm.models import SyncEvent
from messaging import events, selectors
from users.models import User

from . import outbox

BATCH_SIZE = 500


def drain(*, using: str = DEFAULT_DB_ALIAS, batch_size: int = BATCH_SIZE) -> int:
    """Publish the events of every write waiting in the outbox, and delete its rows; how many there were."""
    drained = 0
    while True:
        with transaction.atomic(using=using):
            rows = list(SyncEvent.objects.using(using).select_for_update(skip_locked=True).order_by("pk")[:batch_size])
            if rows:
                _publish(rows, using=using)
                SyncEvent.objects.using(using).filter(pk__in=[row.pk for row in rows]).delete()
        drained += len(rows)
        if len(rows) < batch_size:
            return drained


def _publish(rows: list[SyncEvent], *, using: str) -> None:
    """Hand each run of rows of one kind and one user to its `messaging.events` function, in order.

    The messages are read as they are now: one deleted since is not announced as sent, a read undone since
    is not announced as read (its `unread` row follows).
    """
    messages = selectors.messages_to_announce(ids={row.message_id for row in rows}, using=using)

    def run_key(row: SyncEvent) -> tuple[str, int | None, datetime | None]:
        message = messages.get(row.message_id)
        read_at = message.read_at if message is not None and row.kind == SyncEvent.Kind.READ else None
        return row.kind, row.user_id, read_at

    for (kind, user_id, read_at), run in groupby(rows, run_key):
        ids = [row.message_id for row in run]
        found = [messages[message_id] for message_id in ids if message_id in messages]
        if kind == SyncEvent.Kind.SENT:
            for message in found:
                events.message_sent(message, origin="old_server")
        elif kind == SyncEvent.Kind.READ and read_at is not None and found:
            events.messages_read(reader=found[0].recipient, messages=found, read_at=read_at)
        elif kind == SyncEvent.Kind.DELETED and user_id is not None:
            events.messages_deleted(user=User(pk=user_id), ids=ids)
        elif kind == SyncEvent.Kind.UNREAD and user_id is not None:
            events.unread_changed([user_id])


def listen(
    *,
    using: str = DEFAULT_DB_ALIAS,
    interval: float = 5.0,
    batch_size: int = BATCH_SIZE,
    stop: threading.Event | None = None,
) -> None:
    """Drain at start, on each notification of the outbox's channel, and every `interval` seconds without one,
    until `stop` is set (checked at least every `interval` seconds); forever without it.
    """
    params = connections[using].get_connection_params()
    with psycopg.connect(**params, autocommit=True) as listener:
        listener.execute(f"LISTEN {outbox.CHANNEL}")
        # After LISTEN, so that no write committed in between goes unnoticed until the interval.
        drain(using=using, batch_size=batch_size)
        while stop is None or not stop.is_set():
            for _ in listener.notifies(timeout=interval, stop_after=1):
                pass
            drain(using=using, batch_size=batch_size)
