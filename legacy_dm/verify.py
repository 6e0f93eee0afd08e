"""Prove a copy complete: per-table counts, an anti-join and a checksum of the carried columns, old against new.

Both sides are read in id order, in chunks (memory stays flat), and each row is turned into a canonical tuple
in Python: the old row as the copy promises to carry it, the new row as it was carried. Hashing those tuples
in Python means the checksum is the same on SQLite and PostgreSQL, whatever each returns for booleans,
timestamps or bytes. Where the two sides differ, the ids that differ are listed.

Passwords are left out of the comparison: Django upgrades a carried bcrypt hash on the user's first login,
which is a wanted change, not a difference (the migration tests log in with an old password instead).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC

from django.utils.dateparse import parse_datetime

from .copy import PLACEHOLDER_PASSWORD

CHUNK = 2_000
SHOWN_IDS = 10


def _dt(value) -> str | None:
    """A timestamp as canonical UTC text; naive values (the old side, SQLite) are UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value.replace(" ", "T"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _digest(data) -> str | None:
    return None if data is None else hashlib.sha256(bytes(data)).hexdigest()


def _stream(connection, sql: str, id_column: str) -> Iterator[tuple]:
    """Rows of `sql` in id order, fetched in chunks by keyset (`sql` selects the id first, has `{after}`)."""
    last = None
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                sql.format(after="" if last is None else f"AND {id_column} > %s") + f" LIMIT {CHUNK}",
                [] if last is None else [last],
            )
            rows = cursor.fetchall()
        yield from rows
        if len(rows) < CHUNK:
            return
        last = rows[-1][0]


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
    old_rows: Iterator[tuple],
    new_rows: Iterator[tuple],
    canon_old: Callable[[tuple], tuple],
    canon_new: Callable[[tuple], tuple],
) -> TableCheck:
    """Merge two id-ordered streams: count, anti-join both ways, compare and hash canonical tuples."""
    check = TableCheck(name)
    old_hash, new_hash = hashlib.sha256(), hashlib.sha256()
    sentinel = (None,)

    def note(bucket: list[int], attr: str, row_id: int) -> None:
        setattr(check, attr, getattr(check, attr) + 1)
        if len(bucket) < SHOWN_IDS:
            bucket.append(row_id)

    old_row, new_row = next(old_rows, sentinel), next(new_rows, sentinel)
    while old_row is not sentinel or new_row is not sentinel:
        if new_row is sentinel or (old_row is not sentinel and old_row[0] < new_row[0]):
            check.old_count += 1
            old_hash.update(repr(canon_old(old_row)).encode())
            note(check.missing, "missing_count", old_row[0])
            old_row = next(old_rows, sentinel)
        elif old_row is sentinel or new_row[0] < old_row[0]:
            check.new_count += 1
            new_hash.update(repr(canon_new(new_row)).encode())
            note(check.extra, "extra_count", new_row[0])
            new_row = next(new_rows, sentinel)
        else:
            check.old_count += 1
            check.new_count += 1
            old_tuple, new_tuple = canon_old(old_row), canon_new(new_row)
            old_hash.update(repr(old_tuple).encode())
            new_hash.update(repr(new_tuple).encode())
            if old_tuple != new_tuple:
                note(check.differing, "differing_count", old_row[0])
            old_row, new_row = next(old_rows, sentinel), next(new_rows, sentinel)
    check.old_checksum, check.new_checksum = old_hash.hexdigest(), new_hash.hexdigest()
    return check


def _check_users(connection) -> TableCheck:
    old = _stream(
        connection,
        "SELECT id, username, email, full_name, is_active, is_superuser, created_at FROM users"
        " WHERE 1 = 1 {after} ORDER BY id",
        "id",
    )
    new = _stream(
        connection,
        "SELECT n.id, n.username, n.email, n.display_name, n.is_active, n.is_superuser, n.is_staff, n.date_joined"
        " FROM users_user n WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = n.id) {after} ORDER BY n.id",
        "n.id",
    )
    return _compare(
        "users",
        old,
        new,
        lambda r: (r[0], r[1], r[2], r[3] or "", bool(r[4]), bool(r[5]), bool(r[5]), _dt(r[6])),
        lambda r: (r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5]), bool(r[6]), _dt(r[7])),
    )


