"""`manage.py legacy_sync_events`: publish the live events of old servers' writes while the live sync is on."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS

from legacy_dm.sync import events


class Command(BaseCommand):
    help = (
        "While the live sync is on, publish the live events (message.created, message.read, ...) of the "
        "sends, reads and deletes old servers write: listens for the sync's notifications and drains its "
        "outbox, at start, on each notification and every --interval seconds. Run one or more beside the "
        "servers; --once drains what waits and exits."
    )
    # `stop`: a threading.Event that ends the loop (tests run the command in a thread).
    stealth_options = ("stop",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="drain what waits, then exit")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between drains without notice")
        parser.add_argument("--batch-size", type=int, default=events.BATCH_SIZE)
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, once: bool, interval: float, batch_size: int, database: str, **options: Any) -> None:
        if once:
            drained = events.drain(using=database, batch_size=batch_size)
            self.stdout.write(f"published the events of {drained} old-server writes")
            return
        self.stdout.write(f"publishing the events of old servers' writes (every {interval:g} s at the latest)")
        try:
            events.listen(using=database, interval=interval, batch_size=batch_size, stop=options.get("stop"))
        except KeyboardInterrupt:
            self.stdout.write("stopped")
