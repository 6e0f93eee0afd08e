"""Carry the old password hashes that no earlier carry could: passlib's pbkdf2-sha512 and argon2, and keep the rest.

Hand-written data migration. `users` 0002 widened `users_user.password` (a carried pbkdf2-sha512 hash is about
145 characters) and added `legacy_password`. Where 0003 ran before that (a fresh database, or one migrated
before 0002 existed), it carried an old hash that does not fit as an unusable password, or as it was (the
rule before `legacy_dm.carry.VERIFIABLE_PASSWORDS`); this carries those again by today's rule: a hash Django
verifies logs in with the old password, any other is kept verbatim in `legacy_password` beside an unusable
password, and the migration names those users. Set-based SQL from `legacy_dm.carry` (see 0003 for why a
migration may import it), batched by user id, re-runnable. Backwards leaves every password within the old
128-character column, so `users` 0002 can be unapplied: a hash that does not fit becomes unusable.
"""

import sys

from django.conf import settings
from django.db import migrations

from legacy_dm import carry


def carry_passwords(apps, schema_editor):
    connection = schema_editor.connection
    result = carry.carry_passwords(
        connection, batch_size=settings.LEGACY_COPY_BATCH_SIZE, lock_timeout_ms=settings.LEGACY_LOCK_TIMEOUT_MS
    )
    # On SQLite, users 0002 rebuilt users_user, which restarts its id sequence at the largest id: move it past
    # the old ids plus the headroom again (never backwards; PostgreSQL kept its sequence).
    carry.move_sequences(
        connection, headroom=settings.LEGACY_SEQUENCE_HEADROOM, lock_timeout_ms=settings.LEGACY_LOCK_TIMEOUT_MS
    )
    lines = [f"passwords carried again: {result.rows['passwords']}"] if result.rows["passwords"] else []
    unverifiable = carry.describe_unverifiable_passwords(connection)
    if unverifiable:
        lines.append(unverifiable)
    for line in lines:
        sys.stdout.write(f"\n  {line}")
    sys.stdout.flush()


def fit_narrow_passwords(apps, schema_editor):
    carry.fit_narrow_passwords(schema_editor.connection)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("legacy_dm", "0006_assign_conversation_aliases"),
        ("users", "0002_legacy_password"),
    ]

    operations = [
        migrations.RunPython(carry_passwords, fit_narrow_passwords, elidable=False),
    ]
