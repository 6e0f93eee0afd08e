"""Give a live sync that is already on the old -> new functions that map an old server's new conversation to
its pair whatever its transactions (`legacy_dm.sync.to_new`), and map the conversations the earlier functions
left without their pair (their row committed before their participants). A fresh database and SQLite (no
sync) get nothing. Backwards does nothing: the functions keep this behaviour.
"""

from django.conf import settings
from django.db import migrations

from legacy_dm import sync


def replace_sync_functions(apps, schema_editor):
    sync.replace_functions(schema_editor.connection, lock_timeout_ms=settings.LEGACY_LOCK_TIMEOUT_MS)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("legacy_dm", "0006_sync_events")]

    operations = [migrations.RunPython(replace_sync_functions, migrations.RunPython.noop, elidable=False)]
