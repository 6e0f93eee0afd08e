"""Load Relay's benchmark data into django-postman and pinax-messages, then time their own inbox/thread/unread.

Runs in the bench virtualenv (not Relay's): `bench/setup_competitors.sh` creates it, `python -m bench` calls
this script and reads the JSON it prints on its last line. The copy is set-based (`COPY ... TO STDOUT` from
Relay's database streamed into `COPY ... FROM STDIN`), so both apps get exactly the same users and messages:

- postman: one row per message; a pair's messages form one postman thread (`thread_id` = the pair's first
  message), deletions carry over, moderator-hidden messages are `rejected`.
- pinax: the messages that are not hidden (pinax has no moderation); one `Thread` per pair with a `UserThread`
  per participant (`unread` if they have an unread message in it), one `Message` per message.

The queries timed are the apps' own: postman's `Message.objects.inbox(user)` (conversation mode, the default of
its inbox view, paginated like the view) and `Message.objects.thread(user, ...)`, `inbox_unread_count(user)`;
pinax's `Thread.ordered(Thread.inbox(user))` (exactly what its inbox view renders, `latest_message` included),
`thread.messages.all()` and `Thread.unread(user).count()`.
"""

import argparse
import hashlib
import json
import os
import sys
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.competitors.settings")

import django  # noqa: E402
import psycopg  # noqa: E402

USERS = (
    "auth_user",
    "id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined",
    "SELECT id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, "
    "date_joined FROM users_user ORDER BY id",
)
COPIES = {
    "postman": [
        USERS,
        (
            "postman_message",
            "id, subject, body, sender_id, recipient_id, email, parent_id, thread_id, sent_at, read_at, replied_at, "
            "sender_archived, recipient_archived, sender_deleted_at, recipient_deleted_at, moderation_status, "
            "moderation_by_id, moderation_date, moderation_reason",
            "SELECT id, '', body, sender_id, recipient_id, '', NULL, "
            "min(id) OVER (PARTITION BY least(sender_id, recipient_id), greatest(sender_id, recipient_id)), "
            "created_at, read_at, NULL, false, false, sender_deleted_at, recipient_deleted_at, "
            "CASE WHEN hidden_at IS NULL THEN 'a' ELSE 'r' END, NULL, hidden_at, left(hidden_reason, 120) "
            "FROM messaging_message ORDER BY id",
        ),
    ],
    "pinax": [
        USERS,
        (
            "pinax_messages_thread",
            "id, subject",
            "SELECT min(id), '' FROM messaging_message WHERE hidden_at IS NULL "
            "GROUP BY least(sender_id, recipient_id), greatest(sender_id, recipient_id) ORDER BY 1",
        ),
        (
            "pinax_messages_userthread",
            "thread_id, user_id, unread, deleted",
            "SELECT t.id, t.u, t.unread, false FROM ("
            " SELECT min(id) AS id, least(sender_id, recipient_id) AS lo, greatest(sender_id, recipient_id) AS hi,"
            "  bool_or(read_at IS NULL AND recipient_id = least(sender_id, recipient_id)) AS lo_unread,"
            "  bool_or(read_at IS NULL AND recipient_id = greatest(sender_id, recipient_id)) AS hi_unread"
            " FROM messaging_message WHERE hidden_at IS NULL GROUP BY 2, 3) AS p"
            " CROSS JOIN LATERAL (VALUES (p.id, p.lo, p.lo_unread), (p.id, p.hi, p.hi_unread)) AS t(id, u, unread)",
        ),
        (
            "pinax_messages_message",
            "id, thread_id, sender_id, sent_at, content",
            "SELECT id, min(id) OVER (PARTITION BY least(sender_id, recipient_id), greatest(sender_id, recipient_id)), "
            "sender_id, created_at, body FROM messaging_message WHERE hidden_at IS NULL ORDER BY id",
        ),
    ],
}


def load(*, app: str, source_url: str, target_url: str, log) -> dict:
    """Copy the benchmark data from Relay's database unless it is already there; returns timings."""
    copies = COPIES[app]
    tables = [table for table, _, _ in copies]
    with psycopg.connect(source_url) as source, psycopg.connect(target_url) as target:
        # The source's size and the copy's own SQL: a new dataset or a changed recipe reloads.
        recipe = hashlib.sha256(repr(copies).encode()).hexdigest()[:16]
        marker = (*source.execute("SELECT count(*), coalesce(max(id), 0) FROM messaging_message").fetchone(), recipe)
        target.execute("CREATE TABLE IF NOT EXISTS bench_source (messages bigint, max_id bigint, recipe text)")
        if target.execute("SELECT messages, max_id, recipe FROM bench_source").fetchone() == marker:
            log(f"{app}: data already loaded")
            return {"loaded": False}
        timings = {}
        target.execute(f"TRUNCATE bench_source, {', '.join(reversed(tables))} CASCADE")
        target.execute("SET CONSTRAINTS ALL DEFERRED")
        for table, columns, select in copies:
            started = time.perf_counter()
            with (
                source.cursor().copy(f"COPY ({select}) TO STDOUT") as out,
                target.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as into,
            ):
                for chunk in out:
                    into.write(chunk)
            timings[table] = time.perf_counter() - started
            log(f"{app}: copy {table:<28} {timings[table]:6.1f} s")
        started = time.perf_counter()
        target.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            target.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        target.execute("INSERT INTO bench_source VALUES (%s, %s, %s)", marker)
        target.commit()
        target.autocommit = True
        target.execute("VACUUM ANALYZE")
        timings["checks+vacuum"] = time.perf_counter() - started
        log(f"{app}: {'fk checks + vacuum analyze':<33} {timings['checks+vacuum']:6.1f} s")
        return {"loaded": True, **timings}


