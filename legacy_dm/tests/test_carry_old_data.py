"""Carrying the old database: old tables made with raw SQL, filled with every messy case, then `migrate`.

These tests take the database back to before the new tables existed, so they are transactional and put the
database back to fully migrated when they end (the `old_database` fixture in `conftest.py`; its rows are in
`old_data.py`).
"""

import itertools
import time
from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from rest_framework.test import APIClient

from legacy_dm import carry, sync
from legacy_dm.models import LegacyConversation
from messaging.models import Message

from .old_data import (
    ALICE_PASSWORD,
    BATCH,
    HEADROOM,
    OLD_MESSAGES,
    OLD_TABLES,
    OLD_USERS,
    PDF,
    PNG,
    UNKNOWN,
    old_password_hash,
)

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()


def _snapshot_old_tables():
    snapshot = {}
    with connection.cursor() as cursor:
        for table in OLD_TABLES:
            cursor.execute(f"SELECT * FROM {table} ORDER BY id")
            snapshot[table] = [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cursor.fetchall()
            ]
    return snapshot


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Some tests read the carried messages while `legacy_dm` stands before its carry (0003), where `messaging` is at
# 0002: the columns and tables later migrations add (messaging 0011's `edited_at` and `MessageEdit`, 0012's
# `unsent_at`) do not exist yet, and the app's model would read or write them. Those reads take the columns
# 0002 left.
_BEFORE_THE_CARRY = ("messaging", "0002_moderators_group")


def _messages():
    """The messages, reading only the columns `messaging_message` has before the carry (`_BEFORE_THE_CARRY`)."""
    columns = MigrationLoader(None, ignore_no_migrations=True).project_state(_BEFORE_THE_CARRY).models
    return Message.objects.only(*columns["messaging", "message"].fields)


