"""The conversation summary's functions, written by hand: the same rule as messaging 0006 installed.

0003 and 0006 hold the SQL they installed when they were written, which the ORM rendered from the
visibility rule's querysets (hence its quoting and its repeated subqueries). This migration replaces those
function bodies with the same statements written for a reader; every result is the same, the triggers
(0003) are unchanged. A change of the rule is a new migration with new text (tests/test_database_sql.py
compares what is installed with the last text the migrations give).

The visibility rule is messaging.models' (`NOT_HIDDEN`, `KEPT_BY_SENDER`, `KEPT_BY_RECIPIENT`): a message
is in its sender's view unless hidden or deleted by the sender, in its recipient's unless hidden or deleted
by the recipient, and unread while it is in the recipient's view without `read_at`.
messaging/tests/test_services_properties.py and `rebuild_conversations --verify` check that the summary
agrees with the querysets.

**Inserts add, other writes recompute.** A new message can only move a pair's last activity later and add
to its unread count, so the insert trigger adds what its statement's rows contribute with one upsert per
pair and side (`relay_summary_add`). An update or a delete can take a message out of a view, so those
triggers recompute the pair's rows from its messages (`relay_summary_refresh`).

**Concurrency.** Both take a transaction-scoped advisory lock on the pair first, and the triggers (per
statement) visit a statement's pairs in one order, so concurrent writers cannot deadlock on them. A
recomputation then runs in statements of its own, which (READ COMMITTED) see every write committed before
the lock was granted; an addition applies to the row as the last holder of the lock committed it.

**Bulk loads.** A transaction that sets `relay.bulk_load` to 'on' (the carry's batches) is skipped; its
caller rebuilds the summary afterwards (messaging.conversations.rebuild_after_bulk_load).
"""

from django.db import migrations

REFRESH = """CREATE OR REPLACE FUNCTION relay_summary_refresh(p_owner bigint, p_partner bigint) RETURNS void
LANGUAGE plpgsql VOLATILE AS $body$
-- Recompute p_owner's row for the conversation with p_partner from its messages, and the owner's totals.
BEGIN
    PERFORM pg_advisory_xact_lock(
        hashtextextended('relay_summary:' || LEAST(p_owner, p_partner) || ':' || GREATEST(p_owner, p_partner), 0)
    );
    -- The row leaves the owner's totals, whatever it holds ...
    UPDATE messaging_inbox_totals SET
        conversations = conversations - (
            SELECT COUNT(*) FROM messaging_conversation_summary
            WHERE user_id = p_owner AND partner_id = p_partner
        ),
        unread = unread - (
            SELECT COALESCE(SUM(unread_count), 0) FROM messaging_conversation_summary
            WHERE user_id = p_owner AND partner_id = p_partner
        )
    WHERE user_id = p_owner;
    DELETE FROM messaging_conversation_summary WHERE user_id = p_owner AND partner_id = p_partner;

    -- ... comes back while the owner sees a message of the pair ...
    INSERT INTO messaging_conversation_summary (user_id, partner_id, last_activity_at, unread_count)
    SELECT p_owner, pair.partner_id, GREATEST(pair.sent_at, pair.received_at), pair.unread
    FROM (
        SELECT
            partner.id AS partner_id,
            -- The owner's last message to the partner that the owner sees (sent_visible_to).
            (
                SELECT m.created_at FROM messaging_message m
                WHERE m.hidden_at IS NULL AND m.sender_id = p_owner AND m.sender_deleted_at IS NULL
                    AND m.recipient_id = p_partner
                ORDER BY m.created_at DESC LIMIT 1
            ) AS sent_at,
            -- The partner's last message to the owner that the owner sees (received_visible_to).
            (
                SELECT m.created_at FROM messaging_message m
                WHERE m.hidden_at IS NULL AND m.recipient_id = p_owner AND m.recipient_deleted_at IS NULL
                    AND m.sender_id = p_partner
                ORDER BY m.created_at DESC LIMIT 1
            ) AS received_at,
            -- The partner's messages the owner has not read (unread_for).
            (
                SELECT COUNT(*) FROM messaging_message m
                WHERE m.hidden_at IS NULL AND m.recipient_id = p_owner AND m.recipient_deleted_at IS NULL
                    AND m.read_at IS NULL AND m.sender_id = p_partner
            ) AS unread
        FROM users_user partner
        WHERE partner.id = p_partner
    ) pair
    WHERE pair.sent_at IS NOT NULL OR pair.received_at IS NOT NULL
    -- A row that appeared meanwhile (a rebuild beside the writes) is overwritten.
    ON CONFLICT (user_id, partner_id) DO UPDATE SET
        last_activity_at = excluded.last_activity_at, unread_count = excluded.unread_count;

    -- ... and joins the totals again. A user has a totals row while they have a summary row: made when a
    -- row appears, dropped at zero conversations.
    INSERT INTO messaging_inbox_totals (user_id, conversations, unread)
    SELECT p_owner, 0, 0
    WHERE EXISTS (
        SELECT 1 FROM messaging_conversation_summary WHERE user_id = p_owner AND partner_id = p_partner
    )
    ON CONFLICT (user_id) DO NOTHING;
    UPDATE messaging_inbox_totals SET
        conversations = conversations + (
            SELECT COUNT(*) FROM messaging_conversation_summary
            WHERE user_id = p_owner AND partner_id = p_partner
        ),
        unread = unread + (
            SELECT COALESCE(SUM(unread_count), 0) FROM messaging_conversation_summary
            WHERE user_id = p_owner AND partner_id = p_partner
        )
    WHERE user_id = p_owner;
    DELETE FROM messaging_inbox_totals WHERE user_id = p_owner AND conversations = 0;
END $body$"""

