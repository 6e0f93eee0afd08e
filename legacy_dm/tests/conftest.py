"""Checks of the old JSON shapes and error formats, shared by the legacy API tests; the live sync's fixtures;
the old database of the data-migration tests."""

import re

import pytest
from django.core.management import call_command
from django.db import connection

from legacy_dm import sync
from legacy_dm.tests.old_data import BATCH, HEADROOM, NEW_TABLES, OLD_SCHEMA, OLD_TABLES, fill_old_tables
from legacy_dm.tests.old_server import OldServer

# Naive UTC as datetime.isoformat() writes it: microseconds when not zero, never a zone.
OLD_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$")
USER_KEYS = {"id", "username", "full_name"}
DM_KEYS = {
    "id",
    "sender_id",
    "receiver_id",
    "content",
    "reply_to_id",
    "is_read",
    "read_at",
    "file_name",
    "file_type",
    "has_attachment",
    "created_at",
    "updated_at",
    "sender",
    "receiver",
}
ROW_KEYS = {"id", "conversation_id", "sender_id", "content", "created_at", "is_read"}
CONVERSATION_KEYS = {"id", "participants", "last_message", "unread_count", "created_at", "updated_at"}


def assert_old_user(data, user):
    assert set(data) == USER_KEYS
    assert data == {"id": user.pk, "username": user.username, "full_name": user.display_name or None}


def assert_old_time(value, *, nullable=False):
    if nullable and value is None:
        return
    assert isinstance(value, str) and OLD_TIME.match(value), value


def assert_dm_shape(data):
    """Exact keys and value types of a DM in the old shape."""
    assert set(data) == DM_KEYS
    for key in ("id", "sender_id", "receiver_id"):
        assert type(data[key]) is int
    assert isinstance(data["content"], str)
    assert data["reply_to_id"] is None or type(data["reply_to_id"]) is int
    assert type(data["is_read"]) is bool and type(data["has_attachment"]) is bool
    assert data["file_name"] is None or isinstance(data["file_name"], str)
    assert data["file_type"] is None or isinstance(data["file_type"], str)
    assert_old_time(data["created_at"])
    assert_old_time(data["read_at"], nullable=True)
    assert_old_time(data["updated_at"], nullable=True)
    assert set(data["sender"]) == USER_KEYS and set(data["receiver"]) == USER_KEYS


def assert_row_shape(data):
    assert set(data) == ROW_KEYS
    for key in ("id", "conversation_id", "sender_id"):
        assert type(data[key]) is int
    assert isinstance(data["content"], str)
    assert type(data["is_read"]) is bool
    assert_old_time(data["created_at"])


def assert_conversation_shape(data):
    assert set(data) == CONVERSATION_KEYS
    assert type(data["id"]) is int and type(data["unread_count"]) is int
    assert len(data["participants"]) == 2
    for person in data["participants"]:
        assert set(person) == USER_KEYS
    if data["last_message"] is not None:
        assert_row_shape(data["last_message"])
    assert_old_time(data["created_at"])
    assert_old_time(data["updated_at"], nullable=True)


def assert_deprecated(response, successor=None):
    """The deprecation headers every legacy response carries."""
    assert re.fullmatch(r"@\d+", response["Deprecation"]), response["Deprecation"]
    match = re.fullmatch(r'<([^>]+)>; rel="successor-version"', response["Link"])
    assert match, response["Link"]
    if successor is not None:
        assert match.group(1) == successor


def assert_422(response, *locs):
    """A FastAPI validation error naming exactly `locs`."""
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    for entry in detail:
        assert set(entry) == {"loc", "msg", "type"}
        assert isinstance(entry["msg"], str) and entry["msg"]
        assert isinstance(entry["type"], str) and entry["type"]
    assert sorted(tuple(entry["loc"]) for entry in detail) == sorted(tuple(loc) for loc in locs)
    assert_deprecated(response)
    return detail


@pytest.fixture
def old_server():
    server = OldServer()
    yield server
    server.close()


@pytest.fixture
def synced(settings, old_server):
    """Old tables with a few rows (alice, bob and their conversation), carried, and the sync on."""
    settings.LEGACY_BCRYPT_ROUNDS = 4
    settings.LEGACY_SEQUENCE_HEADROOM = 1000
    settings.LEGACY_COPY_BATCH_SIZE = 50
    alice = old_server.register("alice", "alice-old-secret", "Alice Liddell")
    bob = old_server.register("bob", "bob-old-secret")
    conversation = old_server.open_conversation(alice, bob)
    first = old_server.send(alice, bob, "Hello Bob, from the old days", conversation=conversation)
    call_command("legacy_sync", "on", verbosity=0)
    assert sync.is_on(connection)
    yield {"alice": alice, "bob": bob, "conversation": conversation, "first": first}
    call_command("legacy_sync", "off", verbosity=0)
    assert not sync.is_on(connection)


@pytest.fixture
def old_database(transactional_db, settings):
    """A database with only the old tables (made with raw SQL, as production has them), filled with messy rows.

    On the way out the database is migrated forward again, so the tests after these find it as usual.
    """
    settings.LEGACY_COPY_BATCH_SIZE = BATCH
    settings.LEGACY_SEQUENCE_HEADROOM = HEADROOM
    call_command("migrate", "users", "zero", verbosity=0)
    call_command("migrate", "legacy_dm", "zero", verbosity=0)
    tables = set(connection.introspection.table_names())
    assert not tables & {*NEW_TABLES, *OLD_TABLES}
    with connection.cursor() as cursor:
        for statement in OLD_SCHEMA:
            cursor.execute(statement)
        fill_old_tables(cursor)
    yield
    # Back to the usual state: fully migrated, old tables empty and made by legacy_dm's own migration.
    call_command("migrate", fake_initial=True, verbosity=0)
    with connection.cursor() as cursor:
        for table in ("conversation_participants", "direct_messages", "conversations", "users"):
            cursor.execute(f"DELETE FROM {table}")
    call_command("migrate", "legacy_dm", "zero", verbosity=0)
    call_command("migrate", verbosity=0)
