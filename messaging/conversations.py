"""The conversation summary (`ConversationSummary`, `InboxTotals`): rebuilt and verified from the messages.

A row per (user, partner) with a message visible to the user holds the time of the last such message and
the number of the partner's the user has not read; each user's totals row holds their number of such rows
and the sum of their unread counts. An inbox page is one range of the summary's index, whatever the length
of the user's history.

**Where it is kept: triggers on `messaging_message`, in the writing statement.** Every write reaches that
table: the services, the live sync's rows from old servers (written by PostgreSQL triggers, where no Relay
code runs), the carry's catch-ups, fixtures and the shell. The triggers and their functions are literal
PL/pgSQL in the migrations (messaging 0003, 0006, 0007, which says how they work, and 0013); this module
only lets a connection's writes skip them (`uninstall`) and keep them again (`install`).

**Rebuild and verify.** `rebuild` recomputes the summary from the messages, a range of users at a time, and
`verify` lists where it disagrees with such a recomputation (`manage.py rebuild_conversations [--verify]`).
Both group the messages by the visibility rule's two halves (`Message.objects.sent_visible()` and
`received_visible()`: a message is in its sender's view unless hidden or deleted by the sender, in its
recipient's unless hidden or deleted by the recipient, and unread there without `read_at`); the tests keep
this SQL equal to the querysets (test_services_properties.py, test_conversation_summary.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import connection as default_connection
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

BATCH_USERS = 2_000

# Every (owner, partner, last activity, unread) of the owners with ids from %(low)s to %(high)s, from the
# messages visible to them: the sender's half and the recipient's half of the visibility rule.
EXPECTED = """
    SELECT owner, partner, MAX(created_at) AS last_activity_at, SUM(unread) AS unread_count
    FROM (
        SELECT sender_id AS owner, recipient_id AS partner, created_at, 0 AS unread
        FROM messaging_message
        WHERE hidden_at IS NULL AND sender_deleted_at IS NULL AND sender_id BETWEEN %(low)s AND %(high)s
        UNION ALL
        SELECT recipient_id, sender_id, created_at, CASE WHEN read_at IS NULL THEN 1 ELSE 0 END
        FROM messaging_message
        WHERE hidden_at IS NULL AND recipient_deleted_at IS NULL AND recipient_id BETWEEN %(low)s AND %(high)s
    ) visible
    GROUP BY owner, partner
"""

# The summary and the totals of the owners from %(low)s to %(high)s made equal to EXPECTED; the rows written.
# A row that a trigger wrote meanwhile (a rebuild beside the writes) is overwritten.
REBUILD = f"""
WITH expected AS ({EXPECTED}),
stale_rows AS (
    DELETE FROM messaging_conversation_summary s
    WHERE s.user_id BETWEEN %(low)s AND %(high)s
        AND NOT EXISTS (SELECT 1 FROM expected e WHERE e.owner = s.user_id AND e.partner = s.partner_id)
),
rows_written AS (
    INSERT INTO messaging_conversation_summary (user_id, partner_id, last_activity_at, unread_count)
    SELECT owner, partner, last_activity_at, unread_count FROM expected
    ON CONFLICT (user_id, partner_id) DO UPDATE SET
        last_activity_at = excluded.last_activity_at, unread_count = excluded.unread_count
    RETURNING 1
),
stale_totals AS (
    DELETE FROM messaging_inbox_totals t
    WHERE t.user_id BETWEEN %(low)s AND %(high)s AND NOT EXISTS (SELECT 1 FROM expected e WHERE e.owner = t.user_id)
),
totals_written AS (
    INSERT INTO messaging_inbox_totals (user_id, conversations, unread)
    SELECT owner, COUNT(*), SUM(unread_count) FROM expected GROUP BY owner
    ON CONFLICT (user_id) DO UPDATE SET conversations = excluded.conversations, unread = excluded.unread
)
SELECT COUNT(*) FROM rows_written
"""

# Where the summary of the owners from %(low)s to %(high)s differs from EXPECTED: a pair's row (last activity,
# unread) or a user's totals (partner NULL; conversations, unread), stored and expected, NULL where absent. A
# totals row of zeros counts as absent.
VERIFY = f"""
WITH expected AS ({EXPECTED}),
stored AS (
    SELECT user_id, partner_id, last_activity_at, unread_count FROM messaging_conversation_summary
    WHERE user_id BETWEEN %(low)s AND %(high)s
),
expected_totals AS (
    SELECT owner AS user_id, COUNT(*) AS conversations, SUM(unread_count) AS unread FROM expected GROUP BY owner
),
stored_totals AS (
    SELECT user_id, conversations, unread FROM messaging_inbox_totals
    WHERE user_id BETWEEN %(low)s AND %(high)s AND (conversations > 0 OR unread > 0)
)
SELECT user_id, partner_id, stored_at, stored_number, stored_unread, expected_at, expected_number, expected_unread
FROM (
    SELECT COALESCE(s.user_id, e.owner) AS user_id, COALESCE(s.partner_id, e.partner) AS partner_id,
        s.last_activity_at AS stored_at, NULL::bigint AS stored_number, s.unread_count AS stored_unread,
        e.last_activity_at AS expected_at, NULL::bigint AS expected_number, e.unread_count AS expected_unread
    FROM stored s FULL JOIN expected e ON e.owner = s.user_id AND e.partner = s.partner_id
    WHERE (s.last_activity_at, s.unread_count) IS DISTINCT FROM (e.last_activity_at, e.unread_count)
    UNION ALL
    SELECT COALESCE(s.user_id, e.user_id), NULL, NULL, s.conversations, s.unread, NULL, e.conversations, e.unread
    FROM stored_totals s FULL JOIN expected_totals e ON e.user_id = s.user_id
    WHERE (s.conversations, s.unread) IS DISTINCT FROM (e.conversations, e.unread)
) differences
ORDER BY partner_id IS NULL, user_id, partner_id
"""


def install(connection: BaseDatabaseWrapper = default_connection) -> None:
    """The connection's writes keep the summary again, after `uninstall`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('relay.bulk_load', 'off', false)")


