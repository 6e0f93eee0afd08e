"""Carry the old tables into the new ones: set-based, batched, resumable SQL shared by migrations and a command.

This module is what `legacy_dm`'s data migrations and `manage.py copy_legacy_messages` both call, so the copy
that runs inside `migrate` and the catch-up copy that runs during a rolling deploy are one and the same.

Why a migration may import it: Django's rule "never import app code into a migration" exists because app code
(models, services) changes after the migration was written, while a migration must keep meaning what it meant.
This module is written to be safe for that use and must stay so:

- it imports no model, no app code and no settings at import time; callers pass the database connection (and,
  for removing carried rows, the migration's historical `apps`) and every tunable explicitly;
- the copy itself is plain SQL over table and column names, which only change through a migration (the new
  migration would then need a new version of this module, exactly like a hand-written data migration);
- content types of nameless attachments are sniffed in SQL from a frozen list of magic numbers (the same
  signatures as `messaging.attachments`, copied on purpose rather than imported, so history does not move
  when that module changes).

How it copies (see also README "Migrating the old database"):

- tables are walked by primary-key range (`batch_size` ids per batch), each batch one `INSERT ... SELECT`
  in its own short transaction; on PostgreSQL each batch first does `SET LOCAL lock_timeout`, so a batch
  waits seconds, not minutes, for a lock (and is retried a few times when it times out);
- every `INSERT` copies only ids that are not there yet (`NOT EXISTS`), so an interrupted or repeated run
  copies exactly what is missing;
- order: users, then per message batch the placeholder users it needs and the messages (a reply to a
  message of the same or an earlier batch is linked at once), then the conversation-id map (the lowest old
  id of a pair is its canonical id, later ids of the same pair its aliases, once the map has `alias_of`), then
  a pass linking replies to later ids, then the id sequences are moved past the carried ids plus a headroom;
- the SQL is the same on SQLite and PostgreSQL except for reading naive `TIMESTAMP` columns as UTC.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import OperationalError, transaction
from django.db.models import ProtectedError, Q

# Placeholder users stand for senders/recipients whose old `users` row no longer exists.
PLACEHOLDER_PASSWORD = "!legacy-placeholder"  # a leading "!" is Django's unusable-password marker
PLACEHOLDER_USERNAME_PREFIX = "deleted-user-"
# An old password hash that no Django hasher verifies becomes this unusable password; the hash itself is kept
# verbatim in `users_user.legacy_password`, and its owner sets a new password.
UNVERIFIABLE_PASSWORD = "!legacy-unverifiable"
# The old password hashes that Django verifies: (Django's prefix, the form, as a regular expression that
# PostgreSQL's `~` and Python's `re` (SQLite's REGEXP, as Django registers it) read alike). Django stores a
# hash as its hasher's algorithm name, then the hash's own text. Each form bounds its cost parameters, so a
# hostile old row cannot make one login run for minutes (bcrypt cost <= 15; argon2 memory < 1 GiB;
# pbkdf2 rounds < 1,000,000). Anything else (a disabled account's "!", an empty or broken hash, another
# scheme) is carried as UNVERIFIABLE_PASSWORD.
VERIFIABLE_PASSWORDS: list[tuple[str, str]] = [
    ("bcrypt$", r"\A\$2[aby]\$(0[4-9]|1[0-5])\$[./A-Za-z0-9]{53}\Z"),  # users.hashers.LegacyBCryptPasswordHasher
    (
        "argon2",  # passlib's and argon2-cffi's standard form; Django's Argon2PasswordHasher
        r"\A\$argon2(id|i|d)\$v=(16|19)\$m=[0-9]{1,6},t=[0-9]{1,2},p=[0-9]{1,2}\$[A-Za-z0-9+/]{11,64}\$[A-Za-z0-9+/]{16,128}\Z",
    ),
    (
        "pbkdf2-sha512",  # passlib's pbkdf2_sha512; users.hashers.PasslibPBKDF2SHA512PasswordHasher
        r"\A\$pbkdf2-sha512\$[0-9]{1,6}\$[./A-Za-z0-9]{0,64}\$[./A-Za-z0-9]{86}\Z",
    ),
]
# The width of `users_user.password` before `users` 0002 widened it (see `_password_sql`).
NARROW_PASSWORD_COLUMN, WIDE_PASSWORD_COLUMN = 128, 255
OCTET_STREAM = "application/octet-stream"
LOCK_RETRIES = 3

# (signature, offset, content type): a frozen copy of messaging.attachments' list (see the module docstring).
_SIGNATURES: list[tuple[bytes, int, str]] = [
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"%PDF-", 0, "application/pdf"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"BM", 0, "image/bmp"),
    (b"ID3", 0, "audio/mpeg"),
    (b"OggS", 0, "audio/ogg"),
    (b"ftyp", 4, "video/mp4"),
]

# The steps of a copy, in order ("state" only runs when asked: see `_state_sql`).
STEPS = ("users", "direct_messages", "conversations", "replies", "state")

Progress = Callable[["BatchReport"], None]


@dataclass
class BatchReport:
    """What one batch did; handed to the progress callback after the batch committed."""

    step: str  # one of STEPS
    rows: int  # rows written by this batch
    done_rows: int  # rows written by this step so far
    first_id: int
    last_id: int  # ids of the step's whole range: progress = (upto - first_id) / (last_id - first_id + 1)
    upto: int  # ids below this one are done
    started: float  # time.monotonic() at the start of the step

    @property
    def fraction(self) -> float:
        span = self.last_id - self.first_id + 1
        return 1.0 if span <= 0 else min(1.0, max(0.0, (self.upto - self.first_id) / span))


@dataclass
class CopyResult:
    """Rows written per step (0 everywhere on a run that found nothing missing)."""

    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STEPS, 0))
    placeholders: int = 0
    sequences: dict[str, int] = field(default_factory=dict)
    complete: bool = True


class CopyConflict(Exception):
    """Old rows that cannot be carried as they are; nothing was written. The message names them."""


class CopyInterrupted(Exception):
    """Raised when `max_batches` stops a copy early (tests use it to simulate an interrupted run)."""


# --- SQL dialect helpers ----------------------------------------------------------------------------------


def _utc(connection, column: str) -> str:
    """A naive old `TIMESTAMP` column read as UTC, as the new timezone-aware columns store it."""
    if connection.vendor == "postgresql":
        return f"({column} AT TIME ZONE 'UTC')"
    return column  # SQLite stores both as naive UTC text


def _sniff_sql(data: str) -> tuple[str, list]:
    """A SQL CASE naming the content type `data`'s bytes announce, or NULL; and its parameters."""
    whens, params = [], []
    for signature, offset, content_type in _SIGNATURES:
        whens.append(f"WHEN substr({data}, {offset + 1}, {len(signature)}) = %s THEN %s")
        params += [signature, content_type]
    # WEBP: a RIFF container tagged WEBP at offset 8.
    whens.append(f"WHEN substr({data}, 1, 4) = %s AND substr({data}, 9, 4) = %s THEN %s")
    params += [b"RIFF", b"WEBP", "image/webp"]
    return "CASE " + " ".join(whens) + " END", params


