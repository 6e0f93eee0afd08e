"""One pass of `python -m bench.compare` over one checkout; the comparison starts it, once per checkout and round.

It runs in a process whose working directory and first import path are the measured checkout, so `config`,
the apps and `bench` are that checkout's; this package (the comparison's own `bench`) is importable beside
it under another name (`relay_bench`, through PYTHONPATH). The in-process cases are the checkout's own
(`bench.inprocess` of that checkout: each measures its code the way its bench does, and the comparison
pairs the cases by name); the HTTP loads and the floors are this package's (`bench/http.py`), the same for
both checkouts.

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
            _log(
                f"  {case.name:<58} p50 {result['p50']:7.2f} ms  cpu {result['cpu_p50']:6.2f} ms  "
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