def measure_postman(*, users: dict, heavy: str, typical: str, thread_users, typical_thread, page_size: int) -> dict:
    from django.db.models import Q
    from postman.models import Message

    from bench.measure import time_call

    results = {}
    for label, name in (("heavy", heavy), ("typical", typical)):
        user = users[name]
        queryset = Message.objects.inbox(user)
        # Its inbox view is a ListView paginated by the page size: a count and one page.
        results[f"inbox ({label})"] = time_call(
            lambda i, q=queryset: (q.count(), list(q[:page_size])), iterations=100, budget_s=10, minimum=5
        )
        results[f"unread ({label})"] = time_call(lambda i, u=user: Message.objects.inbox_unread_count(u))
    for key, (first, second) in (("thread", thread_users), ("thread (typical)", typical_thread)):
        a, b = users[first], users[second]
        thread_id = (
            Message.objects.filter(Q(sender=a, recipient=b) | Q(sender=b, recipient=a))
            .order_by("id")
            .values("id")
            .first()
        )["id"]
        # Its thread view shows the whole thread, oldest first.
        results[key] = time_call(
            lambda i, a=a, t=thread_id: list(Message.objects.thread(a, Q(thread=t))),
            iterations=100,
            budget_s=10,
            minimum=5,
        )
    return results


def measure_pinax(*, users: dict, heavy: str, typical: str, thread_users, typical_thread, page_size: int) -> dict:
    from pinax.messages.models import Thread

    from bench.measure import time_call

    results = {}
    for label, name in (("heavy", heavy), ("typical", typical)):
        user = users[name]
        # Its inbox view renders Thread.ordered(Thread.inbox(user)), each thread with its latest_message.
        results[f"inbox ({label})"] = time_call(
            lambda i, u=user: [(t.pk, t.latest_message.sent_at) for t in Thread.ordered(Thread.inbox(u))],
            iterations=100,
            budget_s=10,
            minimum=3,
        )
        results[f"unread ({label})"] = time_call(lambda i, u=user: Thread.unread(u).count())
    for key, (first, second) in (("thread", thread_users), ("thread (typical)", typical_thread)):
        a, b = users[first], users[second]
        thread = Thread.inbox(a).filter(pk__in=Thread.inbox(b).values("pk")).first()
        # Its thread view shows every message of the thread, oldest first.
        results[key] = time_call(lambda i, t=thread: list(t.messages.all()), iterations=100, budget_s=10, minimum=5)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="Relay's benchmark database URL")
    parser.add_argument("--heavy", required=True)
    parser.add_argument("--typical", required=True)
    parser.add_argument("--thread", nargs=2, required=True, metavar=("USER", "OTHER"))
    parser.add_argument("--typical-thread", nargs=2, required=True, metavar=("USER", "OTHER"))
    parser.add_argument("--page-size", type=int, default=20)
    args = parser.parse_args()
    app = os.environ.get("BENCH_COMPETITOR", "postman")

    def log(line):
        print(line, file=sys.stderr, flush=True)

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    database = settings.DATABASES["default"]
    target_url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    with psycopg.connect(target_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database["NAME"]]).fetchone():
            admin.execute(f'CREATE DATABASE "{database["NAME"]}"')
    call_command("migrate", verbosity=0)
    load_info = load(app=app, source_url=args.source, target_url=target_url, log=log)
    names = {args.heavy, args.typical, *args.thread, *args.typical_thread}
    users = {user.username: user for user in get_user_model().objects.filter(username__in=names)}
    measure = measure_postman if app == "postman" else measure_pinax
    results = measure(
        users=users,
        heavy=args.heavy,
        typical=args.typical,
        thread_users=args.thread,
        typical_thread=args.typical_thread,
        page_size=args.page_size,
    )
    package = "django-postman" if app == "postman" else "pinax-messages"
    versions = {"django": django.get_version(), package: version(package)}
    print(
        json.dumps(
            {"app": app, "database": database["NAME"], "versions": versions, "load": load_info, "results": results}
        )
    )


if __name__ == "__main__":
    main()