def _old_file_name(row_id, file_data, file_name) -> str:
    if file_name:
        return file_name
    return f"attachment-{row_id}" if file_data is not None else ""


def _check_messages(connection) -> TableCheck:
    old = _stream(
        connection,
        "SELECT id, sender_id, receiver_id, content, file_data, file_name, reply_to_id, is_read,"
        " is_deleted_by_sender, is_deleted_by_receiver, created_at, updated_at, read_at FROM direct_messages"
        " WHERE 1 = 1 {after} ORDER BY id",
        "id",
    )
    new = _stream(
        connection,
        "SELECT legacy_id, sender_id, recipient_id, body, attachment_data, attachment_name, legacy_file_name,"
        " legacy_reply_to_id, read_at, sender_deleted_at, recipient_deleted_at, created_at, updated_at,"
        " attachment_size FROM messaging_message WHERE legacy_id IS NOT NULL {after} ORDER BY legacy_id",
        "legacy_id",
    )
    return _compare(
        "direct_messages",
        old,
        new,
        lambda r: (
            r[0],
            r[1],
            r[2],
            r[3] or "",
            _digest(r[4]),
            None if r[4] is None else len(r[4]),
            _old_file_name(r[0], r[4], r[5]),
            r[6],
            _dt(r[12] or r[11] or r[10]) if r[7] else None,
            bool(r[8]),
            bool(r[9]),
            _dt(r[10]),
            _dt(r[11]),
        ),
        lambda r: (
            r[0],
            r[1],
            r[2],
            r[3],
            _digest(r[4]),
            r[13],
            r[5] or r[6],
            r[7],
            _dt(r[8]),
            r[9] is not None,
            r[10] is not None,
            _dt(r[11]),
            _dt(r[12]),
        ),
    )


def _expected_pairs(connection) -> dict[int, tuple[int, int]]:
    """Old conversation id -> the pair it maps to (two distinct participants; the lowest id of a pair wins)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conversation_id, MIN(user_id), MAX(user_id) FROM conversation_participants"
            " GROUP BY conversation_id HAVING COUNT(DISTINCT user_id) = 2 ORDER BY conversation_id",
            [],
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT lc.id, lc.user_low_id, lc.user_high_id FROM legacy_dm_conversation"
            " lc WHERE lc.user_low_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.id = lc.id)",
            [],
        )
        # Pairs the new system named first (a conversation created through the legacy API).
        taken = {(low, high) for _, low, high in cursor.fetchall()}
    pairs = {}
    for conversation_id, low, high in rows:
        if (low, high) not in taken:
            taken.add((low, high))
            pairs[conversation_id] = (low, high)
    return pairs


def _check_conversations(connection) -> TableCheck:
    pairs = _expected_pairs(connection)
    old = _stream(
        connection,
        "SELECT id, created_at, updated_at FROM conversations WHERE 1 = 1 {after} ORDER BY id",
        "id",
    )
    new = _stream(
        connection,
        "SELECT lc.id, lc.user_low_id, lc.user_high_id, lc.created_at, lc.updated_at FROM legacy_dm_conversation lc"
        " WHERE EXISTS (SELECT 1 FROM conversations c WHERE c.id = lc.id) {after} ORDER BY lc.id",
        "lc.id",
    )
    return _compare(
        "conversations",
        old,
        new,
        lambda r: (r[0], pairs.get(r[0]), _dt(r[1]), _dt(r[2])),
        lambda r: (r[0], None if r[1] is None else (r[1], r[2]), _dt(r[3]), _dt(r[4])),
    )


@dataclass
class Verification:
    tables: list[TableCheck]
    unlinked_replies: int
    placeholders: int

    @property
    def ok(self) -> bool:
        return all(table.ok for table in self.tables) and not self.unlinked_replies

    def report(self) -> str:
        lines = [line for table in self.tables for line in table.lines()]
        lines.append(
            f"replies: {'OK' if not self.unlinked_replies else 'DIFFERS'}"
            f"  {self.unlinked_replies} carried replies whose carried target is not linked"
        )
        lines.append(f"placeholder users for missing senders/recipients: {self.placeholders}")
        lines.append("verification passed" if self.ok else "verification FAILED")
        return "\n".join(lines)


def verify(connection) -> Verification:
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
        placeholders,
    )
