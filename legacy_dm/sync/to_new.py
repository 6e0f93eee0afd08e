"""Old servers' writes, applied to the new tables by the carry's own statements (old -> new).

Each old table gets a deferred constraint trigger: it runs at the old server's COMMIT, inside that
transaction, when every row the transaction wrote is there (a conversation and its participants, a message
and the users it names). It applies the carry's statements to the written row's id (`render`), so a row an
old server writes becomes exactly what the carry makes of it, with the same id; an UPDATE brings over what
old servers change (reads, deletes, a user's name or password) by the carry's merge rules.

An old server outside an explicit transaction commits each statement on its own: a conversation's row, then
each participant, then its message. Its row is then carried before its participants exist, as mapping to no
pair; each participant's commit carries the conversation again, and the carry's first statement maps it to
its pair once it has two (`carry.statements.unpaired_sql`), whatever the order and transactions of the writes.
Two participants of one conversation committing side by side would each see only their own, so the
conversation's statements first take a transaction-scoped advisory lock on its id: the second waits for the
first to commit, and its statements (READ COMMITTED, each with a new snapshot) see both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from legacy_dm.carry import statements
from legacy_dm.carry.batches import Statement

from .render import HIGH, LOW, NOW, render_all
from .sql import function, guarded_body

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

# old table -> (the trigger's function, the id column whose row it carries)
TRIGGERS = {
    "users": ("relay_sync_users_to_new", "id"),
    "direct_messages": ("relay_sync_direct_messages_to_new", "id"),
    "conversations": ("relay_sync_conversations_to_new", "id"),
    "conversation_participants": ("relay_sync_participants_to_new", "conversation_id"),
}

# The advisory lock's key prefix, followed by the old conversation's id (see the module docstring).
CONVERSATION_LOCK = "relay_sync_conversation"

# The columns whose change an UPDATE trigger brings over.
UPDATED_COLUMNS = {
    "users": ("username", "email", "hashed_password", "full_name", "is_active", "is_superuser"),
    "direct_messages": ("is_read", "read_at", "is_deleted_by_sender", "is_deleted_by_receiver", "updated_at"),
    "conversations": ("created_at", "updated_at"),
    "conversation_participants": ("conversation_id", "user_id"),
}


def _bodies(connection: BaseDatabaseWrapper) -> dict[str, str]:
    """Each function's body: the carry's statements for the row's id range."""

    def run(*built: Statement | list[Statement]) -> str:
        flat: list[Statement] = []
        for item in built:
            flat.extend(item if isinstance(item, list) else [item])
        return render_all(connection, flat)

    carried = run(
        statements.conversations_sql(connection, LOW, HIGH),
        statements.conversation_times_sql(connection, LOW, HIGH),
    )
    conversations = f"""
            PERFORM pg_advisory_xact_lock(hashtextextended('{CONVERSATION_LOCK}:' || p_low, 0));
            {carried}"""
    return {
        "relay_sync_users_to_new": f"""
            IF TG_OP = 'INSERT' THEN
                {run(statements.users_sql(connection, LOW, HIGH))}
            ELSE
                {run(statements.user_update_sql(connection, LOW, HIGH))}
                IF OLD.hashed_password IS DISTINCT FROM NEW.hashed_password THEN
                    {run(statements.user_password_sql(connection, LOW, HIGH))}
                END IF;
            END IF;""",
        # An INSERT is carried whole (its state too); an UPDATE only changes reads and deletes.
        "relay_sync_direct_messages_to_new": f"""
            IF TG_OP = 'INSERT' THEN
                {run(statements.placeholders_sql(connection, LOW, HIGH, NOW), statements.messages_sql(connection, LOW, HIGH, NOW))}
            ELSE
                {run(statements.state_sql(connection, LOW, HIGH, NOW))}
            END IF;""",
        "relay_sync_conversations_to_new": conversations,
        "relay_sync_participants_to_new": conversations,
    }


def functions_sql(connection: BaseDatabaseWrapper) -> list[str]:
    """CREATE OR REPLACE FUNCTION statements of the old -> new direction."""
    bodies = _bodies(connection)
    created = []
    for name, id_column in TRIGGERS.values():
        declare = f"p_low bigint := NEW.{id_column}; p_high bigint := NEW.{id_column} + 1;"
        created.append(function(name, guarded_body(bodies[name], declare=declare)))
    return created


def install_sql(connection: BaseDatabaseWrapper, guard: str) -> list[str]:
    """CREATE FUNCTION and CREATE CONSTRAINT TRIGGER statements of the old -> new direction."""
    created = functions_sql(connection)
    for table, (name, _) in TRIGGERS.items():
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in UPDATED_COLUMNS[table])
        for event, when in (("INSERT", guard), ("UPDATE", f"{guard} AND ({changed})")):
            created.append(
                f"CREATE CONSTRAINT TRIGGER {name}_{event.lower()} AFTER {event} ON {table}"
                f" DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION {name}()"
            )
    return created


def trigger_names() -> list[tuple[str, str]]:
    """(table, trigger) of every trigger `install_sql` creates."""
    return [(table, f"{name}_{event}") for table, (name, _) in TRIGGERS.items() for event in ("insert", "update")]


def function_names() -> list[str]:
    return [name for name, _ in TRIGGERS.values()]
