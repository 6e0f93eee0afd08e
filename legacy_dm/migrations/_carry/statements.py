"""The SQL that carries old rows: users, placeholder users, messages, the conversation-id map, replies, state.

Each function returns one statement (or a few) for an id range `[low, high)`, with its parameters.

`SIGNATURES` is a frozen copy of `messaging.attachments`' magic numbers, not an import of them: migration 0003
runs this SQL, and what a migration did must not change when app code changes later. A signature added to
`messaging.attachments` applies to new uploads; the carry keeps the list it shipped with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .batches import SQLParam, Statement
from .passwords import password_sql

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

# Placeholder users stand for senders/recipients whose old `users` row no longer exists.
PLACEHOLDER_PASSWORD = "!legacy-placeholder"  # a leading "!" is Django's unusable-password marker


PLACEHOLDER_USERNAME_PREFIX = "deleted-user-"


OCTET_STREAM = "application/octet-stream"


# (signature, offset, content type), frozen for the migration (see the module docstring). WEBP is in
# `sniff_sql`, as it needs two checks.
SIGNATURES: list[tuple[bytes, int, str]] = [
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


def utc(connection: BaseDatabaseWrapper, column: str) -> str:
    """A naive old `TIMESTAMP` column read as UTC, as the new timezone-aware columns store it."""
    return f"({column} AT TIME ZONE 'UTC')"


def sniff_sql(data: str) -> tuple[str, list[SQLParam]]:
    """A SQL CASE naming the content type `data`'s bytes announce, or NULL; and its parameters."""
    whens: list[str] = []
    params: list[SQLParam] = []
    for signature, offset, content_type in SIGNATURES:
        whens.append(f"WHEN substr({data}, {offset + 1}, {len(signature)}) = %s THEN %s")
        params += [signature, content_type]
    # WEBP: a RIFF container tagged WEBP at offset 8.
    whens.append(f"WHEN substr({data}, 1, 4) = %s AND substr({data}, 9, 4) = %s THEN %s")
    params += [b"RIFF", b"WEBP", "image/webp"]
    return "CASE " + " ".join(whens) + " END", params


def users_sql(connection: BaseDatabaseWrapper, low: int, high: int) -> Statement:
    (password, password_params), (kept, kept_params) = password_sql(connection, "u.hashed_password")
    return (
        f"""
        INSERT INTO users_user (id, password, legacy_password, last_login, is_superuser, username, first_name,
                                last_name, email, is_staff, is_active, date_joined, display_name)
        SELECT u.id, {password}, {kept},
               NULL, u.is_superuser, u.username, '', '', u.email, u.is_superuser, u.is_active,
               {utc(connection, "u.created_at")}, COALESCE(u.full_name, '')
        FROM users u
        WHERE u.id >= %s AND u.id < %s
          AND NOT EXISTS (SELECT 1 FROM users_user n WHERE n.id = u.id)
        """,
        [*password_params, *kept_params, low, high],
    )


def user_update_sql(connection: BaseDatabaseWrapper, low: int, high: int) -> Statement:
    """What old servers change on users of ids [low, high) after they were carried: name, email, full name,
    active, superuser. An old superuser is staff, as the carry makes them; staff the new side granted stays.
    The password is `user_password_sql`'s (it changes only when the old hash does).
    """
    return (
        """
        UPDATE users_user SET
            username = u.username, email = u.email, display_name = COALESCE(u.full_name, ''),
            is_active = u.is_active,
            is_staff = CASE WHEN users_user.is_superuser <> u.is_superuser THEN u.is_superuser
                            ELSE users_user.is_staff END,
            is_superuser = u.is_superuser
        FROM users u
        WHERE u.id = users_user.id AND u.id >= %s AND u.id < %s AND users_user.password <> %s
        """,
        [low, high, PLACEHOLDER_PASSWORD],
    )


def user_password_sql(connection: BaseDatabaseWrapper, low: int, high: int) -> Statement:
    """The old hashes of users of ids [low, high) carried again, by the carry's rule (an old password change)."""
    (password, params), (kept, kept_params) = password_sql(connection, "u.hashed_password")
    return (
        f"""
        UPDATE users_user SET password = {password}, legacy_password = {kept}
        FROM users u
        WHERE u.id = users_user.id AND u.id >= %s AND u.id < %s AND users_user.password <> %s
        """,
        [*params, *kept_params, low, high, PLACEHOLDER_PASSWORD],
    )


