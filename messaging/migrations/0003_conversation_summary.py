"""The conversation summary and each user's totals: their tables, the triggers that keep the summary in step
with the messages, and its first rows, computed from the messages there are.

It runs after the carry of the old tables (legacy_dm 0003), so that a million carried rows are summarised in
one set-based statement instead of firing the triggers one row at a time.

The functions are the SQL this migration installed when it was written, which the ORM then rendered from
the visibility rule's querysets (hence its quoting and repeated subqueries): every write recomputes the rows
of its pairs. messaging 0006 makes an insert add to them instead; 0007 writes the rule for a reader.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Recompute p_owner's row for the pair (p_owner, p_partner) and the owner's totals, under the pair's lock.
REFRESH = """CREATE OR REPLACE FUNCTION relay_summary_refresh(p_owner bigint, p_partner bigint) RETURNS void
        LANGUAGE plpgsql VOLATILE AS $body$
        BEGIN
            PERFORM pg_advisory_xact_lock(
                hashtextextended('relay_summary:' || LEAST(p_owner, p_partner) || ':' || GREATEST(p_owner, p_partner), 0)
            );
            UPDATE messaging_inbox_totals SET conversations = conversations - (SELECT COUNT(*) FROM messaging_conversation_summary WHERE user_id = p_owner AND partner_id = p_partner), unread = unread - (SELECT COALESCE(SUM(unread_count), 0) FROM messaging_conversation_summary WHERE user_id = p_owner AND partner_id = p_partner) WHERE user_id = p_owner;
