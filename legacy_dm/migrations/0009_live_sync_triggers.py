"""The live sync's new -> old functions, its outbox's function and all its triggers, written down; the sync
is on while its triggers are enabled.

- new -> old: each new table gets a BEFORE INSERT trigger that gives a new row its id from the old table's own
  sequence (old servers take theirs from the same one, so the two sides never hand out the same id), and AFTER
  triggers that write the row's old shape, the row an old server would have written for the same action,
  inside the writing transaction;
- old -> new: each old table gets deferred constraint triggers running 0008's functions at the old server's
  COMMIT;
- the outbox: an old server's send, read or delete is noted in `legacy_dm_sync_event` and announced with
  `pg_notify`, for `manage.py legacy_sync_events`.

Every trigger skips the sync's own writes (`relay.syncing`): nothing echoes.

These are the functions and triggers that `legacy_sync on` created until now, unchanged (the text of
`pg_get_functiondef` and `pg_get_triggerdef`, laid out by hand). Until now `legacy_sync on` created them and
`off` dropped them; from here on they always exist and `on`/`off` enable and disable the triggers
(`legacy_dm.migrations._live_sync`). So this migration recreates them, then disables them unless the sync
was on (its triggers existed). Backwards leaves a sync that is on as it is (0007 had the same triggers) and
drops everything of one that is off (0007 had nothing).
"""

from django.conf import settings
from django.db import migrations

from . import _live_sync

USERS_USER_IDS = r"""
CREATE OR REPLACE FUNCTION relay_sync_users_user_ids() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
    NEW.id := nextval(TG_ARGV[0]::regclass);
    RETURN NEW;
END
$function$;
"""

MESSAGING_MESSAGE_IDS = r"""
CREATE OR REPLACE FUNCTION relay_sync_messaging_message_ids() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
    NEW.id := nextval(TG_ARGV[0]::regclass);
    NEW.legacy_id := NEW.id; NEW.legacy_reply_to_id := NEW.reply_to_id;
    RETURN NEW;
END
$function$;
"""

LEGACY_DM_CONVERSATION_IDS = r"""
CREATE OR REPLACE FUNCTION relay_sync_legacy_dm_conversation_ids() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
    NEW.id := nextval(TG_ARGV[0]::regclass);
    RETURN NEW;
END
$function$;
"""

USERS_USER_TO_OLD = r"""
CREATE OR REPLACE FUNCTION relay_sync_users_user_to_old() RETURNS trigger LANGUAGE plpgsql AS $function$
DECLARE
    was text := current_setting('relay.syncing', true);
BEGIN
    PERFORM set_config('relay.syncing', 'on', true);
    IF TG_OP = 'DELETE' THEN
        DELETE FROM conversation_participants WHERE user_id = OLD.id;
        DELETE FROM users WHERE id = OLD.id;
    ELSE
        -- Never a placeholder user. The email is a unique placeholder address where the old table could not
        -- hold it; the hash is in the form the old service checks, else the carried old hash, else '!'. On an
        -- existing old row the hash changes only with the new side's password.
        INSERT INTO users (id, username, email, hashed_password, full_name, is_active, is_superuser, created_at)
        SELECT n.id, n.username,
               CASE WHEN n.email = '' OR EXISTS (SELECT 1 FROM users o WHERE o.email = n.email AND o.id <> n.id)
                    THEN 'user-' || CAST(n.id AS TEXT) || '@users.invalid' ELSE n.email END,
               COALESCE(
                   CASE
                       WHEN substr(n.password, 1, 7) = 'bcrypt$'
                            AND substr(n.password, 8) ~ '\A\$2[aby]\$(0[4-9]|1[0-5])\$[./A-Za-z0-9]{53}\Z'
                            THEN substr(n.password, 8)
                       WHEN substr(n.password, 1, 6) = 'argon2'
                            AND substr(n.password, 7) ~ '\A\$argon2(id|i|d)\$v=(16|19)\$m=[0-9]{1,6},t=[0-9]{1,2},p=[0-9]{1,2}\$[A-Za-z0-9+/]{11,64}\$[A-Za-z0-9+/]{16,128}\Z'
                            THEN substr(n.password, 7)
                       WHEN substr(n.password, 1, 13) = 'pbkdf2-sha512'
                            AND substr(n.password, 14) ~ '\A\$pbkdf2-sha512\$[0-9]{1,6}\$[./A-Za-z0-9]{0,64}\$[./A-Za-z0-9]{86}\Z'
                            THEN substr(n.password, 14)
                   END,
                   n.legacy_password, '!'),
               NULLIF(left(n.display_name, 100), ''), n.is_active, n.is_superuser, (n.date_joined AT TIME ZONE 'UTC')
        FROM users_user n
        WHERE (n.id = NEW.id) AND n.password <> '!legacy-placeholder'
        ON CONFLICT (id) DO UPDATE SET
            username = EXCLUDED.username, email = EXCLUDED.email, full_name = EXCLUDED.full_name,
            is_active = EXCLUDED.is_active, is_superuser = EXCLUDED.is_superuser,
            hashed_password = CASE WHEN (TG_OP = 'INSERT' OR OLD.password IS DISTINCT FROM NEW.password)
                                   THEN EXCLUDED.hashed_password
                                   ELSE users.hashed_password END;
    END IF;
    PERFORM set_config('relay.syncing', COALESCE(was, ''), true);
    RETURN NULL;
END
$function$;
"""

