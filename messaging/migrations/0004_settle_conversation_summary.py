"""`VACUUM (ANALYZE)` of the conversation summary and totals that 0003 built.

0003 runs in a transaction, where the tables can only be analysed; this migration is not atomic, so that the
first inbox after `migrate` reads a vacuumed summary. Run inside a transaction anyway (a test's), it only
analyses them.
"""

from django.db import migrations

VACUUM = "VACUUM (ANALYZE) messaging_conversation_summary, messaging_inbox_totals"
ANALYZE = "ANALYZE messaging_conversation_summary, messaging_inbox_totals"


def settle(apps, schema_editor):
    schema_editor.execute(ANALYZE if schema_editor.connection.in_atomic_block else VACUUM)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("messaging", "0003_conversation_summary")]

    operations = [migrations.RunPython(settle, migrations.RunPython.noop, elidable=True)]
