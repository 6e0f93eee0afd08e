"""`manage.py copy_legacy_messages`: the migration's copy, run again to catch up rows old servers still write.

During a rolling deploy old servers keep writing `users`, `direct_messages` and `conversations` after the
migration ran; this command carries exactly the rows that are missing (same ids, same rules: it calls the
same `legacy_dm.carry` as the migration), then links replies, merges the reads and deletes old servers made
to rows already carried, and moves the sequences again. `--verify` compares old and new (counts, anti-join,
checksum) and exits non-zero with a report when they differ.
"""

import dataclasses
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from legacy_dm import carry
from legacy_dm import verify as verification
from messaging import conversations

BAR_WIDTH = 30


class ProgressBar:
    """One line per step, redrawn after every batch: bar, rows, rows/s and the estimated time left."""

    def __init__(self, stream: OutputWrapper, *, interactive: bool) -> None:
        self.stream = stream
        self.interactive = interactive
        self.step: str | None = None

    def __call__(self, report: carry.BatchReport) -> None:
        if self.step not in (None, report.step) and self.interactive:
            self.stream.write("\n")
        self.step = report.step
        elapsed = max(time.monotonic() - report.started, 1e-6)
        fraction = report.fraction
        rate = report.done_rows / elapsed
        eta = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.0
        filled = int(BAR_WIDTH * fraction)
        line = (
            f"{report.step:<16} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:6.1%}"
            f"  {report.done_rows} rows  {rate:,.0f} rows/s  ETA {eta:,.0f}s"
        )
        if self.interactive:
            self.stream.write("\r" + line)
        elif report.rows or fraction >= 1:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.step is not None and self.interactive:
            self.stream.write("\n")


class Command(BaseCommand):
    help = "Copy the old tables' rows that are not carried yet (users, direct_messages, conversations)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help="ids per batch (default: the LEGACY_COPY_BATCH_SIZE setting)",
        )
        parser.add_argument("--verify", action="store_true", help="after copying, compare old and new tables")
        parser.add_argument("--dry-run", action="store_true", help="only count what would be copied")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(
        self, *args: Any, batch_size: int | None, verify: bool, dry_run: bool, database: str, **options: Any
    ) -> None:
        connection = connections[database]
        carry_options = carry.CarryOptions.from_settings()
        if batch_size:
            carry_options = dataclasses.replace(carry_options, batch_size=batch_size)
        if carry_options.batch_size < 1:
            raise CommandError("--batch-size must be at least 1")

        missing = carry.missing_counts(connection)
        self.stdout.write("to copy: " + ", ".join(f"{step} {count}" for step, count in missing.items()))
        for problem in carry.check_conflicts(connection):
            self.stdout.write(f"cannot carry: {problem}")
        if dry_run:
            self.stdout.write("dry run: nothing written")
        else:
            bar = ProgressBar(self.stdout, interactive=self.stdout.isatty())
            started = time.monotonic()
            try:
                result = carry.copy_legacy_data(
                    connection, **carry_options.as_kwargs(), now=timezone.now(), progress=bar, sync_state=True
                )
            except carry.CopyConflict as exc:
                raise CommandError(str(exc)) from exc
            bar.close()
            conversations.rebuild_after_bulk_load(connection=connection)
            elapsed = time.monotonic() - started
            copied = ", ".join(f"{step} {count}" for step, count in result.rows.items())
            self.stdout.write(
                f"copied: {copied} ({result.placeholders} placeholder users) in {elapsed:.1f}s;"
                f" sequences now at {result.sequences}"
            )
        if verify:
            outcome = verification.verify(connection)
            self.stdout.write(outcome.report())
            if not outcome.ok:
                raise CommandError("old and new tables differ (see the report above)", returncode=2)
