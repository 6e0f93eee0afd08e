"""Benchmark: the legacy data migration against a raw `INSERT INTO ... SELECT` of the same rows (not a test).

Makes a scratch PostgreSQL database, migrates it up to just before `legacy_dm` 0003, fills the old
`users` and `direct_messages` tables with generate_series (1,000,000 messages by default, with the messy
cases: missing senders, dangling and forward replies, read without read_at, attachments with and without
names, deletes), then in the same run:

1. raw: one `INSERT INTO messaging_message ... SELECT` (plus users) in a single transaction, the fastest a
   database can move these rows into the same table with the same indexes and constraints; then the new
   tables are emptied again;
2. copy: `manage.py migrate legacy_dm 0003`, i.e. the real data migration: batches of
   `LEGACY_COPY_BATCH_SIZE` ids, one transaction each, anti-joins, placeholders, reply linking, sequences.

It prints rows/s for both, their ratio, and the peak memory (ru_maxrss) of this process before and after the
copy. Usage:

    .venv/bin/python -m bench.legacy_copy [--rows 1000000] [--users 10000] [--database relay_bench_copy]

Needs a PostgreSQL server (`BENCH_PG_URL`, default postgres://postgres@127.0.0.1:5432); the scratch database is
dropped and created again on every run.
"""

import argparse
import io
import resource
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder would come first on the path and its http.py would shadow the standard one.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)