def _scalar(cursor, sql: str, params=()):
    cursor.execute(sql, list(params))
    row = cursor.fetchone()
    return row[0] if row else None


def _id_range(connection, table: str, column: str = "id") -> tuple[int, int] | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN({column}), MAX({column}) FROM {table}", [])
        low, high = cursor.fetchone()
    return None if low is None else (int(low), int(high))


def _run_batch(connection, lock_timeout_ms: int, statements: list[tuple[str, list]]) -> list[int]:
    """Run `statements` in one short transaction (with a PostgreSQL lock timeout); their row counts.

    A batch that could not get its lock in time is rolled back and retried a few times before giving up.
    """
    for attempt in range(1, LOCK_RETRIES + 1):
        try:
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", [])
                counts = []
                for sql, params in statements:
                    cursor.execute(sql, params)
                    counts.append(max(cursor.rowcount, 0))
                return counts
        except OperationalError as exc:
            if attempt == LOCK_RETRIES or "lock" not in str(exc).lower():
                raise
            time.sleep(attempt)
    raise AssertionError("unreachable")


def _walk(
    connection,
    *,
    step: str,
    table: str,
    batch_size: int,
    lock_timeout_ms: int,
    make_statements: Callable[[int, int], list[tuple[str, list]]],
    counted: int | None = -1,
    analyze: tuple[str, ...] = (),
    progress: Progress | None,
    budget: list[int],
    result: CopyResult,
) -> None:
    """Walk `table`'s ids in ranges of `batch_size`, one transaction per range.

    On PostgreSQL the tables in `analyze` get fresh statistics first and each time this walk has doubled
    what it wrote: a new table's statistics still say "empty" while it grows by millions of rows
    (autovacuum lags, or is off), and with them the planner answers each batch's anti-join with a scan of
    the whole table, which makes the copy quadratic. A handful of ANALYZEs (each reads a sample) keep every
    batch an index lookup.
    """
    bounds = _id_range(connection, table)
    if bounds is None:
        return
    first_id, last_id = bounds
    started = time.monotonic()
    analyze_at = None
    if connection.vendor == "postgresql" and analyze:
        _run_batch(connection, lock_timeout_ms, [(f"ANALYZE {', '.join(analyze)}", [])])
        analyze_at = batch_size
    low = first_id
    while low <= last_id:
        if budget[0] == 0:
            result.complete = False
            raise CopyInterrupted(f"stopped before {step} id {low}")
        high = low + batch_size
        counts = _run_batch(connection, lock_timeout_ms, make_statements(low, high))
        rows = sum(counts) if counted is None else counts[counted]
        result.rows[step] += rows
        if step == "direct_messages":
            result.placeholders += counts[0]
        if budget[0] > 0:
            budget[0] -= 1
        if analyze_at is not None and result.rows[step] >= analyze_at:
            _run_batch(connection, lock_timeout_ms, [(f"ANALYZE {', '.join(analyze)}", [])])
            analyze_at = 2 * result.rows[step]
        if progress is not None:
            progress(BatchReport(step, rows, result.rows[step], first_id, last_id, high, started))
        low = high


