"""Turn the live sync on when the carry found an old database with rows (PostgreSQL; `legacy_dm.sync`).

From this migration on, while old servers still run, every write on either side reaches the other in the
same transaction; `manage.py legacy_sync off` is the cut-over. A fresh database (empty old tables) and SQLite
get no triggers. Backwards turns the sync off, before the carried rows are removed.
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from legacy_dm import sync


def start_sync(apps, schema_editor):
    connection = schema_editor.connection
    if not sync.old_tables_hold_rows(connection):
        return
    sync.turn_on(
        connection,
        batch_size=settings.LEGACY_COPY_BATCH_SIZE,
        headroom=settings.LEGACY_SEQUENCE_HEADROOM,
        lock_timeout_ms=settings.LEGACY_LOCK_TIMEOUT_MS,
        now=timezone.now(),
    )


def stop_sync(apps, schema_editor):
    sync.turn_off(
        schema_editor.connection,
        headroom=settings.LEGACY_SEQUENCE_HEADROOM,
        lock_timeout_ms=settings.LEGACY_LOCK_TIMEOUT_MS,
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("legacy_dm", "0003_carry_old_data")]

    operations = [migrations.RunPython(start_sync, stop_sync, elidable=False)]
