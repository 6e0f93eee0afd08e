r"""The live sync's old -> new functions, written down: an old server's row, carried by the carry's rule.

Each function runs in a deferred constraint trigger on an old table (0009 creates the triggers), at the old
server's COMMIT, inside that transaction, when every row the transaction wrote is there. It applies to the
written row's id range `[p_low, p_high)` the carry's own statements (`_carry.statements`, for the range of
one row, with `now()` where the carry has the migration time), so a row an old server writes becomes exactly what
the carry makes of it, with the same id; an UPDATE brings over what old servers change (reads, deletes, a
user's name or password) by the carry's merge rules.

Every function marks its own writes as the sync's (`relay.syncing`, a transaction-local setting) and puts the
mark back at its end: the new -> old triggers skip marked writes, so nothing echoes.

A conversation's row and each of its participants carry the conversation again; the first statement maps
one carried with fewer than two participants to its pair once it has two, whatever the order and the
transactions of an old server's writes. Two participants of one conversation committing side by side would
each see only their own, so the conversation's statements first take a transaction-scoped advisory lock on
its id: the second waits for the first to commit, and its statements (each with a new snapshot) see both.

These are the functions that `legacy_sync on` created until now, unchanged (the text of `pg_get_functiondef`,
laid out by hand). A change of the carry's rule for one row is a new migration with new text. A database
whose sync is on gets them replaced by the same text; one whose sync is off gets them, and 0009 their
triggers, disabled. Backwards keeps them (0009's backwards drops them where the sync is off).
"""

from django.db import migrations

