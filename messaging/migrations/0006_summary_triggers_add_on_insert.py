"""The conversation summary's triggers rendered again (messaging.conversations.install): on PostgreSQL an
insert now adds to its pairs' rows instead of recomputing them from the pairs' histories. Idempotent; the
summary's rows are unchanged (the same values either way).
"""

from django.db import migrations


def reinstall(apps, schema_editor):
    from messaging import conversations

    conversations.install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_conversation_mute")]

    operations = [migrations.RunPython(reinstall, reinstall, elidable=True)]
