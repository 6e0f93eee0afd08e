"""The conversation summary's insert trigger adds to its pairs' rows instead of recomputing them.

A new message can only move a pair's last activity later and add to its unread count, so the insert trigger
groups what its statement's rows add by the visibility rule's halves and applies it with one upsert per pair
and side (`relay_summary_add`), under the same per-pair advisory lock: a send costs the same however long
the conversation. Updates and deletes still recompute (0003). The summary's rows are unchanged.

The SQL is what this migration installed when it was written, which the ORM then rendered (hence its
quoting); 0007 writes the same rule for a reader.
"""

from django.db import migrations

# Add new messages to p_owner's row for the pair and to the owner's totals, under the pair's lock.
ADD = """CREATE OR REPLACE FUNCTION relay_summary_add(
            p_owner bigint, p_partner bigint, p_last timestamptz, p_unread bigint
        ) RETURNS void LANGUAGE plpgsql VOLATILE AS $body$
        DECLARE created boolean;
        BEGIN
            PERFORM pg_advisory_xact_lock(
                hashtextextended('relay_summary:' || LEAST(p_owner, p_partner) || ':' || GREATEST(p_owner, p_partner), 0)
            );
            INSERT INTO messaging_conversation_summary AS s (user_id, partner_id, last_activity_at, unread_count)
                VALUES (p_owner, p_partner, p_last, p_unread)
                ON CONFLICT (user_id, partner_id) DO UPDATE SET
                    last_activity_at = GREATEST(s.last_activity_at, excluded.last_activity_at),
                    unread_count = s.unread_count + excluded.unread_count
                RETURNING (xmax = 0) INTO created;
            IF created OR p_unread <> 0 THEN
                INSERT INTO messaging_inbox_totals AS t (user_id, conversations, unread)
                    VALUES (p_owner, CASE WHEN created THEN 1 ELSE 0 END, p_unread)
                    ON CONFLICT (user_id) DO UPDATE SET
                        conversations = t.conversations + excluded.conversations, unread = t.unread + excluded.unread;
            END IF;
        END $body$"""

# The insert trigger's function: what its statement's rows add, grouped per pair and side, in one order.
ON_INSERT_ADDING = """CREATE OR REPLACE FUNCTION relay_summary_on_insert() RETURNS trigger LANGUAGE plpgsql AS $body$
            DECLARE pair record;
            BEGIN
                IF current_setting('relay.bulk_load', true) = 'on' THEN
                    RETURN NULL;  -- a bulk load: its caller rebuilds the summary afterwards
                END IF;
            FOR pair IN SELECT a.owner, a.partner, a.last, a.unread FROM (SELECT v.owner, v.partner, MAX(v.created_at), SUM(v.unread) FROM ((SELECT "messaging_message"."sender_id" AS "owner", "messaging_message"."recipient_id" AS "partner", "messaging_message"."created_at" AS "created_at", 0 AS "unread" FROM "messaging_message" WHERE ("messaging_message"."hidden_at" IS NULL AND "messaging_message"."sender_deleted_at" IS NULL AND "messaging_message"."id" IN (SELECT id FROM new_rows))) UNION ALL (SELECT "messaging_message"."recipient_id" AS "owner", "messaging_message"."sender_id" AS "partner", "messaging_message"."created_at" AS "created_at", CASE WHEN "messaging_message"."read_at" IS NULL THEN 1 ELSE 0 END AS "unread" FROM "messaging_message" WHERE ("messaging_message"."hidden_at" IS NULL AND "messaging_message"."recipient_deleted_at" IS NULL AND "messaging_message"."id" IN (SELECT id FROM new_rows)))) v WHERE TRUE GROUP BY v.owner, v.partner) a(owner, partner, last, unread)
                    ORDER BY LEAST(a.owner, a.partner), GREATEST(a.owner, a.partner), a.owner LOOP
                PERFORM relay_summary_add(pair.owner, pair.partner, pair.last, pair.unread::bigint);
            END LOOP;
                RETURN NULL;
            END $body$"""

# Backwards: 0003's insert trigger function, which recomputes its pairs.
ON_INSERT_RECOMPUTING = """CREATE OR REPLACE FUNCTION relay_summary_on_insert() RETURNS trigger LANGUAGE plpgsql AS $body$
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


class Migration(migrations.Migration):
    dependencies = [("messaging", "0005_conversation_mute")]

    operations = [
        migrations.RunSQL(
            sql=[ADD, ON_INSERT_ADDING],
            reverse_sql=[ON_INSERT_RECOMPUTING, "DROP FUNCTION relay_summary_add(bigint, bigint, timestamptz, bigint)"],
        )
    ]
