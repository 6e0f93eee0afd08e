"""The live sync: old servers and Relay side by side, each seeing the other's writes in the same transaction.

While old servers still run (a rolling deploy, a canary, the rollback window), PostgreSQL triggers keep the
old tables and the new ones in step, both ways, inside the writing transaction, so the two sides can never
disagree. The functions and triggers are literal SQL in `legacy_dm` migrations 0008 and 0009:

- old -> new (0008's functions): a row an old server writes to `users`, `direct_messages`, `conversations` or
  `conversation_participants` is applied to the new tables by the carry's own statements for that row's id
  (`legacy_dm.migrations._carry.statements`), with the same id;
- new -> old (0009): every new-side write reaches the old tables in the old shapes; new rows take their ids
  from the old tables' sequences, so the two sides never hand out the same id;
- no echo: each trigger marks its own writes (`carry.SYNCING`, a transaction-local setting) and the other
  direction's triggers skip marked writes; the carry's batches are marked too;
- events (`outbox`): an old server's send, read or delete is noted in an outbox table in its transaction,
  and `manage.py legacy_sync_events` (`events`) publishes the services' own events for it.

`manage.py legacy_sync status|on|off` shows and switches it (`switch`: the triggers enabled or disabled); the
data migration turns it on when it carried an old database that holds rows; `off` is the cut-over.
"""

from .state import SyncState, read_state
from .switch import (
    OLD_FULL_NAME_MAX,
    OLD_USERNAME_MAX,
    SyncReport,
    SyncUnavailable,
    expected_triggers,
    install_outbox,
    installed_triggers,
    is_on,
    old_tables_hold_rows,
    remove_outbox,
    trigger_names,
    turn_off,
    turn_on,
)

__all__ = [
    "OLD_FULL_NAME_MAX",
    "OLD_USERNAME_MAX",
    "SyncReport",
    "SyncState",
    "SyncUnavailable",
    "expected_triggers",
    "install_outbox",
    "installed_triggers",
    "is_on",
    "old_tables_hold_rows",
    "read_state",
    "remove_outbox",
    "trigger_names",
    "turn_off",
    "turn_on",
]
