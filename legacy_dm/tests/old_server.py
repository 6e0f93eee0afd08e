"""The old FastAPI service, played with raw SQL on the old tables: what the live sync's tests write as old servers."""

from contextlib import nullcontext
from datetime import UTC, datetime

import bcrypt
import psycopg
from django.db import connection


def old_hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


class OldServer:
    """The old FastAPI service: its own connection, each write its own transaction, naive UTC times."""

    def __init__(self) -> None:
        settings = connection.settings_dict
        self.conn = psycopg.connect(
            dbname=settings["NAME"],
            user=settings["USER"],
            host=settings["HOST"],
            port=settings["PORT"] or 5432,
            password=settings["PASSWORD"] or None,
            autocommit=True,
        )

    def one(self, sql: str, params: tuple = ()):
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row if len(row) > 1 else row[0]

    def all(self, sql: str, params: tuple = ()):
        return self.conn.execute(sql, params).fetchall()

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC).replace(tzinfo=None)

    def register(self, username: str, password: str, full_name: str | None = None) -> int:
        return self.one(
            "INSERT INTO users (username, email, hashed_password, full_name, is_active, is_superuser, created_at)"
            " VALUES (%s, %s, %s, %s, true, false, %s) RETURNING id",
            (username, f"{username}@old.example", old_hash(password), full_name, self.now()),
        )

    def send(self, sender: int, receiver: int, content: str, *, conversation: int | None = None, **file) -> int:
        return self.one(
            "INSERT INTO direct_messages (sender_id, receiver_id, conversation_id, content, file_data, file_name,"
            " file_type, reply_to_id, is_read, is_deleted_by_sender, is_deleted_by_receiver, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, false, false, false, %s) RETURNING id",
            (
                sender,
                receiver,
                conversation,
                content,
                file.get("data"),
                file.get("name"),
                file.get("type"),
                file.get("reply_to"),
                self.now(),
            ),
        )

    def read(self, message_id: int) -> None:
        now = self.now()
        self.conn.execute(
            "UPDATE direct_messages SET is_read = true, read_at = %s, updated_at = %s WHERE id = %s",
            (now, now, message_id),
        )

    def delete(self, message_id: int, *, by: str) -> None:
        self.conn.execute(
            f"UPDATE direct_messages SET is_deleted_by_{by} = true, updated_at = %s WHERE id = %s",
            (self.now(), message_id),
        )

    def open_conversation(self, *user_ids: int) -> int:
        with self.conn.transaction():
            conversation = self.new_conversation_row()
            for user_id in user_ids:
                self.join(conversation, user_id)
        return conversation

    def new_conversation_row(self) -> int:
        return self.one("INSERT INTO conversations (created_at) VALUES (%s) RETURNING id", (self.now(),))

    def join(self, conversation: int, user_id: int) -> None:
        self.conn.execute(
            "INSERT INTO conversation_participants (conversation_id, user_id, joined_at) VALUES (%s, %s, %s)",
            (conversation, user_id, self.now()),
        )

    def start_conversation(
        self, first: int, second: int, content: str, *, transactions: list[list[str]]
    ) -> tuple[int, int]:
        """A conversation of `first` and `second` and `first`'s message in it, written as the old ORM writes
        them: `transactions` are the writes ("conversation", "first", "second", "message") in order, grouped
        by the transaction that commits them (a group of one is a statement in autocommit). Returns the
        conversation's id and the message's.
        """
        written: dict[str, int] = {}
        for group in transactions:
            with self.conn.transaction() if len(group) > 1 else nullcontext():
                for step in group:
                    if step == "conversation":
                        written["conversation"] = self.new_conversation_row()
                    elif step == "message":
                        written["message"] = self.send(first, second, content, conversation=written["conversation"])
                    else:
                        self.join(written["conversation"], first if step == "first" else second)
        return written["conversation"], written["message"]

    def message(self, message_id: int) -> dict | None:
        """The `direct_messages` row by column name, as stored."""
        cursor = self.conn.execute("SELECT * FROM direct_messages WHERE id = %s", (message_id,))
        row = cursor.fetchone()
        return (
            None if row is None else {column.name: value for column, value in zip(cursor.description, row, strict=True)}
        )

    def served(self, message_id: int) -> dict:
        """The message as the old service's API served it from its row: pydantic's JSON of the row, with naive
        UTC times in `isoformat()` and the two users as `{id, username, full_name}`.
        """
        row = self.message(message_id)
        assert row is not None, f"no old row {message_id}"

        def user(user_id: int) -> dict:
            username, full_name = self.one("SELECT username, full_name FROM users WHERE id = %s", (user_id,))
            return {"id": user_id, "username": username, "full_name": full_name}

        def time(value: datetime | None) -> str | None:
            assert value is None or value.tzinfo is None, value  # TIMESTAMP WITHOUT TIME ZONE
            return None if value is None else value.isoformat()

        return {
            "id": row["id"],
            "sender_id": row["sender_id"],
            "receiver_id": row["receiver_id"],
            "content": row["content"],
            "reply_to_id": row["reply_to_id"],
            "is_read": row["is_read"],
            "read_at": time(row["read_at"]),
            "file_name": row["file_name"],
            "file_type": row["file_type"],
            "has_attachment": row["file_data"] is not None,
            "created_at": time(row["created_at"]),
            "updated_at": time(row["updated_at"]),
            "sender": user(row["sender_id"]),
            "receiver": user(row["receiver_id"]),
        }

    def visible(self, user_id: int) -> list[tuple[int, str, bool]]:
        """The old service's rule: what `user_id` sees (id, content, read), newest first."""
        return [
            tuple(row)
            for row in self.all(
                "SELECT id, COALESCE(content, ''), is_read FROM direct_messages"
                " WHERE (sender_id = %s AND NOT is_deleted_by_sender) OR (receiver_id = %s AND NOT is_deleted_by_receiver)"
                " ORDER BY created_at DESC, id DESC",
                (user_id, user_id),
            )
        ]

    def close(self) -> None:
        self.conn.close()
