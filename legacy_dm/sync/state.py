"""Whether the live sync is on, and how far the events of old servers' writes are behind: one read, for
`manage.py legacy_sync status` and for `/metrics` (`legacy_dm.metrics`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from legacy_dm.migrations import _live_sync

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper


@dataclass(frozen=True)
class SyncState:
    triggers_enabled: int
    triggers: int  # how many the sync has: all enabled when on
    events_waiting: int  # old servers' writes in the outbox, not yet published by `legacy_sync_events`
    oldest_event_age_seconds: float | None  # how long the oldest of them has waited; None when none wait

    @property
    def name(self) -> str:
        """ "on", "off", or "broken" (some triggers enabled and not others: run `legacy_sync off`, then `on`)."""
        if self.triggers_enabled == 0:
            return "off"
        return "on" if self.triggers_enabled == self.triggers else "broken"


def read_state(connection: BaseDatabaseWrapper) -> SyncState:
    enabled = _live_sync.enabled_triggers(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), EXTRACT(EPOCH FROM clock_timestamp() - MIN(created_at)) FROM legacy_dm_sync_event"
        )
        waiting, oldest = cursor.fetchone()
    return SyncState(
        triggers_enabled=enabled,
        triggers=len(_live_sync.TRIGGERS),
        events_waiting=int(waiting),
        oldest_event_age_seconds=None if oldest is None else max(0.0, float(oldest)),
    )
