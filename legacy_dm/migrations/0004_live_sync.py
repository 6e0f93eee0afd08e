"""Turn the live sync on when the carry found an old database with rows (`_live_sync`).

From this migration on, while old servers still run, every write on either side reaches the other in the
same transaction; `manage.py legacy_sync off` is the cut-over. A fresh database (empty old tables) gets
nothing here. The functions and triggers installed are those 0008 and 0009 write down (the outbox's come with
0006, once its table exists); 0009 finds them there and keeps the sync on. Backwards turns the sync off (its
functions and triggers dropped), before the carried rows are removed.
"""

from django.db import migrations
from django.utils import timezone

from . import _live_sync
from ._carry.options import CarryOptions

TO_NEW = "0008_live_sync_to_new_functions"
TO_OLD = "0009_live_sync_triggers"


def install(cursor):
    for statement in _live_sync.sql(TO_NEW).FUNCTIONS:
        cursor.execute(statement)
    later = _live_sync.sql(TO_OLD)
    new_to_old = [statement for statement in later.FUNCTIONS if statement is not later.DIRECT_MESSAGES_EVENTS]
    for statement in [*new_to_old, later.TO_NEW_TRIGGERS, later.TO_OLD_TRIGGERS]:  # the outbox's come with 0006
        cursor.execute(statement)


def drop(cursor):
    for statement in _live_sync.drop_statements(_live_sync.TRIGGERS, _live_sync.FUNCTIONS):
        cursor.execute(statement)


def start_sync(apps, schema_editor):
    connection = schema_editor.connection
    if _live_sync.old_tables_hold_rows(connection):
        _live_sync.turn_on(connection, CarryOptions.from_settings(), switch_on=install, now=timezone.now())


def stop_sync(apps, schema_editor):
    _live_sync.turn_off(schema_editor.connection, CarryOptions.from_settings(), switch_off=drop)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("legacy_dm", "0003_carry_old_data")]

    operations = [migrations.RunPython(start_sync, stop_sync, elidable=False)]
