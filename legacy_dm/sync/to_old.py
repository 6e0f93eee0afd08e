"""New-side writes, applied to the old tables in the old shapes (new -> old).

Each new table gets a BEFORE INSERT trigger that gives a new row its id from the old table's own sequence
(old servers take theirs from the same one, so the two sides never hand out the same id), and AFTER
triggers that write the row's old shape: the row an old server would have written for the same action.
They run inside the writing transaction: the old tables never disagree with the new ones.

The old shapes, in one place (`*_to_old_sql`), are used by the triggers (one row) and by `legacy_sync on`
(every row written while the sync was off):

- a message: its body, attachment bytes, name and type, reply, read state and times; `is_deleted_by_*` for
  a user's delete, and on both sides for a message a moderator hid (old servers must not serve it; unhiding
  puts the flags back as the users left them); `conversation_id` names the pair's canonical conversation;
- a user: name, email (a unique placeholder address where the old table could not hold it), full name,
  flags, and the password in the form the old service checks (`carry.old_hash_sql`);
- a conversation id the new system gave out: a `conversations` row and its two participants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from legacy_dm.carry import PLACEHOLDER_PASSWORD, old_hash_sql

from .render import render
from .sql import function, guarded_body

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

# The old `users.full_name` is VARCHAR(100); longer display names are cut there on the old side.
OLD_FULL_NAME_MAX = 100
# The old `users.username` is VARCHAR(50): while the sync runs, registration refuses longer names.
OLD_USERNAME_MAX = 50


def utc(column: str) -> str:
    """A timezone-aware new column as the old naive-UTC `TIMESTAMP`."""
    return f"({column} AT TIME ZONE 'UTC')"


def old_email_sql(n: str) -> str:
    """The email of new user `n` as the old `users` table holds it (NOT NULL UNIQUE)."""
    return (
        f"CASE WHEN {n}.email = '' OR EXISTS (SELECT 1 FROM users o WHERE o.email = {n}.email AND o.id <> {n}.id)"
        f" THEN 'user-' || CAST({n}.id AS TEXT) || '@users.invalid' ELSE {n}.email END"
    )


def old_full_name_sql(n: str) -> str:
    return f"NULLIF(left({n}.display_name, {OLD_FULL_NAME_MAX}), '')"


def messages_to_old_sql(where: str) -> str:
    """Write the old shape of the messages `m` matching `where`; on an existing old row, its read and delete
    state (the only things either side changes after a send).
    """
    deleted = "IS NOT NULL OR m.hidden_at IS NOT NULL"
    return f"""
        INSERT INTO direct_messages (id, sender_id, receiver_id, conversation_id, content, file_data, file_name,
                                     file_type, reply_to_id, is_read, read_at, is_deleted_by_sender,
                                     is_deleted_by_receiver, created_at, updated_at)
        SELECT m.id, m.sender_id, m.recipient_id,
               (SELECT c.id FROM legacy_dm_conversation c
                WHERE c.user_low_id = LEAST(m.sender_id, m.recipient_id)
                  AND c.user_high_id = GREATEST(m.sender_id, m.recipient_id) AND c.alias_of_id IS NULL),
               m.body, m.attachment_data, NULLIF(m.attachment_name, ''), NULLIF(m.attachment_content_type, ''),
               m.reply_to_id, m.read_at IS NOT NULL, {utc("m.read_at")},
               m.sender_deleted_at {deleted}, m.recipient_deleted_at {deleted},
               {utc("m.created_at")}, {utc("m.updated_at")}
        FROM messaging_message m
        WHERE {where}
        ON CONFLICT (id) DO UPDATE SET
            is_read = EXCLUDED.is_read,
            read_at = CASE WHEN direct_messages.is_read = EXCLUDED.is_read THEN direct_messages.read_at
                           ELSE EXCLUDED.read_at END,
            is_deleted_by_sender = EXCLUDED.is_deleted_by_sender,
            is_deleted_by_receiver = EXCLUDED.is_deleted_by_receiver,
            updated_at = COALESCE(EXCLUDED.updated_at, direct_messages.updated_at)
    """


def users_to_old_sql(connection: BaseDatabaseWrapper, where: str, *, password_changed: str) -> str:
    """Write the old shape of the users `n` matching `where` (never a placeholder user). On an existing old
    row the hash changes only where `password_changed` (SQL) holds: a carried hash that old servers check
    and the new side cannot (`legacy_password`) stays theirs.
    """
    old_hash = render(connection, old_hash_sql("n.password"))
    placeholder = render(connection, ("%s", [PLACEHOLDER_PASSWORD]))
    return f"""
        INSERT INTO users (id, username, email, hashed_password, full_name, is_active, is_superuser, created_at)
        SELECT n.id, n.username, {old_email_sql("n")}, COALESCE({old_hash}, n.legacy_password, '!'),
               {old_full_name_sql("n")}, n.is_active, n.is_superuser, {utc("n.date_joined")}
        FROM users_user n
        WHERE ({where}) AND n.password <> {placeholder}
        ON CONFLICT (id) DO UPDATE SET
            username = EXCLUDED.username, email = EXCLUDED.email, full_name = EXCLUDED.full_name,
            is_active = EXCLUDED.is_active, is_superuser = EXCLUDED.is_superuser,
            hashed_password = CASE WHEN {password_changed} THEN EXCLUDED.hashed_password
                                   ELSE users.hashed_password END
    """


def conversations_to_old_sql(where: str) -> list[str]:
    """Write the old rows of the conversation ids `c` matching `where`: the conversation and its two
    participants (those with an old `users` row: its foreign key needs one).
    """
    conversation = f"""
        INSERT INTO conversations (id, created_at, updated_at)
        SELECT c.id, {utc("c.created_at")}, {utc("c.updated_at")} FROM legacy_dm_conversation c WHERE {where}
        ON CONFLICT (id) DO NOTHING
    """
    participants = f"""
        INSERT INTO conversation_participants (conversation_id, user_id, joined_at)
        SELECT c.id, p.user_id, {utc("c.created_at")}
        FROM legacy_dm_conversation c CROSS JOIN LATERAL (VALUES (c.user_low_id), (c.user_high_id)) p(user_id)
        WHERE ({where}) AND p.user_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id)
          AND NOT EXISTS (SELECT 1 FROM conversation_participants cp
                          WHERE cp.conversation_id = c.id AND cp.user_id = p.user_id)
    """
    return [conversation, participants]


# new table -> (old table, the old table's id sequence is looked up at install)
TABLES = {
    "users_user": "users",
    "messaging_message": "direct_messages",
    "legacy_dm_conversation": "conversations",
}

# The columns whose change reaches the old row (a login's `last_login` does not).
UPDATED_COLUMNS = {
    "users_user": ("username", "email", "password", "display_name", "is_active", "is_superuser"),
    "messaging_message": ("read_at", "sender_deleted_at", "recipient_deleted_at", "hidden_at", "updated_at"),
    "legacy_dm_conversation": (),
}


def _bodies(connection: BaseDatabaseWrapper) -> dict[str, str]:
    users_changed = "TG_OP = 'INSERT' OR OLD.password IS DISTINCT FROM NEW.password"
    return {
        "users_user": f"""
            IF TG_OP = 'DELETE' THEN
                DELETE FROM conversation_participants WHERE user_id = OLD.id;
                DELETE FROM users WHERE id = OLD.id;
            ELSE
                {users_to_old_sql(connection, "n.id = NEW.id", password_changed=f"({users_changed})")};
            END IF;""",
        "messaging_message": """
            IF TG_OP = 'DELETE' THEN
                DELETE FROM direct_messages WHERE id = OLD.id;
            ELSE
                {};
            END IF;""".format(messages_to_old_sql("m.id = NEW.id")),
        "legacy_dm_conversation": """
            IF TG_OP = 'DELETE' THEN
                DELETE FROM conversation_participants WHERE conversation_id = OLD.id;
                DELETE FROM conversations WHERE id = OLD.id;
            ELSE
                {};
            END IF;""".format(";\n".join(conversations_to_old_sql("c.id = NEW.id"))),
    }


def ids_function(table: str) -> str:
    """The BEFORE INSERT function: the new row's id from the old table's sequence (its first argument); a
    message also records that it has an old row (`legacy_id`, and its reply's old id).
    """
    extra = (
        "NEW.legacy_id := NEW.id; NEW.legacy_reply_to_id := NEW.reply_to_id;" if table == "messaging_message" else ""
    )
    body = f"""
        BEGIN
            NEW.id := nextval(TG_ARGV[0]::regclass);
            {extra}
            RETURN NEW;
        END"""
    return function(f"relay_sync_{table}_ids", body)


def install_sql(connection: BaseDatabaseWrapper, guard: str, sequences: dict[str, str]) -> list[str]:
    """CREATE FUNCTION and CREATE TRIGGER statements of the new -> old direction (`sequences`: old table ->
    its id sequence).
    """
    created: list[str] = []
    bodies = _bodies(connection)
    for table, old_table in TABLES.items():
        name = f"relay_sync_{table}_to_old"
        created.append(ids_function(table))
        created.append(
            f"CREATE TRIGGER relay_sync_{table}_ids BEFORE INSERT ON {table} FOR EACH ROW WHEN ({guard})"
            f" EXECUTE FUNCTION relay_sync_{table}_ids('{sequences[old_table]}')"
        )
        created.append(function(name, guarded_body(bodies[table])))
        for event, when in _events(table, guard):
            created.append(
                f"CREATE TRIGGER {name}_{event.lower()} AFTER {event} ON {table} FOR EACH ROW WHEN ({when})"
                f" EXECUTE FUNCTION {name}()"
            )
    return created


def _events(table: str, guard: str) -> list[tuple[str, str]]:
    """(event, WHEN condition) of the AFTER triggers of `table`; no UPDATE trigger where no column counts."""
    events = [("INSERT", guard), ("DELETE", guard)]
    if UPDATED_COLUMNS[table]:
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in UPDATED_COLUMNS[table])
        events.append(("UPDATE", f"{guard} AND ({changed})"))
    return events


def trigger_names() -> list[tuple[str, str]]:
    names = []
    for table in TABLES:
        names.append((table, f"relay_sync_{table}_ids"))
        names += [(table, f"relay_sync_{table}_to_old_{event.lower()}") for event, _ in _events(table, "")]
    return names


def function_names() -> list[str]:
    return [name for table in TABLES for name in (f"relay_sync_{table}_ids", f"relay_sync_{table}_to_old")]
