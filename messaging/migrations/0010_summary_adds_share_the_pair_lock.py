"""The summary's additions share their pair's lock; only a recomputation takes it alone.

0007 made every writer of a pair's summary rows take the pair's advisory lock exclusively: an insert's
addition (`relay_summary_add`) as well as an update's or a delete's recomputation (`relay_summary_refresh`).
But additions commute: each moves the last activity to the later of two times and adds to the unread count,
in one upsert per row, which the row's own lock already applies one after the other. What must not overlap
an addition is a recomputation, which reads the pair's messages and then rewrites its rows. So an addition
now takes the lock shared (`pg_advisory_xact_lock_shared`) and a recomputation, unchanged, exclusively: a
recomputation still waits for the additions in flight to commit (and then sees their messages), and an
addition still waits for a recomputation; two additions no longer queue on the lock as well as on the row.

Measured with pgbench on the bench data, one pair, inserts from 8 and 16 clients at once (a busy
conversation, as the issue's benchmark sends): 270-290 and 235-255 transactions a second with the
exclusive lock, 400-470 and 470-505 with the shared one; throughput no longer falls as clients are added.

A transaction that adds to a pair and later recomputes it (an insert, then an update of the same pair) asks
to turn its shared lock into the exclusive one: if another such transaction holds the pair's lock shared at
that moment, PostgreSQL finds the deadlock and ends one of them, which its caller retries. Relay's own writes
never do both in one transaction: a send is its own statement.
"""

import importlib

from django.db import migrations

ADD = """CREATE OR REPLACE FUNCTION relay_summary_add(
    p_owner bigint, p_partner bigint, p_last timestamptz, p_unread bigint
) RETURNS void LANGUAGE plpgsql VOLATILE AS $body$
-- Add new messages to p_owner's row for the conversation with p_partner: the later last activity, the sum
-- of the unread counts; and to the owner's totals. Additions commute, so they share the pair's lock, which
-- a recomputation (relay_summary_refresh) takes alone.
DECLARE created boolean;
BEGIN
    PERFORM pg_advisory_xact_lock_shared(
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

# Backwards: 0007's text, the exclusive lock.
EXCLUSIVE_ADD = importlib.import_module("messaging.migrations.0007_summary_functions_written_down").ADD


class Migration(migrations.Migration):
    dependencies = [("messaging", "0009_moderators_view_people")]

    operations = [migrations.RunSQL(sql=ADD, reverse_sql=EXCLUSIVE_ADD)]
