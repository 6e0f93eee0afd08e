"""Benchmark: `migrate --fake-initial` of an old database, end to end, against a raw `INSERT ... SELECT` (not a test).

Makes a scratch PostgreSQL database holding only the old tables (`legacy_dm` 0001), fills `users` and
`direct_messages` with generate_series (1,000,000 messages by default, with the messy cases: missing senders,
dangling and forward replies, read without read_at, attachments with and without names, deletes), then in the
same run:

1. raw: the new tables are created (`migrate` up to `legacy_dm` 0002) and the same rows are moved by one
   `INSERT INTO messaging_message ... SELECT` (plus users) in a single transaction, into the table with all
   its indexes and constraints: the plain way for a database to move these rows; then the new tables (and
   Django's migration records) are dropped again, leaving the old database as it was;
2. migrate: `manage.py migrate --fake-initial`, exactly as docs/migration.md's runbook says, in its own process: every
   new table created, the carry (`legacy_dm` 0003: batches of `LEGACY_COPY_BATCH_SIZE` ids, one transaction
   each, placeholders, reply linking, the indexes and foreign keys set aside and rebuilt, sequences,
   `VACUUM (ANALYZE)`), then the live sync turned on (0004, with its catch-up copies).

It prints rows/s for both, their ratio, the wall time of each migration, the carry's own per-step seconds,
and the peak memory (ru_maxrss) of the migrating process; then runs `copy_legacy_messages --verify`. Usage:

    .venv/bin/python -m bench.legacy_copy [--rows 1000000] [--users 10000] [--database relay_bench_copy]

Needs a PostgreSQL server (`BENCH_PG_URL`, default postgres://postgres@127.0.0.1:5432); the scratch database is
dropped and created again on every run.
"""

import argparse
import io
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this folder would come first on the path and its http.py would shadow the standard one.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)


OLD_TABLES = ("users", "conversations", "conversation_participants", "direct_messages")


def maxrss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def back_to_the_old_database(cursor) -> None:
    """Drop everything but the old tables (the new tables, Django's migration records): an old database again."""
    cursor.execute("CREATE SCHEMA bench_keep")
    for table in OLD_TABLES:
        cursor.execute(f"ALTER TABLE public.{table} SET SCHEMA bench_keep")  # their sequences move with them
    cursor.execute("DROP SCHEMA public CASCADE")
    cursor.execute("CREATE SCHEMA public")
    for table in OLD_TABLES:
        cursor.execute(f"ALTER TABLE bench_keep.{table} SET SCHEMA public")
    cursor.execute("DROP SCHEMA bench_keep")


