"""The live sync's state on `/metrics` (config/metrics.py), read from the database at each scrape.

| metric | meaning |
|---|---|
| `relay_legacy_sync_on` | 1 while every trigger of the sync is enabled, else 0 |
| `relay_legacy_sync_triggers_enabled`, `relay_legacy_sync_triggers` | enabled and all: between 0 and all, the sync is broken (`legacy_sync status`) |
| `relay_legacy_sync_events_waiting` | old servers' writes whose events `legacy_sync_events` has not published yet |
| `relay_legacy_sync_oldest_event_age_seconds` | how long the oldest of them has waited (0 when none): alert when it grows, the worker is down |

A database that does not answer leaves these out of the scrape (logged); the rest of `/metrics` still answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from . import sync

logger = logging.getLogger(__name__)


class LiveSyncCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            state = sync.read_state(connections[DEFAULT_DB_ALIAS])
        except DatabaseError as error:
            logger.warning("metrics: the live sync's state could not be read: %s", error)
            return
        yield GaugeMetricFamily("relay_legacy_sync_on", "1 while the live sync is on", value=state.name == "on")
        yield GaugeMetricFamily(
            "relay_legacy_sync_triggers_enabled", "The live sync's triggers enabled now", value=state.triggers_enabled
        )
        yield GaugeMetricFamily(
            "relay_legacy_sync_triggers", "The live sync's triggers, all of them", value=state.triggers
        )
        yield GaugeMetricFamily(
            "relay_legacy_sync_events_waiting",
            "Old servers' writes whose live events are not published yet",
            value=state.events_waiting,
        )
        yield GaugeMetricFamily(
            "relay_legacy_sync_oldest_event_age_seconds",
            "How long the oldest unpublished old-server write has waited (0 when none)",
            value=state.oldest_event_age_seconds or 0.0,
        )