def conversation_times_sql(connection: BaseDatabaseWrapper, low: int, high: int) -> Statement:
    """The times of old conversations of ids [low, high), brought over where old servers changed them."""
    created, updated = utc(connection, "c.created_at"), utc(connection, "c.updated_at")
    return (
        f"""
        UPDATE legacy_dm_conversation SET created_at = {created}, updated_at = {updated}
        FROM conversations c
        WHERE c.id = legacy_dm_conversation.id AND c.id >= %s AND c.id < %s
          AND (legacy_dm_conversation.created_at <> {created}
               OR legacy_dm_conversation.updated_at IS DISTINCT FROM {updated})
        """,
        [low, high],
    )


def placeholders_sql(connection: BaseDatabaseWrapper, low: int, high: int, now: str | None) -> Statement:
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


def messages_sql(connection: BaseDatabaseWrapper, low: int, high: int, now: str | None) -> Statement:
    # A reply is linked at once when its target is in this batch (foreign keys are checked at commit) or
    # already carried; a reply to a later batch is linked by the replies pass (`replies_sql`).
    sniff, sniff_params = sniff_sql("dm.file_data")
    created, updated, read = (utc(connection, f"dm.{c}") for c in ("created_at", "updated_at", "read_at"))
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


def pairs_sql() -> str:
    """Old conversations of an id range (two parameters) with exactly two distinct participants, and their
    ordered pair (`cid`, `lo`, `hi`).
    """
    return """
        SELECT p.conversation_id AS cid, MIN(p.user_id) AS lo, MAX(p.user_id) AS hi
        FROM conversation_participants p
        WHERE p.conversation_id >= %s AND p.conversation_id < %s
        GROUP BY p.conversation_id
        HAVING COUNT(DISTINCT p.user_id) = 2
    """


def unpaired_sql(carried: str = "TRUE") -> str:
    """Ids (`conversation_id`) of carried old conversations `lc` matching `carried` that map to no pair but
    have exactly two participants now.

    The live sync carries each commit of an old server: a conversation committed before its second
    participant was carried with fewer than two (migration 0008's functions). The participants are read only
    for conversations without a pair (no participant is read where there are none: a fresh carry's batch).
    """
    return f"""
        SELECT p.conversation_id FROM conversation_participants p
        WHERE p.conversation_id IN (SELECT lc.id FROM legacy_dm_conversation lc
                                    WHERE lc.user_low_id IS NULL AND lc.alias_of_id IS NULL AND {carried})
        GROUP BY p.conversation_id
        HAVING COUNT(DISTINCT p.user_id) = 2
    """


def conversations_sql(connection: BaseDatabaseWrapper, low: int, high: int) -> list[Statement]:
    """The statements carrying the old conversations of ids [low, high): canonical ids, then the rest.

    0. A conversation carried as mapping to no pair that has two participants now (`unpaired_sql`) is
       carried again: its row goes, and the next statements write it with its pair.
    1. A conversation with exactly two distinct participants names their ordered pair, as the pair's
       canonical id, unless the pair already has an id (an older conversation of the same two people, or
       one the new system gave out): the lowest old id of a pair is its canonical id.
    2. Every other old conversation of the range: a later id of a pair becomes an alias of the pair's
       canonical id (same pair, `alias_of_id` set); a conversation of one or three people maps to no pair.

    Each insert skips a row that a concurrent writer inserted first (`ON CONFLICT DO NOTHING`): the live sync
    runs them in old servers' transactions while Relay gives pairs their ids (`get_or_create`). A pair whose
    canonical id another transaction wrote meanwhile is waited for, then the next statement (a new snapshot)
    makes this id its alias.
    """
    created, updated = utc(connection, "c.created_at"), utc(connection, "c.updated_at")
    again: Statement = (
        f"DELETE FROM legacy_dm_conversation WHERE id IN ({unpaired_sql('lc.id >= %s AND lc.id < %s')})",
        [low, high],
    )
    canonical: Statement = (
        f"""
        INSERT INTO legacy_dm_conversation (id, user_low_id, user_high_id, created_by_id, created_at, updated_at)
        SELECT c.id, fp.lo, fp.hi, NULL, {created}, {updated}
        FROM conversations c
        JOIN (
            SELECT MIN(pairs.cid) AS cid, pairs.lo AS lo, pairs.hi AS hi
            FROM ({pairs_sql()}) pairs
            GROUP BY pairs.lo, pairs.hi
        ) fp ON fp.cid = c.id
        WHERE c.id >= %s AND c.id < %s
          AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lc WHERE lc.id = c.id)
          AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lp WHERE lp.user_low_id = fp.lo AND lp.user_high_id = fp.hi)
        ON CONFLICT DO NOTHING
        """,
        [low, high, low, high],
    )
    rest: Statement = (
        f"""
        INSERT INTO legacy_dm_conversation (id, user_low_id, user_high_id, alias_of_id, created_by_id, created_at,
                                            updated_at)
        SELECT c.id, canon.user_low_id, canon.user_high_id, canon.id, NULL, {created}, {updated}
        FROM conversations c
        LEFT JOIN ({pairs_sql()}) pr ON pr.cid = c.id
        LEFT JOIN legacy_dm_conversation canon
               ON canon.user_low_id = pr.lo AND canon.user_high_id = pr.hi AND canon.alias_of_id IS NULL
        WHERE c.id >= %s AND c.id < %s
          AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lc WHERE lc.id = c.id)
        ON CONFLICT DO NOTHING
        """,
        [low, high, low, high],
    )
    return [again, canonical, rest]


