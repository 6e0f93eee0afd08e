"""`VACUUM (ANALYZE)` of the conversation summary that 0003 built (PostgreSQL; nothing elsewhere).

0003 runs in a transaction, where the tables can only be analysed; this migration is not atomic, so that the
first inbox after `migrate` reads a vacuumed summary (messaging.conversations.settle).
"""

from django.db import migrations


def settle(apps, schema_editor):
    from messaging import conversations

    conversations.settle(schema_editor.connection)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("messaging", "0003_conversation_summary")]

    operations = [migrations.RunPython(settle, migrations.RunPython.noop, elidable=True)]