# --- the statements ---------------------------------------------------------------------------------------


def has_legacy_password(connection) -> bool:
    """Whether `users_user` can keep unverifiable old hashes yet (`users` 0002 added `legacy_password`).

    On a fresh database `legacy_dm` 0003 copies before `users` 0002 runs; then an old hash that does not fit
    the narrow column is carried as unusable, and `legacy_dm` 0007 (`carry_passwords`) carries it again.
    """
    return _has_column(connection, "users_user", "legacy_password")


def _password_sql(connection, column: str, *, wide: bool) -> tuple[tuple[str, list], tuple[str, list]]:
    """SQL (and its parameters) for what the old hash in `column` becomes: the new `password`, and the kept
    `legacy_password` (NULL where the hash was carried as one Django verifies).
    """
    match = "~" if connection.vendor == "postgresql" else "REGEXP"
    limit = WIDE_PASSWORD_COLUMN if wide else NARROW_PASSWORD_COLUMN
    tests = [
        (f"{column} {match} %s AND length({column}) <= %s", [pattern, limit - len(prefix)], prefix)
        for prefix, pattern in VERIFIABLE_PASSWORDS
    ]
    password = "CASE " + " ".join(f"WHEN {test} THEN %s || {column}" for test, _, _ in tests) + " ELSE %s END"
    password_params = [value for _, params, prefix in tests for value in (*params, prefix)]
    kept = "CASE " + " ".join(f"WHEN {test} THEN NULL" for test, _, _ in tests) + f" ELSE COALESCE({column}, '') END"
    kept_params = [value for _, params, _ in tests for value in params]
    return (password, [*password_params, UNVERIFIABLE_PASSWORD]), (kept, kept_params)


def _users_sql(connection, low: int, high: int) -> tuple[str, list]:
    wide = has_legacy_password(connection)
    (password, params), (kept, kept_params) = _password_sql(connection, "u.hashed_password", wide=wide)
    if wide:
        password, params = f"{password}, {kept}", params + kept_params
    return (
        f"""
        INSERT INTO users_user (id, password, {"legacy_password, " if wide else ""}last_login, is_superuser,
                                username, first_name, last_name, email, is_staff, is_active, date_joined,
                                display_name)
        SELECT u.id, {password},
               NULL, u.is_superuser, u.username, '', '', u.email, u.is_superuser, u.is_active,
               {_utc(connection, "u.created_at")}, COALESCE(u.full_name, '')
        FROM users u
        WHERE u.id >= %s AND u.id < %s
          AND NOT EXISTS (SELECT 1 FROM users_user n WHERE n.id = u.id)
        """,
        [*params, low, high],
    )


def _passwords_sql(connection, low: int, high: int) -> tuple[str, list]:
    """Carry again the old hashes of carried users of ids [low, high) whose password is still what an earlier
    carry made of it (unusable, or copied by the rule before `VERIFIABLE_PASSWORDS`), and not kept yet.
    """
    (password, params), (kept, kept_params) = _password_sql(connection, "u.hashed_password", wide=True)
    old = "FROM users u WHERE u.id = users_user.id"
    return (
        f"""
        UPDATE users_user SET password = (SELECT {password} {old}), legacy_password = (SELECT {kept} {old})
        WHERE id >= %s AND id < %s AND legacy_password IS NULL
          AND EXISTS (SELECT 1 {old}
                      AND users_user.password IN (%s, u.hashed_password, 'bcrypt$' || u.hashed_password))
        """,
        [*params, *kept_params, low, high, UNVERIFIABLE_PASSWORD],
    )


def _placeholders_sql(connection, low: int, high: int, now) -> tuple[str, list]:
    return (
        """
        INSERT INTO users_user (id, password, last_login, is_superuser, username, first_name, last_name, email,
                                is_staff, is_active, date_joined, display_name)
        SELECT ids.uid, %s, NULL, %s, %s || CAST(ids.uid AS TEXT), '', '', '', %s, %s, %s, ''
        FROM (SELECT dm.sender_id AS uid FROM direct_messages dm WHERE dm.id >= %s AND dm.id < %s
              UNION
              SELECT dm.receiver_id FROM direct_messages dm WHERE dm.id >= %s AND dm.id < %s) ids
        WHERE NOT EXISTS (SELECT 1 FROM users_user n WHERE n.id = ids.uid)
        """,
        [PLACEHOLDER_PASSWORD, False, PLACEHOLDER_USERNAME_PREFIX, False, False, now, low, high, low, high],
    )


