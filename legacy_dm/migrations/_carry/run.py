"""The carry's entry points: copy what is missing, count what is missing, name what cannot be carried."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypedDict

from . import deferred, statements
from .batches import CopyConflict, CopyResult, Progress, run_batch, scalar, walk
from .sequences import move_sequences

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper


class WalkOptions(TypedDict):
    """The `walk` arguments that every step of one copy shares."""

    batch_size: int
    lock_timeout_ms: int
    progress: Progress | None
    budget: list[int]
    result: CopyResult


def check_conflicts(connection: BaseDatabaseWrapper) -> list[str]:
    """Old users that cannot be carried as they are, described for the operator (empty when there are none).

    A username already taken by another user of the new system (say, an admin created before the move), or
    an email longer than the 254 characters the new table holds, would otherwise stop a batch half-way
    with a database error; this names them up front instead.
    """
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.id, u.username, n.id FROM users u JOIN users_user n ON n.username = u.username"
            " WHERE n.id <> u.id ORDER BY u.id",
            [],
        )
        problems += [
            f"old user {old_id} ({username!r}): username taken by new user {new_id}"
            for old_id, username, new_id in cursor.fetchall()
        ]
        cursor.execute(
            "SELECT u.id FROM users u WHERE length(u.email) > 254"
            " AND NOT EXISTS (SELECT 1 FROM users_user n WHERE n.id = u.id) ORDER BY u.id",
            [],
        )
        problems += [f"old user {row[0]}: email longer than 254 characters" for row in cursor.fetchall()]
    return problems


def copy_legacy_data(
    connection: BaseDatabaseWrapper,
    *,
    batch_size: int,
    headroom: int,
    lock_timeout_ms: int,
    now: datetime | None = None,
    progress: Progress | None = None,
    max_batches: int | None = None,
    sync_state: bool = False,
) -> CopyResult:
    """Copy every old row that is not carried yet: users, messages, the conversation map; then link replies.

    `now` is the migration time used where the old row has no time (delete flags without `updated_at`,
    placeholder users). `max_batches` stops the run after that many batches by raising `CopyInterrupted`
    (what a killed process would leave behind); running it again without a limit completes the copy.
    `sync_state` also brings over reads and deletes that old servers made to rows after they were carried
    (the catch-up command asks for it; the migration copies rows as they are when it runs).

    A table that is still empty when its step starts is loaded with its secondary indexes and
    foreign keys set aside, and they are rebuilt once every step is done (`deferred`); an interrupted run
    leaves them in the ledger, and the next run (or the rollback) rebuilds them.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    problems = check_conflicts(connection)
    if problems:
        raise CopyConflict("old rows that cannot be carried as they are:\n  " + "\n  ".join(problems))
    now_param = connection.ops.adapt_datetimefield_value(now or datetime.now(UTC))
    result = CopyResult()
    budget = [-1 if max_batches is None else max_batches]
    common: WalkOptions = {
        "batch_size": batch_size,
        "lock_timeout_ms": lock_timeout_ms,
        "progress": progress,
        "budget": budget,
        "result": result,
    }
    walk(
        connection,
        step="users",
        table="users",
        first_todo=FIRST_TODO["users"],
        analyze=("users_user",),
        make_statements=lambda lo, hi: [statements.users_sql(connection, lo, hi)],
        **common,
    )
    deferred.set_aside(connection, "messaging_message", source="direct_messages", lock_timeout_ms=lock_timeout_ms)
    walk(
        connection,
        step="direct_messages",
        table="direct_messages",
        first_todo=FIRST_TODO["direct_messages"],
        analyze=("messaging_message", "users_user"),
        make_statements=lambda lo, hi: [
            statements.placeholders_sql(connection, lo, hi, now_param),
            statements.messages_sql(connection, lo, hi, now_param),
        ],
        **common,
    )
    deferred.set_aside(connection, "legacy_dm_conversation", source="conversations", lock_timeout_ms=lock_timeout_ms)
    walk(
        connection,
        step="conversations",
        table="conversations",
        first_todo=FIRST_TODO["conversations"],
        analyze=("legacy_dm_conversation",),
        make_statements=lambda lo, hi: statements.conversations_sql(connection, lo, hi),
        counted=1,  # the inserts; a conversation carried again is deleted first
        **common,
    )
    walk(
        connection,
        step="replies",
        table="direct_messages",
        first_todo=FIRST_TODO["replies"],
        make_statements=lambda lo, hi: [statements.replies_sql(lo, hi)],
        **common,
    )
    if sync_state:
        walk(
            connection,
            step="state",
            table="direct_messages",
            first_todo=FIRST_TODO["state"],
            make_statements=lambda lo, hi: [statements.state_sql(connection, lo, hi, now_param)],
            **common,
        )
    started = time.monotonic()
    result.rebuilt = deferred.rebuild(connection, lock_timeout_ms=lock_timeout_ms)
    if result.rebuilt:
        result.seconds["rebuild"] = time.monotonic() - started
    result.sequences = move_sequences(connection, headroom=headroom, lock_timeout_ms=lock_timeout_ms)
    if any(result.rows.values()):
        started = time.monotonic()
        tidy_after_load(connection, lock_timeout_ms)
        result.seconds["vacuum"] = time.monotonic() - started
    return result


