"""Where a send's milliseconds go: the Python side under cProfile, the database side under EXPLAIN ANALYZE.

    python -m bench.profile_send [--sends 300] [--top 25]

Runs against the database of `DATABASE_URL` (or the embedded server), migrated. Two people of its own
(`profile-a`, `profile-b`) exchange `--sends` messages through the whole Django stack in this process
(`APIClient` with a real JWT in the `Authorization` header, as a client sends it; no socket), after a warm-up,
under cProfile; then it prints:
- the milliseconds of a send, wall and CPU, and its SQL queries;
- the functions that take the most time themselves (tottime) and, of the project's own code, the most time
  with what they call (cumtime), per send;
- PostgreSQL's plan of one INSERT of a message, with each trigger's time (`EXPLAIN (ANALYZE)` in a transaction
  that is rolled back).

The messages it sends stay (the conversation grows from run to run, as a real one does).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("THROTTLE_SEND_RATE", "1000000/min")  # the send is measured, not its throttle
    django.setup()

    from django.conf import settings
    from django.db import connection, transaction
    from rest_framework.test import APIClient

    from users.models import User
    from users.tokens import RefreshToken

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    sender, _ = User.objects.get_or_create(username="profile-a", defaults={"email": "profile-a@example.com"})
    recipient, _ = User.objects.get_or_create(username="profile-b", defaults={"email": "profile-b@example.com"})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(sender).access_token}")
    payload = {"recipient_id": recipient.pk, "body": "a message to profile the send with"}

    def send() -> None:
        response = client.post("/api/messages/send", payload, format="json")
        assert response.status_code == 201, response.content

    for _ in range(50):  # warm-up: imports, prepared statements, caches
        send()
    # A wrapper, not CaptureQueriesContext: a request's start resets the connection's query log.
    queries: list[str] = []
    with connection.execute_wrapper(
        lambda execute, sql, params, many, context: queries.append(sql) or execute(sql, params, many, context)
    ):
        send()

    plain = []
    for _ in range(5):  # without the profiler: five runs of a fifth each, the median
        started = time.process_time()
        for _ in range(max(args.sends // 5, 1)):
            send()
        plain.append(1000 * (time.process_time() - started) / max(args.sends // 5, 1))
    print(
        f"without the profiler: {sorted(plain)[2]:.2f} ms CPU per send (runs: {', '.join(f'{t:.2f}' for t in plain)})"
    )

    profiler = cProfile.Profile()
    wall, cpu = time.perf_counter(), time.process_time()
    profiler.enable()
    for _ in range(args.sends):
        send()
    profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

    print(
        f"{args.sends} sends: {1000 * wall / args.sends:.2f} ms wall and {1000 * cpu / args.sends:.2f} ms CPU per send"
    )
    print(f"(under cProfile, which slows Python), {len(queries)} SQL queries each:")
    for sql in queries:
        print(f"  {' '.join(sql.split())[:160]}")

    stats = pstats.Stats(profiler, stream=io.StringIO())
    rows = [
        (key, calls, tottime, cumtime)
        for key, (_, calls, tottime, cumtime, _) in stats.stats.items()  # type: ignore[attr-defined]
    ]

    def name(key: tuple[str, int, str]) -> str:
        path, line, function = key
        short = path.replace(str(settings.BASE_DIR) + "/", "").split("site-packages/")[-1]
        return f"{short}:{line}({function})"

    print(f"\nTop {args.top} by own time, ms per send (calls per send):")
    for key, calls, tottime, _ in sorted(rows, key=lambda row: -row[2])[: args.top]:
        print(f"  {1000 * tottime / args.sends:7.3f}  ({calls / args.sends:6.1f})  {name(key)}")

    own = str(settings.BASE_DIR)
    print(f"\nTop {args.top} of the project's code by time with callees, ms per send:")
    project = [row for row in rows if row[0][0].startswith(own) and "/.venv/" not in row[0][0]]
    for key, calls, _, cumtime in sorted(project, key=lambda row: -row[3])[: args.top]:
        print(f"  {1000 * cumtime / args.sends:7.3f}  ({calls / args.sends:6.1f})  {name(key)}")

    print("\nPostgreSQL: one INSERT of a message (rolled back):")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS) INSERT INTO messaging_message (sender_id, recipient_id, body, "
            "attachment_name, attachment_content_type, created_at, updated_at, hidden_reason, "
            "legacy_file_name) VALUES (%s, %s, %s, '', '', now(), now(), '', '')",
            [sender.pk, recipient.pk, payload["body"]],
        )
        for (line,) in cursor.fetchall():
            print(f"  {line}")
        transaction.set_rollback(True)


if __name__ == "__main__":
    main()
