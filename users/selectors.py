"""Reads of users that run on every request, written as literal SQL.

`user_by_id` is the JWT authentication's lookup of the token's user: it runs on every API call, and the
ORM's `User.objects.filter(pk=...).first()` costs several times its run in building and compiling the query.
`users/tests/test_selectors.py` checks it against that ORM definition.
"""

from __future__ import annotations

from django.db import connection

from .models import User

# Every column of users_user in the model's order, which `from_db` needs (the test checks it).
USER_COLUMNS = (
    "id", "last_login", "is_superuser", "username", "first_name", "last_name", "email", "is_staff",
    "is_active", "date_joined", "password", "display_name", "read_receipts", "time_zone",
    "email_notifications", "legacy_password",
)  # fmt: skip

_USER_BY_ID_SQL = """
SELECT id, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active,
       date_joined, password, display_name, read_receipts, time_zone, email_notifications, legacy_password
FROM users_user
WHERE id = %s
"""


def user_by_id(user_id: int) -> User | None:
    """The user `user_id` (active or not), or None."""
    with connection.cursor() as cursor:
        cursor.execute(_USER_BY_ID_SQL, [user_id])
        row = cursor.fetchone()
    return None if row is None else User.from_db(connection.alias, USER_COLUMNS, row)