def _messages_sql(connection, low: int, high: int, now) -> tuple[str, list]:
    # A reply is linked at once when its target is in this batch (foreign keys are checked at commit) or
    # already carried; a reply to a later batch is linked by the replies pass (`_replies_sql`).
    sniff, sniff_params = _sniff_sql("dm.file_data")
    created, updated, read = (_utc(connection, f"dm.{c}") for c in ("created_at", "updated_at", "read_at"))
    nameless = "(dm.file_name IS NULL OR dm.file_name = '')"
    sql = f"""
        INSERT INTO messaging_message (id, legacy_id, sender_id, recipient_id, body, reply_to_id,
                                       legacy_reply_to_id, attachment_name, attachment_content_type,
                                       attachment_size, attachment_data, legacy_file_name, created_at,
                                       updated_at, read_at, sender_deleted_at, recipient_deleted_at,
                                       hidden_at, hidden_by_id, hidden_reason)
        SELECT dm.id, dm.id, dm.sender_id, dm.receiver_id, COALESCE(dm.content, ''),
               CASE WHEN dm.reply_to_id IS NULL THEN NULL
                    WHEN dm.reply_to_id >= %s AND dm.reply_to_id < %s
                         AND EXISTS (SELECT 1 FROM direct_messages t WHERE t.id = dm.reply_to_id)
                         THEN dm.reply_to_id
                    WHEN EXISTS (SELECT 1 FROM messaging_message r
                                 WHERE r.id = dm.reply_to_id AND r.legacy_id IS NOT NULL)
                         THEN dm.reply_to_id
               END,
               dm.reply_to_id,
               CASE WHEN dm.file_data IS NULL THEN ''
                    WHEN {nameless} THEN 'attachment-' || CAST(dm.id AS TEXT)
                    ELSE dm.file_name END,
               CASE WHEN dm.file_data IS NULL THEN ''
                    WHEN {nameless} THEN COALESCE({sniff}, NULLIF(dm.file_type, ''), %s)
                    ELSE COALESCE(NULLIF(dm.file_type, ''), {sniff}, %s) END,
               CASE WHEN dm.file_data IS NULL THEN NULL ELSE length(dm.file_data) END,
               dm.file_data,
               CASE WHEN dm.file_data IS NULL THEN COALESCE(dm.file_name, '') ELSE '' END,
               {created}, {updated},
               CASE WHEN NOT dm.is_read THEN NULL ELSE COALESCE({read}, {updated}, {created}) END,
               CASE WHEN dm.is_deleted_by_sender THEN COALESCE({updated}, %s) END,
               CASE WHEN dm.is_deleted_by_receiver THEN COALESCE({updated}, %s) END,
               NULL, NULL, ''
        FROM direct_messages dm
        WHERE dm.id >= %s AND dm.id < %s
          AND NOT EXISTS (SELECT 1 FROM messaging_message m WHERE m.id = dm.id)
    """
    params = [low, high, *sniff_params, OCTET_STREAM, *sniff_params, OCTET_STREAM, now, now, low, high]
    return sql, params


def has_aliases(connection) -> bool:
    """Whether the conversation map can hold aliases yet (`legacy_dm` 0005 added `alias_of_id`).

    Migration 0003 copies before that column exists (on a fresh database, and on one migrated before it
    was added); then the later old ids of a pair are carried without a pair, and 0006 makes them aliases.
    """
    return _has_column(connection, "legacy_dm_conversation", "alias_of_id")


def _has_column(connection, table: str, name: str) -> bool:
    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, table)
    return any(column.name == name for column in columns)


def _pairs_sql(in_range: bool = True) -> str:
    """Old conversations with exactly two distinct participants, and their ordered pair (`cid`, `lo`, `hi`);
    with `in_range`, those of an id range (two parameters).
    """
    where = "WHERE p.conversation_id >= %s AND p.conversation_id < %s" if in_range else ""
    return f"""
        SELECT p.conversation_id AS cid, MIN(p.user_id) AS lo, MAX(p.user_id) AS hi
        FROM conversation_participants p
        {where}
        GROUP BY p.conversation_id
        HAVING COUNT(DISTINCT p.user_id) = 2
    """


