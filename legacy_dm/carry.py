"""The carry of the old tables into the new ones, for app code: `manage.py copy_legacy_messages`, the live
sync's catch-up, and the password rule's names.

The carry itself is `legacy_dm.migrations._carry`: migration 0003 runs it, and a migration imports nothing but
Django, the standard library and its own package, so what 0003 does never moves with app code. App code
reuses that same package (this module names what it uses), so the migration's copy and the catch-up copy
are one and the same.
"""

from legacy_dm.migrations._carry import (
    PLACEHOLDER_PASSWORD,
    PLACEHOLDER_USERNAME_PREFIX,
    STEPS,
    SYNCING,
    UNVERIFIABLE_PASSWORD,
    VERIFIABLE_PASSWORDS,
    BatchReport,
    CarryOptions,
    CopyConflict,
    CopyInterrupted,
    CopyResult,
    check_conflicts,
    copy_legacy_data,
    deferred,
    describe_unverifiable_passwords,
    lost_state,
    missing_counts,
    move_sequences,
    remove_carried_data,
    unverifiable_passwords,
)

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
    "copy_legacy_data",
    "deferred",
    "describe_unverifiable_passwords",
    "lost_state",
    "missing_counts",
    "move_sequences",
    "remove_carried_data",
    "unverifiable_passwords",
]
