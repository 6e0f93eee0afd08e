"""Give a live sync that is on the outbox's function and triggers (0009 writes them down).

A database that 0004 carried and turned the sync on for, before 0005 made the outbox table, has the sync's
triggers without these; from here on, old servers' sends, reads and deletes are noted for
`manage.py legacy_sync_events`. A database whose sync is off gets nothing (0009 installs them for every
database). Backwards drops these only, before 0005's table goes.
"""

from django.conf import settings
from django.db import migrations, transaction

from . import _live_sync

TO_OLD = "0009_live_sync_triggers"


def add_outbox_triggers(apps, schema_editor):
    connection = schema_editor.connection
    if not _live_sync.is_on(connection):
        return
    later = _live_sync.sql(TO_OLD)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(settings.LEGACY_LOCK_TIMEOUT_MS)}ms'")
        for statement in (later.DIRECT_MESSAGES_EVENTS, later.OUTBOX_TRIGGERS):
            cursor.execute(statement)


def drop_outbox_triggers(apps, schema_editor):
    connection = schema_editor.connection
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(settings.LEGACY_LOCK_TIMEOUT_MS)}ms'")
        for statement in _live_sync.drop_statements(_live_sync.OUTBOX_TRIGGERS, ["relay_sync_direct_messages_events"]):
            cursor.execute(statement)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("legacy_dm", "0005_sync_event")]

    operations = [migrations.RunPython(add_outbox_triggers, drop_outbox_triggers, elidable=False)]
