"""`manage.py send_missed_message_emails [--loop [--interval S]]`: the missed-message email
(`messaging.notifications`), once or as a worker. Safe to run on several machines at once."""

import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections, connections

from messaging import notifications

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Mail each person the messages they left unread for NOTIFY_EMAIL_AFTER_MINUTES while no Relay page or "
        "event stream of theirs was open: one mail per conversation. Once, or with --loop every --interval "
        "seconds until SIGTERM or Ctrl-C (the mail at hand is finished first)."
    )
    # `stop`: a threading.Event that ends the loop (tests run the command in a thread).
    stealth_options = ("stop",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loop", action="store_true", help="run again every --interval seconds")
        parser.add_argument("--interval", type=float, default=60.0, help="seconds between runs with --loop")

    def handle(self, *args: Any, loop: bool, interval: float, **options: Any) -> None:
        if interval <= 0:
            raise CommandError("--interval must be more than 0 seconds.")
        stop = options.get("stop") or threading.Event()
        if not loop:
            self._report(notifications.send_missed_message_emails(stop=stop))
            return
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"sending missed-message emails every {interval:g} s")
        try:
            while not stop.is_set():
                close_old_connections()  # a connection the database closed meanwhile is not reused
                try:
                    self._report(notifications.send_missed_message_emails(stop=stop))
                except DatabaseError:
                    logger.warning("A missed-message email run failed; the next one tries again", exc_info=True)
                stop.wait(interval)
        finally:
            connections.close_all()
        self.stdout.write("stopped")

    def _report(self, run: notifications.Run) -> None:
        self.stdout.write(f"{run.sent} sent, {run.skipped} skipped, {run.failed} failed")
