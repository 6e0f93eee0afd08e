"""Deprecation headers and per-endpoint call counts of the legacy API.

Every legacy response says it is deprecated (`Deprecation`, RFC 9745) and names its successor
(`Link: <...>; rel="successor-version"`, RFC 5829). Each call adds one to its endpoint's counter in
`LegacyEndpointUsage`, so operators see in the admin, or with `manage.py legacy_usage`, when legacy traffic
reaches zero.

A process adds up its calls and writes them at most every `LEGACY_USAGE_WRITE_SECONDS` (settings; 0: on
every call), and when it exits: one `UPDATE ... SET calls = calls + n` per endpoint called since the last
write (the row is created on the first call), from a thread of its own, so a process whose calls stop still
writes its last ones at most that interval later. Written on every call, every legacy request of every worker
updated the same few rows, each waiting for the one before it to commit: measured under gunicorn, that cost
the legacy lists a quarter of their throughput. The counts lag by at most that interval, and a process that
is killed (not stopped) loses at most that interval's calls: the counts tell whether old clients are still in
use, which needs neither.
"""

import atexit
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.utils import timezone

from config import metrics

from .models import LegacyEndpointUsage

logger = logging.getLogger(__name__)

# The day the new API replaced the old service; from then on the legacy API is deprecated.
DEPRECATED_SINCE = datetime(2026, 11, 26, tzinfo=UTC)


def deprecation_headers(successor: str) -> dict[str, str]:
    return {
        "Deprecation": f"@{int(DEPRECATED_SINCE.timestamp())}",
        "Link": f'<{successor}>; rel="successor-version"',
    }


@dataclass
class _Calls:
    """The calls of one endpoint that this process has not written yet."""

    count: int
    first_at: datetime
    last_at: datetime


_lock = threading.Lock()
_unwritten: dict[str, _Calls] = {}
_pending: threading.Timer | None = None  # the write due at the end of the current interval


def record_call(endpoint: str) -> None:
    """Count one call of `endpoint` (e.g. `GET /api/direct-messages/{message_id}`), written with the other calls
    of its interval, `LEGACY_USAGE_WRITE_SECONDS` after the first of them, by a thread of its own (0: now).

    Counting never fails the call it counts: a database error is logged, and the calls it could not write are
    written with the next ones.
    """
    global _pending
    metrics.LEGACY_CALLS.labels(endpoint).inc()
    now = timezone.now()
    with _lock:
        _add(endpoint, _Calls(count=1, first_at=now, last_at=now))
        interval = settings.LEGACY_USAGE_WRITE_SECONDS
        if interval > 0:
            if _pending is None:
                _pending = threading.Timer(interval, _write_when_due)
                _pending.daemon = True
                _pending.start()
            return
    write_calls()


def _write_when_due() -> None:
    global _pending
    with _lock:
        _pending = None
    try:
        write_calls()
    finally:
        connections.close_all()  # this thread's own


def write_calls() -> None:
    """Write the calls this process counted and has not written: one query per endpoint once its row exists.
    No write is due after it until the next call."""
    global _pending
    with _lock:
        batch = dict(_unwritten)
        _unwritten.clear()
        if _pending is not None:
            _pending.cancel()
            _pending = None
    for endpoint, calls in batch.items():
        try:
            if _count_more(endpoint, calls):
                continue
            try:
                with transaction.atomic():
                    LegacyEndpointUsage.objects.create(
                        endpoint=endpoint,
                        calls=calls.count,
                        first_called_at=calls.first_at,
                        last_called_at=calls.last_at,
                    )
            except IntegrityError:  # a concurrent first call created it
                _count_more(endpoint, calls)
        except DatabaseError:
            logger.exception("Could not count %s call(s) of the legacy endpoint %s yet", calls.count, endpoint)
            _put_back(endpoint, calls)


def _put_back(endpoint: str, calls: _Calls) -> None:
    """Keep calls that could not be written for the next write, with the calls counted since."""
    with _lock:
        _add(endpoint, calls)


def _add(endpoint: str, calls: _Calls) -> None:
    """Add `calls` to the unwritten calls of `endpoint` (the caller holds `_lock`)."""
    unwritten = _unwritten.get(endpoint)
    if unwritten is None:
        _unwritten[endpoint] = calls
    else:
        unwritten.count += calls.count
        unwritten.first_at = min(unwritten.first_at, calls.first_at)
        unwritten.last_at = max(unwritten.last_at, calls.last_at)


atexit.register(write_calls)  # a worker that stops writes what it counted

_COUNT_MORE = (
    f"UPDATE {LegacyEndpointUsage._meta.db_table} SET calls = calls + %s, last_called_at = GREATEST(last_called_at, %s)"
    " WHERE endpoint = %s"
)


def _count_more(endpoint: str, calls: _Calls) -> bool:
    """The increment of an existing counter, as SQL: the ORM's `update()` adds its compile to the statement's
    own cost. False: no row yet."""
    connection = connections[router.db_for_write(LegacyEndpointUsage)]
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_MORE, [calls.count, calls.last_at, endpoint])
        return bool(cursor.rowcount > 0)
