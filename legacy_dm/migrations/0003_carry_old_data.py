"""Carry the old tables' rows into users.User, messaging.Message and the conversation-id map.

Hand-written data migration. Not atomic: each batch of `LEGACY_COPY_BATCH_SIZE` ids is its own short
transaction, so a copy of millions of rows never holds locks for long and, if interrupted, resumes where it
stopped. The SQL lives in `legacy_dm.carry`, a module written for migrations (raw SQL only, no model
imports; see its docstring) and shared with `manage.py copy_legacy_messages`, which catches up rows old
servers write during a rolling deploy.

It runs after every migration of the tables it fills, so it copies into their final form in one pass: old
passwords by today's rule (the wide `password` column and `legacy_password`), later old ids of a pair as
aliases (`alias_of`), the stored search vector filled by PostgreSQL as each row is inserted, and the id
sequences moved past the carried ids plus the headroom once, with no table rebuilt after it. On PostgreSQL an
empty new table is filled with its secondary indexes and foreign keys set aside and rebuilt at the end
(`legacy_dm.carry.deferred`). The migration prints its seconds per step and per rebuilt index, and names the
carried users whose old hash no hasher verifies. Backwards removes what was carried; the old
tables are only read.
"""

import sys

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from legacy_dm import carry


def _print(text):
    sys.stdout.write(f"\n  {text}")
    sys.stdout.flush()


def _print_batch(report):
    if report.rows:
        _print(f"{report.step}: {report.done_rows} rows written ({report.fraction:.0%} of the id range)")


def carry_old_data(apps, schema_editor):
    connection = schema_editor.connection
    result = carry.copy_legacy_data(
        connection,
        batch_size=settings.LEGACY_COPY_BATCH_SIZE,
        headroom=settings.LEGACY_SEQUENCE_HEADROOM,
        lock_timeout_ms=settings.LEGACY_LOCK_TIMEOUT_MS,
        now=timezone.now(),
        progress=_print_batch,
    )
    if any(result.rows.values()):
        _print(f"carried: {result.rows} ({result.placeholders} placeholder users); sequences: {result.sequences}")
        _print("seconds: " + ", ".join(f"{step} {seconds:.1f}" for step, seconds in result.seconds.items()))
    if result.rebuilt:
        _print("rebuilt after the load: " + ", ".join(f"{name} {s:.1f} s" for name, s in result.rebuilt.items()))
    unverifiable = carry.describe_unverifiable_passwords(connection)
    if unverifiable:
        _print(unverifiable)


def remove_carried_data(apps, schema_editor):
    carry.remove_carried_data(
        apps,
        schema_editor.connection,
        batch_size=settings.LEGACY_COPY_BATCH_SIZE,
        lock_timeout_ms=settings.LEGACY_LOCK_TIMEOUT_MS,
        progress=_print,
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("legacy_dm", "0002_conversation_map_and_usage"),
        ("messaging", "0002_moderators_group"),
        # Every table the carry fills is in its final form before it copies (no rebuild after it, which on
        # SQLite would also lose the id headroom): the users app's last migration.
        ("users", "0002_read_receipts"),
    ]

    operations = [
        migrations.RunPython(carry_old_data, remove_carried_data, elidable=False),
    ]