DELETE FROM messaging_conversation_summary WHERE user_id = p_owner AND partner_id = p_partner;
INSERT INTO messaging_conversation_summary (user_id, partner_id, last_activity_at, unread_count) SELECT p_owner AS "owner", "users_user"."id" AS "pk", CASE WHEN (SELECT U0."created_at" AS "created_at" FROM "messaging_message" U0 WHERE (U0."hidden_at" IS NULL AND U0."sender_id" = p_owner AND U0."sender_deleted_at" IS NULL AND U0."recipient_id" = p_partner) ORDER BY 1 DESC LIMIT 1) IS NULL THEN (SELECT U0."created_at" AS "created_at" FROM "messaging_message" U0 WHERE (U0."hidden_at" IS NULL AND U0."recipient_id" = p_owner AND U0."recipient_deleted_at" IS NULL AND U0."sender_id" = p_partner) ORDER BY 1 DESC LIMIT 1) WHEN (SELECT U0."created_at" AS "created_at" FROM "messaging_message" U0 WHERE (U0."hidden_at" IS NULL AND U0."recipient_id" = p_owner AND U0."recipient_deleted_at" IS NULL AND U0."sender_id" = p_partner) ORDER BY 1 DESC LIMIT 1) IS NULL THEN (SELECT U0."created_at" AS "created_at" FROM "messaging_message" U0 WHERE (U0."hidden_at" IS NULL AND U0."sender_id" = p_owner AND U0."sender_deleted_at" IS NULL AND U0."recipient_id" = p_partner) ORDER BY 1 DESC LIMIT 1) WHEN (SELECT U0."created_at" AS "created_at" FROM "messaging_message" U0 WHERE (U0."hidden_at" IS NULL AND U0."sender_id" = p_owner AND U0."sender_deleted_at" IS NULL AND U0."recipient_id" = p_partner) ORDER BY 1 DESC LIMIT 1) > (SELECT U0."created_at" AS "created_at" FROM "messaging_message" U0 WHERE (U0."hidden_at" IS NULL AND U0."recipient_id" = p_owner AND U0."recipient_deleted_at" IS NULL AND U0."sender_id" = p_partner) ORDER BY 1 DESC LIMIT 1) THEN (SELECT U0."created_at" AS "created_at" FROM "messaging_message" U0 WHERE (U0."hidden_at" IS NULL AND U0."sender_id" = p_owner AND U0."sender_deleted_at" IS NULL AND U0."recipient_id" = p_partner) ORDER BY 1 DESC LIMIT 1) ELSE (SELECT U0."created_at" AS "created_at" FROM "messaging_message" U0 WHERE (U0."hidden_at" IS NULL AND U0."recipient_id" = p_owner AND U0."recipient_deleted_at" IS NULL AND U0."sender_id" = p_partner) ORDER BY 1 DESC LIMIT 1) END AS "last", COALESCE((SELECT COUNT(U0."id") AS "n" FROM "messaging_message" U0 WHERE (U0."hidden_at" IS NULL AND U0."recipient_id" = p_owner AND U0."recipient_deleted_at" IS NULL AND U0."read_at" IS NULL AND U0."sender_id" = p_partner) GROUP BY U0."recipient_id"), 0) AS "unread" FROM "users_user" WHERE ("users_user"."id" = p_partner AND ((SELECT U0."created_at" AS "created_at" FROM "messaging_message" U0 WHERE (U0."hidden_at" IS NULL AND U0."sender_id" = p_owner AND U0."sender_deleted_at" IS NULL AND U0."recipient_id" = p_partner) ORDER BY 1 DESC LIMIT 1) IS NOT NULL OR (SELECT U0."created_at" AS "created_at" FROM "messaging_message" U0 WHERE (U0."hidden_at" IS NULL AND U0."recipient_id" = p_owner AND U0."recipient_deleted_at" IS NULL AND U0."sender_id" = p_partner) ORDER BY 1 DESC LIMIT 1) IS NOT NULL)) ON CONFLICT (user_id, partner_id) DO UPDATE SET last_activity_at = excluded.last_activity_at, unread_count = excluded.unread_count;
INSERT INTO messaging_inbox_totals (user_id, conversations, unread) SELECT p_owner, 0, 0 WHERE EXISTS (SELECT 1 FROM messaging_conversation_summary WHERE user_id = p_owner AND partner_id = p_partner) ON CONFLICT (user_id) DO NOTHING;
UPDATE messaging_inbox_totals SET conversations = conversations + (SELECT COUNT(*) FROM messaging_conversation_summary WHERE user_id = p_owner AND partner_id = p_partner), unread = unread + (SELECT COALESCE(SUM(unread_count), 0) FROM messaging_conversation_summary WHERE user_id = p_owner AND partner_id = p_partner) WHERE user_id = p_owner;
DELETE FROM messaging_inbox_totals WHERE user_id = p_owner AND conversations = 0;
        END $body$"""

# Each trigger: the pairs its statement's rows changed, in one order, each refreshed (skipped in a bulk load).
ON_INSERT = """CREATE OR REPLACE FUNCTION relay_summary_on_insert() RETURNS trigger LANGUAGE plpgsql AS $body$
            DECLARE pair record;
            BEGIN
                IF current_setting('relay.bulk_load', true) = 'on' THEN
                    RETURN NULL;  -- a bulk load: its caller rebuilds the summary afterwards
                END IF;
            FOR pair IN SELECT owner, partner FROM (
                        SELECT DISTINCT owner, partner FROM (SELECT n.sender_id AS owner, n.recipient_id AS partner FROM new_rows n WHERE TRUE UNION ALL SELECT n.recipient_id AS owner, n.sender_id AS partner FROM new_rows n WHERE TRUE) changed
                    ) pairs ORDER BY LEAST(owner, partner), GREATEST(owner, partner), owner LOOP
                PERFORM relay_summary_refresh(pair.owner, pair.partner);
            END LOOP;
                RETURN NULL;
            END $body$"""

INSERT_TRIGGER = """CREATE TRIGGER relay_summary_insert AFTER INSERT ON messaging_message REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION relay_summary_on_insert()"""

ON_UPDATE = """CREATE OR REPLACE FUNCTION relay_summary_on_update() RETURNS trigger LANGUAGE plpgsql AS $body$
            DECLARE pair record;
            BEGIN
                IF current_setting('relay.bulk_load', true) = 'on' THEN
                    RETURN NULL;  -- a bulk load: its caller rebuilds the summary afterwards
                END IF;
            FOR pair IN SELECT owner, partner FROM (
                        SELECT DISTINCT owner, partner FROM (SELECT n.sender_id AS owner, n.recipient_id AS partner FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.created_at IS DISTINCT FROM o.created_at OR n.hidden_at IS DISTINCT FROM o.hidden_at OR n.sender_id IS DISTINCT FROM o.sender_id OR n.recipient_id IS DISTINCT FROM o.recipient_id UNION ALL SELECT n.recipient_id AS owner, n.sender_id AS partner FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.created_at IS DISTINCT FROM o.created_at OR n.hidden_at IS DISTINCT FROM o.hidden_at OR n.sender_id IS DISTINCT FROM o.sender_id OR n.recipient_id IS DISTINCT FROM o.recipient_id UNION ALL SELECT n.sender_id AS owner, n.recipient_id AS partner FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.sender_deleted_at IS DISTINCT FROM o.sender_deleted_at UNION ALL SELECT n.recipient_id AS owner, n.sender_id AS partner FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.recipient_deleted_at IS DISTINCT FROM o.recipient_deleted_at OR n.read_at IS DISTINCT FROM o.read_at UNION ALL SELECT o.sender_id AS owner, o.recipient_id AS partner FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.sender_id IS DISTINCT FROM o.sender_id OR n.recipient_id IS DISTINCT FROM o.recipient_id UNION ALL SELECT o.recipient_id AS owner, o.sender_id AS partner FROM new_rows n JOIN old_rows o ON o.id = n.id WHERE n.sender_id IS DISTINCT FROM o.sender_id OR n.recipient_id IS DISTINCT FROM o.recipient_id) changed
                    ) pairs ORDER BY LEAST(owner, partner), GREATEST(owner, partner), owner LOOP
                PERFORM relay_summary_refresh(pair.owner, pair.partner);
            END LOOP;
                RETURN NULL;
            END $body$"""

UPDATE_TRIGGER = """CREATE TRIGGER relay_summary_update AFTER UPDATE ON messaging_message REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION relay_summary_on_update()"""

ON_DELETE = """CREATE OR REPLACE FUNCTION relay_summary_on_delete() RETURNS trigger LANGUAGE plpgsql AS $body$
            DECLARE pair record;
            BEGIN
                IF current_setting('relay.bulk_load', true) = 'on' THEN
                    RETURN NULL;  -- a bulk load: its caller rebuilds the summary afterwards
                END IF;
            FOR pair IN SELECT owner, partner FROM (
                        SELECT DISTINCT owner, partner FROM (SELECT o.sender_id AS owner, o.recipient_id AS partner FROM old_rows o WHERE TRUE UNION ALL SELECT o.recipient_id AS owner, o.sender_id AS partner FROM old_rows o WHERE TRUE) changed
                    ) pairs ORDER BY LEAST(owner, partner), GREATEST(owner, partner), owner LOOP
                PERFORM relay_summary_refresh(pair.owner, pair.partner);
            END LOOP;
                RETURN NULL;
            END $body$"""

DELETE_TRIGGER = """CREATE TRIGGER relay_summary_delete AFTER DELETE ON messaging_message REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION relay_summary_on_delete()"""

# The first rows: every pair a message is visible in, per side (the visibility rule of messaging.models), and
# each user's totals from them. Then fresh statistics for the first inbox (VACUUM cannot run in the
# migration's transaction: messaging 0004).
FILL = [
    """INSERT INTO messaging_conversation_summary (user_id, partner_id, last_activity_at, unread_count)