def _conversations_sql(connection, low: int, high: int, *, aliases: bool) -> list[tuple[str, list]]:
    """The statements carrying the old conversations of ids [low, high): canonical ids, the rest, aliases.

    1. A conversation with exactly two distinct participants names their ordered pair, as the pair's
       canonical id, unless the pair already has an id (an older conversation of the same two people, or
       one the new system gave out): the lowest old id of a pair is its canonical id.
    2. Every other old conversation of the range: with `aliases`, a later id of a pair that has its
       canonical id becomes an alias of it (same pair, `alias_of_id` set); a conversation of one or three
       people (and, without `aliases`, a later id of a pair) maps to no pair.
    3. With `aliases`, carried rows that map to no pair although their old conversation is a pair with a
       canonical id (carried before the map could hold aliases) become aliases.
    """
    created, updated = _utc(connection, "c.created_at"), _utc(connection, "c.updated_at")
    canonical = (
        f"""
        INSERT INTO legacy_dm_conversation (id, user_low_id, user_high_id, created_by_id, created_at, updated_at)
        SELECT c.id, fp.lo, fp.hi, NULL, {created}, {updated}
        FROM conversations c
        JOIN (
            SELECT MIN(pairs.cid) AS cid, pairs.lo AS lo, pairs.hi AS hi
            FROM ({_pairs_sql()}) pairs
            GROUP BY pairs.lo, pairs.hi
        ) fp ON fp.cid = c.id
        WHERE c.id >= %s AND c.id < %s
          AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lc WHERE lc.id = c.id)
          AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lp WHERE lp.user_low_id = fp.lo AND lp.user_high_id = fp.hi)
        """,
        [low, high, low, high],
    )
    if not aliases:
        rest = (
            f"""
            INSERT INTO legacy_dm_conversation (id, user_low_id, user_high_id, created_by_id, created_at, updated_at)
            SELECT c.id, NULL, NULL, NULL, {created}, {updated}
            FROM conversations c
            WHERE c.id >= %s AND c.id < %s
              AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lc WHERE lc.id = c.id)
            """,
            [low, high],
        )
        return [canonical, rest]
    rest = (
        f"""
        INSERT INTO legacy_dm_conversation (id, user_low_id, user_high_id, alias_of_id, created_by_id, created_at,
                                            updated_at)
        SELECT c.id, canon.user_low_id, canon.user_high_id, canon.id, NULL, {created}, {updated}
        FROM conversations c
        LEFT JOIN ({_pairs_sql()}) pr ON pr.cid = c.id
        LEFT JOIN legacy_dm_conversation canon
               ON canon.user_low_id = pr.lo AND canon.user_high_id = pr.hi AND canon.alias_of_id IS NULL
        WHERE c.id >= %s AND c.id < %s
          AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lc WHERE lc.id = c.id)
        """,
        [low, high, low, high],
    )
    return [canonical, rest, _aliases_sql(low, high)]


def _unassigned_aliases(in_range: bool) -> str:
    """Carried old conversations without a pair whose old conversation (of an id range, two parameters, when
    `in_range`) is a pair that has a canonical id: `cid`, the pair (`lo`, `hi`) and the canonical id `canon_id`.
    Set-based: the participants of the range are grouped once, whatever the number of such conversations.
    """
    return f"""
        SELECT pr.cid AS cid, pr.lo AS lo, pr.hi AS hi, canon.id AS canon_id
        FROM ({_pairs_sql(in_range)}) pr
        JOIN legacy_dm_conversation lc ON lc.id = pr.cid AND lc.user_low_id IS NULL AND lc.alias_of_id IS NULL
        JOIN legacy_dm_conversation canon
          ON canon.user_low_id = pr.lo AND canon.user_high_id = pr.hi AND canon.alias_of_id IS NULL
    """


def _aliases_sql(low: int, high: int) -> tuple[str, list]:
    """Carried old conversations of ids [low, high) without a pair whose old conversation is a pair that has
    a canonical id: made aliases of it (same pair, `alias_of_id`). Only rows without a pair change and
    canonical rows never do, so the statement reads the same canonical rows however it proceeds.
    (`UPDATE ... FROM`: PostgreSQL, and SQLite 3.33 or later.)
    """
    return (
        f"""
        UPDATE legacy_dm_conversation
        SET user_low_id = a.lo, user_high_id = a.hi, alias_of_id = a.canon_id
        FROM ({_unassigned_aliases(in_range=True)}) a
        WHERE legacy_dm_conversation.id = a.cid
        """,
        [low, high],
    )


def _replies_sql(low: int, high: int) -> tuple[str, list]:
    # Replies to a message of a later batch, and any left unlinked by an interrupted run. Carried messages
    # keep their ids, so a carried reply target's id is its legacy id.
    return (
        """
        UPDATE messaging_message SET reply_to_id = legacy_reply_to_id
        WHERE id >= %s AND id < %s
          AND legacy_id IS NOT NULL AND reply_to_id IS NULL AND legacy_reply_to_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM messaging_message r WHERE r.legacy_id = messaging_message.legacy_reply_to_id)
        """,
        [low, high],
    )


