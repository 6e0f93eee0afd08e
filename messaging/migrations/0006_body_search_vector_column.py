"""A stored full-text vector of message bodies with its GIN index, on PostgreSQL only.

Hand-written: the column is a PostgreSQL generated column (`to_tsvector(...)` of the body, kept by the database
on every insert and update), which neither SQLite nor a model field can express for both databases (SQLite
searches with a plain match and has no such column). Search filters and ranks on the stored vector
(`messaging.filters.body_search_vector`): ranking the matches of a common word no longer parses every
matching body again (27 ms of a 44 ms search on the 1M-message benchmark). It replaces the expression index
of 0002, which nothing uses any more.

Adding a stored generated column rewrites the table under an exclusive lock (about a minute per million
messages on the benchmark machine): schedule it like any table rewrite.
"""

from django.db import migrations

COLUMN = "body_tsv"
INDEX = "msg_body_tsv_idx"
OLD_INDEX = "msg_body_fts_idx"  # 0002's expression index
VECTOR = "to_tsvector('english'::regconfig, COALESCE(body, ''))"  # as 0002; messaging.filters.SEARCH_CONFIG


def add_column(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"ALTER TABLE messaging_message ADD COLUMN {COLUMN} tsvector GENERATED ALWAYS AS ({VECTOR}) STORED"
    )
    schema_editor.execute(f"CREATE INDEX {INDEX} ON messaging_message USING gin ({COLUMN})")
    schema_editor.execute(f"DROP INDEX IF EXISTS {OLD_INDEX}")


def drop_column(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {OLD_INDEX} ON messaging_message USING gin ({VECTOR})")
    schema_editor.execute(f"ALTER TABLE messaging_message DROP COLUMN IF EXISTS {COLUMN}")  # and its index


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_pair_and_visible_indexes")]

    operations = [migrations.RunPython(add_column, drop_column, elidable=False)]