USERS_TO_NEW = r"""
CREATE OR REPLACE FUNCTION relay_sync_users_to_new() RETURNS trigger LANGUAGE plpgsql AS $function$
DECLARE
    was text := current_setting('relay.syncing', true);
    p_low bigint := NEW.id; p_high bigint := NEW.id + 1;
BEGIN
    PERFORM set_config('relay.syncing', 'on', true);
    IF TG_OP = 'INSERT' THEN
        INSERT INTO users_user (id, password, legacy_password, last_login, is_superuser, username, first_name,
                                last_name, email, is_staff, is_active, date_joined, display_name)
        SELECT u.id,
               CASE
                   WHEN u.hashed_password ~ '\A\$2[aby]\$(0[4-9]|1[0-5])\$[./A-Za-z0-9]{53}\Z'
                        AND length(u.hashed_password) <= 248 THEN 'bcrypt$' || u.hashed_password
                   WHEN u.hashed_password ~ '\A\$argon2(id|i|d)\$v=(16|19)\$m=[0-9]{1,6},t=[0-9]{1,2},p=[0-9]{1,2}\$[A-Za-z0-9+/]{11,64}\$[A-Za-z0-9+/]{16,128}\Z'
                        AND length(u.hashed_password) <= 249 THEN 'argon2' || u.hashed_password
                   WHEN u.hashed_password ~ '\A\$pbkdf2-sha512\$[0-9]{1,6}\$[./A-Za-z0-9]{0,64}\$[./A-Za-z0-9]{86}\Z'
                        AND length(u.hashed_password) <= 242 THEN 'pbkdf2-sha512' || u.hashed_password
                   ELSE '!legacy-unverifiable'
               END,
               CASE
                   WHEN u.hashed_password ~ '\A\$2[aby]\$(0[4-9]|1[0-5])\$[./A-Za-z0-9]{53}\Z'
                        AND length(u.hashed_password) <= 248 THEN NULL
                   WHEN u.hashed_password ~ '\A\$argon2(id|i|d)\$v=(16|19)\$m=[0-9]{1,6},t=[0-9]{1,2},p=[0-9]{1,2}\$[A-Za-z0-9+/]{11,64}\$[A-Za-z0-9+/]{16,128}\Z'
                        AND length(u.hashed_password) <= 249 THEN NULL
                   WHEN u.hashed_password ~ '\A\$pbkdf2-sha512\$[0-9]{1,6}\$[./A-Za-z0-9]{0,64}\$[./A-Za-z0-9]{86}\Z'
                        AND length(u.hashed_password) <= 242 THEN NULL
                   ELSE COALESCE(u.hashed_password, '')
               END,
               NULL, u.is_superuser, u.username, '', '', u.email, u.is_superuser, u.is_active,
               (u.created_at AT TIME ZONE 'UTC'), COALESCE(u.full_name, '')
        FROM users u
        WHERE u.id >= p_low AND u.id < p_high
          AND NOT EXISTS (SELECT 1 FROM users_user n WHERE n.id = u.id);
    ELSE
        -- Name, email, full name, active, superuser: an old superuser is staff; staff the new side granted stays.
        UPDATE users_user SET
            username = u.username, email = u.email, display_name = COALESCE(u.full_name, ''),
            is_active = u.is_active,
            is_staff = CASE WHEN users_user.is_superuser <> u.is_superuser THEN u.is_superuser
                            ELSE users_user.is_staff END,
            is_superuser = u.is_superuser
        FROM users u
        WHERE u.id = users_user.id AND u.id >= p_low AND u.id < p_high AND users_user.password <> '!legacy-placeholder';
        -- An old password change: the old hash carried again by the carry's rule.
        IF OLD.hashed_password IS DISTINCT FROM NEW.hashed_password THEN
            UPDATE users_user SET
                password = CASE
                    WHEN u.hashed_password ~ '\A\$2[aby]\$(0[4-9]|1[0-5])\$[./A-Za-z0-9]{53}\Z'
                         AND length(u.hashed_password) <= 248 THEN 'bcrypt$' || u.hashed_password
                    WHEN u.hashed_password ~ '\A\$argon2(id|i|d)\$v=(16|19)\$m=[0-9]{1,6},t=[0-9]{1,2},p=[0-9]{1,2}\$[A-Za-z0-9+/]{11,64}\$[A-Za-z0-9+/]{16,128}\Z'
                         AND length(u.hashed_password) <= 249 THEN 'argon2' || u.hashed_password
                    WHEN u.hashed_password ~ '\A\$pbkdf2-sha512\$[0-9]{1,6}\$[./A-Za-z0-9]{0,64}\$[./A-Za-z0-9]{86}\Z'
                         AND length(u.hashed_password) <= 242 THEN 'pbkdf2-sha512' || u.hashed_password
                    ELSE '!legacy-unverifiable'
                END,
                legacy_password = CASE
                    WHEN u.hashed_password ~ '\A\$2[aby]\$(0[4-9]|1[0-5])\$[./A-Za-z0-9]{53}\Z'
                         AND length(u.hashed_password) <= 248 THEN NULL
                    WHEN u.hashed_password ~ '\A\$argon2(id|i|d)\$v=(16|19)\$m=[0-9]{1,6},t=[0-9]{1,2},p=[0-9]{1,2}\$[A-Za-z0-9+/]{11,64}\$[A-Za-z0-9+/]{16,128}\Z'
                         AND length(u.hashed_password) <= 249 THEN NULL
                    WHEN u.hashed_password ~ '\A\$pbkdf2-sha512\$[0-9]{1,6}\$[./A-Za-z0-9]{0,64}\$[./A-Za-z0-9]{86}\Z'
                         AND length(u.hashed_password) <= 242 THEN NULL
                    ELSE COALESCE(u.hashed_password, '')
                END
            FROM users u
            WHERE u.id = users_user.id AND u.id >= p_low AND u.id < p_high
              AND users_user.password <> '!legacy-placeholder';
        END IF;
    END IF;
    PERFORM set_config('relay.syncing', COALESCE(was, ''), true);
    RETURN NULL;
END
$function$;
"""