MESSAGING_MESSAGE_TO_OLD = r"""
CREATE OR REPLACE FUNCTION relay_sync_messaging_message_to_old() RETURNS trigger LANGUAGE plpgsql AS $function$
DECLARE
    was text := current_setting('relay.syncing', true);
BEGIN
    PERFORM set_config('relay.syncing', 'on', true);
    IF TG_OP = 'DELETE' THEN
        DELETE FROM direct_messages WHERE id = OLD.id;
    ELSE
        -- The old shape; on an existing old row, its read and delete state (all either side changes after a
        -- send). A message a moderator hid is deleted on both sides for old servers.
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

LEGACY_DM_CONVERSATION_TO_OLD = r"""
CREATE OR REPLACE FUNCTION relay_sync_legacy_dm_conversation_to_old() RETURNS trigger LANGUAGE plpgsql AS $function$
DECLARE
    was text := current_setting('relay.syncing', true);
BEGIN
    PERFORM set_config('relay.syncing', 'on', true);
    IF TG_OP = 'DELETE' THEN
        DELETE FROM conversation_participants WHERE conversation_id = OLD.id;
        DELETE FROM conversations WHERE id = OLD.id;
    ELSE
        -- A conversation id the new system gave out: a `conversations` row and its two participants (those
        -- with an old `users` row: its foreign key needs one).
        INSERT INTO conversations (id, created_at, updated_at)
        SELECT c.id, (c.created_at AT TIME ZONE 'UTC'), (c.updated_at AT TIME ZONE 'UTC')
        FROM legacy_dm_conversation c WHERE c.id = NEW.id
        ON CONFLICT (id) DO NOTHING;

        INSERT INTO conversation_participants (conversation_id, user_id, joined_at)
        SELECT c.id, p.user_id, (c.created_at AT TIME ZONE 'UTC')
        FROM legacy_dm_conversation c CROSS JOIN LATERAL (VALUES (c.user_low_id), (c.user_high_id)) p(user_id)
        WHERE (c.id = NEW.id) AND p.user_id IS NOT NULL
          AND EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id)
          AND NOT EXISTS (SELECT 1 FROM conversation_participants cp
                          WHERE cp.conversation_id = c.id AND cp.user_id = p.user_id);
    END IF;
    PERFORM set_config('relay.syncing', COALESCE(was, ''), true);
    RETURN NULL;
