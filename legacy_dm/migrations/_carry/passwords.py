"""What an old password hash becomes: one Django verifies, or an unusable password with the old hash kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .batches import SQLParam, Statement

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

# An old password hash that no Django hasher verifies becomes this unusable password; the hash itself is kept
# verbatim in `users_user.legacy_password`, and its owner sets a new password.
UNVERIFIABLE_PASSWORD = "!legacy-unverifiable"


# The old password hashes that Django verifies: (Django's prefix, the form, as a regular expression that
# PostgreSQL's `~` and Python's `re` read alike). Django stores a
# hash as its hasher's algorithm name, then the hash's own text. Each form bounds its cost parameters, so a
# hostile old row cannot make one login run for minutes (bcrypt cost <= 15; argon2 memory < 1 GiB;
# pbkdf2 rounds < 1,000,000). Anything else (a disabled account's "!", an empty or broken hash, another
# scheme) is carried as UNVERIFIABLE_PASSWORD.
VERIFIABLE_PASSWORDS: list[tuple[str, str]] = [
    ("bcrypt$", r"\A\$2[aby]\$(0[4-9]|1[0-5])\$[./A-Za-z0-9]{53}\Z"),  # users.hashers.LegacyBCryptPasswordHasher
    (
        "argon2",  # passlib's and argon2-cffi's standard form; Django's Argon2PasswordHasher
        r"\A\$argon2(id|i|d)\$v=(16|19)\$m=[0-9]{1,6},t=[0-9]{1,2},p=[0-9]{1,2}\$[A-Za-z0-9+/]{11,64}\$[A-Za-z0-9+/]{16,128}\Z",
    ),
    (
        "pbkdf2-sha512",  # passlib's pbkdf2_sha512; users.hashers.PasslibPBKDF2SHA512PasswordHasher
        r"\A\$pbkdf2-sha512\$[0-9]{1,6}\$[./A-Za-z0-9]{0,64}\$[./A-Za-z0-9]{86}\Z",
    ),
]


# The width of `users_user.password` (wider than Django's 128: a carried pbkdf2-sha512 hash is about 145).
PASSWORD_COLUMN = 255


def password_sql(connection: BaseDatabaseWrapper, column: str) -> tuple[Statement, Statement]:
    """SQL (and its parameters) for what the old hash in `column` becomes: the new `password`, and the kept
    `legacy_password` (NULL where the hash was carried as one Django verifies).
    """
    tests: list[tuple[str, list[SQLParam], str]] = [
        (f"{column} ~ %s AND length({column}) <= %s", [pattern, PASSWORD_COLUMN - len(prefix)], prefix)
        for prefix, pattern in VERIFIABLE_PASSWORDS
    ]
    password = "CASE " + " ".join(f"WHEN {test} THEN %s || {column}" for test, _, _ in tests) + " ELSE %s END"
    password_params = [value for _, params, prefix in tests for value in (*params, prefix)]
    kept = "CASE " + " ".join(f"WHEN {test} THEN NULL" for test, _, _ in tests) + f" ELSE COALESCE({column}, '') END"
    kept_params = [value for _, params, _ in tests for value in params]
    return (password, [*password_params, UNVERIFIABLE_PASSWORD]), (kept, kept_params)


def unverifiable_passwords(connection: BaseDatabaseWrapper) -> list[tuple[int, str]]:
    """Carried users (id, username) whose old hash no Django hasher verifies: they must set a new password."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, username FROM users_user WHERE password = %s ORDER BY id", [UNVERIFIABLE_PASSWORD])
        return [(int(user_id), username) for user_id, username in cursor.fetchall()]


def describe_unverifiable_passwords(connection: BaseDatabaseWrapper, *, shown: int = 20) -> str | None:
    """One line for the operator naming the users of `unverifiable_passwords`, or None when there are none."""
    users = unverifiable_passwords(connection)
    if not users:
        return None
    names = ", ".join(f"{user_id} ({username})" for user_id, username in users[:shown])
    more = f" and {len(users) - shown} more" if len(users) > shown else ""
    return (
        f"{len(users)} carried users have an old password hash that no hasher verifies; they got an unusable"
        f" password (the old hash is kept in users_user.legacy_password) and must set a new one: {names}{more}"
    )