def _greatest(connection, a: str, b: str) -> str:
    """The later of two timestamps, either of which may be NULL."""
    if connection.vendor == "postgresql":
        return f"GREATEST({a}, {b})"  # ignores NULLs
    return f"max(COALESCE({a}, {b}), COALESCE({b}, {a}))"


def _state_sql(connection, low: int, high: int, now) -> tuple[str, list]:
    """Bring over reads and deletes that old servers made to rows already carried (a rolling deploy).

    Reading and deleting only ever go one way, so the merge is too: a message read or deleted on either
    side stays so, and nothing the new system recorded is undone. Rows that agree are not touched.
    """
    created, updated, read = (_utc(connection, f"dm.{c}") for c in ("created_at", "updated_at", "read_at"))
    old = "FROM direct_messages dm WHERE dm.id = messaging_message.legacy_id"
    return (
        f"""
        UPDATE messaging_message SET
            read_at = COALESCE(read_at,
                (SELECT CASE WHEN dm.is_read THEN COALESCE({read}, {updated}, {created}) END {old})),
            sender_deleted_at = COALESCE(sender_deleted_at,
                (SELECT CASE WHEN dm.is_deleted_by_sender THEN COALESCE({updated}, %s) END {old})),
            recipient_deleted_at = COALESCE(recipient_deleted_at,
                (SELECT CASE WHEN dm.is_deleted_by_receiver THEN COALESCE({updated}, %s) END {old})),
            updated_at = {_greatest(connection, "updated_at", f"(SELECT {updated} {old})")}
        WHERE legacy_id >= %s AND legacy_id < %s
          AND EXISTS (SELECT 1 {old}
                      AND ((dm.is_read AND messaging_message.read_at IS NULL)
                           OR (dm.is_deleted_by_sender AND messaging_message.sender_deleted_at IS NULL)
                           OR (dm.is_deleted_by_receiver AND messaging_message.recipient_deleted_at IS NULL)))
        """,
        [now, now, low, high],
    )


# --- sequences --------------------------------------------------------------------------------------------


