"""Deprecation headers and per-endpoint call counts of the legacy API.

Every legacy response says it is deprecated (`Deprecation`, RFC 9745) and names its successor
(`Link: <...>; rel="successor-version"`, RFC 5829). Each call adds one to its endpoint's counter in
`LegacyEndpointUsage` with a single `UPDATE ... SET calls = calls + 1` (the row is created on the first call),
so operators see in the admin, or with `manage.py legacy_usage`, when legacy traffic reaches zero.
"""

import logging
from datetime import UTC, datetime

from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.utils import timezone

from .models import LegacyEndpointUsage

logger = logging.getLogger(__name__)

# The day the new API replaced the old service; from then on the legacy API is deprecated.
DEPRECATED_SINCE = datetime(2026, 11, 26, tzinfo=UTC)


def deprecation_headers(successor: str) -> dict[str, str]:
    return {
        "Deprecation": f"@{int(DEPRECATED_SINCE.timestamp())}",
        "Link": f'<{successor}>; rel="successor-version"',
    }


def record_call(endpoint: str) -> None:
    """Count one call of `endpoint` (e.g. `GET /api/direct-messages/{message_id}`); one query once it exists.

    Counting never fails the call it counts: a database error here is logged and the response goes out.
    """
    now = timezone.now()
    try:
        if _count_one_more(endpoint, now):
            return
        try:
            with transaction.atomic():
                LegacyEndpointUsage.objects.create(endpoint=endpoint, calls=1, first_called_at=now, last_called_at=now)
        except IntegrityError:  # a concurrent first call created it
            _count_one_more(endpoint, now)
    except DatabaseError:
        logger.exception("Could not count a call of the legacy endpoint %s", endpoint)


_COUNT_ONE_MORE = (
    f"UPDATE {LegacyEndpointUsage._meta.db_table} SET calls = calls + 1, last_called_at = %s WHERE endpoint = %s"
)


def _count_one_more(endpoint: str, now: datetime) -> bool:
    """The increment of an existing counter, as SQL: it runs on every legacy call, and the ORM's `update()`
    adds its compile to the statement's own cost. False: no row yet."""
    connection = connections[router.db_for_write(LegacyEndpointUsage)]
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_ONE_MORE, [now, endpoint])
        return bool(cursor.rowcount > 0)