def migrate_in_a_process(url: str) -> tuple[float, list[tuple[float, str]], float]:
    """`manage.py migrate --fake-initial` as the runbook runs it: wall seconds, its output lines with the
    seconds since the start at which each arrived, and the process's peak memory (MiB).
    """
    env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    started = time.monotonic()
    process = subprocess.Popen(  # a pipe: the timestamps are those at which whole lines arrive
        [sys.executable, "manage.py", "migrate", "--fake-initial"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = [(time.monotonic() - started, line.rstrip()) for line in process.stdout if line.strip()]
    if process.wait() != 0:
        raise SystemExit("migrate failed:\n" + "\n".join(text for _, text in lines[-30:]))
    return time.monotonic() - started, lines, maxrss_mib(resource.RUSAGE_CHILDREN)


def per_migration(lines: list[tuple[float, str]]) -> dict[str, float]:
    """Seconds per applied migration. `migrate` prints "Applying <name>..." and, once it is applied, " OK" at the
    end of the line then being written (the migration's own last line, if it printed any): a migration ends
    when such a line arrives and the next one starts then.
    """
    took: dict[str, float] = {}
    name, began = None, 0.0
    for at, text in lines:
        if match := re.search(r"Applying (\S+?)\.\.\.", text):
            name = match.group(1)
        if name and text.endswith((" OK", " FAKED")):
            took[name] = at - began
            name, began = None, at
    return took


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--database", default="relay_bench_copy")
    parser.add_argument("--timeline", help="write migrate's output lines, with their times, to this file")
    args = parser.parse_args()

    from bench.scratch import scratch_database

    url = scratch_database(args.database)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", "legacy_dm", "0001", verbosity=0)  # the old tables, as the old service made them

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
        # Each sender writes to 10 receivers in turn (about 100,000 pairs for 1,000,000 rows, issue 14's
        # shape). Every 997th sender does not exist any more (placeholders); every 10th message replies to the
        # previous one, every 101st to a row that never existed, every 1009th to a later one; every 100th
        # has a 2 KiB attachment (every 300th of them without a name); every 7th has NULL content.
        cursor.execute(
            """
            INSERT INTO direct_messages (id, sender_id, receiver_id, conversation_id, content, file_data, file_name,
                                         file_type, reply_to_id, is_read, read_at, is_deleted_by_sender,
                                         is_deleted_by_receiver, created_at, updated_at)
            SELECT i,
                   CASE WHEN i %% 997 = 0 THEN %s + (i %% 50) ELSE 1 + (i %% %s) END,
                   1 + ((i * 7 + 3 + 1009 * ((i / %s) %% 10)) %% %s),
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
            [args.users + 1, args.users, args.users, args.users, args.rows],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE users")
        cursor.execute("VACUUM ANALYZE direct_messages")
        cursor.execute("SELECT pg_size_pretty(pg_total_relation_size('direct_messages'))")
        size = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM (SELECT DISTINCT least(sender_id, receiver_id), greatest(sender_id, receiver_id)"
            " FROM direct_messages) AS pairs"
        )
        pairs = cursor.fetchone()[0]
    print(f"  filled in {time.monotonic() - started:.1f}s (direct_messages: {size}, {pairs:,} pairs)", flush=True)
    call_command("migrate", "messaging", verbosity=0)
    call_command("migrate", "users", verbosity=0)
    call_command("migrate", "legacy_dm", "0002", verbosity=0)

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
        back_to_the_old_database(cursor)
        cursor.execute("CHECKPOINT")
    connection.close()
    print(f"  {raw_rows} rows in {raw_seconds:.1f}s", flush=True)

    # 2. the runbook's migrate, end to end, in its own process.
    print(f"migrate --fake-initial (batch size {settings.LEGACY_COPY_BATCH_SIZE}) ...", flush=True)
    wall, lines, rss = migrate_in_a_process(url)
    migrations = per_migration(lines)
    if args.timeline:
        Path(args.timeline).write_text("".join(f"{at:7.2f} {text}\n" for at, text in lines))
    carry_seconds = migrations.get("legacy_dm.0003_carry_old_data", 0.0)
    for _, text in lines:
        if text.strip().startswith(("seconds:", "rebuilt after the load:")):
            print("  " + text.strip())
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM messaging_message WHERE legacy_id IS NOT NULL")
        copy_rows = cursor.fetchone()[0]
        cursor.execute("SELECT to_regclass('legacy_dm_carry_deferred') IS NULL")
        nothing_set_aside = cursor.fetchone()[0]
    slowest = sorted(migrations.items(), key=lambda item: -item[1])[:4]
    print(f"  {copy_rows} rows; migrate took {wall:.1f}s: " + ", ".join(f"{n} {t:.1f}s" for n, t in slowest))
    assert nothing_set_aside, "the carry left indexes or constraints set aside"

    print("verify ...", flush=True)
    started = time.monotonic()
    verify_out = io.StringIO()
    call_command("copy_legacy_messages", "--verify", stdout=verify_out)
    verify_seconds = time.monotonic() - started
    rss_verify = maxrss_mib()
    print("  " + verify_out.getvalue().strip().splitlines()[-1] + f" in {verify_seconds:.1f}s")

    raw_rate, copy_rate = raw_rows / raw_seconds, copy_rows / carry_seconds
    print()
    print(
        f"| rows | raw INSERT ... SELECT | the carry (legacy_dm 0003, batches of {settings.LEGACY_COPY_BATCH_SIZE})"
        " | ratio carry/raw | migrate --fake-initial, end to end | its peak memory |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {args.rows:,} | {raw_seconds:.1f} s, {raw_rate:,.0f} rows/s | {carry_seconds:.1f} s, {copy_rate:,.0f} rows/s"
        f" | {copy_rate / raw_rate:.2f} | {wall:.1f} s | {rss:.0f} MiB |"
    )
    print(f"--verify: {verify_seconds:.1f} s, peak memory of this process {rss_verify:.0f} MiB")


if __name__ == "__main__":
    main()