def _move_sequence(connection, table: str, target: int) -> int:
    """Make `table`'s next generated id greater than `target` (never moves it backwards); the new last value."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sequence = _scalar(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [table])
            if sequence is None:
                return 0
            cursor.execute(f"SELECT last_value, is_called FROM {sequence}", [])
            last_value, is_called = cursor.fetchone()
            current = last_value if is_called else last_value - 1
            if current < target:
                cursor.execute("SELECT setval(%s, %s, true)", [sequence, target])
                current = target
            return current
        if connection.vendor == "sqlite":
            exists = _scalar(cursor, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")
            if not exists:
                return 0
            current = _scalar(cursor, "SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            if current is None:
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, target])
                return target
            if current < target:
                cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [target, table])
                current = target
            return current
    return 0


def move_sequences(connection, *, headroom: int, lock_timeout_ms: int = 5_000) -> dict[str, int]:
    """Move the id sequences of the new tables past the largest carried id plus `headroom`.

    Rows that old servers still write during a rolling deploy take ids above the old maximum; the headroom
    keeps those ids free, so a later catch-up copy can carry them with their own ids.
    """
    moved = {}
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'", [])
        max_user = max(
            _scalar(cursor, "SELECT MAX(id) FROM users") or 0,
            _scalar(cursor, "SELECT MAX(id) FROM users_user WHERE password = %s", [PLACEHOLDER_PASSWORD]) or 0,
        )
        max_message = _scalar(cursor, "SELECT MAX(id) FROM direct_messages") or 0
        max_conversation = _scalar(cursor, "SELECT MAX(id) FROM conversations") or 0
        for table, top in (
            ("users_user", max_user),
            ("messaging_message", max_message),
            ("legacy_dm_conversation", max_conversation),
        ):
            if top:
                moved[table] = _move_sequence(connection, table, top + headroom)
    return moved


# --- the public entry points ------------------------------------------------------------------------------


def check_conflicts(connection) -> list[str]:
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
    connection,
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
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    problems = check_conflicts(connection)
    if problems:
        raise CopyConflict("old rows that cannot be carried as they are:\n  " + "\n  ".join(problems))
    now_param = connection.ops.adapt_datetimefield_value(now or datetime.now(UTC))
    aliases = has_aliases(connection)
    result = CopyResult()
    budget = [-1 if max_batches is None else max_batches]
    common = {
        "batch_size": batch_size,
        "lock_timeout_ms": lock_timeout_ms,
        "progress": progress,
        "budget": budget,
        "result": result,
    }
    _walk(
        connection,
        step="users",
        table="users",
        analyze=("users_user",),
        make_statements=lambda lo, hi: [_users_sql(connection, lo, hi)],
        **common,
    )
    _walk(
        connection,
        step="direct_messages",
        table="direct_messages",
        analyze=("messaging_message", "users_user"),
        make_statements=lambda lo, hi: [
            _placeholders_sql(connection, lo, hi, now_param),
            _messages_sql(connection, lo, hi, now_param),
        ],
        **common,
    )
    _walk(
        connection,
        step="conversations",
        table="conversations",
        analyze=("legacy_dm_conversation",),
        make_statements=lambda lo, hi: _conversations_sql(connection, lo, hi, aliases=aliases),
        counted=None,
        **common,
    )
    _walk(
        connection,
        step="replies",
        table="direct_messages",
        make_statements=lambda lo, hi: [_replies_sql(lo, hi)],
        **common,
    )
    if sync_state:
        _walk(
            connection,
            step="state",
            table="direct_messages",
            make_statements=lambda lo, hi: [_state_sql(connection, lo, hi, now_param)],
            **common,
        )
    result.sequences = move_sequences(connection, headroom=headroom, lock_timeout_ms=lock_timeout_ms)
    if connection.vendor == "postgresql" and any(result.rows.values()):
        # Fresh statistics after a bulk load, so the first queries on the new tables get sensible plans.
        _run_batch(connection, lock_timeout_ms, [("ANALYZE users_user, messaging_message, legacy_dm_conversation", [])])
    return result


def missing_counts(connection) -> dict[str, int]:
    """What a copy would write, per step: old rows not carried yet, replies to link, reads/deletes to merge."""
    queries = {
        "users": "SELECT COUNT(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM users_user n WHERE n.id = u.id)",
        "direct_messages": (
            "SELECT COUNT(*) FROM direct_messages dm"
            " WHERE NOT EXISTS (SELECT 1 FROM messaging_message m WHERE m.id = dm.id)"
        ),
        "conversations": (
            "SELECT COUNT(*) FROM conversations c"
            " WHERE NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lc WHERE lc.id = c.id)"
        ),
        "aliases": _unassigned_aliases_sql(),
        "replies": (
            "SELECT COUNT(*) FROM messaging_message m"
            " WHERE m.legacy_id IS NOT NULL AND m.reply_to_id IS NULL AND m.legacy_reply_to_id IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM messaging_message r WHERE r.legacy_id = m.legacy_reply_to_id)"
        ),
        "state": (
            "SELECT COUNT(*) FROM messaging_message m JOIN direct_messages dm ON dm.id = m.legacy_id"
            " WHERE (dm.is_read AND m.read_at IS NULL) OR (dm.is_deleted_by_sender AND m.sender_deleted_at IS NULL)"
            " OR (dm.is_deleted_by_receiver AND m.recipient_deleted_at IS NULL)"
        ),
    }
    if not has_aliases(connection):
        del queries["aliases"]
    with connection.cursor() as cursor:
        counts = {step: int(_scalar(cursor, sql)) for step, sql in queries.items()}
    # Aliases to assign are conversation rows to write: reported with them, as the copy's row counts are.
    counts["conversations"] += counts.pop("aliases", 0)
    return counts


def _unassigned_aliases_sql() -> str:
    """Count of carried old conversations without a pair that `_aliases_sql` would make aliases."""
    return f"SELECT COUNT(*) FROM ({_unassigned_aliases(in_range=False)}) a"


def assign_aliases(
    connection, *, batch_size: int, lock_timeout_ms: int, progress: Progress | None = None
) -> CopyResult:
    """Make aliases of carried old conversations that share a pair with a lower id (what 0006 runs).

    Before `alias_of` existed the copy gave such ids no pair; this gives each the pair and points it at the
    pair's canonical id. Batched by old conversation id, each batch its own transaction; re-runnable.
    """
    result = CopyResult()
    _walk(
        connection,
        step="conversations",
        table="conversations",
        batch_size=batch_size,
        lock_timeout_ms=lock_timeout_ms,
        make_statements=lambda lo, hi: [_aliases_sql(lo, hi)],
        progress=progress,
        budget=[-1],
        result=result,
    )
    return result


def carry_passwords(
    connection, *, batch_size: int, lock_timeout_ms: int, progress: Progress | None = None
) -> CopyResult:
    """Carry again, by today's rule, the old hashes of carried users whose password an earlier carry left
    unusable or copied as it was (what `legacy_dm` 0007 runs, once `users` 0002 made room for them).

    Batched by user id, each batch its own transaction; re-runnable, and a user who has set a new password
    since is left alone.
    """
    result = CopyResult(rows={"passwords": 0})
    _walk(
        connection,
        step="passwords",
        table="users",
        batch_size=batch_size,
        lock_timeout_ms=lock_timeout_ms,
        make_statements=lambda lo, hi: [_passwords_sql(connection, lo, hi)],
        progress=progress,
        budget=[-1],
        result=result,
    )
    return result


def fit_narrow_passwords(connection) -> int:
    """Undo what `carry_passwords` needs the wide column for: a password longer than the narrow column becomes
    UNVERIFIABLE_PASSWORD (its owner sets a new one), so `users` 0002 can be unapplied.
    """
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE users_user SET password = %s WHERE length(password) > %s",
            [UNVERIFIABLE_PASSWORD, NARROW_PASSWORD_COLUMN],
        )
        return max(cursor.rowcount, 0)


def unverifiable_passwords(connection) -> list[tuple[int, str]]:
    """Carried users (id, username) whose old hash no Django hasher verifies: they must set a new password."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, username FROM users_user WHERE password = %s ORDER BY id", [UNVERIFIABLE_PASSWORD])
        return [(int(user_id), username) for user_id, username in cursor.fetchall()]


