"""Benchmark: what the live sync (legacy_dm.sync) costs a send and an old server's INSERT (not a test).

Makes a scratch PostgreSQL database, migrates it, fills the old tables (2,000 users, 100,000 direct messages
by default), turns the sync on (`legacy_sync on`: the carry, then the triggers), then alternates rounds with
the sync off and on, in the same run:

- send: `messaging.services.send_message` in this process (what every send endpoint calls), p50 and p99;
- old insert: a raw `INSERT INTO direct_messages ... RETURNING id` on its own autocommit connection, as an
  old FastAPI server writes (with the sync on, the deferred trigger carries the row at its commit).

Each round measures both cases `--iterations` times; the report gives the median over the rounds of each
round's p50 and p99, and the spread (lowest and highest round p50). Usage:

    .venv/bin/python -m bench.sync_cost [--rounds 5] [--iterations 300] [--messages 100000]

Needs a PostgreSQL server (`BENCH_PG_URL`, default postgres://postgres@127.0.0.1:5432); the scratch database
is dropped and created again on every run.
"""

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)


def _fill(cursor, users: int, messages: int) -> None:
    cursor.execute(
        """
        INSERT INTO users (id, username, email, hashed_password, full_name, is_active, is_superuser, created_at)
        SELECT i, 'user' || i, 'user' || i || '@example.com',
               '$2b$04$abcdefghijklmnopqrstuu5X5Jk8cGyNdzvy6bA6bU/8.1jDLO3Fm', 'User ' || i, true, false,
               timestamp '2019-01-01' + i * interval '1 minute'
        FROM generate_series(1, %s) AS i
        """,
        [users],
    )
    cursor.execute(
        """
        INSERT INTO direct_messages (id, sender_id, receiver_id, content, is_read, is_deleted_by_sender,
                                     is_deleted_by_receiver, created_at)
        SELECT i, 1 + (i %% %s), 1 + ((i * 7 + 3) %% %s), 'message ' || i || ' ' || md5(i::text),
               i %% 3 = 0, false, false, timestamp '2020-01-01' + i * interval '1 second'
        FROM generate_series(1, %s) AS i
        """,
        [users, users, messages],
    )
    for table in ("users", "direct_messages"):
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")


def _old_insert_ms(old, iterations: int) -> list[float]:
    samples = []
    for i in range(iterations):
        now = datetime.now(UTC).replace(tzinfo=None)
        started = time.perf_counter()
        old.execute(
            "INSERT INTO direct_messages (sender_id, receiver_id, content, is_read, is_deleted_by_sender,"
            " is_deleted_by_receiver, created_at) VALUES (3, 4, %s, false, false, false, %s) RETURNING id",
            (f"old server {i}", now),
        ).fetchone()
        samples.append((time.perf_counter() - started) * 1000)
    return sorted(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--database", default="relay_bench_sync")
    args = parser.parse_args()

    from bench.scratch import scratch_database

    url = scratch_database(args.database)
    from django.core.management import call_command
    from django.db import connection

    from bench.measure import percentile, time_call
    from legacy_dm import sync
    from messaging import services
    from users.models import User

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        _fill(cursor, args.users, args.messages)
    started = time.monotonic()
    call_command("legacy_sync", "on", verbosity=0)
    print(f"carried and synced {args.messages} messages in {time.monotonic() - started:.1f}s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")

    sender, recipient = User.objects.get(pk=1), User.objects.get(pk=2)
    import psycopg

    old = psycopg.connect(url, autocommit=True)
    results: dict[str, dict[str, list[float]]] = {
        f"{case} ({state})": {"p50": [], "p99": []}
        for case in ("send", "old insert")
        for state in ("sync off", "sync on")
    }
    for round_ in range(args.rounds):
        for state in ("sync off", "sync on"):
            call_command("legacy_sync", "on" if state == "sync on" else "off", verbosity=0)
            assert sync.is_on(connection) is (state == "sync on")
            send = time_call(
                lambda i: services.send_message(sender=sender, recipient_id=recipient.pk, body=f"bench {i}"),
                iterations=args.iterations,
                budget_s=60,
            )
            results[f"send ({state})"]["p50"].append(send["p50"])
            results[f"send ({state})"]["p99"].append(send["p99"])
            inserts = _old_insert_ms(old, args.iterations)
            results[f"old insert ({state})"]["p50"].append(percentile(inserts, 0.5))
            results[f"old insert ({state})"]["p99"].append(percentile(inserts, 0.99))
        print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    old.close()

    print(f"\n{args.rounds} rounds x {args.iterations} runs per case; ms, median over rounds (spread of round p50s)")
    print("| case | p50 | p50 spread | p99 |")
    print("|---|---|---|---|")
    for case, values in results.items():
        p50s = sorted(values["p50"])
        print(
            f"| {case} | {statistics.median(p50s):.3f} | {p50s[0]:.3f}-{p50s[-1]:.3f} |"
            f" {statistics.median(values['p99']):.3f} |"
        )
    for case in ("send", "old insert"):
        off = statistics.median(results[f"{case} (sync off)"]["p50"])
        on = statistics.median(results[f"{case} (sync on)"]["p50"])
        print(f"{case}: sync adds {on - off:.3f} ms at p50 ({(on / off - 1) * 100:+.0f}%)")


if __name__ == "__main__":
    main()