DIRECT_MESSAGES_TO_NEW = r"""
CREATE OR REPLACE FUNCTION relay_sync_direct_messages_to_new() RETURNS trigger LANGUAGE plpgsql AS $function$
DECLARE
    was text := current_setting('relay.syncing', true);
    p_low bigint := NEW.id; p_high bigint := NEW.id + 1;
BEGIN
    PERFORM set_config('relay.syncing', 'on', true);
    IF TG_OP = 'INSERT' THEN
        -- Placeholder users for a sender or recipient that has no row.
        INSERT INTO users_user (id, password, last_login, is_superuser, username, first_name, last_name, email,
                                is_staff, is_active, date_joined, display_name)
        SELECT ids.uid, '!legacy-placeholder', NULL, false, 'deleted-user-' || CAST(ids.uid AS TEXT), '', '', '',
               false, false, now(), ''
        FROM (SELECT dm.sender_id AS uid FROM direct_messages dm WHERE dm.id >= p_low AND dm.id < p_high
              UNION
              SELECT dm.receiver_id FROM direct_messages dm WHERE dm.id >= p_low AND dm.id < p_high) ids
        WHERE NOT EXISTS (SELECT 1 FROM users_user n WHERE n.id = ids.uid);

        -- The message and its state; a reply is linked when its target is carried.
        INSERT INTO messaging_message (id, legacy_id, sender_id, recipient_id, body, reply_to_id,
                                       legacy_reply_to_id, attachment_name, attachment_content_type,
                                       attachment_size, attachment_data, legacy_file_name, created_at,
                                       updated_at, read_at, sender_deleted_at, recipient_deleted_at,
                                       hidden_at, hidden_by_id, hidden_reason)
        SELECT dm.id, dm.id, dm.sender_id, dm.receiver_id, COALESCE(dm.content, ''),
               CASE WHEN dm.reply_to_id IS NULL THEN NULL
                    WHEN dm.reply_to_id >= p_low AND dm.reply_to_id < p_high
                         AND EXISTS (SELECT 1 FROM direct_messages t WHERE t.id = dm.reply_to_id)
                         THEN dm.reply_to_id
                    WHEN EXISTS (SELECT 1 FROM messaging_message r
                                 WHERE r.id = dm.reply_to_id AND r.legacy_id IS NOT NULL)
                         THEN dm.reply_to_id
               END,
               dm.reply_to_id,
               CASE WHEN dm.file_data IS NULL THEN ''
                    WHEN (dm.file_name IS NULL OR dm.file_name = '') THEN 'attachment-' || CAST(dm.id AS TEXT)
                    ELSE dm.file_name END,
               CASE WHEN dm.file_data IS NULL THEN ''
                    WHEN (dm.file_name IS NULL OR dm.file_name = '') THEN COALESCE(
                        CASE
                            WHEN substr(dm.file_data, 1, 8) = '\x89504e470d0a1a0a'::bytea THEN 'image/png'
                            WHEN substr(dm.file_data, 1, 3) = '\xffd8ff'::bytea THEN 'image/jpeg'
                            WHEN substr(dm.file_data, 1, 6) = '\x474946383761'::bytea THEN 'image/gif'
                            WHEN substr(dm.file_data, 1, 6) = '\x474946383961'::bytea THEN 'image/gif'
                            WHEN substr(dm.file_data, 1, 5) = '\x255044462d'::bytea THEN 'application/pdf'
                            WHEN substr(dm.file_data, 1, 4) = '\x504b0304'::bytea THEN 'application/zip'
                            WHEN substr(dm.file_data, 1, 2) = '\x1f8b'::bytea THEN 'application/gzip'
                            WHEN substr(dm.file_data, 1, 2) = '\x424d'::bytea THEN 'image/bmp'
                            WHEN substr(dm.file_data, 1, 3) = '\x494433'::bytea THEN 'audio/mpeg'
                            WHEN substr(dm.file_data, 1, 4) = '\x4f676753'::bytea THEN 'audio/ogg'
                            WHEN substr(dm.file_data, 5, 4) = '\x66747970'::bytea THEN 'video/mp4'
                            WHEN substr(dm.file_data, 1, 4) = '\x52494646'::bytea
                                 AND substr(dm.file_data, 9, 4) = '\x57454250'::bytea THEN 'image/webp'
                        END,
                        NULLIF(dm.file_type, ''),
                        'application/octet-stream')
                    ELSE COALESCE(
                        NULLIF(dm.file_type, ''),
                        CASE
                            WHEN substr(dm.file_data, 1, 8) = '\x89504e470d0a1a0a'::bytea THEN 'image/png'
                            WHEN substr(dm.file_data, 1, 3) = '\xffd8ff'::bytea THEN 'image/jpeg'
                            WHEN substr(dm.file_data, 1, 6) = '\x474946383761'::bytea THEN 'image/gif'
                            WHEN substr(dm.file_data, 1, 6) = '\x474946383961'::bytea THEN 'image/gif'
                            WHEN substr(dm.file_data, 1, 5) = '\x255044462d'::bytea THEN 'application/pdf'
                            WHEN substr(dm.file_data, 1, 4) = '\x504b0304'::bytea THEN 'application/zip'
                            WHEN substr(dm.file_data, 1, 2) = '\x1f8b'::bytea THEN 'application/gzip'
                            WHEN substr(dm.file_data, 1, 2) = '\x424d'::bytea THEN 'image/bmp'
                            WHEN substr(dm.file_data, 1, 3) = '\x494433'::bytea THEN 'audio/mpeg'
                            WHEN substr(dm.file_data, 1, 4) = '\x4f676753'::bytea THEN 'audio/ogg'
                            WHEN substr(dm.file_data, 5, 4) = '\x66747970'::bytea THEN 'video/mp4'
                            WHEN substr(dm.file_data, 1, 4) = '\x52494646'::bytea
                                 AND substr(dm.file_data, 9, 4) = '\x57454250'::bytea THEN 'image/webp'
                        END,
                        'application/octet-stream') END,
               CASE WHEN dm.file_data IS NULL THEN NULL ELSE length(dm.file_data) END,
               dm.file_data,
               CASE WHEN dm.file_data IS NULL THEN COALESCE(dm.file_name, '') ELSE '' END,
               (dm.created_at AT TIME ZONE 'UTC'), (dm.updated_at AT TIME ZONE 'UTC'),
               CASE WHEN NOT dm.is_read THEN NULL
                    ELSE COALESCE((dm.read_at AT TIME ZONE 'UTC'), (dm.updated_at AT TIME ZONE 'UTC'),
                                  (dm.created_at AT TIME ZONE 'UTC')) END,
               CASE WHEN dm.is_deleted_by_sender THEN COALESCE((dm.updated_at AT TIME ZONE 'UTC'), now()) END,
               CASE WHEN dm.is_deleted_by_receiver THEN COALESCE((dm.updated_at AT TIME ZONE 'UTC'), now()) END,
               NULL, NULL, ''
        FROM direct_messages dm
        WHERE dm.id >= p_low AND dm.id < p_high
          AND NOT EXISTS (SELECT 1 FROM messaging_message m WHERE m.id = dm.id);
    ELSE
        -- Reads and deletes only ever go one way: what either side recorded stays.
        UPDATE messaging_message SET
            read_at = COALESCE(read_at,
                (SELECT CASE WHEN dm.is_read
                             THEN COALESCE((dm.read_at AT TIME ZONE 'UTC'), (dm.updated_at AT TIME ZONE 'UTC'),
                                           (dm.created_at AT TIME ZONE 'UTC')) END
                 FROM direct_messages dm WHERE dm.id = messaging_message.legacy_id)),
            sender_deleted_at = COALESCE(sender_deleted_at,
                (SELECT CASE WHEN messaging_message.hidden_at IS NULL AND dm.is_deleted_by_sender
                             THEN COALESCE((dm.updated_at AT TIME ZONE 'UTC'), now()) END
                 FROM direct_messages dm WHERE dm.id = messaging_message.legacy_id)),
            recipient_deleted_at = COALESCE(recipient_deleted_at,
                (SELECT CASE WHEN messaging_message.hidden_at IS NULL AND dm.is_deleted_by_receiver
                             THEN COALESCE((dm.updated_at AT TIME ZONE 'UTC'), now()) END
                 FROM direct_messages dm WHERE dm.id = messaging_message.legacy_id)),
            updated_at = GREATEST(updated_at, (SELECT (dm.updated_at AT TIME ZONE 'UTC')
                                               FROM direct_messages dm WHERE dm.id = messaging_message.legacy_id))
        WHERE legacy_id >= p_low AND legacy_id < p_high
          AND EXISTS (SELECT 1 FROM direct_messages dm
                      WHERE dm.id = messaging_message.legacy_id AND dm.id >= p_low AND dm.id < p_high
                        AND ((dm.is_read AND messaging_message.read_at IS NULL)
                             OR (messaging_message.hidden_at IS NULL AND dm.is_deleted_by_sender
                                 AND messaging_message.sender_deleted_at IS NULL)
                             OR (messaging_message.hidden_at IS NULL AND dm.is_deleted_by_receiver
                                 AND messaging_message.recipient_deleted_at IS NULL)));
    END IF;
    PERFORM set_config('relay.syncing', COALESCE(was, ''), true);
    RETURN NULL;
END
$function$;
"""

