"""What an old password hash becomes: one Django verifies, or an unusable password with the old hash kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from .batches import CopyResult, Progress, SQLParam, Statement, has_column, walk

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

# An old password hash that no Django hasher verifies becomes this unusable password; the hash itself is kept
# verbatim in `users_user.legacy_password`, and its owner sets a new password.
UNVERIFIABLE_PASSWORD = "!legacy-unverifiable"


# The old password hashes that Django verifies: (Django's prefix, the form, as a regular expression that
# PostgreSQL's `~` and Python's `re` (SQLite's REGEXP, as Django registers it) read alike). Django stores a
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


# The width of `users_user.password` before `users` 0002 widened it (see `password_sql`).
NARROW_PASSWORD_COLUMN, WIDE_PASSWORD_COLUMN = 128, 255


def has_legacy_password(connection: BaseDatabaseWrapper) -> bool:
    """Whether `users_user` can keep unverifiable old hashes yet (`users` 0002 added `legacy_password`).

    On a fresh database `legacy_dm` 0003 copies before `users` 0002 runs; then an old hash that does not fit
    the narrow column is carried as unusable, and `legacy_dm` 0007 (`carry_passwords`) carries it again.
    """
    return has_column(connection, "users_user", "legacy_password")


def password_sql(connection: BaseDatabaseWrapper, column: str, *, wide: bool) -> tuple[Statement, Statement]:
    """SQL (and its parameters) for what the old hash in `column` becomes: the new `password`, and the kept
    `legacy_password` (NULL where the hash was carried as one Django verifies).
    """
    match = "~" if connection.vendor == "postgresql" else "REGEXP"
    limit = WIDE_PASSWORD_COLUMN if wide else NARROW_PASSWORD_COLUMN
    tests: list[tuple[str, list[SQLParam], str]] = [
        (f"{column} {match} %s AND length({column}) <= %s", [pattern, limit - len(prefix)], prefix)
        for prefix, pattern in VERIFIABLE_PASSWORDS
    ]
    password = "CASE " + " ".join(f"WHEN {test} THEN %s || {column}" for test, _, _ in tests) + " ELSE %s END"
    password_params = [value for _, params, prefix in tests for value in (*params, prefix)]
    kept = "CASE " + " ".join(f"WHEN {test} THEN NULL" for test, _, _ in tests) + f" ELSE COALESCE({column}, '') END"
    kept_params = [value for _, params, _ in tests for value in params]
    return (password, [*password_params, UNVERIFIABLE_PASSWORD]), (kept, kept_params)


def old_hash_sql(column: str) -> Statement:
    """SQL (PostgreSQL) for the old service's form of the new-side hash in `column`: a hash of one of the
    `VERIFIABLE_PASSWORDS` forms without its Django prefix (the carry's rule, backwards), else NULL (a hash
    that old servers cannot check). While the sync runs new passwords are bcrypt (`users.models.User`).
    """
    whens: list[str] = []
    params: list[SQLParam] = []
    for prefix, pattern in VERIFIABLE_PASSWORDS:
        start = len(prefix) + 1
        whens.append(f"WHEN substr({column}, 1, %s) = %s AND substr({column}, %s) ~ %s THEN substr({column}, %s)")
        params += [len(prefix), prefix, start, pattern, start]
    return "CASE " + " ".join(whens) + " END", params


def passwords_sql(connection: BaseDatabaseWrapper, low: int, high: int) -> Statement:
    """Carry again the old hashes of carried users of ids [low, high) whose password is still what an earlier
    carry made of it (unusable, or copied by the rule before `VERIFIABLE_PASSWORDS`), and not kept yet.
    """
    (password, params), (kept, kept_params) = password_sql(connection, "u.hashed_password", wide=True)
    old = "FROM users u WHERE u.id = users_user.id"
    return (
        f"""
        UPDATE users_user SET password = (SELECT {password} {old}), legacy_password = (SELECT {kept} {old})
        WHERE id >= %s AND id < %s AND legacy_password IS NULL
          AND EXISTS (SELECT 1 {old}
                      AND users_user.password IN (%s, u.hashed_password, 'bcrypt$' || u.hashed_password))
        """,
        [*params, *kept_params, low, high, UNVERIFIABLE_PASSWORD],
    )


def carry_passwords(
    connection: BaseDatabaseWrapper, *, batch_size: int, lock_timeout_ms: int, progress: Progress | None = None
) -> CopyResult:
    """Carry again, by today's rule, the old hashes of carried users whose password an earlier carry left
    unusable or copied as it was (what `legacy_dm` 0007 runs, once `users` 0002 made room for them).

    Batched by user id, each batch its own transaction; re-runnable, and a user who has set a new password
    since is left alone.
    """
    result = CopyResult(rows={"passwords": 0})
    walk(
        connection,
        step="passwords",
        table="users",
        batch_size=batch_size,
        lock_timeout_ms=lock_timeout_ms,
        make_statements=lambda lo, hi: [passwords_sql(connection, lo, hi)],
        progress=progress,
        budget=[-1],
        result=result,
    )
    return result


def fit_narrow_passwords(connection: BaseDatabaseWrapper) -> int:
    """Undo what `carry_passwords` needs the wide column for: a password longer than the narrow column becomes
    UNVERIFIABLE_PASSWORD (its owner sets a new one), so `users` 0002 can be unapplied.
    """
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE users_user SET password = %s WHERE length(password) > %s",
            [UNVERIFIABLE_PASSWORD, NARROW_PASSWORD_COLUMN],
        )
        rows: int = cursor.rowcount
        return max(rows, 0)


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
