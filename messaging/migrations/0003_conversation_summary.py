"""The conversation summary and each user's totals: their tables, the triggers that keep it in step with the messages, and its first
rows, recomputed from the messages there are (messaging.conversations).

It runs after the carry of the old tables (legacy_dm 0003), so that a million carried rows are summarised in
a few set-based statements instead of firing the triggers one row at a time. The triggers run the ORM's SQL
for the visibility rule as it is when they are installed: `manage.py rebuild_conversations --install`
renders them again after a change to the rule.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def summarise(apps, schema_editor):
    from messaging import conversations

    conversations.install(schema_editor.connection)
    conversations.rebuild(connection=schema_editor.connection)


def forget(apps, schema_editor):
    from messaging import conversations

    conversations.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0002_moderators_group"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("legacy_dm", "0006_sync_events"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConversationSummary",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("last_activity_at", models.DateTimeField()),
                ("unread_count", models.PositiveIntegerField(default=0)),
                (
                    "partner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "messaging_conversation_summary",
                "indexes": [models.Index(fields=["user", "-last_activity_at", "-partner"], name="summary_recent_idx")],
                "constraints": [models.UniqueConstraint(fields=("user", "partner"), name="summary_one_per_pair")],
            },
        ),
        migrations.CreateModel(
            name="InboxTotals",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("conversations", models.PositiveIntegerField(default=0)),
                ("unread", models.PositiveIntegerField(default=0)),
            ],
            options={
                "db_table": "messaging_inbox_totals",
            },
        ),
        migrations.RunPython(summarise, forget, elidable=False),
    ]
