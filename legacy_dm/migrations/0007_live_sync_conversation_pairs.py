"""Give a live sync that is on the old -> new functions that map an old server's new conversation to its pair
whatever its transactions (0008 writes them down), and map the conversations the earlier functions left
without their pair (their row committed before their participants). A database whose sync is off gets
nothing here. Backwards does nothing: the functions keep this behaviour.
"""

from django.db import migrations

from . import _live_sync
from ._carry.options import CarryOptions

TO_NEW = "0008_live_sync_to_new_functions"


def replace_functions(cursor):
    for statement in _live_sync.sql(TO_NEW).FUNCTIONS:
        cursor.execute(statement)


def replace_sync_functions(apps, schema_editor):
    connection = schema_editor.connection
    if _live_sync.is_on(connection):
        _live_sync.carry_unpaired_conversations(connection, CarryOptions.from_settings(), first=replace_functions)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("legacy_dm", "0006_sync_events")]

    operations = [migrations.RunPython(replace_sync_functions, migrations.RunPython.noop, elidable=False)]
