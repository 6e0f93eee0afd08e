"""One pass of `python -m bench.compare` over one checkout; the comparison starts it, once per checkout and round.

It runs in a process whose working directory and first import path are the measured checkout, so `config`,
the apps and `bench` are that checkout's; this package (the comparison's own `bench`) is importable beside
it under another name (`relay_bench`, through PYTHONPATH). The in-process cases are the checkout's own
(`bench.inprocess` of that checkout: each measures its code the way its bench does, and the comparison
pairs the cases by name); the inbox-at-scale rows (`inbox_at_scale`), the HTTP loads and the floors are this
package's (`bench/http.py`), the same for both checkouts.

    --prepare: make sure the database holds the benchmark data (the checkout's own `bench.generate`), then
               VACUUM ANALYZE it.
    otherwise: measure, and write the results as JSON to --output.
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
    user, heavy1, has about 6,800). Partners are counted from the messages, so both checkouts pick the same
    users whatever their summary tables hold.
    """
    from django.contrib.auth import get_user_model
    from django.db import connection
    from rest_framework.test import APIClient

    from .measure import time_call

    with connection.cursor() as cursor:
        cursor.execute(PARTNERS_SQL, [list(SCALE_TARGETS)])
        chosen = cursor.fetchall()
    users = get_user_model().objects.in_bulk([user_id for _, user_id, _, _ in chosen])
    results = {}
    for target, user_id, partners, username in chosen:
        client = APIClient()
        client.force_authenticate(users[user_id])
        errors = []

        def call(i, client=client, errors=errors):
            response = client.get("/api/messages/conversations")
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.content[:200]!r}")

        result = time_call(call, iterations=30 if quick else 100, warmup=5, budget_s=3 if quick else 8)
        result["errors"], result["first_error"] = len(errors), errors[0] if errors else ""
        results[f"inbox at scale: conversations, ~{target:,} partners ({username}, {partners:,})"] = result
    return results


def measure(*, inprocess_mode: str, http_duration: int, connections: int) -> dict:
    """The checkout's in-process cases and this package's HTTP loads, on the data as it is."""
    from django.db import connection

    from bench import inprocess

    from .http import run_http

    def vacuum():
        # The last pass's writes (undone, but dead rows) would slow the reads: every pass starts the same.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) messaging_message")

    started = time.perf_counter()
    vacuum()
    subjects = inprocess.choose_subjects()
    results: dict = {"facts": subjects.facts, "inprocess": {}, "http": {}}
    if inprocess_mode != "none":
        cases = inprocess.relay_cases(subjects)
        legacy, _notes = inprocess.legacy_cases(subjects)
        for case in [*cases, *legacy]:
            result = inprocess.run_case(case, quick=inprocess_mode == "quick")
            results["inprocess"][case.name] = result
        results["inprocess"].update(inbox_at_scale(quick=inprocess_mode == "quick"))
        for name, result in results["inprocess"].items():
            _log(
                f"  {name:<58} p50 {result['p50']:7.2f} ms  cpu {result['cpu_p50']:6.2f} ms  "
                f"queries {result['queries']}  errors {result['errors']}"
            )
    if http_duration:
        results["http"] = run_http(subjects=subjects, duration=http_duration, connections=connections, log=_log)
        vacuum()
    results["seconds"] = time.perf_counter() - started
    return results


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m relay_bench.checkout_pass", description=__doc__.splitlines()[0])
    parser.add_argument("--prepare", action="store_true")
    parser.add_argument("--output", help="JSON file for the results")
    parser.add_argument("--inprocess", choices=("quick", "full", "none"), default="quick")
    parser.add_argument("--http-duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    _setup_django()
    if args.prepare:
        prepare()
        return
    results = measure(inprocess_mode=args.inprocess, http_duration=args.http_duration, connections=args.connections)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path.cwd())
    results["commit"] = commit.stdout.strip()
    Path(args.output).write_text(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