def _assert_everything_carried(migration_started: datetime, migration_ended: datetime):
    """Row by row: what every old row became."""
    assert _messages().filter(legacy_id__in=[row[0] for row in OLD_MESSAGES]).count() == len(OLD_MESSAGES)
    assert set(_messages().values_list("id", flat=True)) >= {row[0] for row in OLD_MESSAGES}
    assert User.objects.filter(id__in=[u[0] for u in OLD_USERS]).count() == len(OLD_USERS)

    alice, bob, carol, dave = (User.objects.get(id=i) for i in (1, 2, 3, 4))
    assert (alice.username, alice.email, alice.display_name) == ("alice", "alice@example.com", "Alice Liddell")
    assert (alice.is_staff, alice.is_superuser, alice.is_active) == (False, False, True)
    assert alice.date_joined == _utc("2021-03-04 05:06:07")
    assert (bob.display_name, bob.is_staff, bob.is_superuser) == ("", True, True)
    assert bob.date_joined == _utc("2021-03-05 10:00:00.250000")
    assert carol.is_active is False
    assert dave.display_name == ""
    # The bcrypt hash is carried as Django's bcrypt format (check_password() here would upgrade it).
    assert bob.password.startswith("bcrypt$$2b$04$") and check_password("old-secret-of-bob", bob.password)

    for placeholder_id in (5, 6):
        placeholder = User.objects.get(id=placeholder_id)
        assert placeholder.username == f"deleted-user-{placeholder_id}"
        assert placeholder.is_active is False
        assert not placeholder.has_usable_password()

    m = {message.id: message for message in _messages()}
    for row in OLD_MESSAGES:
        message = m[row[0]]
        assert message.legacy_id == row[0]
        assert (message.sender_id, message.recipient_id) == (row[1], row[2])
        assert message.body == (row[4] or "")
        assert message.created_at == _utc(row[13])
        assert message.updated_at == (_utc(row[14]) if row[14] else None)
        assert message.legacy_reply_to_id == row[8]
        assert message.hidden_at is None

    assert (m[1].read_at, m[1].reply_to_id) == (_utc("2022-01-01 10:05:00"), None)
    assert (m[2].read_at, m[2].reply_to_id) == (_utc("2022-01-01 11:00:00"), 1)
    assert (m[3].read_at, m[3].reply_to_id) == (_utc("2022-01-02 09:00:00.123456"), None)
    assert m[3].legacy_reply_to_id == 999
    assert m[9].reply_to_id == 12  # a reply to a later id, linked once every batch is in
    assert m[12].reply_to_id == 6  # a reply to an earlier batch
    assert all(m[i].read_at is None for i in (4, 5, 6, 7, 8, 9, 10, 12))

    assert not m[4].has_attachment and m[4].legacy_file_name == "lost-plan.pdf" and m[4].body == ""
    assert (m[5].attachment_name, m[5].attachment_content_type) == ("attachment-5", "image/png")
    assert (bytes(m[5].attachment_data), m[5].attachment_size) == (PNG, len(PNG))
    assert (m[7].attachment_name, m[7].attachment_content_type) == ("plan.pdf", "application/pdf")
    assert (bytes(m[7].attachment_data), m[7].attachment_size) == (PDF, len(PDF))
    assert (m[10].attachment_name, m[10].attachment_content_type) == ("attachment-10", "application/octet-stream")
    assert bytes(m[10].attachment_data) == UNKNOWN
    assert all(not m[i].has_attachment and m[i].legacy_file_name == "" for i in (1, 2, 3, 6, 8, 9, 12))

    assert (m[6].sender_id, m[6].recipient_id) == (3, 3)
    assert m[6] in _messages().visible_to(carol)

    assert (m[7].sender_deleted_at, m[7].recipient_deleted_at) == (_utc("2022-01-06 09:30:00"), None)
    assert m[8].sender_deleted_at is None
    assert migration_started <= m[8].recipient_deleted_at <= migration_ended
    assert all(m[i].sender_deleted_at is None and m[i].recipient_deleted_at is None for i in (1, 2, 3, 9, 12))
    assert m[8] not in _messages().visible_to(alice)
    assert m[7] not in _messages().visible_to(alice) and m[7] in _messages().visible_to(bob)

    # The later old id of a pair (4, of the same pair as 1) names the pair too, as an alias of 1.
    conversations = LegacyConversation.objects.filter(id__lte=5)
    pairs = {id_: (low, high) for id_, low, high in conversations.values_list("id", "user_low_id", "user_high_id")}
    assert pairs == {1: (1, 2), 2: (None, None), 3: (None, None), 4: (1, 2), 5: (3, 4)}
    assert dict(conversations.values_list("id", "alias_of_id")) == {1: None, 2: None, 3: None, 4: 1, 5: None}
    assert conversations.values_list("updated_at", flat=True).get(id=1) == _utc("2022-01-10 08:00:00")
    assert conversations.values_list("created_at", flat=True).get(id=5) == _utc("2022-01-05 07:00:00")
    assert conversations.values_list("created_at", flat=True).get(id=4) == _utc("2022-01-04 07:00:00")