def describe_unverifiable_passwords(connection, *, shown: int = 20) -> str | None:
    """One line for the operator naming the users of `unverifiable_passwords`, or None when there are none."""
    users = unverifiable_passwords(connection)
    if not users:
        return None
    names = ", ".join(f"{user_id} ({username})" for user_id, username in users[:shown])
    more = f" and {len(users) - shown} more" if len(users) > shown else ""
    return (
        f"{len(users)} carried users have an old password hash that no hasher verifies; they got an unusable"
        f" password (the old hash is kept in users_user.legacy_password) and must set a new one: {names}{more}"
    )


def remove_aliases(connection) -> int:
    """Undo `assign_aliases`: aliases map to no pair again (what the map held before `alias_of` existed)."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE legacy_dm_conversation SET user_low_id = NULL, user_high_id = NULL, alias_of_id = NULL"
            " WHERE alias_of_id IS NOT NULL",
            [],
        )
        return max(cursor.rowcount, 0)


def remove_carried_data(apps, connection, *, batch_size: int, progress: Callable[[str], None] | None = None) -> None:
    """Undo the copy: remove carried messages, the carried conversation map and carried users.

    Uses the migration's historical models (`apps`), so that whatever else points at these rows at that
    point of history is handled by Django's own delete rules (reports of a carried message go with it,
    a new reply to it loses its link). Carried users are removed unless something new still needs them
    (a message of the new system, a protected row): rolling back must not destroy what was written since.
    The old tables are only read.
    """
    message_model = apps.get_model("messaging", "Message")
    conversation_model = apps.get_model("legacy_dm", "LegacyConversation")
    user_model = apps.get_model("users", "User")
    alias = connection.alias

    def say(text):
        if progress is not None:
            progress(text)

    def walk(table, handle, column="id"):
        bounds = _id_range(connection, table, column)
        if bounds is None:
            return 0
        removed = 0
        for low in range(bounds[0], bounds[1] + 1, batch_size):
            with transaction.atomic(using=alias):
                removed += handle(low, low + batch_size)
        return removed

    def messages(low, high):
        count, _ = (
            message_model._base_manager.using(alias).filter(legacy_id__gte=low, legacy_id__lt=high).only("id").delete()
        )
        return count

    say(f"removed {walk('messaging_message', messages, 'legacy_id')} rows with carried messages")

    def conversations(low, high):
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM conversations WHERE id >= %s AND id < %s", [low, high])
            ids = [row[0] for row in cursor.fetchall()]
        count, _ = conversation_model._base_manager.using(alias).filter(id__in=ids).delete()
        return count

    say(f"removed {walk('conversations', conversations)} rows with the carried conversation map")

    still_used = Q(sent_messages__isnull=False) | Q(received_messages__isnull=False)

    def delete_users(queryset):
        # Only the ids are read: when another branch of history (`users` 0002) was unapplied first, the table
        # lacks columns that this migration's historical model still names.
        in_use = user_model._base_manager.using(alias).filter(still_used).values("id")
        queryset = queryset.exclude(id__in=in_use).only("id")
        try:
            return queryset.delete()[0]
        except ProtectedError:
            removed = 0
            for user in queryset:
                try:
                    with transaction.atomic(using=alias):
                        removed += user.delete()[0]
                except ProtectedError:
                    pass
            return removed

    def users(low, high):
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM users WHERE id >= %s AND id < %s", [low, high])
            ids = [row[0] for row in cursor.fetchall()]
        return delete_users(user_model._base_manager.using(alias).filter(id__in=ids))

    removed = walk("users", users)
    with transaction.atomic(using=alias):
        removed += delete_users(
            user_model._base_manager.using(alias).filter(
                password=PLACEHOLDER_PASSWORD, username__startswith=PLACEHOLDER_USERNAME_PREFIX
            )
        )
    say(f"removed {removed} rows with carried and placeholder users")