ADD = """CREATE OR REPLACE FUNCTION relay_summary_add(
    p_owner bigint, p_partner bigint, p_last timestamptz, p_unread bigint
) RETURNS void LANGUAGE plpgsql VOLATILE AS $body$
-- Add new messages to p_owner's row for the conversation with p_partner: the later last activity, the sum
-- of the unread counts; and to the owner's totals.
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
    RETURNING (xmax = 0) INTO created;  -- a new row (no updated version)
    IF created OR p_unread <> 0 THEN
        INSERT INTO messaging_inbox_totals AS t (user_id, conversations, unread)
        VALUES (p_owner, CASE WHEN created THEN 1 ELSE 0 END, p_unread)
        ON CONFLICT (user_id) DO UPDATE SET
            conversations = t.conversations + excluded.conversations,
            unread = t.unread + excluded.unread;
    END IF;
END $body$"""

ON_INSERT = """CREATE OR REPLACE FUNCTION relay_summary_on_insert() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE pair record;
BEGIN
    IF current_setting('relay.bulk_load', true) = 'on' THEN
        RETURN NULL;  -- a bulk load: its caller rebuilds the summary afterwards
    END IF;
    -- What the statement's messages add to each side of each pair they are visible in, grouped as
    -- messaging.conversations.rebuild groups every message; the pairs in one order (the locks' order).
    FOR pair IN
        SELECT owner, partner, MAX(created_at) AS last, SUM(unread) AS unread
        FROM (
            SELECT m.sender_id AS owner, m.recipient_id AS partner, m.created_at, 0 AS unread
            FROM messaging_message m
            WHERE m.hidden_at IS NULL AND m.sender_deleted_at IS NULL AND m.id IN (SELECT id FROM new_rows)
            UNION ALL
            SELECT m.recipient_id, m.sender_id, m.created_at, CASE WHEN m.read_at IS NULL THEN 1 ELSE 0 END
            FROM messaging_message m
            WHERE m.hidden_at IS NULL AND m.recipient_deleted_at IS NULL AND m.id IN (SELECT id FROM new_rows)
        ) added
        GROUP BY owner, partner
        ORDER BY LEAST(owner, partner), GREATEST(owner, partner), owner
    LOOP
        PERFORM relay_summary_add(pair.owner, pair.partner, pair.last, pair.unread::bigint);
    END LOOP;
    RETURN NULL;
END $body$"""