CONVERSATIONS_TO_NEW = r"""
CREATE OR REPLACE FUNCTION relay_sync_conversations_to_new() RETURNS trigger LANGUAGE plpgsql AS $function$
DECLARE
    was text := current_setting('relay.syncing', true);
    p_low bigint := NEW.id; p_high bigint := NEW.id + 1;
BEGIN
    PERFORM set_config('relay.syncing', 'on', true);
    PERFORM pg_advisory_xact_lock(hashtextextended('relay_sync_conversation:' || p_low, 0));

    -- A conversation carried as mapping to no pair that has two participants now is carried again.
    DELETE FROM legacy_dm_conversation WHERE id IN (
        SELECT p.conversation_id FROM conversation_participants p
        WHERE p.conversation_id IN (SELECT lc.id FROM legacy_dm_conversation lc
                                    WHERE lc.user_low_id IS NULL AND lc.alias_of_id IS NULL
                                      AND lc.id >= p_low AND lc.id < p_high)
        GROUP BY p.conversation_id
        HAVING COUNT(DISTINCT p.user_id) = 2
    );

    -- Two distinct participants: the pair's canonical id, unless the pair has one already.
    INSERT INTO legacy_dm_conversation (id, user_low_id, user_high_id, created_by_id, created_at, updated_at)
    SELECT c.id, fp.lo, fp.hi, NULL, (c.created_at AT TIME ZONE 'UTC'), (c.updated_at AT TIME ZONE 'UTC')
    FROM conversations c
    JOIN (
        SELECT MIN(pairs.cid) AS cid, pairs.lo AS lo, pairs.hi AS hi
        FROM (
            SELECT p.conversation_id AS cid, MIN(p.user_id) AS lo, MAX(p.user_id) AS hi
            FROM conversation_participants p
            WHERE p.conversation_id >= p_low AND p.conversation_id < p_high
            GROUP BY p.conversation_id
            HAVING COUNT(DISTINCT p.user_id) = 2
        ) pairs
        GROUP BY pairs.lo, pairs.hi
    ) fp ON fp.cid = c.id
    WHERE c.id >= p_low AND c.id < p_high
      AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lc WHERE lc.id = c.id)
      AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lp WHERE lp.user_low_id = fp.lo AND lp.user_high_id = fp.hi)
    ON CONFLICT DO NOTHING;

    -- Every other conversation: an alias of its pair's canonical id, or mapping to no pair.
    INSERT INTO legacy_dm_conversation (id, user_low_id, user_high_id, alias_of_id, created_by_id, created_at,
                                        updated_at)
    SELECT c.id, canon.user_low_id, canon.user_high_id, canon.id, NULL,
           (c.created_at AT TIME ZONE 'UTC'), (c.updated_at AT TIME ZONE 'UTC')
    FROM conversations c
    LEFT JOIN (
        SELECT p.conversation_id AS cid, MIN(p.user_id) AS lo, MAX(p.user_id) AS hi
        FROM conversation_participants p
        WHERE p.conversation_id >= p_low AND p.conversation_id < p_high
        GROUP BY p.conversation_id
        HAVING COUNT(DISTINCT p.user_id) = 2
    ) pr ON pr.cid = c.id
    LEFT JOIN legacy_dm_conversation canon
           ON canon.user_low_id = pr.lo AND canon.user_high_id = pr.hi AND canon.alias_of_id IS NULL
    WHERE c.id >= p_low AND c.id < p_high
      AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lc WHERE lc.id = c.id)
    ON CONFLICT DO NOTHING;

    -- The conversation's times, where old servers changed them.
    UPDATE legacy_dm_conversation
    SET created_at = (c.created_at AT TIME ZONE 'UTC'), updated_at = (c.updated_at AT TIME ZONE 'UTC')
    FROM conversations c
    WHERE c.id = legacy_dm_conversation.id AND c.id >= p_low AND c.id < p_high
      AND (legacy_dm_conversation.created_at <> (c.created_at AT TIME ZONE 'UTC')
           OR legacy_dm_conversation.updated_at IS DISTINCT FROM (c.updated_at AT TIME ZONE 'UTC'));

    PERFORM set_config('relay.syncing', COALESCE(was, ''), true);
    RETURN NULL;
END
$function$;
"""

