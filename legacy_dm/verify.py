"""Prove a copy complete: per-table counts, an anti-join and a checksum of the carried columns, old against new.

Both sides are read in id order, in chunks (memory stays flat), and each row is turned into a canonical tuple
in Python: the old row as the copy promises to carry it, the new row as it was carried. Hashing those tuples
in Python means the checksum does not depend on how the driver returns booleans, timestamps or bytes. Where the two sides differ, the ids that differ are listed.

The checksum covers what a message *is* (sender, recipient, body, attachment bytes and name, reply, time).
Its read and delete state only ever moves one way, and the new system moves it too once it serves users, so
it is checked as such: every read and delete of an old row must be on its carried row (a message read only
on the new side is no loss). Passwords are left out of the checksum: Django upgrades a carried hash on the
user's first login, a wanted change (the migration tests log in with an old password instead); the report
names the users whose old hash no hasher verifies, who must set a new password.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.utils.dateparse import parse_datetime

from . import carry, sync
from .carry import PLACEHOLDER_PASSWORD

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

CHUNK = 2_000
Row = dict[str, Any]  # a row by column name, its values as the database driver returns them
Canonical = tuple[object, ...]  # a row as compared and hashed
SHOWN_IDS = 10


def _dt(value: datetime | str | None) -> str | None:
    """A timestamp as canonical UTC text; naive values (the old side) are UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = parse_datetime(value.replace(" ", "T"))
        if parsed is None:
            raise ValueError(f"not a timestamp: {value!r}")
        value = parsed
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _digest(data: bytes | memoryview | str | None) -> str | None:
    """SHA-256 (hex) of attachment bytes; the queries already hand over the hex digest (see `_bytes_sql`)."""
    if data is None or isinstance(data, str):
        return data
    return hashlib.sha256(bytes(data)).hexdigest()


def _stream(connection: BaseDatabaseWrapper, sql: str, id_column: str) -> Iterator[Row]:
    """Rows of `sql` by column name, in id order, fetched in chunks by keyset (`sql` selects a column named
    `id` and has `{after}`).
    """
    last = None
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                sql.format(after="" if last is None else f"AND {id_column} > %s") + f" LIMIT {CHUNK}",
                [] if last is None else [last],
            )
            names = [column[0] for column in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        yield from rows
        if len(rows) < CHUNK:
            return
        last = rows[-1]["id"]


@dataclass
class TableCheck:
    """The comparison of one old table with its carried rows."""

    name: str
    old_count: int = 0
    new_count: int = 0
    old_checksum: str = ""
    new_checksum: str = ""
    missing: list[int] = field(default_factory=list)  # old ids with no new row (anti-join)
    missing_count: int = 0
    extra: list[int] = field(default_factory=list)  # carried rows whose old row is gone
    extra_count: int = 0
    differing: list[int] = field(default_factory=list)
    differing_count: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.old_count == self.new_count
            and not self.missing_count
            and not self.extra_count
            and not self.differing_count
            and self.old_checksum == self.new_checksum
        )

    def lines(self) -> list[str]:
        status = "OK" if self.ok else "DIFFERS"
        lines = [
            f"{self.name}: {status}  old {self.old_count} rows, carried {self.new_count} rows",
            f"  checksum old {self.old_checksum[:16]}  new {self.new_checksum[:16]}",
        ]
        for label, count, ids in (
            ("missing (old rows with no new row)", self.missing_count, self.missing),
            ("extra (carried rows whose old row is gone)", self.extra_count, self.extra),
            ("differing (carried columns not equal)", self.differing_count, self.differing),
        ):
            if count:
                more = " ..." if count > len(ids) else ""
                lines.append(f"  {label}: {count}, ids {', '.join(map(str, ids))}{more}")
        return lines


def _compare(
    name: str,
    old_rows: Iterator[Row],
    new_rows: Iterator[Row],
    canon_old: Callable[[Row], Canonical],
    canon_new: Callable[[Row], Canonical],
) -> TableCheck:
    """Merge two id-ordered streams: count, anti-join both ways, compare and hash canonical tuples."""
    check = TableCheck(name)
    old_hash, new_hash = hashlib.sha256(), hashlib.sha256()
    sentinel: Row = {}

    def note(bucket: list[int], attr: str, row_id: int) -> None:
        setattr(check, attr, getattr(check, attr) + 1)
        if len(bucket) < SHOWN_IDS:
            bucket.append(row_id)

    old_row, new_row = next(old_rows, sentinel), next(new_rows, sentinel)
    while old_row is not sentinel or new_row is not sentinel:
        if new_row is sentinel or (old_row is not sentinel and old_row["id"] < new_row["id"]):
            check.old_count += 1
            old_hash.update(repr(canon_old(old_row)).encode())
            note(check.missing, "missing_count", old_row["id"])
            old_row = next(old_rows, sentinel)
        elif old_row is sentinel or new_row["id"] < old_row["id"]:
            check.new_count += 1
            new_hash.update(repr(canon_new(new_row)).encode())
            note(check.extra, "extra_count", new_row["id"])
            new_row = next(new_rows, sentinel)
        else:
            check.old_count += 1
            check.new_count += 1
            old_tuple, new_tuple = canon_old(old_row), canon_new(new_row)
            old_hash.update(repr(old_tuple).encode())
            new_hash.update(repr(new_tuple).encode())
            if old_tuple != new_tuple:
                note(check.differing, "differing_count", old_row["id"])
            old_row, new_row = next(old_rows, sentinel), next(new_rows, sentinel)
    check.old_checksum, check.new_checksum = old_hash.hexdigest(), new_hash.hexdigest()
    return check


