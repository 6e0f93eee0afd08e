"""Carry the old tables' rows into users.User, messaging.Message and the conversation-id map.

Hand-written data migration. Not atomic: each batch of `LEGACY_COPY_BATCH_SIZE` ids is its own short
transaction, so a copy of millions of rows never holds locks for long and, if interrupted, resumes where it
stopped. The SQL lives in `_carry`, a private module of this migrations package (Django, the standard library
and raw SQL only, so what this migration does never moves with app code; see its docstring), which
`manage.py copy_legacy_messages` reuses to catch up rows old servers write during a rolling deploy.

It runs after every migration of the tables it fills, so it copies into their final form in one pass: old
passwords by today's rule (the wide `password` column and `legacy_password`), later old ids of a pair as
aliases (`alias_of`), the stored search vector filled by PostgreSQL as each row is inserted, and the id
sequences moved past the carried ids plus the headroom once, with no table rebuilt after it. An empty new
table is filled with its secondary indexes and foreign keys set aside and rebuilt at the end
(`_carry.deferred`). The migration prints its seconds per step and per rebuilt index, and names the carried
users whose old hash no hasher verifies. Backwards removes what was carried; the old tables are only read.
"""

import sys

from django.db import migrations
from django.utils import timezone

from . import _carry
from ._carry.options import CarryOptions


def _print(text):
    sys.stdout.write(f"\n  {text}")
    sys.stdout.flush()


def _print_batch(report):
    if report.rows:
        _print(f"{report.step}: {report.done_rows} rows written ({report.fraction:.0%} of the id range)")


def carry_old_data(apps, schema_editor):
    connection = schema_editor.connection
    options = CarryOptions.from_settings()
    result = _carry.copy_legacy_data(connection, **options.as_kwargs(), now=timezone.now(), progress=_print_batch)
    if any(result.rows.values()):
        _print(f"carried: {result.rows} ({result.placeholders} placeholder users); sequences: {result.sequences}")
        _print("seconds: " + ", ".join(f"{step} {seconds:.1f}" for step, seconds in result.seconds.items()))
    if result.rebuilt:
        _print("rebuilt after the load: " + ", ".join(f"{name} {s:.1f} s" for name, s in result.rebuilt.items()))
    unverifiable = _carry.describe_unverifiable_passwords(connection)
    if unverifiable:
        _print(unverifiable)


def remove_carried_data(apps, schema_editor):
    options = CarryOptions.from_settings()
    _carry.remove_carried_data(
        apps,
        schema_editor.connection,
        batch_size=options.batch_size,
        lock_timeout_ms=options.lock_timeout_ms,
        progress=_print,
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("legacy_dm", "0002_conversation_map_and_usage"),
        ("messaging", "0002_moderators_group"),
        # Every table the carry fills is in its final form before it copies (no rebuild after it): the users
        # app's last migration.
        ("users", "0002_read_receipts"),
    ]

    operations = [
        migrations.RunPython(carry_old_data, remove_carried_data, elidable=False),
    ]
