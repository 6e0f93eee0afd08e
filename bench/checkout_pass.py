"""One checkout's side of `python -m bench.compare`: the comparison starts one per checkout and drives both.

It runs in a process whose working directory and first import path are the measured checkout, so `config`,
the apps and `bench` are that checkout's; this package (the comparison's own `bench`) is importable beside
it under another name (`relay_bench`, through PYTHONPATH). The in-process cases are the checkout's own
(`bench.inprocess` of that checkout: each measures its code the way its bench does, and the comparison
pairs the cases by name); the inbox-at-scale rows (`inbox_at_scale`), the HTTP loads and the floors are this
package's (`bench/http.py`), the same for both checkouts.

    --prepare: make sure the database holds the benchmark data (the checkout's own `bench.generate`), then
               VACUUM ANALYZE it.
    otherwise: measure one case or load at a time, as the comparison asks (`serve`).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("JWT_ACCESS_MINUTES", "120")  # tokens of the HTTP run outlive it
    os.environ.setdefault("THROTTLE_SEND_RATE", "1000000/min")  # the send case is not a throttle test
    import django

    django.setup()


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def prepare() -> None:
    """Load the benchmark data with the checkout's own generator unless the database holds it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM messaging_message")
        count = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM users_user WHERE username = 'heavy1'")
        has_bench_users = cursor.fetchone()[0] == 1
    if count >= 900_000 and has_bench_users:
        _log(f"  data: {count} messages already loaded")
    else:
        from bench.generate import generate

        _log("  data: generating 10,000 users and 1,000,000 messages (the checkout's bench/generate.py)")
        generate(log=_log)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


SCALE_TARGETS = (10, 100, 1_000, 10_000)
PARTNERS_SQL = """
WITH ends AS (
    SELECT sender_id AS u, recipient_id AS p FROM messaging_message
    UNION SELECT recipient_id, sender_id FROM messaging_message
), per AS (
    SELECT ends.u, count(*) AS n FROM ends JOIN users_user ON users_user.id = ends.u
    WHERE users_user.is_active GROUP BY ends.u
)
SELECT t, chosen.u, chosen.n, users_user.username
FROM unnest(%s::int[]) AS t
CROSS JOIN LATERAL (SELECT u, n FROM per ORDER BY abs(n - t), u LIMIT 1) AS chosen
JOIN users_user ON users_user.id = chosen.u
ORDER BY t
"""


def inbox_at_scale(*, quick: bool) -> dict:
    """The conversation list, in-process, for the users nearest 10, 100, 1,000 and 10,000 partners (the rows of
    `bench.scaling`, issue 14's inbox-at-scale targets, without its optional giant1: the dataset's largest
    user, heavy1, has about 6,800): per row's name, a call that measures it. Partners are counted from the
    messages, so both checkouts pick the same users whatever their summary tables hold.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.test import APIClient

    from .measure import time_call

    with connection.cursor() as cursor:
        cursor.execute(PARTNERS_SQL, [list(SCALE_TARGETS)])
        chosen = cursor.fetchall()
    users = get_user_model().objects.in_bulk([user_id for _, user_id, _, _ in chosen])

    def measure(user) -> dict:
        client = APIClient()
        client.force_authenticate(user)
        errors = []

        def call(i):
            response = client.get("/api/messages/conversations")
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.content[:200]!r}")

        result = time_call(call, iterations=30 if quick else 100, warmup=5, budget_s=3 if quick else 8)
        result["errors"], result["first_error"] = len(errors), errors[0] if errors else ""
        return result

    return {
        f"inbox at scale: conversations, ~{target:,} partners ({username}, {partners:,})": (
            lambda user=users[user_id]: measure(user)
        )
        for target, user_id, partners, username in chosen
    }


MARK = "@@relay-bench@@ "  # the start of a reply on stdout (anything else there is passed on as a log)


def _reply(value) -> None:
    sys.stdout.write(MARK + json.dumps(value, default=str) + "\n")
    sys.stdout.flush()


def serve(*, inprocess_mode: str, http_duration: int, connections: int) -> None:
    """Answer the comparison's requests, one JSON line each on stdin, one reply each on stdout: first the
    cases, loads and subjects on offer, then `{"do": "case", "name": ...}` (one in-process case),
    `{"do": "http-start"}`, `{"do": "load", "name": ...}` (one HTTP load), `{"do": "http-stop"}`,
    `{"do": "vacuum"}`, `{"do": "quit"}`. The comparison interleaves two such processes case by case.
    """
    from django.db import connection

    from bench import inprocess

    from .http import LOADS, HttpBench

    def vacuum():
        # Earlier writes (undone, but dead rows) would slow the reads: every round starts the same.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) messaging_message")

    vacuum()
    subjects = inprocess.choose_subjects()
    quick = inprocess_mode == "quick"
    cases = {}
    if inprocess_mode != "none":
        relay = inprocess.relay_cases(subjects)
        legacy, _notes = inprocess.legacy_cases(subjects)
        cases = {case.name: (lambda case=case: inprocess.run_case(case, quick=quick)) for case in [*relay, *legacy]}
        cases.update(inbox_at_scale(quick=quick))
    http = HttpBench(subjects=subjects, connections=connections, log=_log)
    loads, skipped = [], []
    if http_duration:
        if reason := http.unavailable():
            raise SystemExit(reason)
        loads, skipped = http.served(list(LOADS))
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path.cwd())
    _reply(
        {
            "facts": subjects.facts,
            "cases": list(cases),
            "loads": loads,
            "skipped_loads": skipped,
            "commit": commit.stdout.strip(),
        }
    )
    try:
        for line in sys.stdin:
            request = json.loads(line)
            if request["do"] == "case":
                started = time.perf_counter()
                result = cases[request["name"]]()
                _log(f"  {request['name']:<58} p50 {result['p50']:7.2f} ms ({time.perf_counter() - started:.0f} s)")
                _reply(result)
            elif request["do"] == "http-start":
                http.start()
                _reply({})
            elif request["do"] == "load":
                _reply(http.measure(request["name"], http_duration))
            elif request["do"] == "http-stop":
                http.stop()
                _reply({key: value for key, value in http.results.items() if not isinstance(value, dict)})
            elif request["do"] == "vacuum":
                vacuum()
                _reply({})
            elif request["do"] == "quit":
                break
    finally:
        http.stop()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m relay_bench.checkout_pass", description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--inprocess", choices=("quick", "full", "none"), default="quick")
    parser.add_argument("--http-duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    _setup_django()
    if args.prepare:
        prepare()
    else:
        serve(inprocess_mode=args.inprocess, http_duration=args.http_duration, connections=args.connections)


if __name__ == "__main__":
    main()