def _check_users(connection: BaseDatabaseWrapper) -> TableCheck:
    old = _stream(
        connection,
        "SELECT id, username, email, full_name, is_active, is_superuser, created_at FROM users"
        " WHERE 1 = 1 {after} ORDER BY id",
        "id",
    )
    new = _stream(
        connection,
        # The email as the sync writes it to the old table (0009's `relay_sync_users_user_to_old`).
        "SELECT n.id AS id, n.username,"
        " CASE WHEN n.email = '' OR EXISTS (SELECT 1 FROM users o WHERE o.email = n.email AND o.id <> n.id)"
        " THEN 'user-' || CAST(n.id AS TEXT) || '@users.invalid' ELSE n.email END AS email, n.display_name, n.is_active,"
        " n.is_superuser, n.is_staff, n.date_joined"
        " FROM users_user n WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = n.id) {after} ORDER BY n.id",
        "n.id",
    )
    return _compare(
        "users",
        old,
        new,
        lambda r: (
            r["id"],
            r["username"],
            r["email"],
            r["full_name"] or "",
            bool(r["is_active"]),
            bool(r["is_superuser"]),
            True,  # a superuser is staff (the carry makes an old superuser staff; the new side may add staff)
            _dt(r["created_at"]),
        ),
        lambda r: (
            r["id"],
            r["username"],
            r["email"],
            r["display_name"][: sync.OLD_FULL_NAME_MAX],
            bool(r["is_active"]),
            bool(r["is_superuser"]),
            bool(r["is_staff"]) or not r["is_superuser"],
            _dt(r["date_joined"]),
        ),
    )


def _old_file_name(row_id: int, file_data: object, file_name: str | None) -> str:
    if file_name:
        return file_name
    return f"attachment-{row_id}" if file_data is not None else ""


def _bytes_sql(connection: BaseDatabaseWrapper, column: str) -> str:
    """The attachment bytes to hash: their SHA-256 (hex), so megabytes never cross the wire."""
    return f"encode(sha256({column}), 'hex')"


def _check_messages(connection: BaseDatabaseWrapper) -> TableCheck:
    old = _stream(
        connection,
        f"SELECT id, sender_id, receiver_id, content, {_bytes_sql(connection, 'file_data')} AS file_bytes,"
        " file_name, reply_to_id, created_at, length(file_data) AS file_size"
        " FROM direct_messages WHERE 1 = 1 {after} ORDER BY id",
        "id",
    )
    new = _stream(
        connection,
        f"SELECT legacy_id AS id, sender_id, recipient_id, body,"
        f" {_bytes_sql(connection, 'attachment_data')} AS attachment_bytes, attachment_name, legacy_file_name,"
        " legacy_reply_to_id, created_at, attachment_size"
        " FROM messaging_message WHERE legacy_id IS NOT NULL {after} ORDER BY legacy_id",
        "legacy_id",
    )
    return _compare(
        "direct_messages",
        old,
        new,
        lambda r: (
            r["id"],
            r["sender_id"],
            r["receiver_id"],
            r["content"] or "",
            _digest(r["file_bytes"]),
            r["file_size"],
            _old_file_name(r["id"], r["file_bytes"], r["file_name"]),
            r["reply_to_id"],
            _dt(r["created_at"]),
        ),
        lambda r: (
            r["id"],
            r["sender_id"],
            r["recipient_id"],
            r["body"],
            _digest(r["attachment_bytes"]),
            r["attachment_size"],
            r["attachment_name"] or r["legacy_file_name"],
            r["legacy_reply_to_id"],
            _dt(r["created_at"]),
        ),
    )


