"""Old servers' writes that Relay's clients should hear of, noted in an outbox (old -> events).

Old servers write the old tables with raw SQL: the old -> new triggers apply their rows to the new tables, but
no Relay code runs, so the services' events (`messaging.events`) are not published. A trigger on
`direct_messages` (`relay_sync_direct_messages_events`, `legacy_dm` migration 0009) therefore notes each such
write in `legacy_dm_sync_event` (the `SyncEvent` model) inside the old server's transaction, and `pg_notify`s
`CHANNEL`; `legacy_dm.sync.events` (run by `manage.py legacy_sync_events`) publishes the services' own events
for them and deletes the rows.

An outbox rather than a NOTIFY payload alone: a notification reaches only a session that listens at that
moment, so a worker restarting would lose events; rows wait until a worker takes them, each exactly once
(`FOR UPDATE SKIP LOCKED`), however many workers run. The trigger writes only ids and kinds: what the event
says, and to whom, is decided in `messaging.events`, as for every other write.

The trigger has the sync's guard, like every sync trigger: a row the new side mirrors into `direct_messages`
(marked `relay.syncing`) notes nothing, since the service that wrote it published its events.
"""

from legacy_dm.migrations import _live_sync

TABLE = "legacy_dm_sync_event"
CHANNEL = "relay_sync_events"


def trigger_names() -> list[tuple[str, str]]:
    return list(_live_sync.OUTBOX_TRIGGERS)
