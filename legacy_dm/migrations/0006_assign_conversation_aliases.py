"""Give the later old ids of a pair their pair back, as aliases of the pair's canonical id.

Hand-written data migration. 0003 carried the old conversations before the map could hold aliases
(`alias_of`, added by 0005), so when the old system had several conversations of the same two people only the
lowest id got the pair. This makes every later one an alias: the same pair, `alias_of` pointing at the pair's
canonical id. Set-based SQL from `legacy_dm.carry` (see 0003 for why a migration may import it), batched by
old conversation id, each batch its own short transaction, so it is re-runnable and resumable. Backwards makes
the aliases map to no pair again, as 0003 left them, so 0005's unconditional unique constraint can return.
"""

from django.conf import settings
from django.db import migrations

from legacy_dm import carry


def assign_aliases(apps, schema_editor):
    connection = schema_editor.connection
    carry.assign_aliases(
        connection, batch_size=settings.LEGACY_COPY_BATCH_SIZE, lock_timeout_ms=settings.LEGACY_LOCK_TIMEOUT_MS
    )
    # On SQLite, 0005 rebuilt the table (a new CHECK constraint), which restarts its id sequence at the largest
    # id: move it past the old ids plus the headroom again (never backwards; PostgreSQL kept its sequence).
    carry.move_sequences(
        connection, headroom=settings.LEGACY_SEQUENCE_HEADROOM, lock_timeout_ms=settings.LEGACY_LOCK_TIMEOUT_MS
    )


def remove_aliases(apps, schema_editor):
    carry.remove_aliases(schema_editor.connection)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("legacy_dm", "0005_conversation_alias"),
    ]

    operations = [
        migrations.RunPython(assign_aliases, remove_aliases, elidable=False),
    ]
