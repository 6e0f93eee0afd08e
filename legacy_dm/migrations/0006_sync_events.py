"""Give a live sync that is already on the outbox's triggers (`legacy_dm.sync.outbox`).

A database that 0004 carried and turned the sync on for, before 0005 made the outbox table, has the sync's
triggers without these; from here on, old servers' sends, reads and deletes are noted for
`manage.py legacy_sync_events`. A fresh database and SQLite (no sync) get nothing. Backwards drops these
triggers only, before 0005's table goes.
"""

from django.conf import settings
from django.db import migrations

from legacy_dm import sync


def add_outbox_triggers(apps, schema_editor):
    sync.install_outbox(schema_editor.connection, lock_timeout_ms=settings.LEGACY_LOCK_TIMEOUT_MS)


def drop_outbox_triggers(apps, schema_editor):
    sync.remove_outbox(schema_editor.connection, lock_timeout_ms=settings.LEGACY_LOCK_TIMEOUT_MS)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("legacy_dm", "0005_sync_event")]

    operations = [migrations.RunPython(add_outbox_triggers, drop_outbox_triggers, elidable=False)]