END
$function$;
"""

DIRECT_MESSAGES_EVENTS = r"""
CREATE OR REPLACE FUNCTION relay_sync_direct_messages_events() RETURNS trigger LANGUAGE plpgsql AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO legacy_dm_sync_event (kind, message_id, user_id, created_at) VALUES ('sent', NEW.id, NULL, now());
    ELSE
        IF NEW.is_read AND NOT OLD.is_read THEN
            INSERT INTO legacy_dm_sync_event (kind, message_id, user_id, created_at)
            VALUES ('read', NEW.id, NEW.receiver_id, now());
        END IF;
        IF OLD.is_read AND NOT NEW.is_read THEN
            INSERT INTO legacy_dm_sync_event (kind, message_id, user_id, created_at)
            VALUES ('unread', NEW.id, NEW.receiver_id, now());
        END IF;
        IF NEW.is_deleted_by_sender AND NOT OLD.is_deleted_by_sender THEN
            INSERT INTO legacy_dm_sync_event (kind, message_id, user_id, created_at)
            VALUES ('deleted', NEW.id, NEW.sender_id, now());
        END IF;
        IF NEW.is_deleted_by_receiver AND NOT OLD.is_deleted_by_receiver THEN
            INSERT INTO legacy_dm_sync_event (kind, message_id, user_id, created_at)
            VALUES ('deleted', NEW.id, NEW.receiver_id, now());
        END IF;
        IF OLD.is_deleted_by_receiver AND NOT NEW.is_deleted_by_receiver THEN
            INSERT INTO legacy_dm_sync_event (kind, message_id, user_id, created_at)
            VALUES ('unread', NEW.id, NEW.receiver_id, now());
        END IF;
    END IF;
    PERFORM pg_notify('relay_sync_events', '');
    RETURN NULL;
END
$function$;
"""

TO_NEW_TRIGGERS = r"""
DROP TRIGGER IF EXISTS relay_sync_users_to_new_insert ON users;
CREATE CONSTRAINT TRIGGER relay_sync_users_to_new_insert
    AFTER INSERT ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_users_to_new();

DROP TRIGGER IF EXISTS relay_sync_users_to_new_update ON users;
CREATE CONSTRAINT TRIGGER relay_sync_users_to_new_update
    AFTER UPDATE ON users DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on'
          AND (OLD.username IS DISTINCT FROM NEW.username
               OR OLD.email IS DISTINCT FROM NEW.email
               OR OLD.hashed_password IS DISTINCT FROM NEW.hashed_password
               OR OLD.full_name IS DISTINCT FROM NEW.full_name
               OR OLD.is_active IS DISTINCT FROM NEW.is_active
               OR OLD.is_superuser IS DISTINCT FROM NEW.is_superuser))
    EXECUTE FUNCTION relay_sync_users_to_new();

DROP TRIGGER IF EXISTS relay_sync_direct_messages_to_new_insert ON direct_messages;
CREATE CONSTRAINT TRIGGER relay_sync_direct_messages_to_new_insert
    AFTER INSERT ON direct_messages DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_direct_messages_to_new();

DROP TRIGGER IF EXISTS relay_sync_direct_messages_to_new_update ON direct_messages;
CREATE CONSTRAINT TRIGGER relay_sync_direct_messages_to_new_update
    AFTER UPDATE ON direct_messages DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on'
          AND (OLD.is_read IS DISTINCT FROM NEW.is_read
               OR OLD.read_at IS DISTINCT FROM NEW.read_at
               OR OLD.is_deleted_by_sender IS DISTINCT FROM NEW.is_deleted_by_sender
               OR OLD.is_deleted_by_receiver IS DISTINCT FROM NEW.is_deleted_by_receiver
               OR OLD.updated_at IS DISTINCT FROM NEW.updated_at))
    EXECUTE FUNCTION relay_sync_direct_messages_to_new();

DROP TRIGGER IF EXISTS relay_sync_conversations_to_new_insert ON conversations;
CREATE CONSTRAINT TRIGGER relay_sync_conversations_to_new_insert
    AFTER INSERT ON conversations DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_conversations_to_new();

