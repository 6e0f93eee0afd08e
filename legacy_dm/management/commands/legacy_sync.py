"""`manage.py legacy_sync status|on|off`: show and switch the live sync between the old tables and the new."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from legacy_dm import carry, sync
from messaging import conversations


class Command(BaseCommand):
    help = (
        "Show or switch the live sync between the old service's tables and Relay's: `status`; `on` (catches "
        "up what old servers wrote while it was off, then syncs both ways); `off` (the cut-over: the old "
        "tables are frozen from then on)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status", "on", "off"])
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, action: str, database: str, **options: Any) -> None:
        connection = connections[database]
        if action == "on":
            try:
                report = sync.turn_on(connection, carry.CarryOptions.from_settings(), now=timezone.now())
            except (sync.SyncUnavailable, carry.CopyConflict) as exc:
                raise CommandError(f"legacy sync not turned on: {exc}") from exc
            conversations.rebuild_after_bulk_load(connection=connection)  # what the catch-up carried
            if not report.changed:
                self.stdout.write("legacy sync: already on")
                return
            caught_up = ", ".join(f"{step} {count}" for step, count in report.caught_up.items())
            backfilled = ", ".join(f"{table} {count}" for table, count in report.backfilled.items())
            self.stdout.write(f"caught up from the old tables: {caught_up}")
            self.stdout.write(f"written to the old tables (new rows of while it was off): {backfilled}")
            self.stdout.write("legacy sync: on")
        elif action == "off":
            changed = sync.turn_off(connection, carry.CarryOptions.from_settings())
            self.stdout.write("legacy sync: off" if changed else "legacy sync: already off")
        else:
            self.stdout.write(self.status(connection))

    def status(self, connection: Any) -> str:
        state = sync.read_state(connection)
        shown = state.name
        if shown == "broken":
            shown = (
                f"BROKEN ({state.triggers_enabled} of {state.triggers} triggers enabled; run `legacy_sync off`, "
                "then `on`)"
            )
        missing = carry.missing_counts(connection)
        behind = ", ".join(f"{step} {count}" for step, count in missing.items())
        return (
            f"legacy sync: {shown} ({state.triggers_enabled} triggers)\nold rows not carried yet: {behind}\n"
            f"old servers' writes waiting for `legacy_sync_events` to publish their events: {state.events_waiting}"
        )
