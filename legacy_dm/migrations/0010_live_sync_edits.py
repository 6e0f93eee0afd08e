"""The live sync carries an edit to the old tables: `direct_messages.content` follows the body its sender
edited on the new side (`messaging.services.edit_message`), so old servers serve the new text.

The new -> old function of `messaging_message` (0009) gains `content` in what it updates on an existing old
row; nothing else changes. Its update trigger already runs on an edit: an edit sets `updated_at`, one of the
columns the trigger watches. Like 0008 and 0009, the text is written down here; backwards puts 0009's back.
Triggers and their enabled state (the sync on or off) are untouched.

Old servers have no edit of their own (the old service's API has none), so the old -> new functions stay.
"""

from django.db import migrations

from . import _live_sync

TO_OLD = "0009_live_sync_triggers"

MESSAGING_MESSAGE_TO_OLD = r"""
CREATE OR REPLACE FUNCTION relay_sync_messaging_message_to_old() RETURNS trigger LANGUAGE plpgsql AS $function$
DECLARE
    was text := current_setting('relay.syncing', true);
BEGIN
    PERFORM set_config('relay.syncing', 'on', true);
    IF TG_OP = 'DELETE' THEN
        DELETE FROM direct_messages WHERE id = OLD.id;
    ELSE
        -- The old shape; on an existing old row, its content (its sender's edit), its read and delete state
        -- (all either side changes after a send). A message a moderator hid is deleted on both sides for old
        -- servers.
        INSERT INTO direct_messages (id, sender_id, receiver_id, conversation_id, content, file_data, file_name,
                                     file_type, reply_to_id, is_read, read_at, is_deleted_by_sender,
                                     is_deleted_by_receiver, created_at, updated_at)
        SELECT m.id, m.sender_id, m.recipient_id,
               (SELECT c.id FROM legacy_dm_conversation c
                WHERE c.user_low_id = LEAST(m.sender_id, m.recipient_id)
                  AND c.user_high_id = GREATEST(m.sender_id, m.recipient_id) AND c.alias_of_id IS NULL),
               m.body, m.attachment_data, NULLIF(m.attachment_name, ''), NULLIF(m.attachment_content_type, ''),
               m.reply_to_id, m.read_at IS NOT NULL, (m.read_at AT TIME ZONE 'UTC'),
               m.sender_deleted_at IS NOT NULL OR m.hidden_at IS NOT NULL,
               m.recipient_deleted_at IS NOT NULL OR m.hidden_at IS NOT NULL,
               (m.created_at AT TIME ZONE 'UTC'), (m.updated_at AT TIME ZONE 'UTC')
        FROM messaging_message m
        WHERE m.id = NEW.id
        ON CONFLICT (id) DO UPDATE SET
            content = EXCLUDED.content,
            is_read = EXCLUDED.is_read,
            read_at = CASE WHEN direct_messages.is_read = EXCLUDED.is_read THEN direct_messages.read_at
                           ELSE EXCLUDED.read_at END,
            is_deleted_by_sender = EXCLUDED.is_deleted_by_sender,
            is_deleted_by_receiver = EXCLUDED.is_deleted_by_receiver,
            updated_at = COALESCE(EXCLUDED.updated_at, direct_messages.updated_at);
    END IF;
    PERFORM set_config('relay.syncing', COALESCE(was, ''), true);
    RETURN NULL;
END
$function$;
"""


class Migration(migrations.Migration):
    dependencies = [("legacy_dm", "0009_live_sync_triggers")]

    operations = [
        migrations.RunSQL(
            [MESSAGING_MESSAGE_TO_OLD], [_live_sync.sql(TO_OLD).MESSAGING_MESSAGE_TO_OLD], elidable=False
        ),
    ]