DROP TRIGGER IF EXISTS relay_sync_conversations_to_new_update ON conversations;
CREATE CONSTRAINT TRIGGER relay_sync_conversations_to_new_update
    AFTER UPDATE ON conversations DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on'
          AND (OLD.created_at IS DISTINCT FROM NEW.created_at
               OR OLD.updated_at IS DISTINCT FROM NEW.updated_at))
    EXECUTE FUNCTION relay_sync_conversations_to_new();

DROP TRIGGER IF EXISTS relay_sync_participants_to_new_insert ON conversation_participants;
CREATE CONSTRAINT TRIGGER relay_sync_participants_to_new_insert
    AFTER INSERT ON conversation_participants DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_participants_to_new();

DROP TRIGGER IF EXISTS relay_sync_participants_to_new_update ON conversation_participants;
CREATE CONSTRAINT TRIGGER relay_sync_participants_to_new_update
    AFTER UPDATE ON conversation_participants DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on'
          AND (OLD.conversation_id IS DISTINCT FROM NEW.conversation_id
               OR OLD.user_id IS DISTINCT FROM NEW.user_id))
    EXECUTE FUNCTION relay_sync_participants_to_new();
"""

TO_OLD_TRIGGERS = r"""
DROP TRIGGER IF EXISTS relay_sync_users_user_ids ON users_user;
CREATE TRIGGER relay_sync_users_user_ids
    BEFORE INSERT ON users_user FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_users_user_ids('public.users_id_seq');

DROP TRIGGER IF EXISTS relay_sync_users_user_to_old_insert ON users_user;
CREATE TRIGGER relay_sync_users_user_to_old_insert
    AFTER INSERT ON users_user FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_users_user_to_old();

DROP TRIGGER IF EXISTS relay_sync_users_user_to_old_delete ON users_user;
CREATE TRIGGER relay_sync_users_user_to_old_delete
    AFTER DELETE ON users_user FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_users_user_to_old();

DROP TRIGGER IF EXISTS relay_sync_users_user_to_old_update ON users_user;
CREATE TRIGGER relay_sync_users_user_to_old_update
    AFTER UPDATE ON users_user FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on'
          AND (OLD.username IS DISTINCT FROM NEW.username
               OR OLD.email IS DISTINCT FROM NEW.email
               OR OLD.password IS DISTINCT FROM NEW.password
               OR OLD.display_name IS DISTINCT FROM NEW.display_name
               OR OLD.is_active IS DISTINCT FROM NEW.is_active
               OR OLD.is_superuser IS DISTINCT FROM NEW.is_superuser))
    EXECUTE FUNCTION relay_sync_users_user_to_old();

DROP TRIGGER IF EXISTS relay_sync_messaging_message_ids ON messaging_message;
CREATE TRIGGER relay_sync_messaging_message_ids
    BEFORE INSERT ON messaging_message FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_messaging_message_ids('public.direct_messages_id_seq');

DROP TRIGGER IF EXISTS relay_sync_messaging_message_to_old_insert ON messaging_message;
CREATE TRIGGER relay_sync_messaging_message_to_old_insert
    AFTER INSERT ON messaging_message FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_messaging_message_to_old();

DROP TRIGGER IF EXISTS relay_sync_messaging_message_to_old_delete ON messaging_message;
CREATE TRIGGER relay_sync_messaging_message_to_old_delete
    AFTER DELETE ON messaging_message FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_messaging_message_to_old();

DROP TRIGGER IF EXISTS relay_sync_messaging_message_to_old_update ON messaging_message;
CREATE TRIGGER relay_sync_messaging_message_to_old_update
    AFTER UPDATE ON messaging_message FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on'
          AND (OLD.read_at IS DISTINCT FROM NEW.read_at
               OR OLD.sender_deleted_at IS DISTINCT FROM NEW.sender_deleted_at
               OR OLD.recipient_deleted_at IS DISTINCT FROM NEW.recipient_deleted_at
               OR OLD.hidden_at IS DISTINCT FROM NEW.hidden_at
               OR OLD.updated_at IS DISTINCT FROM NEW.updated_at))
    EXECUTE FUNCTION relay_sync_messaging_message_to_old();

