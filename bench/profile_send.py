"""Where a request's milliseconds go: the Python side under cProfile, the database side in PostgreSQL's CPU time.

    python -m bench.profile_send [--request send] [--requests 300] [--top 25] [--user USERNAME]

`--request` is one of:
- `send` (the default): `POST /api/messages/send`. Two people of its own (`profile-a`, `profile-b`) exchange
  the messages; the messages stay (the conversation grows from run to run, as a real one does). After the
  profile, PostgreSQL's plan of one INSERT of a message, with each trigger's time (`EXPLAIN (ANALYZE)` in a
  transaction that is rolled back).
- `conversations`: `GET /api/messages/conversations`;
- `legacy-direct-messages`: `GET /api/direct-messages/conversations`;
- `legacy-messaging`: `GET /api/messaging/conversations`;
- `floor`: `GET /bench/floor/constant` (`bench/floor.py`), the least an authenticated GET costs: the lists'
  denominator in `bench.http`.
- `floor-insert`: `POST /bench/floor/insert`, the least an authenticated write costs: the send's denominator.
The lists are read as `--user` (a username), by default as `profile-typical`, a user of its own with the typical
user's shape (`bench.inprocess.TYPICAL_MESSAGES`: 11 partners, 339 messages; made on the first run).

Runs against the database of `DATABASE_URL` (or the embedded server), migrated, with `bench.floor_settings`
(Relay's settings and URLs plus the floors) and, as `bench.http`'s server, `DB_CONN_MAX_AGE=600`. Every request goes through the whole Django stack in this
process (`APIClient` with a real JWT in the `Authorization` header, as a client sends it; no socket), after a
warm-up, then it prints:
- the milliseconds of a request without the profiler: CPU of this process, and CPU of the PostgreSQL backend
  that served it (read from `/proc` when the server runs on this machine), medians of five runs;
- its SQL queries;
- under cProfile: the functions that take the most time themselves (tottime) and, of the project's own code,
  the most time with what they call (cumtime), per request.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import django

# The requests it can profile: method and path.
REQUESTS = {
    "send": ("POST", "/api/messages/send"),
    "conversations": ("GET", "/api/messages/conversations"),
    "legacy-direct-messages": ("GET", "/api/direct-messages/conversations"),
    "legacy-messaging": ("GET", "/api/messaging/conversations"),
    "floor": ("GET", "/bench/floor/constant"),
    "floor-insert": ("POST", "/bench/floor/insert"),
}
TYPICAL_PARTNERS = 11
RUNS = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--request", choices=REQUESTS, default="send")
    parser.add_argument("--requests", "--sends", type=int, default=300, help="requests per run (--sends: the old name)")
    parser.add_argument("--top", type=int, default=25, help="0: the timings only, no profile")
    parser.add_argument("--user", help="the username the lists are read as (default: profile-typical, made here)")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.floor_settings")
    os.environ.setdefault("THROTTLE_SEND_RATE", "1000000/min")  # the send is measured, not its throttle
    os.environ.setdefault("DB_CONN_MAX_AGE", "600")  # as `bench.http`'s server: one connection, kept
    django.setup()

    from django.conf import settings
    from django.db import connection, transaction

    user, request, payload = prepared_request(args.request, username=args.user)
    method, path = REQUESTS[args.request]

    for _ in range(50):  # warm-up: imports, prepared statements, caches
        request()
    # A wrapper, not CaptureQueriesContext: a request's start resets the connection's query log.
    queries: list[str] = []
    with connection.execute_wrapper(
        lambda execute, sql, params, many, context: queries.append(sql) or execute(sql, params, many, context)
    ):
        request()

    backend_cpu = backend_cpu_reader(connection)
    per_run = max(args.requests // RUNS, 1)
    python_ms, database_ms = [], []
    for _ in range(RUNS):  # without the profiler
        started, started_db = time.process_time(), backend_cpu()
        for _ in range(per_run):
            request()
        python_ms.append(1000 * (time.process_time() - started) / per_run)
        database_ms.append(1000 * (backend_cpu() - started_db) / per_run)
    print(f"{method} {path} as {user.username}, {len(queries)} SQL queries; without the profiler, per request:")
    print(f"  {statistics.median(python_ms):.2f} ms CPU in Python (runs: {', '.join(f'{t:.2f}' for t in python_ms)})")
    if database_ms and any(database_ms):
        print(
            f"  {statistics.median(database_ms):.2f} ms CPU in PostgreSQL's backend "
            f"(runs: {', '.join(f'{t:.2f}' for t in database_ms)}; /proc's resolution: 10 ms per run)"
        )
    for sql in queries:
        print(f"  {' '.join(sql.split())[:160]}")

    if args.top == 0:  # the timings only
        return
    profiler = cProfile.Profile()
    wall, cpu = time.perf_counter(), time.process_time()
    profiler.enable()
    for _ in range(args.requests):
        request()
    profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"\n{args.requests} requests under cProfile (which slows Python): {1000 * wall / args.requests:.2f} ms wall"
        f" and {1000 * cpu / args.requests:.2f} ms CPU per request"
    )

    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = [
        (key, calls, tottime, cumtime)
        for key, (_, calls, tottime, cumtime, _) in stats.stats.items()  # type: ignore[attr-defined]
    ]

    def name(key: tuple[str, int, str]) -> str:
        path, line, function = key
        short = path.replace(str(settings.BASE_DIR) + "/", "").split("site-packages/")[-1]
        return f"{short}:{line}({function})"

    print(f"\nTop {args.top} by own time, ms per request (calls per request):")
    for key, calls, tottime, _ in sorted(rows, key=lambda row: -row[2])[: args.top]:
        print(f"  {1000 * tottime / args.requests:7.3f}  ({calls / args.requests:6.1f})  {name(key)}")

    own = str(settings.BASE_DIR)
    print(f"\nTop {args.top} of the project's code by time with callees, ms per request:")
    project = [row for row in rows if row[0][0].startswith(own) and "/.venv/" not in row[0][0]]
    for key, calls, _, cumtime in sorted(project, key=lambda row: -row[3])[: args.top]:
        print(f"  {1000 * cumtime / args.requests:7.3f}  ({calls / args.requests:6.1f})  {name(key)}")

    if args.request == "send":
        print("\nPostgreSQL: one INSERT of a message (rolled back):")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "EXPLAIN (ANALYZE, BUFFERS) INSERT INTO messaging_message (sender_id, recipient_id, body, "
                "attachment_name, attachment_content_type, created_at, updated_at, hidden_reason, "
                "legacy_file_name) VALUES (%s, %s, %s, '', '', now(), now(), '', '')",
                [user.pk, payload["recipient_id"], payload["body"]],
            )
            for (line,) in cursor.fetchall():
                print(f"  {line}")
            transaction.set_rollback(True)


def prepared_request(name: str, *, username: str | None = None):  # -> (User, request, payload), after setup()
    """The request `name` of `REQUESTS` ready to make: its user, a function that makes it once (asserting its
    status: 201 for a write, 200 for a read) and its body. A send goes from `profile-a` to `profile-b`; the floor's
    insert and the lists are made as `username` or `typical_user()`."""
    from django.conf import settings
    from rest_framework.test import APIClient

    from users.models import User
    from users.tokens import RefreshToken

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    method, path = REQUESTS[name]
    payload: dict[str, object] = {}
    if name == "send":
        user, _ = User.objects.get_or_create(username="profile-a", defaults={"email": "profile-a@example.com"})
        recipient, _ = User.objects.get_or_create(username="profile-b", defaults={"email": "profile-b@example.com"})
        payload = {"recipient_id": recipient.pk, "body": "a message to profile the send with"}
    elif name == "floor-insert":
        from bench.floor import ensure_table

        ensure_table()
        user = typical_user()
        payload = {"body": "a row to profile the floor with"}
    elif username:
        user = User.objects.get(username=username)
    else:
        user = typical_user()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    expected = 201 if method == "POST" else 200

    def request() -> None:
        response = client.post(path, payload, format="json") if method == "POST" else client.get(path)
        assert response.status_code == expected, response.content

    return user, request, payload


def typical_user():  # -> User (imported after django.setup())
    """`profile-typical`, with the typical user's shape, made on the first call: 11 partners (one of whom
    writes first), 339 messages spread over the last 30 days, both ways, replies to some, those of the last
    day unread."""
    from django.db import transaction
    from django.utils import timezone

    from bench.inprocess import TYPICAL_MESSAGES
    from messaging.models import Message
    from users.models import User

    user, created = User.objects.get_or_create(username="profile-typical", defaults={"email": "typical@example.com"})
    if not created:
        return user
    with transaction.atomic():
        partners = [
            User.objects.get_or_create(
                username=f"profile-partner-{n}",
                defaults={"email": f"profile-partner-{n}@example.com", "display_name": f"Partner {n}" if n % 2 else ""},
            )[0]
            for n in range(TYPICAL_PARTNERS)
        ]
        now = timezone.now()
        messages = []
        for n in range(TYPICAL_MESSAGES):
            partner = partners[n % TYPICAL_PARTNERS if n % 3 else 0]  # every partner, the first in a long thread
            sent_at = now - timedelta(minutes=n * 127)
            mine = n % 3 != 0
            messages.append(
                Message(
                    sender=user if mine else partner,
                    recipient=partner if mine else user,
                    body=f"message {n} of the typical user's history, of an ordinary length",
                    created_at=sent_at,
                    read_at=None if sent_at > now - timedelta(days=1) else sent_at + timedelta(minutes=5),
                )
            )
        Message.objects.bulk_create(messages)  # the summary's triggers keep the conversation list
    return user


def backend_cpu_reader(connection) -> Callable[[], float]:
    """A function returning the CPU seconds used so far by the PostgreSQL backend of `connection`, or 0.0
    when its server is not on this machine (no /proc entry of that pid)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    stat = Path(f"/proc/{pid}/stat")
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of stat(5))

    return read


if __name__ == "__main__":
    main()