SELECT owner, partner, MAX(created_at), SUM(unread)
FROM (
    SELECT sender_id AS owner, recipient_id AS partner, created_at, 0 AS unread
    FROM messaging_message
    WHERE hidden_at IS NULL AND sender_deleted_at IS NULL
    UNION ALL
    SELECT recipient_id, sender_id, created_at, CASE WHEN read_at IS NULL THEN 1 ELSE 0 END
    FROM messaging_message
    WHERE hidden_at IS NULL AND recipient_deleted_at IS NULL
) visible
GROUP BY owner, partner""",
    """INSERT INTO messaging_inbox_totals (user_id, conversations, unread)
SELECT user_id, COUNT(*), SUM(unread_count) FROM messaging_conversation_summary GROUP BY user_id""",
    "ANALYZE messaging_conversation_summary, messaging_inbox_totals",
]

FORGET = [
    "DROP TRIGGER IF EXISTS relay_summary_insert ON messaging_message",
    "DROP TRIGGER IF EXISTS relay_summary_update ON messaging_message",
    "DROP TRIGGER IF EXISTS relay_summary_delete ON messaging_message",
    "DROP FUNCTION IF EXISTS relay_summary_on_insert()",
    "DROP FUNCTION IF EXISTS relay_summary_on_update()",
    "DROP FUNCTION IF EXISTS relay_summary_on_delete()",
    "DROP FUNCTION IF EXISTS relay_summary_refresh(bigint, bigint)",
]


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
        migrations.RunSQL(
            sql=[REFRESH, ON_INSERT, INSERT_TRIGGER, ON_UPDATE, UPDATE_TRIGGER, ON_DELETE, DELETE_TRIGGER],
            reverse_sql=FORGET,
        ),
        migrations.RunSQL(sql=FILL, reverse_sql=migrations.RunSQL.noop),  # the tables go backwards
    ]