class TimedLines(io.TextIOBase):
    """Collects the migration's progress lines with the time each was printed."""

    def __init__(self):
        self.lines = []

    def write(self, text):
        for line in text.splitlines():
            if line.strip():
                self.lines.append((time.monotonic(), line.strip()))
        return len(text)


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--database", default="relay_bench_copy")
    args = parser.parse_args()

    from bench.scratch import scratch_database

    scratch_database(args.database)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", "messaging", verbosity=0)
    call_command("migrate", "users", verbosity=0)
    call_command("migrate", "legacy_dm", "0002", verbosity=0)

    print(f"filling the old tables: {args.users} users, {args.rows} direct messages ...", flush=True)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO users (id, username, email, hashed_password, full_name, is_active, is_superuser, created_at)
            SELECT i, 'user' || i, 'user' || i || '@example.com',
                   '$2b$12$abcdefghijklmnopqrstuu5X5Jk8cGyNdzvy6bA6bU/8.1jDLO3Fm',
                   CASE WHEN i %% 3 = 0 THEN NULL ELSE 'User ' || i END, i %% 50 <> 0, i = 1,
                   timestamp '2019-01-01' + i * interval '1 minute'
            FROM generate_series(1, %s) AS i
            """,
            [args.users],
        )
        # Every 997th sender does not exist any more (placeholders); every 10th message replies to the
        # previous one, every 101st to a row that never existed, every 1009th to a later one; every 100th
        # has a 2 KiB attachment (every 300th of them without a name); every 7th has NULL content.
        cursor.execute(
            """
            INSERT INTO direct_messages (id, sender_id, receiver_id, conversation_id, content, file_data, file_name,
                                         file_type, reply_to_id, is_read, read_at, is_deleted_by_sender,
                                         is_deleted_by_receiver, created_at, updated_at)
            SELECT i,
                   CASE WHEN i %% 997 = 0 THEN %s + (i %% 50) ELSE 1 + (i %% %s) END,
                   1 + ((i * 7 + 3) %% %s),
                   NULL,
                   CASE WHEN i %% 7 = 0 THEN NULL
                        ELSE 'message ' || i || ' ' || md5(i::text) || md5((i + 1)::text) END,
                   CASE WHEN i %% 100 = 0 THEN decode(repeat(md5(i::text), 64), 'hex') END,
                   CASE WHEN i %% 100 = 0 AND i %% 300 <> 0 THEN 'file-' || i || '.bin'
                        WHEN i %% 13 = 0 THEN 'lost-' || i || '.pdf' END,
                   CASE WHEN i %% 100 = 0 THEN 'application/octet-stream' END,
                   CASE WHEN i %% 1009 = 0 THEN i + 5 WHEN i %% 101 = 0 THEN -i WHEN i %% 10 = 0 THEN i - 1 END,
                   i %% 3 = 0,
                   CASE WHEN i %% 6 = 0 THEN timestamp '2020-01-01' + i * interval '1 second' + interval '1 hour' END,
                   i %% 50 = 0, i %% 70 = 0,
                   timestamp '2020-01-01' + i * interval '1 second',
                   CASE WHEN i %% 4 = 0 THEN timestamp '2020-01-01' + i * interval '1 second' + interval '2 hours' END
            FROM generate_series(1, %s) AS i
            """,
            [args.users + 1, args.users, args.users, args.rows],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE users")
        cursor.execute("VACUUM ANALYZE direct_messages")
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('direct_messages'))")
        size = cursor.fetchone()[0]
    print(f"  filled in {time.monotonic() - started:.1f}s (direct_messages: {size})", flush=True)

    # 1. raw: the same rows in one statement per table, one transaction, no batches, no anti-join.
    print("raw INSERT INTO ... SELECT ...", flush=True)
    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute(
            """
            INSERT INTO users_user (id, password, last_login, is_superuser, username, first_name, last_name, email,
                                    is_staff, is_active, date_joined, display_name)
            SELECT id, 'bcrypt$' || hashed_password, NULL, is_superuser, username, '', '', email, is_superuser,
                   is_active, created_at AT TIME ZONE 'UTC', COALESCE(full_name, '')
            FROM users
            """
        )
        cursor.execute(
            """
            INSERT INTO users_user (id, password, last_login, is_superuser, username, first_name, last_name, email,
                                    is_staff, is_active, date_joined, display_name)
            SELECT DISTINCT dm.sender_id, '!', NULL::timestamptz, false, 'deleted-user-' || dm.sender_id, '', '', '', false, false,
                   now(), ''
            FROM direct_messages dm WHERE dm.sender_id > %s
            """,
            [args.users],
        )
        cursor.execute(
            """
            INSERT INTO messaging_message (id, legacy_id, sender_id, recipient_id, body, reply_to_id,
                                           legacy_reply_to_id, attachment_name, attachment_content_type,
                                           attachment_size, attachment_data, legacy_file_name, created_at,
                                           updated_at, read_at, sender_deleted_at, recipient_deleted_at,
                                           hidden_at, hidden_by_id, hidden_reason)
            SELECT id, id, sender_id, receiver_id, COALESCE(content, ''), NULL, reply_to_id,
                   CASE WHEN file_data IS NULL THEN '' ELSE COALESCE(file_name, 'attachment-' || id) END,
                   CASE WHEN file_data IS NULL THEN '' ELSE COALESCE(file_type, 'application/octet-stream') END,
                   length(file_data), file_data,
                   CASE WHEN file_data IS NULL THEN COALESCE(file_name, '') ELSE '' END,
                   created_at AT TIME ZONE 'UTC', updated_at AT TIME ZONE 'UTC',
                   CASE WHEN is_read THEN COALESCE(read_at, updated_at, created_at) AT TIME ZONE 'UTC' END,
                   CASE WHEN is_deleted_by_sender THEN COALESCE(updated_at AT TIME ZONE 'UTC', now()) END,
                   CASE WHEN is_deleted_by_receiver THEN COALESCE(updated_at AT TIME ZONE 'UTC', now()) END,
                   NULL, NULL, ''
            FROM direct_messages
            """
        )
        cursor.execute("COMMIT")
    raw_seconds = time.monotonic() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM messaging_message")
        raw_rows = cursor.fetchone()[0]
        cursor.execute("TRUNCATE messaging_message, users_user CASCADE")
        cursor.execute("VACUUM ANALYZE messaging_message")
        cursor.execute("VACUUM ANALYZE users_user")
        cursor.execute("CHECKPOINT")
    print(f"  {raw_rows} rows in {raw_seconds:.1f}s", flush=True)

    # 2. copy: the real data migration.
    print(f"migrate legacy_dm 0003 (batch size {settings.LEGACY_COPY_BATCH_SIZE}) ...", flush=True)
    rss_before = maxrss_mib()
    progress = TimedLines()
    started = time.monotonic()
    with redirect_stdout(progress):
        call_command("migrate", "legacy_dm", "0003", verbosity=0)
    copy_seconds = time.monotonic() - started
    # Throughput of the first and the last tenth of the message batches: flat when nothing grows with the table.
    batches = [t for t, text in progress.lines if text.startswith("direct_messages:")]
    tenth = max(1, len(batches) // 10)
    first = (batches[tenth] - batches[0]) / tenth if len(batches) > tenth else 0
    last = (batches[-1] - batches[-1 - tenth]) / tenth if len(batches) > tenth else 0
    rss_after = maxrss_mib()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM messaging_message WHERE legacy_id IS NOT NULL")
        copy_rows = cursor.fetchone()[0]
    print(f"  {copy_rows} rows in {copy_seconds:.1f}s ({len(progress.lines)} progress lines)")
    print(f"  seconds per message batch: first tenth {first:.2f}, last tenth {last:.2f}")

    print("verify ...", flush=True)
    started = time.monotonic()
    verify_out = io.StringIO()
    call_command("copy_legacy_messages", "--verify", stdout=verify_out)
    verify_seconds = time.monotonic() - started
    rss_verify = maxrss_mib()
    print("  " + verify_out.getvalue().strip().splitlines()[-1] + f" in {verify_seconds:.1f}s")

    raw_rate, copy_rate = raw_rows / raw_seconds, copy_rows / copy_seconds
    print()
    print(f"| rows | raw INSERT ... SELECT | data migration (batches of {settings.LEGACY_COPY_BATCH_SIZE}) | ratio |")
    print("|---|---|---|---|")
    print(
        f"| {args.rows:,} | {raw_seconds:.1f} s, {raw_rate:,.0f} rows/s | {copy_seconds:.1f} s, {copy_rate:,.0f} rows/s"
        f" | {copy_rate / raw_rate:.2f} |"
    )
    print(
        f"peak memory (ru_maxrss) of this process: {rss_before:.0f} MiB before the copy, {rss_after:.0f} MiB after it,"
        f" {rss_verify:.0f} MiB after --verify ({verify_seconds:.1f} s)"
    )
    print(f"message batches: {first:.2f} s each in the first tenth, {last:.2f} s each in the last tenth")


if __name__ == "__main__":
    main()
