"""Carry the old tables into the new ones: set-based, batched, resumable SQL shared by migrations and a command.

This package is what `legacy_dm`'s data migration (0003) and `manage.py copy_legacy_messages` (through
`legacy_dm.carry`) both call, so the copy that runs inside `migrate` and the catch-up copy that runs during a
rolling deploy are one and the same.

It lives inside the migrations package (a private one: Django loads no migration from a name starting with
`_`) because a migration imports nothing but Django, the standard library and its own package: app code
(models, services) changes after a migration was written, while a migration must keep meaning what it meant.
So this package:

- imports only Django and the standard library, and no model and no settings at import time; callers pass the
  database connection (and, for removing carried rows, the migration's historical `apps`) and every tunable
  (`options.CarryOptions`);
- is plain SQL over table and column names, which only change through a migration; a change of the carry's
  rule is a new migration, with its own copy of what it changes where 0003 must keep its meaning;
- content types of nameless attachments are sniffed in SQL from a frozen list of magic numbers (the same
  signatures as `messaging.attachments`, copied on purpose rather than imported, so history does not move
  when that module changes).

How it copies (see also README "Migrating the old database"):

- tables are walked by primary-key range (`batch_size` ids per batch), each batch one `INSERT ... SELECT`
  in its own short transaction; each batch first does `SET LOCAL lock_timeout`, so a batch
  waits seconds, not minutes, for a lock (and is retried a few times when it times out);
- every `INSERT` copies only ids that are not there yet (`NOT EXISTS`), so an interrupted or repeated run
  copies exactly what is missing;
- order: users, then per message batch the placeholder users it needs and the messages (a reply to a
  message of the same or an earlier batch is linked at once), then the conversation-id map (the lowest old
  id of a pair is its canonical id, later ids of the same pair its aliases), then a pass linking replies to
  later ids, then the id sequences are moved past the carried ids plus a headroom;
- a table that is still empty when its step starts (a fresh `migrate`) is loaded with its
  secondary indexes and foreign keys set aside and rebuilt once every row is in (`deferred`), batches run
  without JIT and commit without waiting for the disk, and the filled tables are `VACUUM (ANALYZE)`d at the
  end (BENCHMARKS.md, "Legacy data copy").

Its modules, one job each: `options` (the tunables), `batches` (walking id ranges, one transaction per batch),
`statements` (the SQL per table), `passwords` (the password rule), `sequences`, `deferred` (indexes and
foreign keys set aside during a bulk load), `run` (the entry points) and `rollback`.
"""

from . import deferred
from .batches import STEPS, SYNCING, BatchReport, CopyConflict, CopyInterrupted, CopyResult
from .options import CarryOptions
from .passwords import (
    UNVERIFIABLE_PASSWORD,
    VERIFIABLE_PASSWORDS,
    describe_unverifiable_passwords,
    unverifiable_passwords,
)
from .rollback import remove_carried_data
from .run import check_conflicts, copy_legacy_data, missing_counts
from .sequences import move_sequences
from .statements import PLACEHOLDER_PASSWORD, PLACEHOLDER_USERNAME_PREFIX, lost_state

__all__ = [
    "PLACEHOLDER_PASSWORD",
    "PLACEHOLDER_USERNAME_PREFIX",
    "STEPS",
    "SYNCING",
    "UNVERIFIABLE_PASSWORD",
    "VERIFIABLE_PASSWORDS",
    "BatchReport",
    "CarryOptions",
    "CopyConflict",
    "CopyInterrupted",
    "CopyResult",
    "check_conflicts",
    "deferred",
    "copy_legacy_data",
    "describe_unverifiable_passwords",
    "lost_state",
    "missing_counts",
    "move_sequences",
    "remove_carried_data",
    "unverifiable_passwords",
]