NEW_TABLES = "users_user, messaging_message, legacy_dm_conversation"


def tidy_after_load(connection: BaseDatabaseWrapper, lock_timeout_ms: int) -> None:
    """After a bulk load (PostgreSQL): `VACUUM (ANALYZE)` of the new tables, so the first user after a
    migration gets the plans of a settled table (fresh statistics, and a visibility map that lets the list
    queries answer from their indexes alone) instead of heap scans. VACUUM cannot run in a transaction;
    inside one (`legacy_sync on` catching up under its lock) the tables are only analysed.
    """
    if not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {NEW_TABLES}", [])
    else:
        run_batch(connection, lock_timeout_ms, [(f"ANALYZE {NEW_TABLES}", [])])


# Per step, what has work left, as `FROM ... WHERE ...` over the id the step walks (`todo_id`): counted by
# `missing_counts`, and its lowest id is where the step's walk starts (`walk`'s `first_todo`).
TODO: dict[str, tuple[str, str]] = {
    "users": ("u.id", "FROM users u WHERE NOT EXISTS (SELECT 1 FROM users_user n WHERE n.id = u.id)"),
    "direct_messages": (
        "dm.id",
        "FROM direct_messages dm WHERE NOT EXISTS (SELECT 1 FROM messaging_message m WHERE m.id = dm.id)",
    ),
    "conversations": (
        "c.id",
        "FROM (SELECT c.id FROM conversations c"
        " WHERE NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lc WHERE lc.id = c.id)"
        f" UNION ALL {statements.unpaired_sql()}) c",
    ),
    "replies": (
        "m.id",
        "FROM messaging_message m"
        " WHERE m.legacy_id IS NOT NULL AND m.reply_to_id IS NULL AND m.legacy_reply_to_id IS NOT NULL"
        " AND EXISTS (SELECT 1 FROM messaging_message r WHERE r.legacy_id = m.legacy_reply_to_id)",
    ),
    "state": (
        "m.legacy_id",
        "FROM messaging_message m JOIN direct_messages dm ON dm.id = m.legacy_id"
        f" WHERE {statements.lost_state('m', 'dm')}",
    ),
}
FIRST_TODO = {step: f"SELECT MIN({column}) {rest}" for step, (column, rest) in TODO.items()}


def missing_counts(connection: BaseDatabaseWrapper) -> dict[str, int]:
    """What a copy would write, per step: old rows not carried yet, replies to link, reads/deletes to merge."""
    with connection.cursor() as cursor:
        return {step: int(scalar(cursor, f"SELECT COUNT(*) {rest}")) for step, (_, rest) in TODO.items()}
