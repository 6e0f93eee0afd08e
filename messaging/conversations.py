"""The conversation summary (`ConversationSummary`): kept in step with the messages by database triggers,
rebuilt and verified from them.

A row per (user, partner) with a message visible to the user holds the time of the last such message and
the number of the partner's the user has not read: an inbox page is one range of its index, whatever the
length of the user's history.

**Where it is maintained: triggers on `messaging_message`, in the writing statement.** Every write reaches
that table: the services (new API, legacy API, pages, the admin's actions), the live sync's rows from old
servers (PostgreSQL triggers write them, and no Relay code runs), the carry's catch-ups, fixtures and the
shell. A trigger is the one place none of them can forget, and it keeps the summary in the writer's own
transaction: an old server's message is in the inbox when its transaction commits.

**One rule.** The triggers run no hand-written copy of the visibility rule: `_refresh_query` is the ORM's
own SQL for the rule's querysets (`Message.objects.sent_visible_to(...)`, `unread_for(...)`), compiled for
the database at hand with marker ids that `_render` replaces by the trigger's variables. `rebuild` and
`verify` group the same halves for many users at once.

**Inserts add, other writes recompute (PostgreSQL).** A new message can only move a pair's last activity
later and add to its unread count, so an insert statement adds what its new rows contribute (grouped by the
rule's halves, as `rebuild` groups every message) with one upsert per pair and side: a send costs the same
however long the conversation. An update or a delete can take a message out of a pair's view, so it
recomputes the pair from its messages. SQLite runs one writer at a time; its triggers recompute, per row.

**Concurrency (PostgreSQL).** Either way the trigger first takes a transaction-scoped advisory lock on the
pair. A recomputation then runs in statements of its own, which (READ COMMITTED) see every write committed
before the lock was granted; an addition applies to the row as the last holder of the lock committed it. Two
sends to one pair at once, or a read racing a send, leave it exact. The triggers are per statement and lock
a statement's pairs in one order, so bulk updates (reading a conversation, hiding many messages) refresh
each pair once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection as default_connection
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Subquery, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.db import BULK_LOAD

from .hot_queries import sql_of
from .models import ConversationSummary, InboxTotals, Message

TABLE = ConversationSummary._meta.db_table
TOTALS = InboxTotals._meta.db_table
MESSAGES = Message._meta.db_table
PREFIX = "relay_summary"  # every trigger and function made here is named from it
REFRESH_FUNCTION = f"{PREFIX}_refresh"
ADD_FUNCTION = f"{PREFIX}_add"  # PostgreSQL: what new messages add to a pair

# Marker ids, compiled into the refresh query where a trigger's variables go. No real id is one.
_OWNER = -(2**62) + 101
_PARTNER = -(2**62) + 102
_PLACEHOLDER = re.compile(r"%s|%%")
# A row that appeared meanwhile (a rebuild running beside the writes) is overwritten, not a unique violation.
_UPSERT = (
    "ON CONFLICT (user_id, partner_id) DO UPDATE SET "
    "last_activity_at = excluded.last_activity_at, unread_count = excluded.unread_count"
)

# Which rows of a pair a change of these columns can change: the sender's view, the recipient's, or both.
SENDER_SIDE = ("sender_id", "recipient_id")
RECIPIENT_SIDE = ("recipient_id", "sender_id")
Sides = tuple[tuple[str, str], ...]
CHANGES: tuple[tuple[tuple[str, ...], Sides], ...] = (
    (("created_at", "hidden_at", "sender_id", "recipient_id"), (SENDER_SIDE, RECIPIENT_SIDE)),
    (("sender_deleted_at",), (SENDER_SIDE,)),
    (("recipient_deleted_at", "read_at"), (RECIPIENT_SIDE,)),
)


# --- The definition, as SQL -----------------------------------------------------------------------------


def _refresh_query(owner: Any, partner: Any) -> QuerySet[Any, tuple[Any, ...]]:
    """One row (owner, partner, last activity, unread) when the owner sees a message of the pair, else none."""
    sent = (
        Message.objects.sent_visible_to(owner)
        .filter(recipient=partner)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    received = (
        Message.objects.received_visible_to(owner)
        .filter(sender=partner)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    unread = (
        Message.objects.unread_for(owner)
        .filter(sender=partner)
        .order_by()
        .values("recipient")
        .annotate(n=Count("pk"))
        .values("n")
    )
    from users.models import User

    return (
        User.objects.filter(pk=partner)
        .annotate(sent_at=Subquery(sent), received_at=Subquery(received))
        .filter(Q(sent_at__isnull=False) | Q(received_at__isnull=False))
        .annotate(
            owner=Value(owner, output_field=IntegerField()),
            last=Case(
                When(sent_at__isnull=True, then=F("received_at")),
                When(received_at__isnull=True, then=F("sent_at")),
                When(sent_at__gt=F("received_at"), then=F("sent_at")),
                default=F("received_at"),
            ),
            unread=Coalesce(Subquery(unread), Value(0)),
        )
        .values_list("owner", "pk", "last", "unread")
    )


def _grouped(owners: tuple[int, int] | None, *, ids_from: str | None = None) -> tuple[str, tuple[Any, ...]]:
    """SQL of (owner, partner, last activity, unread) for every pair of the owners with ids in `owners`
    (inclusive; every owner when None), grouped from the two halves of the visibility rule; only of the
    messages whose ids `ids_from` (SQL) selects, when given."""
    sent = Message.objects.sent_visible()
    received = Message.objects.received_visible()
    if owners is not None:
        sent = sent.filter(sender__gte=owners[0], sender__lte=owners[1])
        received = received.filter(recipient__gte=owners[0], recipient__lte=owners[1])
    if ids_from is not None:
        sent = sent.filter(pk__in=RawSQL(ids_from, ()))
        received = received.filter(pk__in=RawSQL(ids_from, ()))
    halves = (
        sent.annotate(owner=F("sender_id"), partner=F("recipient_id"), unread=Value(0))
        .values("owner", "partner", "created_at", "unread")
        .order_by()
        .union(
            received.annotate(
                owner=F("recipient_id"),
                partner=F("sender_id"),
                unread=Case(When(read_at__isnull=True, then=Value(1)), default=Value(0)),
            )
            .values("owner", "partner", "created_at", "unread")
            .order_by(),
            all=True,
        )
    )
    sql, params = sql_of(halves)
    return (
        f"SELECT v.owner, v.partner, MAX(v.created_at), SUM(v.unread) FROM ({sql}) v WHERE TRUE "
        "GROUP BY v.owner, v.partner",
        params,
    )


def _static(sql: str, params: Sequence[Any], markers: dict[int, str] | None = None) -> str:
    """`sql` with its parameters written in: each marker id as its SQL expression, other ints as numbers."""
    values = iter(params)
    markers = markers or {}

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        param = next(values)
        if param in markers:
            return markers[param]
        if isinstance(param, int) and not isinstance(param, bool):  # psycopg's Int4 too
            return str(int(param))
        raise TypeError(f"a summary query has a parameter that is not an id: {param!r}")

    return _PLACEHOLDER.sub(value, sql)


def _render(owner: str, partner: str) -> list[str]:
    """The refresh of one pair as static SQL, with `owner` and `partner` (SQL expressions) for the ids."""
    select = _static(*sql_of(_refresh_query(_OWNER, _PARTNER)), {_OWNER: owner, _PARTNER: partner})
    pair = f"FROM {TABLE} WHERE user_id = {owner} AND partner_id = {partner}"

    def totals(sign: str) -> str:
        """The owner's totals without (`-`) or with (`+`) the pair's row, whatever it holds."""
        return (
            f"UPDATE {TOTALS} SET conversations = conversations {sign} (SELECT COUNT(*) {pair}), "
            f"unread = unread {sign} (SELECT COALESCE(SUM(unread_count), 0) {pair}) WHERE user_id = {owner}"
        )

    # A user has a totals row while they have a summary row: made when a pair's row appears, dropped at zero
    # (so nothing is left behind for a user whose messages are all gone).
    return [
        totals("-"),
        f"DELETE {pair}",
        f"INSERT INTO {TABLE} (user_id, partner_id, last_activity_at, unread_count) {select} {_UPSERT}",
        f"INSERT INTO {TOTALS} (user_id, conversations, unread) SELECT {owner}, 0, 0 "
        f"WHERE EXISTS (SELECT 1 {pair}) ON CONFLICT (user_id) DO NOTHING",
        totals("+"),
        f"DELETE FROM {TOTALS} WHERE user_id = {owner} AND conversations = 0",
    ]


# --- The triggers ---------------------------------------------------------------------------------------


def _postgresql() -> list[str]:
    refresh = ";\n".join(_render("p_owner", "p_partner"))
    lock = f"""PERFORM pg_advisory_xact_lock(
                hashtextextended('{PREFIX}:' || LEAST(p_owner, p_partner) || ':' || GREATEST(p_owner, p_partner), 0)
            )"""
    # What an insert statement's new messages add to each pair they are visible in, grouped by the rule's
    # own halves (as `rebuild` groups every message).
    added = _static(*_grouped(None, ids_from="SELECT id FROM new_rows"))

    def pairs(sides: Sides, *, table: str, changed: Sequence[str] = (), ids_of: str = "n") -> list[str]:
        """The pairs of rows of a transition table (`table`: "new", "old", or "update": the two joined as
        `n` and `o`), `ids_of` one of them, where one of `changed` changed."""
        if table == "update":
            source = "new_rows n JOIN old_rows o ON o.id = n.id"
            where = " OR ".join(f"n.{c} IS DISTINCT FROM o.{c}" for c in changed)
        else:
            source, where = f"{table}_rows {ids_of}", "TRUE"
        return [f"SELECT {ids_of}.{a} AS owner, {ids_of}.{b} AS partner FROM {source} WHERE {where}" for a, b in sides]

    def loop(selects: list[str]) -> str:
        return f"""
            FOR pair IN SELECT owner, partner FROM (
                        SELECT DISTINCT owner, partner FROM ({" UNION ALL ".join(selects)}) changed
                    ) pairs ORDER BY LEAST(owner, partner), GREATEST(owner, partner), owner LOOP
                PERFORM {REFRESH_FUNCTION}(pair.owner, pair.partner);
            END LOOP;"""

    both = (SENDER_SIDE, RECIPIENT_SIDE)
    updated = [select for columns, sides in CHANGES for select in pairs(sides, table="update", changed=columns)]
    # A message moved to other people (never done, but possible in SQL) also leaves its old pair.
    updated += pairs(both, table="update", changed=("sender_id", "recipient_id"), ids_of="o")
    bodies = {
        # New messages only add to a pair: its last activity is the later of the two, its unread count the sum
        # (no recomputation from the pair's history, which a send would otherwise pay for).
        "insert": f"""
            FOR pair IN SELECT a.owner, a.partner, a.last, a.unread FROM ({added}) a(owner, partner, last, unread)
                    ORDER BY LEAST(a.owner, a.partner), GREATEST(a.owner, a.partner), a.owner LOOP
                PERFORM {ADD_FUNCTION}(pair.owner, pair.partner, pair.last, pair.unread::bigint);
            END LOOP;""",
        "update": loop(updated),
        "delete": loop(pairs(both, table="old", ids_of="o")),
    }
    transitions = {
        "insert": "REFERENCING NEW TABLE AS new_rows",
        "update": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "delete": "REFERENCING OLD TABLE AS old_rows",
    }
    statements = [
        f"""CREATE OR REPLACE FUNCTION {REFRESH_FUNCTION}(p_owner bigint, p_partner bigint) RETURNS void
        LANGUAGE plpgsql VOLATILE AS $body$
        BEGIN
            {lock};
            {refresh};
        END $body$""",
        f"""CREATE OR REPLACE FUNCTION {ADD_FUNCTION}(
            p_owner bigint, p_partner bigint, p_last timestamptz, p_unread bigint
        ) RETURNS void LANGUAGE plpgsql VOLATILE AS $body$
        DECLARE created boolean;
        BEGIN
            {lock};
            INSERT INTO {TABLE} AS s (user_id, partner_id, last_activity_at, unread_count)
                VALUES (p_owner, p_partner, p_last, p_unread)
                ON CONFLICT (user_id, partner_id) DO UPDATE SET
                    last_activity_at = GREATEST(s.last_activity_at, excluded.last_activity_at),
                    unread_count = s.unread_count + excluded.unread_count
                RETURNING (xmax = 0) INTO created;
            IF created OR p_unread <> 0 THEN
                INSERT INTO {TOTALS} AS t (user_id, conversations, unread)
                    VALUES (p_owner, CASE WHEN created THEN 1 ELSE 0 END, p_unread)
                    ON CONFLICT (user_id) DO UPDATE SET
                        conversations = t.conversations + excluded.conversations, unread = t.unread + excluded.unread;
            END IF;
        END $body$""",
    ]
    for event, body in bodies.items():
        statements += [
            f"""CREATE OR REPLACE FUNCTION {PREFIX}_on_{event}() RETURNS trigger LANGUAGE plpgsql AS $body$
            DECLARE pair record;
            BEGIN
                IF current_setting('{BULK_LOAD}', true) = 'on' THEN
                    RETURN NULL;  -- a bulk load: its caller rebuilds the summary afterwards
                END IF;{body}
                RETURN NULL;
            END $body$""",
            f"DROP TRIGGER IF EXISTS {PREFIX}_{event} ON {MESSAGES}",
            f"""CREATE TRIGGER {PREFIX}_{event} AFTER {event.upper()} ON {MESSAGES} {transitions[event]}
            FOR EACH STATEMENT EXECUTE FUNCTION {PREFIX}_on_{event}()""",
        ]
    return statements


def _sqlite() -> list[str]:
    def body(row: str, sides: Sides) -> str:
        statements = [s for a, b in sides for s in _render(f"{row}.{a}", f"{row}.{b}")]
        return ";\n".join(statements) + ";"

    both = (SENDER_SIDE, RECIPIENT_SIDE)
    triggers = {
        "insert": f"AFTER INSERT ON {MESSAGES} BEGIN {body('NEW', both)} END",
        "delete": f"AFTER DELETE ON {MESSAGES} BEGIN {body('OLD', both)} END",
    }
    for number, (columns, sides) in enumerate(CHANGES):
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        triggers[f"update_{number}"] = (
            f"AFTER UPDATE OF {', '.join(columns)} ON {MESSAGES} WHEN {changed} BEGIN {body('NEW', sides)} END"
        )
    triggers["update_moved"] = (
        f"AFTER UPDATE OF sender_id, recipient_id ON {MESSAGES} "
        f"WHEN OLD.sender_id IS NOT NEW.sender_id OR OLD.recipient_id IS NOT NEW.recipient_id "
        f"BEGIN {body('OLD', both)} END"
    )
    statements = []
    for name, definition in triggers.items():
        statements += [f"DROP TRIGGER IF EXISTS {PREFIX}_{name}", f"CREATE TRIGGER {PREFIX}_{name} {definition}"]
    return statements


def install(connection: BaseDatabaseWrapper = default_connection) -> None:
    """Create (or replace) the triggers that keep the summary in step. Idempotent."""
    build = _postgresql if connection.vendor == "postgresql" else _sqlite
    with connection.cursor() as cursor:
        for statement in build():
            cursor.execute(statement)


def uninstall(connection: BaseDatabaseWrapper = default_connection) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for event in ("insert", "update", "delete"):
                cursor.execute(f"DROP TRIGGER IF EXISTS {PREFIX}_{event} ON {MESSAGES}")
                cursor.execute(f"DROP FUNCTION IF EXISTS {PREFIX}_on_{event}()")
            cursor.execute(f"DROP FUNCTION IF EXISTS {REFRESH_FUNCTION}(bigint, bigint)")
            cursor.execute(f"DROP FUNCTION IF EXISTS {ADD_FUNCTION}(bigint, bigint, timestamptz, bigint)")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s", [f"{PREFIX}_%"])
            for (name,) in cursor.fetchall():
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def as_datetime(value: datetime | str) -> datetime:
    """A time from raw SQL as the ORM would give it: SQLite answers text, or a naive time in UTC."""
    parsed = parse_datetime(value) if isinstance(value, str) else value
    if parsed is None:  # never for a column the ORM wrote
        raise ValueError(f"Not a datetime: {value!r}")
    if settings.USE_TZ and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


# --- Rebuild and verify ---------------------------------------------------------------------------------

BATCH_USERS = 2_000


def _owner_ranges(connection: BaseDatabaseWrapper, batch: int) -> Iterator[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {connection.ops.quote_name(_user_table())}")
        low, high = cursor.fetchone()
    if low is None:
        return
    for start in range(low, high + 1, batch):
        yield start, min(start + batch - 1, high)


def _user_table() -> str:
    from users.models import User

    return User._meta.db_table


def rebuild(*, connection: BaseDatabaseWrapper = default_connection, batch: int = BATCH_USERS) -> int:
    """Recompute the whole summary from the messages, `batch` users per transaction; the rows written."""
    written = 0
    for owners in _owner_ranges(connection, batch):
        sql, params = _grouped(owners)
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE} WHERE user_id BETWEEN %s AND %s", list(owners))
            cursor.execute(
                f"INSERT INTO {TABLE} (user_id, partner_id, last_activity_at, unread_count) {sql} {_UPSERT}",
                list(params),
            )
            written += cursor.rowcount
            cursor.execute(f"DELETE FROM {TOTALS} WHERE user_id BETWEEN %s AND %s", list(owners))
            cursor.execute(
                f"INSERT INTO {TOTALS} (user_id, conversations, unread) "
                f"SELECT user_id, COUNT(*), SUM(unread_count) FROM {TABLE} WHERE user_id BETWEEN %s AND %s "
                "GROUP BY user_id",
                list(owners),
            )
    settle(connection)
    return written


def settle(connection: BaseDatabaseWrapper = default_connection) -> None:
    """After the summary was written wholesale (PostgreSQL): `VACUUM (ANALYZE)` of its two tables, so the
    first inbox after a migration or a rebuild is planned with fresh statistics over a settled table rather
    than left to autovacuum. VACUUM cannot run in a transaction; inside one (messaging 0003, `legacy_sync
    on`) the tables are only analysed, and messaging 0004 vacuums them after the migration's transaction.
    """
    if connection.vendor != "postgresql":
        return
    verb = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        cursor.execute(f"{verb} {TABLE}, {TOTALS}")


def rebuild_after_bulk_load(*, connection: BaseDatabaseWrapper = default_connection) -> int | None:
    """`rebuild`, after a bulk load (`config.db.BULK_LOAD`: the carry) wrote messages the triggers skipped;
    None when the summary does not exist yet (a migration before messaging 0003, which builds it)."""
    if TABLE not in connection.introspection.table_names():
        return None
    return rebuild(connection=connection)


@dataclass(frozen=True)
class Difference:
    user_id: int
    partner_id: int | None  # None: the user's totals, (conversations, unread)
    stored: tuple[Any, int] | None  # (last activity, unread) in the summary
    expected: tuple[Any, int] | None  # recomputed from the messages


def verify(*, connection: BaseDatabaseWrapper = default_connection, batch: int = BATCH_USERS) -> list[Difference]:
    """Every row where the summary and a recomputation from the messages disagree (none when it is exact)."""
    differences = []
    for owners in _owner_ranges(connection, batch):
        sql, params = _grouped(owners)
        with connection.cursor() as cursor:
            cursor.execute(sql, list(params))
            expected = {(o, p): (as_datetime(last), int(unread)) for o, p, last, unread in cursor.fetchall()}
            cursor.execute(
                f"SELECT user_id, partner_id, last_activity_at, unread_count FROM {TABLE} "
                "WHERE user_id BETWEEN %s AND %s",
                list(owners),
            )
            stored = {(o, p): (as_datetime(last), unread) for o, p, last, unread in cursor.fetchall()}
            cursor.execute(
                f"SELECT user_id, conversations, unread FROM {TOTALS} WHERE user_id BETWEEN %s AND %s "
                "AND (conversations > 0 OR unread > 0)",
                list(owners),
            )
            stored_totals = {user_id: (count, unread) for user_id, count, unread in cursor.fetchall()}
        for pair in sorted(expected.keys() | stored.keys()):
            if expected.get(pair) != stored.get(pair):
                differences.append(Difference(*pair, stored=stored.get(pair), expected=expected.get(pair)))
        # Each user's totals are the sums of their rows as the messages say.
        expected_totals: dict[int, tuple[int, int]] = {}
        for (owner, _), (_, unread) in expected.items():
            count, total = expected_totals.get(owner, (0, 0))
            expected_totals[owner] = (count + 1, total + unread)
        for owner in sorted(expected_totals.keys() | stored_totals.keys()):
            if expected_totals.get(owner) != stored_totals.get(owner):
                differences.append(
                    Difference(owner, None, stored=stored_totals.get(owner), expected=expected_totals.get(owner))
                )
    return differences


__all__ = ["CHANGES", "Difference", "install", "rebuild", "rebuild_after_bulk_load", "uninstall", "verify"]
