"""Unapplying legacy_dm to zero never drops old tables that still hold the old system's rows."""

import pytest
from django.core.management import call_command
from django.db import connection


@pytest.fixture
def an_old_user(transactional_db):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users (id, username, email, hashed_password, created_at)"
            " VALUES (77, 'olduser', 'old@example.com', 'x', CURRENT_TIMESTAMP)"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM users WHERE id = 77")
    call_command("migrate", verbosity=0)


def test_migrating_legacy_dm_to_zero_refuses_while_old_tables_hold_rows(an_old_user):
    with pytest.raises(RuntimeError, match="Refusing to drop the old table 'users'"):
        call_command("migrate", "legacy_dm", "zero", verbosity=0)
    assert "users" in connection.introspection.table_names()
    with connection.cursor() as cursor:
        cursor.execute("SELECT username FROM users WHERE id = 77")
        assert cursor.fetchone() == ("olduser",)


def test_dropping_them_on_purpose_is_possible(an_old_user, settings):
    settings.LEGACY_ALLOW_DROPPING_OLD_TABLES = True
    call_command("migrate", "legacy_dm", "zero", verbosity=0)
    assert "users" not in connection.introspection.table_names()
    call_command("migrate", "legacy_dm", verbosity=0)
    assert "users" in connection.introspection.table_names()