def test_migrate_carries_every_old_row_and_back(old_database):
    """`migrate --fake-initial` on the old database carries every row; backwards removes them; forwards again."""
    before = _snapshot_old_tables()
    started = datetime.now(UTC)
    call_command("migrate", fake_initial=True, verbosity=0)
    _assert_everything_carried(started, datetime.now(UTC))
    assert _snapshot_old_tables() == before
    # Vacuumed after the load: the visibility map covers the new rows.
    with connection.cursor() as cursor:
        for table in ("messaging_message", "messaging_conversation_summary", "messaging_inbox_totals"):
            cursor.execute("SELECT relallvisible FROM pg_class WHERE relname = %s", [table])
            assert cursor.fetchone()[0] > 0, table
    # The migration turned the live sync on (PostgreSQL: test_live_sync.py); from here on, after the cut-over.
    assert sync.is_on(connection)
    # Every trigger, the outbox's too (0004 turns it on, 0006 adds those).
    assert sync.installed_triggers(connection) == len(sync.trigger_names())
    call_command("legacy_sync", "off", verbosity=0)

    # The old password logs in through the API, and Django upgrades the hash on that login.
    client = APIClient()
    response = client.post("/api/auth/token/", {"username": "alice", "password": ALICE_PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    assert "access" in response.json()
    alice = User.objects.get(id=1)
    assert not alice.password.startswith("bcrypt") and alice.check_password(ALICE_PASSWORD)
    wrong = client.post("/api/auth/token/", {"username": "bob", "password": "not-it"}, format="json")
    assert wrong.status_code == 401

    # New rows get ids above the carried ones plus the headroom.
    new_message = Message.objects.create(sender_id=1, recipient_id=2, body="Written on the new system")
    new_user = User.objects.create_user(username="erin", password="x-very-long-password")
    new_conversation = LegacyConversation.objects.create(user_low_id=1, user_high_id=new_user.id)
    assert new_message.id > 12 + HEADROOM
    assert new_user.id > 6 + HEADROOM
    assert new_conversation.id > 5 + HEADROOM

    # Backwards: carried rows go, the old tables stay as they were, what the new system wrote stays.
    call_command("migrate", "legacy_dm", "0002", verbosity=0)
    assert list(Message.objects.values_list("id", flat=True)) == [new_message.id]
    assert set(User.objects.values_list("id", flat=True)) == {1, 2, new_user.id}  # alice and bob have a new message
    assert list(LegacyConversation.objects.values_list("id", flat=True)) == [new_conversation.id]
    assert _snapshot_old_tables() == before

    # Forwards again: the same rows once more, nothing twice.
    started = datetime.now(UTC)
    call_command("migrate", verbosity=0)
    _assert_everything_carried(started, datetime.now(UTC))
    assert Message.objects.count() == len(OLD_MESSAGES) + 1
    # The sync came on again, and first wrote what the new system wrote meanwhile to the old tables.
    assert sync.is_on(connection)
    after = _snapshot_old_tables()
    assert [row for row in after["direct_messages"] if row[0] != new_message.id] == before["direct_messages"]
    assert [row[4] for row in after["direct_messages"] if row[0] == new_message.id] == [new_message.body]
    assert Message.objects.get(pk=new_message.id).legacy_id == new_message.id
    call_command("copy_legacy_messages", "--verify", verbosity=0)


def test_carried_messages_are_found_by_search_by_those_who_may_see_them(old_database):
    """The search vector exists before the carry, and the carry's inserts fill it (a generated column): a carried message is found by the people who may see it, and not by one who deleted it."""
    call_command("migrate", fake_initial=True, verbosity=0)

    def found(user_id: int, query: str) -> set[int]:
        client = APIClient()
        client.force_authenticate(User.objects.get(id=user_id))
        response = client.post("/api/messages/search", {"query": query}, format="json")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert found(1, "hello") == found(2, "hello") == {1}
    assert found(2, "plan") == {7} and found(1, "plan") == set()  # alice deleted her copy
    assert found(2, "forget") == {8} and found(1, "forget") == set()  # and so did the recipient here


def message_model_as_the_carry_finds_it():
    """`Message` of the migration state the carry runs in (legacy_dm 0003's dependencies): the table as it is
    once `migrate legacy_dm 0002` has undone the messaging migrations that depend on the carry, which add
    columns (`edited_at`, `unsent_at`) that the app's model reads and writes."""
    state = MigrationLoader(connection).project_state(("legacy_dm", "0003_carry_old_data"))
    return state.apps.get_model("messaging", "Message")


def test_interrupted_copy_resumes_and_verify_reports_differences(old_database, capsys):
    """A copy stopped after one batch resumes to completion; --verify exits 0 when equal, non-zero otherwise."""
    call_command("migrate", "messaging", fake_initial=True, verbosity=0)
    call_command("migrate", "users", verbosity=0)
    call_command("migrate", "legacy_dm", "0002", fake_initial=True, verbosity=0)
    Message = message_model_as_the_carry_finds_it()  # until the full `migrate` below

    call_command("copy_legacy_messages", "--dry-run")
    assert "to copy: users 4, direct_messages 11, conversations 5" in capsys.readouterr().out
    assert not User.objects.exists() and not Message.objects.exists()

    # A username taken by someone else on the new side is named up front, and nothing is written.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users_user (id, password, is_superuser, username, first_name, last_name, email, is_staff,"
            " is_active, date_joined, display_name) VALUES (5000, '!', %s, 'dave', '', '', '', %s, %s, %s, '')",
            [False, False, True, datetime.now(UTC)],
        )
    with pytest.raises(CommandError, match=r"old user 4 \('dave'\): username taken by new user 5000"):
        call_command("copy_legacy_messages")
    assert User.objects.count() == 1 and not Message.objects.exists()
    with connection.cursor() as cursor:  # (the admin's log table, which a model delete visits, is not there yet)
        cursor.execute("DELETE FROM users_user WHERE id = 5000")

    with pytest.raises(carry.CopyInterrupted):
        carry.copy_legacy_data(connection, batch_size=2, headroom=HEADROOM, lock_timeout_ms=1000, max_batches=3)
    # Users 1-4 took two batches; the third carried messages 1 and 2 (and nothing else).
    assert User.objects.filter(id__lte=4).count() == 4
    assert sorted(Message.objects.values_list("id", flat=True)) == [1, 2]
    assert _messages().get(id=2).reply_to_id == 1  # linked in the batch that carried both

    with pytest.raises(CommandError) as failed:
        call_command("copy_legacy_messages", "--dry-run", "--verify")
    assert failed.value.returncode == 2
    out = capsys.readouterr().out
    assert "direct_messages: DIFFERS  old 11 rows, carried 2 rows" in out
    assert "missing (old rows with no new row): 9, ids 3, 4, 5, 6, 7, 8, 9, 10, 12" in out

    call_command("copy_legacy_messages", "--batch-size", "3", "--verify")
    out = capsys.readouterr().out
    assert "to copy: users 0, direct_messages 9, conversations 5" in out
    assert "verification passed" in out
    started = datetime(2000, 1, 1, tzinfo=UTC)
    _assert_everything_carried(started, datetime.now(UTC))
    assert _messages().get(id=2).reply_to_id == 1

    # A second run copies nothing.
    call_command("copy_legacy_messages", "--verify")
    assert "copied: users 0, direct_messages 0, conversations 0, replies 0, state 0" in capsys.readouterr().out

    # A tampered carried row is found and named; so is a lost read.
    Message.objects.filter(id=7).update(body="changed")
    Message.objects.filter(id=1).update(read_at=None)
    with pytest.raises(CommandError) as failed:
        call_command("copy_legacy_messages", "--dry-run", "--verify")
    assert failed.value.returncode == 2
    out = capsys.readouterr().out
    assert "direct_messages: DIFFERS" in out
    assert "differing (carried columns not equal): 1, ids 7" in out
    assert "reads and deletes: DIFFERS  1 carried messages miss a read or delete of their old row, ids 1" in out
    assert "verification FAILED" in out

    # A carried row that disappeared is missing; the catch-up copy brings it back, and the lost read.
    with connection.cursor() as cursor:  # (a model delete would visit tables that are not there yet)
        cursor.execute("DELETE FROM messaging_message WHERE id = 7")
    call_command("copy_legacy_messages", "--verify")
    assert "verification passed" in capsys.readouterr().out
    assert _messages().get(id=7).body == "See the attached plan."
    assert _messages().get(id=1).read_at == _utc("2022-01-01 10:05:00")

    # The carry's migration, run after the catch-up copy, finds nothing left to copy.
    call_command("migrate", verbosity=0)
    _assert_everything_carried(started, datetime.now(UTC))
    call_command("copy_legacy_messages", "--dry-run", "--verify")
    out = capsys.readouterr().out
    assert "to copy: users 0, direct_messages 0, conversations 0" in out
    assert "verification passed" in out


def test_catch_up_carries_what_old_servers_wrote_after_the_migration(old_database, capsys):
    """Rows old servers insert, and reads/deletes they make to carried rows, arrive with the catch-up command."""
    call_command("migrate", fake_initial=True, verbosity=0)
    call_command("legacy_sync", "off", verbosity=0)  # what old servers write while the sync is off
    alice_reads_on_the_new_system = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    Message.objects.filter(id=2).update(read_at=None)  # as if unread when carried ...
    Message.objects.filter(id=8).update(read_at=alice_reads_on_the_new_system)  # ... and read here since
    with connection.cursor() as cursor:  # an old server, still running during the rolling deploy
        cursor.execute(
            "INSERT INTO users (id, username, email, hashed_password, created_at)"
            " VALUES (7, 'frank', 'frank@example.com', %s, '2026-11-26 08:00:00')",
            [old_password_hash("frank")],
        )
        cursor.execute(
            "INSERT INTO direct_messages (id, sender_id, receiver_id, content, reply_to_id, created_at)"
            " VALUES (13, 7, 1, 'Hi from the old app', 9, '2026-11-26 08:01:00'),"
            " (14, 1, 7, 'Welcome', 13, '2026-11-26 08:02:00')"
        )
        cursor.execute(
            "UPDATE direct_messages SET is_read = %s, updated_at = '2026-11-26 08:03:00' WHERE id = 12", [True]
        )
        cursor.execute(
            "UPDATE direct_messages SET is_deleted_by_sender = %s, updated_at = '2026-11-26 08:04:00' WHERE id = 9",
            [True],
        )
        cursor.execute("INSERT INTO conversations (id, created_at) VALUES (6, '2026-11-26 08:05:00')")
        cursor.execute("INSERT INTO conversation_participants (conversation_id, user_id) VALUES (6, 7), (6, 1)")
        # A second conversation of alice and bob, and one of bob and dave, whose pair the new system named first.
        cursor.execute(
            "INSERT INTO conversations (id, created_at) VALUES (7, '2026-11-26 08:06:00'), (8, '2026-11-26 08:07:00')"
        )
        cursor.execute(
            "INSERT INTO conversation_participants (conversation_id, user_id) VALUES (7, 2), (7, 1), (8, 4), (8, 2)"
        )
    bob_and_dave = LegacyConversation.objects.create(user_low_id=2, user_high_id=4)

    call_command("copy_legacy_messages", "--dry-run")
    assert "to copy: users 1, direct_messages 2, conversations 3, replies 0, state 3" in capsys.readouterr().out
    call_command("copy_legacy_messages", "--verify")
    out = capsys.readouterr().out
    assert "verification passed" in out, out
    carried = LegacyConversation.objects.filter(id__in=[1, 4, 6, 7, 8])
    assert {c.id: (c.user_low_id, c.user_high_id, c.alias_of_id) for c in carried} == {
        1: (1, 2, None),
        4: (1, 2, 1),
        6: (1, 7, None),
        7: (1, 2, 1),
        8: (2, 4, bob_and_dave.id),
    }

    frank = User.objects.get(id=7)
    assert frank.username == "frank" and check_password("old-secret-of-frank", frank.password)
    assert Message.objects.get(id=13).reply_to_id == 9 and Message.objects.get(id=14).reply_to_id == 13
    assert Message.objects.get(id=12).read_at == _utc("2026-11-26 08:03:00")
    assert Message.objects.get(id=12).updated_at == _utc("2026-11-26 08:03:00")
    assert Message.objects.get(id=9).sender_deleted_at == _utc("2026-11-26 08:04:00")
    assert Message.objects.get(id=2).read_at == _utc("2022-01-01 11:00:00")
    assert Message.objects.get(id=8).read_at == alice_reads_on_the_new_system  # never undone

    # An alias pointing at another pair's conversation is found and named.
    LegacyConversation.objects.filter(id=8).update(alias_of_id=1)
    with pytest.raises(CommandError):
        call_command("copy_legacy_messages", "--dry-run", "--verify")
    out = capsys.readouterr().out
    assert "conversations: DIFFERS" in out and "differing (carried columns not equal): 1, ids 8" in out
    LegacyConversation.objects.filter(id=8).update(alias_of_id=bob_and_dave.id)

    # So is a later old id of a pair that lost its pair.
    LegacyConversation.objects.filter(id=7).update(user_low_id=None, user_high_id=None, alias_of_id=None)
    with pytest.raises(CommandError):
        call_command("copy_legacy_messages", "--dry-run", "--verify")
    out = capsys.readouterr().out
    assert "conversations: DIFFERS" in out and "differing (carried columns not equal): 1, ids 7" in out
    # The catch-up maps it again, as it maps a conversation the live sync carried before its participants.
    call_command("copy_legacy_messages", "--dry-run")
    assert "to copy: users 0, direct_messages 0, conversations 1, replies 0" in capsys.readouterr().out
    call_command("copy_legacy_messages", "--verify")
    out = capsys.readouterr().out
    assert "copied: users 0, direct_messages 0, conversations 1, replies 0" in out and "verification passed" in out
    assert LegacyConversation.objects.values_list("user_low_id", "user_high_id", "alias_of_id").get(id=7) == (1, 2, 1)

    # Backwards removes the carried ids, aliases included; the pair the new system named stays (with its users,
    # who wrote on the new system).
    Message.objects.create(sender_id=2, recipient_id=4, body="Written on the new system")
    call_command("migrate", "legacy_dm", "0002", verbosity=0)
    assert list(LegacyConversation.objects.values_list("id", flat=True)) == [bob_and_dave.id]


def test_a_batch_waits_for_a_lock_only_briefly_and_the_copy_resumes(old_database):
    """A batch blocked by another session's lock gives up after `lock_timeout` (and a few retries), not minutes."""
    import psycopg
    from django.db import OperationalError

    call_command("migrate", "messaging", fake_initial=True, verbosity=0)
    call_command("migrate", "users", verbosity=0)
    call_command("migrate", "legacy_dm", "0002", fake_initial=True, verbosity=0)
    db = connection.settings_dict
    other = psycopg.connect(
        dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"] or 5432, password=db["PASSWORD"]
    )
    try:
        other.execute("LOCK TABLE messaging_message IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(OperationalError, match="lock timeout"):
            carry.copy_legacy_data(connection, batch_size=100, headroom=HEADROOM, lock_timeout_ms=200)
        assert time.monotonic() - started < 10
    finally:
        other.rollback()
        other.close()
    # The users' batch had committed on its own; the messages follow once the lock is gone.
    assert User.objects.filter(id__lte=4).count() == 4 and not Message.objects.exists()
    carry.copy_legacy_data(connection, batch_size=100, headroom=HEADROOM, lock_timeout_ms=200)
    assert Message.objects.count() == len(OLD_MESSAGES)


# --- passwords: no old hash ever stops the carry ------------------------------------------------------------


def _passlib_hashes() -> dict[str, tuple[str, str]]:
    """Hashes the old service (passlib) wrote, made by passlib itself: username -> (hash, its password)."""
    from passlib import hash as passlib_hash

    made = {
        "bcrypt2a": passlib_hash.bcrypt.using(ident="2a", rounds=4),
        "bcrypt2y": passlib_hash.bcrypt.using(ident="2y", rounds=4),
        "argon2id": passlib_hash.argon2.using(type="ID", memory_cost=1024, rounds=2),
        "argon2i": passlib_hash.argon2.using(type="I", memory_cost=1024, rounds=2),
        "pbkdf2": passlib_hash.pbkdf2_sha512.using(rounds=1000),
        "pbkdf2salty": passlib_hash.pbkdf2_sha512.using(rounds=1000, salt_size=48),
    }
    return {name: (scheme.hash(f"old-secret-of-{name}"), f"old-secret-of-{name}") for name, scheme in made.items()}


def _unverifiable_hashes() -> dict[str, str]:
    """Old hashes no Django hasher verifies (other schemes, broken, hostile, empty): username -> hash."""
    from passlib import hash as passlib_hash

    return {
        "disabled": "!",
        "empty": "",
        "junk": "x" * 255,
        "spaces": "   ",
        "unicode": "пароль-в-открытую",
        "newline": "$2b$04$" + "a" * 52 + "\n",
        "shortbcrypt": "$2b$04$tooshort",
        "costly": "$2b$31$" + "a" * 53,  # cost 2^31: hours per login
        "bcryptx": "$2x$04$" + "a" * 53,
        "longbcrypt": "$2b$04$" + "a" * 200,
        "hugeargon": "$argon2id$v=19$m=99999999,t=3,p=4$c2FsdHNhbHRzYWx0$" + "a" * 43,
        "badpbkdf2": "$pbkdf2-sha512$25000$!!$" + "a" * 86,
        "scrypt": passlib_hash.scrypt.using(rounds=4).hash("old-secret-of-scrypt"),
        "sha512crypt": passlib_hash.sha512_crypt.using(rounds=1000).hash("old-secret-of-sha512crypt"),
        "md5crypt": passlib_hash.md5_crypt.hash("old-secret-of-md5crypt"),
        "plain": "old-secret-of-plain",
    }


def _add_old_users(hashes: dict[str, str], first_id: int) -> dict[str, int]:
    ids = {}
    with connection.cursor() as cursor:
        for offset, (username, hashed) in enumerate(hashes.items()):
            ids[username] = first_id + offset
            cursor.execute(
                "INSERT INTO users (id, username, email, hashed_password, created_at) VALUES (%s, %s, %s, %s, %s)",
                [first_id + offset, username, f"{username}@example.com", hashed, "2021-06-01 00:00:00"],
            )
    return ids


_client_addresses = itertools.count(1)


def _logs_in(username: str, password: str) -> int:
    """The status of a login; each from its own client address, clear of the per-address login limit."""
    n = next(_client_addresses)
    client = APIClient(REMOTE_ADDR=f"10.9.{n // 250}.{n % 250 + 1}")
    response = client.post("/api/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code in (200, 401), response.content
    return response.status_code


def test_every_old_password_hash_is_carried_and_none_stops_the_carry(old_database, capsys):
    """Long, odd, empty and hostile old hashes never stop the carry (PostgreSQL refused a hash over 128
    characters with DataError before): bcrypt, argon2 and pbkdf2-sha512 log in with the old password; every
    other hash becomes an unusable password, is kept verbatim, and its user is named by the migration and by
    --verify, and can be given a new password.
    """
    verifiable = _passlib_hashes()
    unverifiable = _unverifiable_hashes()
    assert len(verifiable["pbkdf2"][0]) > 128 and len(unverifiable["junk"]) == 255
    _add_old_users({name: hashed for name, (hashed, _) in verifiable.items()}, first_id=100)
    ids = _add_old_users(unverifiable, first_id=200)

    call_command("migrate", fake_initial=True)
    output = capsys.readouterr().out
    call_command("legacy_sync", "off", verbosity=0)  # after the cut-over a login upgrades the hash
    assert User.objects.filter(id__in=ids.values()).count() == len(unverifiable)
    assert User.objects.filter(id__gte=100, id__lt=100 + len(verifiable)).count() == len(verifiable)

    for name, (_, password) in verifiable.items():
        user = User.objects.get(username=name)
        assert user.has_usable_password() and user.legacy_password is None, name
        assert _logs_in(name, "not-the-password") == 401
        assert _logs_in(name, password) == 200, name
        assert User.objects.get(username=name).password.startswith("md5$")  # upgraded to the default hasher
    for name, hashed in unverifiable.items():
        user = User.objects.get(username=name)
        assert not user.has_usable_password(), name
        assert user.legacy_password == hashed, name  # verbatim
        if hashed.strip():  # (a blank password is refused as input, 400)
            assert _logs_in(name, hashed) == 401
        assert _logs_in(name, f"old-secret-of-{name}") == 401
    assert _logs_in("alice", ALICE_PASSWORD) == 200  # the usual bcrypt hash still logs in

    named = f"{len(unverifiable)} carried users have an old password hash that no hasher verifies"
    assert named in output
    assert all(f"{user_id} ({name})" in output for name, user_id in ids.items())
    call_command("copy_legacy_messages", "--verify")
    report = capsys.readouterr().out
    assert "verification passed" in report and named in report

    # An admin gives one of them a new password through the admin's password form; it logs in.
    admin = APIClient()
    admin.force_login(User.objects.get(username="bob"))
    response = admin.post(
        f"/admin/users/user/{ids['disabled']}/password/",
        {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase", "usable_password": "true"},
        format="multipart",
    )
    assert response.status_code == 302, response.content
    assert _logs_in("disabled", "a-brand-new-passphrase") == 200
    assert (len(unverifiable) - 1) == len(carry.unverifiable_passwords(connection))


def test_catch_up_carries_old_users_written_after_the_migration_by_the_same_rule(old_database):
    """Old users an old server registers after the migration are carried by `copy_legacy_messages` with the
    same password rule: a pbkdf2-sha512 hash logs in, a broken one is kept and named.
    """
    call_command("migrate", fake_initial=True, verbosity=0)
    pbkdf2, password = _passlib_hashes()["pbkdf2"]
    _add_old_users({"late": pbkdf2, "latejunk": "$2b$04$broken"}, first_id=300)
    call_command("copy_legacy_messages", "--verify", verbosity=0)
    assert _logs_in("late", password) == 200
    assert User.objects.get(username="latejunk").legacy_password == "$2b$04$broken"
    assert carry.unverifiable_passwords(connection) == [(301, "latejunk")]


# --- a fresh carry sets the secondary indexes and foreign keys aside, and always puts them back -------------


def _schema_of(table: str) -> dict[str, str]:
    """The definitions of `table`'s indexes and constraints, by name."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        definitions = dict(cursor.fetchall())
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass", [table]
        )
        definitions.update(cursor.fetchall())
    return definitions


def test_an_interrupted_fresh_carry_rebuilds_what_it_set_aside_on_the_next_run_or_the_removal(old_database):
    """Into an empty table the carry loads without secondary indexes and foreign keys; interrupted, the ledger
    keeps their definitions; the next run rebuilds every one exactly, and so does removing the carried rows.
    """
    call_command("migrate", "messaging", fake_initial=True, verbosity=0)
    call_command("migrate", "users", verbosity=0)
    call_command("migrate", "legacy_dm", "0002", fake_initial=True, verbosity=0)
    Message = message_model_as_the_carry_finds_it()
    migrated = {table: _schema_of(table) for table in ("messaging_message", "legacy_dm_conversation")}
    assert "msg_search_tsv_idx" in migrated["messaging_message"]

    with pytest.raises(carry.CopyInterrupted):
        carry.copy_legacy_data(connection, batch_size=2, headroom=HEADROOM, lock_timeout_ms=1000, max_batches=4)
    assert carry.deferred.pending(connection, "messaging_message")
    # Left: the primary key, the unique legacy id, the CHECKs; gone: the other indexes and the foreign keys.
    kept = {
        name: definition
        for name, definition in migrated["messaging_message"].items()
        if not definition.startswith(("CREATE INDEX", "FOREIGN KEY"))
    }
    assert "messaging_message_legacy_id_key" in kept and "msg_not_to_self" in kept
    assert _schema_of("messaging_message") == kept

    # Resumed: the rest is copied without them, then they are rebuilt from their own definitions.
    result = carry.copy_legacy_data(connection, batch_size=BATCH, headroom=HEADROOM, lock_timeout_ms=1000)
    assert "msg_search_tsv_idx" in result.rebuilt
    assert not carry.deferred.pending(connection)
    assert {table: _schema_of(table) for table in migrated} == migrated
    call_command("copy_legacy_messages", "--dry-run", "--verify", verbosity=0)

    # Removing the carried rows after an interrupted carry puts them back first.
    apps = MigrationLoader(connection).project_state(("legacy_dm", "0003_carry_old_data")).apps  # 0003's models
    carry.remove_carried_data(apps, connection, batch_size=BATCH)
    assert not Message.objects.exists()
    with pytest.raises(carry.CopyInterrupted):
        carry.copy_legacy_data(connection, batch_size=2, headroom=HEADROOM, lock_timeout_ms=1000, max_batches=4)
    assert carry.deferred.pending(connection)
    carry.remove_carried_data(apps, connection, batch_size=BATCH)
    assert not carry.deferred.pending(connection) and not Message.objects.exists()
    assert {table: _schema_of(table) for table in migrated} == migrated

    # A carry into a table that already holds rows maintains its indexes as it goes (only the conversation
    # map, empty again, is loaded without them).
    erin = User.objects.create_user(username="erin", password="x-very-long-password")
    frank = User.objects.create_user(username="frank", password="x-very-long-password")
    before_the_carry = MigrationLoader(connection).project_state(_BEFORE_THE_CARRY).apps
    before_the_carry.get_model("messaging", "Message").objects.create(
        sender_id=erin.pk, recipient_id=frank.pk, body="written on the new system first"
    )
    result = carry.copy_legacy_data(connection, batch_size=BATCH, headroom=HEADROOM, lock_timeout_ms=1000)
    assert result.rows["direct_messages"] == len(OLD_MESSAGES)
    assert result.rebuilt and set(result.rebuilt) <= set(migrated["legacy_dm_conversation"])
    assert {table: _schema_of(table) for table in migrated} == migrated


def test_the_frozen_carry_marks_unverifiable_passwords_as_users_expects():
    """The carry (frozen with its migration) and `users` (the reset page mails such users) name one marker."""
    from legacy_dm.carry import UNVERIFIABLE_PASSWORD as carried
    from users.passwords import UNVERIFIABLE_PASSWORD

    assert carried == UNVERIFIABLE_PASSWORD