ON_UPDATE = """CREATE OR REPLACE FUNCTION relay_summary_on_update() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE pair record;
BEGIN
    IF current_setting('relay.bulk_load', true) = 'on' THEN
        RETURN NULL;  -- a bulk load: its caller rebuilds the summary afterwards
    END IF;
    -- The rows of the pairs whose view a changed column can change, each once, in one order.
    FOR pair IN
        SELECT side.owner, side.partner
        FROM new_rows n
        JOIN old_rows o ON o.id = n.id
        CROSS JOIN LATERAL (VALUES
            -- The sender's row: the message's time, its hiding, the sender's delete, or its people changed.
            (
                n.sender_id, n.recipient_id,
                n.created_at IS DISTINCT FROM o.created_at OR n.hidden_at IS DISTINCT FROM o.hidden_at
                    OR n.sender_id IS DISTINCT FROM o.sender_id OR n.recipient_id IS DISTINCT FROM o.recipient_id
                    OR n.sender_deleted_at IS DISTINCT FROM o.sender_deleted_at
            ),
            -- The recipient's row: the same, or the recipient's delete or read.
            (
                n.recipient_id, n.sender_id,
                n.created_at IS DISTINCT FROM o.created_at OR n.hidden_at IS DISTINCT FROM o.hidden_at
                    OR n.sender_id IS DISTINCT FROM o.sender_id OR n.recipient_id IS DISTINCT FROM o.recipient_id
                    OR n.recipient_deleted_at IS DISTINCT FROM o.recipient_deleted_at
                    OR n.read_at IS DISTINCT FROM o.read_at
            ),
            -- A message moved to other people (never done, but possible in SQL) also leaves its old pair.
            (
                o.sender_id, o.recipient_id,
                n.sender_id IS DISTINCT FROM o.sender_id OR n.recipient_id IS DISTINCT FROM o.recipient_id
            ),
            (
                o.recipient_id, o.sender_id,
                n.sender_id IS DISTINCT FROM o.sender_id OR n.recipient_id IS DISTINCT FROM o.recipient_id
            )
        ) AS side(owner, partner, changed)
        WHERE side.changed
        GROUP BY side.owner, side.partner
        ORDER BY LEAST(side.owner, side.partner), GREATEST(side.owner, side.partner), side.owner
    LOOP
        PERFORM relay_summary_refresh(pair.owner, pair.partner);
    END LOOP;
    RETURN NULL;
END $body$"""

ON_DELETE = """CREATE OR REPLACE FUNCTION relay_summary_on_delete() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE pair record;
BEGIN
    IF current_setting('relay.bulk_load', true) = 'on' THEN
        RETURN NULL;  -- a bulk load: its caller rebuilds the summary afterwards
    END IF;
    -- Both rows of each pair the statement's messages were in, each once, in one order.
    FOR pair IN
        SELECT side.owner, side.partner
        FROM old_rows o
        CROSS JOIN LATERAL (VALUES (o.sender_id, o.recipient_id), (o.recipient_id, o.sender_id))
            AS side(owner, partner)
        GROUP BY side.owner, side.partner
        ORDER BY LEAST(side.owner, side.partner), GREATEST(side.owner, side.partner), side.owner
    LOOP
        PERFORM relay_summary_refresh(pair.owner, pair.partner);
    END LOOP;
    RETURN NULL;
END $body$"""


class Migration(migrations.Migration):
    dependencies = [("messaging", "0006_summary_triggers_add_on_insert")]

    # Backwards keeps these bodies: they are 0006's rule, only written differently.
    operations = [
        migrations.RunSQL(sql=[REFRESH, ADD, ON_INSERT, ON_UPDATE, ON_DELETE], reverse_sql=migrations.RunSQL.noop)
    ]