def uninstall(connection: BaseDatabaseWrapper = default_connection) -> None:
    """The connection's writes leave the summary as it is until `rebuild` (a load that rebuilds afterwards, a
    test of drift), until `install` or the connection's end: the triggers (defined by the migrations) skip a
    bulk load, marked by the setting `relay.bulk_load`, here set for the session rather than a transaction.
    Like any setting, it is undone when its transaction rolls back; other connections are unaffected."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('relay.bulk_load', 'on', false)")


def _owner_ranges(connection: BaseDatabaseWrapper, batch: int) -> Iterator[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM users_user")
        low, high = cursor.fetchone()
    if low is None:
        return
    for start in range(low, high + 1, batch):
        yield start, min(start + batch - 1, high)


def rebuild(*, connection: BaseDatabaseWrapper = default_connection, batch: int = BATCH_USERS) -> int:
    """Recompute the whole summary from the messages, `batch` users per transaction; the rows written."""
    written = 0
    for low, high in _owner_ranges(connection, batch):
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(REBUILD, {"low": low, "high": high})
            written += cursor.fetchone()[0]
    settle(connection)
    return written


def settle(connection: BaseDatabaseWrapper = default_connection) -> None:
    """After the summary was written wholesale: `VACUUM (ANALYZE)` of its two tables, so the first inbox after
    a rebuild is planned with fresh statistics over a settled table rather than left to autovacuum. VACUUM
    cannot run in a transaction; inside one (`legacy_sync on`, a test) the tables are only analysed."""
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute("ANALYZE messaging_conversation_summary, messaging_inbox_totals")
        else:
            cursor.execute("VACUUM (ANALYZE) messaging_conversation_summary, messaging_inbox_totals")


def rebuild_after_bulk_load(*, connection: BaseDatabaseWrapper = default_connection) -> int | None:
    """`rebuild`, after a bulk load (the setting `relay.bulk_load`: the carry) wrote messages the triggers
    skipped; None when the summary does not exist yet (a migration before messaging 0003, which builds it)."""
    if "messaging_conversation_summary" not in connection.introspection.table_names():
        return None
    return rebuild(connection=connection)


@dataclass(frozen=True)
class Difference:
    user_id: int
    partner_id: int | None  # None: the user's totals, (conversations, unread)
    stored: tuple[datetime | int, int] | None  # (last activity, unread) in the summary
    expected: tuple[datetime | int, int] | None  # recomputed from the messages


def verify(*, connection: BaseDatabaseWrapper = default_connection, batch: int = BATCH_USERS) -> list[Difference]:
    """Every row where the summary and a recomputation from the messages disagree (none when it is exact)."""
    differences = []
    for low, high in _owner_ranges(connection, batch):
        with connection.cursor() as cursor:
            cursor.execute(VERIFY, {"low": low, "high": high})
            for user_id, partner_id, *values in cursor.fetchall():
                stored_at, stored_number, stored_unread, expected_at, expected_number, expected_unread = values
                # A pair's row is (time, unread); a user's totals are (conversations, unread).
                stored_first = stored_at if partner_id is not None else stored_number
                expected_first = expected_at if partner_id is not None else expected_number
                differences.append(
                    Difference(
                        user_id,
                        partner_id,
                        stored=None if stored_first is None else (stored_first, int(stored_unread)),
                        expected=None if expected_first is None else (expected_first, int(expected_unread)),
                    )
                )
    return differences


__all__ = ["Difference", "install", "rebuild", "rebuild_after_bulk_load", "settle", "uninstall", "verify"]
