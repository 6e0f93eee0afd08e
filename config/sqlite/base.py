"""Django's SQLite backend, flushing the messages before the tables their triggers keep.

`manage.py flush` (and every transactional test's teardown) empties the tables with one `DELETE` each, in
the order of a Python set: a different order in every process. On SQLite a `DELETE FROM messaging_message`
runs the conversation summary's row triggers (`messaging.conversations`), which keep
`messaging_conversation_summary` and `messaging_inbox_totals` exact from what they hold; when those two were
emptied first, or one without the other, the triggers subtracted a pair's unread count from totals that no
longer counted it, and the flush failed on the totals' `CHECK (unread >= 0)`. Deleting the messages first
lets the triggers empty both tables as any deletes would, and the later `DELETE`s find them empty.
PostgreSQL flushes by `TRUNCATE`, which runs no row or statement triggers: it needs none of this.
"""

from django.db.backends.sqlite3 import base, operations

# Deleted first, in this order: the tables whose deletes run triggers that write other tables.
FLUSH_FIRST = ("messaging_message",)


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = super().sql_flush(style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        quoted = [self.quote_name(table) for table in FLUSH_FIRST]

        def rank(statement: str) -> int:
            for position, name in enumerate(quoted):
                if statement.startswith("DELETE") and statement.rstrip(";").endswith(name):
                    return position
            return len(quoted)

        return sorted(statements, key=rank)  # stable: the rest keep their order, sequences after the deletes


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