def replies_sql(low: int, high: int) -> Statement:
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


def greatest(connection: BaseDatabaseWrapper, a: str, b: str) -> str:
    """The later of two timestamps, either of which may be NULL."""
    return f"GREATEST({a}, {b})"  # ignores NULLs


def lost_state(m: str, dm: str) -> str:
    """SQL: the old row `dm` holds a read or a delete that its carried row `m` misses.

    While the sync runs, the old row of a message a moderator hid is marked deleted on both sides, so that old
    servers do not serve it (`legacy_dm.sync`); those flags are the moderator's, not a user's delete.
    """
    user_delete = f"{m}.hidden_at IS NULL AND {dm}"
    return (
        f"(({dm}.is_read AND {m}.read_at IS NULL)"
        f" OR ({user_delete}.is_deleted_by_sender AND {m}.sender_deleted_at IS NULL)"
        f" OR ({user_delete}.is_deleted_by_receiver AND {m}.recipient_deleted_at IS NULL))"
    )


def state_sql(connection: BaseDatabaseWrapper, low: int, high: int, now: str | None) -> Statement:
    """Bring over reads and deletes that old servers made to rows already carried (a rolling deploy).

    Reading and deleting only ever go one way, so the merge is too: a message read or deleted on either
    side stays so, and nothing the new system recorded is undone. Rows that agree are not touched.

    The old rows' range is stated as well as the carried rows': without it the planner answered each batch
    with a scan of the whole old table (0.3 s per batch of 10,000 over a million rows, so 31 s per catch-up).
    """
    created, updated, read = (utc(connection, f"dm.{c}") for c in ("created_at", "updated_at", "read_at"))
    old = "FROM direct_messages dm WHERE dm.id = messaging_message.legacy_id"
    kept = "messaging_message.hidden_at IS NULL AND dm"
    return (
        f"""
        UPDATE messaging_message SET
            read_at = COALESCE(read_at,
                (SELECT CASE WHEN dm.is_read THEN COALESCE({read}, {updated}, {created}) END {old})),
            sender_deleted_at = COALESCE(sender_deleted_at,
                (SELECT CASE WHEN {kept}.is_deleted_by_sender THEN COALESCE({updated}, %s) END {old})),
            recipient_deleted_at = COALESCE(recipient_deleted_at,
                (SELECT CASE WHEN {kept}.is_deleted_by_receiver THEN COALESCE({updated}, %s) END {old})),
            updated_at = {greatest(connection, "updated_at", f"(SELECT {updated} {old})")}
        WHERE legacy_id >= %s AND legacy_id < %s
          AND EXISTS (SELECT 1 {old} AND dm.id >= %s AND dm.id < %s AND {lost_state("messaging_message", "dm")})
        """,
        [now, now, low, high, low, high],
    )