DROP TRIGGER IF EXISTS relay_sync_legacy_dm_conversation_ids ON legacy_dm_conversation;
CREATE TRIGGER relay_sync_legacy_dm_conversation_ids
    BEFORE INSERT ON legacy_dm_conversation FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_legacy_dm_conversation_ids('public.conversations_id_seq');

DROP TRIGGER IF EXISTS relay_sync_legacy_dm_conversation_to_old_insert ON legacy_dm_conversation;
CREATE TRIGGER relay_sync_legacy_dm_conversation_to_old_insert
    AFTER INSERT ON legacy_dm_conversation FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_legacy_dm_conversation_to_old();

DROP TRIGGER IF EXISTS relay_sync_legacy_dm_conversation_to_old_delete ON legacy_dm_conversation;
CREATE TRIGGER relay_sync_legacy_dm_conversation_to_old_delete
    AFTER DELETE ON legacy_dm_conversation FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_legacy_dm_conversation_to_old();
"""

OUTBOX_TRIGGERS = r"""
DROP TRIGGER IF EXISTS relay_sync_direct_messages_events_insert ON direct_messages;
CREATE TRIGGER relay_sync_direct_messages_events_insert
    AFTER INSERT ON direct_messages FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on')
    EXECUTE FUNCTION relay_sync_direct_messages_events();

DROP TRIGGER IF EXISTS relay_sync_direct_messages_events_update ON direct_messages;
CREATE TRIGGER relay_sync_direct_messages_events_update
    AFTER UPDATE ON direct_messages FOR EACH ROW
    WHEN (COALESCE(current_setting('relay.syncing', true), '') <> 'on'
          AND (OLD.is_read IS DISTINCT FROM NEW.is_read
               OR OLD.is_deleted_by_sender IS DISTINCT FROM NEW.is_deleted_by_sender
               OR OLD.is_deleted_by_receiver IS DISTINCT FROM NEW.is_deleted_by_receiver))
    EXECUTE FUNCTION relay_sync_direct_messages_events();
"""


FUNCTIONS = [
    USERS_USER_IDS,
    MESSAGING_MESSAGE_IDS,
    LEGACY_DM_CONVERSATION_IDS,
    USERS_USER_TO_OLD,
    MESSAGING_MESSAGE_TO_OLD,
    LEGACY_DM_CONVERSATION_TO_OLD,
    DIRECT_MESSAGES_EVENTS,
]

WAS_ON = "relay.sync_was_on"  # a transaction-local setting: whether the sync's triggers existed before


def note_whether_the_sync_was_on(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{int(settings.LEGACY_LOCK_TIMEOUT_MS)}ms'")
        cursor.execute(
            "SELECT set_config(%s, CASE WHEN EXISTS (SELECT 1 FROM pg_trigger"
            " WHERE NOT tgisinternal AND tgname = 'relay_sync_users_to_new_insert') THEN 'on' ELSE 'off' END, true)",
            [WAS_ON],
        )


def switch_off_unless_it_was_on(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [WAS_ON])
        if cursor.fetchone()[0] != "on":
            for statement in _live_sync.switch_statements("DISABLE", _live_sync.TRIGGERS):
                cursor.execute(statement)


def drop_unless_on(apps, schema_editor):
    connection = schema_editor.connection
    if _live_sync.is_on(connection):
        return
    with connection.cursor() as cursor:
        for statement in _live_sync.drop_statements(_live_sync.TRIGGERS, _live_sync.FUNCTIONS):
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("legacy_dm", "0008_live_sync_to_new_functions")]

    operations = [
        migrations.RunPython(note_whether_the_sync_was_on, migrations.RunPython.noop, elidable=False),
        migrations.RunSQL(
            [*FUNCTIONS, TO_NEW_TRIGGERS, TO_OLD_TRIGGERS, OUTBOX_TRIGGERS],
            migrations.RunSQL.noop,  # backwards: `drop_unless_on`
            elidable=False,
        ),
        migrations.RunPython(switch_off_unless_it_was_on, drop_unless_on, elidable=False),
    ]
