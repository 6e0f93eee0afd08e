"""A GIN index for full-text search of message bodies, on PostgreSQL only (SQLite searches with a plain match).

The indexed expression is exactly what `messaging.filters.body_search_vector()` generates, so the planner uses it.
"""

from django.db import migrations

INDEX = "msg_body_fts_idx"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON messaging_message "
            "USING gin (to_tsvector('english'::regconfig, COALESCE(body, '')))"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