PARTICIPANTS_TO_NEW = r"""
CREATE OR REPLACE FUNCTION relay_sync_participants_to_new() RETURNS trigger LANGUAGE plpgsql AS $function$
DECLARE
    was text := current_setting('relay.syncing', true);
    p_low bigint := NEW.conversation_id; p_high bigint := NEW.conversation_id + 1;
BEGIN
    PERFORM set_config('relay.syncing', 'on', true);
    PERFORM pg_advisory_xact_lock(hashtextextended('relay_sync_conversation:' || p_low, 0));

    -- A conversation carried as mapping to no pair that has two participants now is carried again.
    DELETE FROM legacy_dm_conversation WHERE id IN (
        SELECT p.conversation_id FROM conversation_participants p
        WHERE p.conversation_id IN (SELECT lc.id FROM legacy_dm_conversation lc
                                    WHERE lc.user_low_id IS NULL AND lc.alias_of_id IS NULL
                                      AND lc.id >= p_low AND lc.id < p_high)
        GROUP BY p.conversation_id
        HAVING COUNT(DISTINCT p.user_id) = 2
    );

    -- Two distinct participants: the pair's canonical id, unless the pair has one already.
    INSERT INTO legacy_dm_conversation (id, user_low_id, user_high_id, created_by_id, created_at, updated_at)
    SELECT c.id, fp.lo, fp.hi, NULL, (c.created_at AT TIME ZONE 'UTC'), (c.updated_at AT TIME ZONE 'UTC')
    FROM conversations c
    JOIN (
        SELECT MIN(pairs.cid) AS cid, pairs.lo AS lo, pairs.hi AS hi
        FROM (
            SELECT p.conversation_id AS cid, MIN(p.user_id) AS lo, MAX(p.user_id) AS hi
            FROM conversation_participants p
            WHERE p.conversation_id >= p_low AND p.conversation_id < p_high
            GROUP BY p.conversation_id
            HAVING COUNT(DISTINCT p.user_id) = 2
        ) pairs
        GROUP BY pairs.lo, pairs.hi
    ) fp ON fp.cid = c.id
    WHERE c.id >= p_low AND c.id < p_high
      AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lc WHERE lc.id = c.id)
      AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lp WHERE lp.user_low_id = fp.lo AND lp.user_high_id = fp.hi)
    ON CONFLICT DO NOTHING;

    -- Every other conversation: an alias of its pair's canonical id, or mapping to no pair.
    INSERT INTO legacy_dm_conversation (id, user_low_id, user_high_id, alias_of_id, created_by_id, created_at,
                                        updated_at)
    SELECT c.id, canon.user_low_id, canon.user_high_id, canon.id, NULL,
           (c.created_at AT TIME ZONE 'UTC'), (c.updated_at AT TIME ZONE 'UTC')
    FROM conversations c
    LEFT JOIN (
        SELECT p.conversation_id AS cid, MIN(p.user_id) AS lo, MAX(p.user_id) AS hi
        FROM conversation_participants p
        WHERE p.conversation_id >= p_low AND p.conversation_id < p_high
        GROUP BY p.conversation_id
        HAVING COUNT(DISTINCT p.user_id) = 2
    ) pr ON pr.cid = c.id
    LEFT JOIN legacy_dm_conversation canon
           ON canon.user_low_id = pr.lo AND canon.user_high_id = pr.hi AND canon.alias_of_id IS NULL
    WHERE c.id >= p_low AND c.id < p_high
      AND NOT EXISTS (SELECT 1 FROM legacy_dm_conversation lc WHERE lc.id = c.id)
    ON CONFLICT DO NOTHING;

    -- The conversation's times, where old servers changed them.
    UPDATE legacy_dm_conversation
    SET created_at = (c.created_at AT TIME ZONE 'UTC'), updated_at = (c.updated_at AT TIME ZONE 'UTC')
    FROM conversations c
    WHERE c.id = legacy_dm_conversation.id AND c.id >= p_low AND c.id < p_high
      AND (legacy_dm_conversation.created_at <> (c.created_at AT TIME ZONE 'UTC')
           OR legacy_dm_conversation.updated_at IS DISTINCT FROM (c.updated_at AT TIME ZONE 'UTC'));

    PERFORM set_config('relay.syncing', COALESCE(was, ''), true);
    RETURN NULL;
END
$function$;
"""

FUNCTIONS = [USERS_TO_NEW, DIRECT_MESSAGES_TO_NEW, CONVERSATIONS_TO_NEW, PARTICIPANTS_TO_NEW]


class Migration(migrations.Migration):
    dependencies = [("legacy_dm", "0007_live_sync_conversation_pairs")]

    operations = [migrations.RunSQL(FUNCTIONS, migrations.RunSQL.noop, elidable=False)]