def _lost_state(connection: BaseDatabaseWrapper) -> tuple[int, list[int]]:
    """Carried messages that miss a read or a delete their old row has (reads on the new side are fine)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT m.legacy_id FROM messaging_message m JOIN direct_messages dm ON dm.id = m.legacy_id"
            f" WHERE {carry.lost_state('m', 'dm')} ORDER BY m.legacy_id",
            [],
        )
        ids = [row[0] for row in cursor.fetchmany(SHOWN_IDS)]
        count = len(ids) + len(cursor.fetchall())
    return count, ids


def _expected_pairs(connection: BaseDatabaseWrapper) -> dict[int, tuple[int, int]]:
    """Old conversation id -> the pair it maps to: every old conversation of two distinct participants."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conversation_id, MIN(user_id), MAX(user_id) FROM conversation_participants"
            " GROUP BY conversation_id HAVING COUNT(DISTINCT user_id) = 2 ORDER BY conversation_id",
            [],
        )
        return {conversation_id: (low, high) for conversation_id, low, high in cursor.fetchall()}


BROKEN_ALIAS = "alias of a conversation of another pair"


def _check_conversations(connection: BaseDatabaseWrapper) -> TableCheck:
    """Every old id names its pair, and an alias points at the canonical id of its own pair (which id of a
    pair is canonical is not compared: any of them names the same pair).
    """
    pairs = _expected_pairs(connection)
    old = _stream(
        connection,
        "SELECT id, created_at, updated_at FROM conversations WHERE 1 = 1 {after} ORDER BY id",
        "id",
    )
    new = _stream(
        connection,
        "SELECT lc.id AS id, lc.user_low_id, lc.user_high_id, lc.created_at, lc.updated_at,"
        " CASE WHEN lc.alias_of_id IS NULL OR (canon.alias_of_id IS NULL AND canon.user_low_id = lc.user_low_id"
        " AND canon.user_high_id = lc.user_high_id) THEN 1 ELSE 0 END AS alias_ok"
        " FROM legacy_dm_conversation lc LEFT JOIN legacy_dm_conversation canon ON canon.id = lc.alias_of_id"
        " WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.id = lc.id) {after} ORDER BY lc.id",
        "lc.id",
    )

    def new_pair(row: Row) -> str | tuple[int, int] | None:
        if not row["alias_ok"]:
            return BROKEN_ALIAS
        return None if row["user_low_id"] is None else (row["user_low_id"], row["user_high_id"])

    return _compare(
        "conversations",
        old,
        new,
        lambda r: (r["id"], pairs.get(r["id"]), _dt(r["created_at"]), _dt(r["updated_at"])),
        lambda r: (r["id"], new_pair(r), _dt(r["created_at"]), _dt(r["updated_at"])),
    )


@dataclass
class Verification:
    tables: list[TableCheck]
    unlinked_replies: int
    lost_state: tuple[int, list[int]]
    placeholders: int
    unverifiable_passwords: str | None = None  # not a difference: those users set a new password

    @property
    def ok(self) -> bool:
        return all(table.ok for table in self.tables) and not self.unlinked_replies and not self.lost_state[0]

    def report(self) -> str:
        lines = [line for table in self.tables for line in table.lines()]
        lines.append(
            f"replies: {'OK' if not self.unlinked_replies else 'DIFFERS'}"
            f"  {self.unlinked_replies} carried replies whose carried target is not linked"
        )
        count, ids = self.lost_state
        more = " ..." if count > len(ids) else ""
        lines.append(
            f"reads and deletes: {'OK' if not count else 'DIFFERS'}  {count} carried messages miss a read or delete"
            f" of their old row" + (f", ids {', '.join(map(str, ids))}{more}" if count else "")
        )
        lines.append(f"placeholder users for missing senders/recipients: {self.placeholders}")
        lines.append(f"passwords: {self.unverifiable_passwords or 'every carried hash is one Django verifies'}")
        lines.append("verification passed" if self.ok else "verification FAILED")
        return "\n".join(lines)


def verify(connection: BaseDatabaseWrapper) -> Verification:
    """Compare every old table with what was carried; see the module docstring."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM messaging_message m"
            " WHERE m.legacy_id IS NOT NULL AND m.legacy_reply_to_id IS NOT NULL"
            " AND (m.reply_to_id IS NULL OR m.reply_to_id <> m.legacy_reply_to_id)"
            " AND EXISTS (SELECT 1 FROM messaging_message r WHERE r.legacy_id = m.legacy_reply_to_id)",
            [],
        )
        unlinked = int(cursor.fetchone()[0])
        cursor.execute("SELECT COUNT(*) FROM users_user WHERE password = %s", [PLACEHOLDER_PASSWORD])
        placeholders = int(cursor.fetchone()[0])
    return Verification(
        [_check_users(connection), _check_messages(connection), _check_conversations(connection)],
        unlinked,
        _lost_state(connection),
        placeholders,
        carry.describe_unverifiable_passwords(connection),
    )
