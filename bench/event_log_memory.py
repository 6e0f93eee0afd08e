"""Benchmark: the Redis memory a user's event log takes (docs/scaling.md; not a test).

The broker (`messaging/broker.py`) keeps up to `EVENTS_RETAINED` events per user, with no expiry: a user's
log stays at its last length until new events trim it. This publishes, through the real `RedisBroker`
under a key prefix of this run's own, a typical mix of events (per message sent: `message.created` to both
parties and `unread_count` to the recipient; some `message.read`) for `--users` users until each log holds
`--length` events, and reports `MEMORY USAGE` per log (median and spread over the users), then deletes its
keys.

    .venv/bin/python -m bench.event_log_memory [--users 50] [--length 10,100,1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import uuid

import redis

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def fill(broker, users: list[int], length: int, first_message: int) -> None:
    """Until every user's log holds `length` events: messages, then a third of them replaced by reads and counts."""
    message = first_message
    for _ in range(length):
        events = []
        for user in users:
            message += 1
            events.append((user, "message.created", {"id": message}))
        broker.publish_many(events)
    # Replace a third of each log with the other kinds, as a real log holds them: the window keeps `length`.
    for step in range(length // 3):
        broker.publish_many(
            [(user, "unread_count" if step % 2 else "message.read", {"id": first_message + step}) for user in users]
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.event_log_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--length", default="10,100,1000", help="events kept per log, comma-separated")
    args = parser.parse_args(argv)
    prefix = f"bench-eventlog-{uuid.uuid4().hex[:8]}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["EVENTS_KEY_PREFIX"] = prefix
    import django

    django.setup()
    from messaging.broker import RedisBroker

    client = redis.Redis.from_url(REDIS_URL)
    print("| events kept per user | bytes per user (log and trimmed id), median (range) | per event |")
    print("|---|---|---|")
    try:
        for length in [int(value) for value in args.length.split(",")]:
            broker = RedisBroker(REDIS_URL, retained=length)
            users = list(range(1_000_000 + length * 1000, 1_000_000 + length * 1000 + args.users))
            fill(broker, users, length, first_message=10_000_000)
            sizes = [  # the log and the id of its newest trimmed event
                sum(
                    client.memory_usage(key, samples=0) or 0 for key in (f"{prefix}:{user}", f"{prefix}:{user}:trimmed")
                )
                for user in users
            ]
            assert all(client.xlen(f"{prefix}:{user}") == length for user in users)
            median = statistics.median(sizes)
            print(f"| {length:,} | {median:,.0f} ({min(sizes):,}-{max(sizes):,}) | {median / length:,.0f} |")
    finally:
        keys = list(client.scan_iter(f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)


if __name__ == "__main__":
    main()
