"""Instructions per request of the Python process, counted by valgrind: a measure of a request's CPU that the
machine's other work does not move.

    python -m bench.instructions [--request conversations ...] [--requests 100] [--warm-up 50]

For each `--request` (the names of `bench.profile_send`: `floor`, `conversations`, `legacy-direct-messages`,
`legacy-messaging`, `floor-insert`, `send`; by default the floor and the three lists) it runs this module twice under
`valgrind --tool=callgrind`, each run a new process that makes the request `--warm-up` times and then 0 or
`--requests` more times, and prints the difference of the two runs' instruction counts divided by
`--requests`: what a request costs once the process is warm, without its start. The requests go through the
whole Django stack in the process, as in `bench.profile_send` (its settings, user and client), against the
database of `DATABASE_URL`, migrated. A write is counted as it is made again and again: a send adds to one
conversation, which `bench.send_growth` shows does not change what the next send costs. Only the Python
process is counted: not the kernel, not PostgreSQL. It also prints the SQL statements of one request. Needs `valgrind` (`apt-get install valgrind`); a run of the
four defaults takes a few minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

DEFAULT_REQUESTS = ("floor", "conversations", "legacy-direct-messages", "legacy-messaging")
_COLLECTED = re.compile(r"Collected : (\d+)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--request", action="append", help="repeatable; default: the floor and the three lists")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warm-up", type=int, default=50)
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)  # one process: make the requests, count none
    args = parser.parse_args()
    names = args.request or list(DEFAULT_REQUESTS)
    if args.run is not None:
        run(names[0], warm_up=args.warm_up, requests=args.run)
        return
    for name in names:
        counts = [count(name, warm_up=args.warm_up, requests=n) for n in (0, args.requests)]
        per_request = (counts[1] - counts[0]) / args.requests
        print(f"{name}: {per_request / 1e6:.3f} M instructions per request ({args.requests} requests)", flush=True)


def count(name: str, *, warm_up: int, requests: int) -> int:
    """The instructions of one process making `warm_up` and then `requests` requests `name`."""
    command = [sys.executable, "-m", "bench.instructions", "--request", name, "--warm-up", str(warm_up)]
    # The same hash seed in every run: a set's or dict's layout, and so its probing, does not vary.
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/out", *command, "--run", str(requests)],
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
    found = _COLLECTED.search(result.stderr)
    if result.returncode != 0 or found is None:
        sys.exit(f"{name}: the run under valgrind failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    if requests == 0:
        print(result.stdout, end="")  # the statements of one request, printed by the run
    return int(found.group(1))


def run(name: str, *, warm_up: int, requests: int) -> None:
    """Make the request `name` `warm_up` times and once more, printing its SQL, then `requests` times."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.floor_settings")
    os.environ.setdefault("THROTTLE_SEND_RATE", "1000000/min")  # as `bench.profile_send`: the send, not its limit
    os.environ.setdefault("DB_CONN_MAX_AGE", "600")  # as `bench.http`'s server: one connection, kept
    django.setup()

    from django.db import connection

    from bench.profile_send import REQUESTS, prepared_request

    method, path = REQUESTS[name]
    _, request, _ = prepared_request(name)

    for _ in range(warm_up):
        request()
    # The last request of the warm-up, in both runs: its statements (a wrapper, not CaptureQueriesContext: a
    # request's start resets the connection's query log).
    queries: list[str] = []
    with connection.execute_wrapper(
        lambda execute, sql, params, many, context: queries.append(sql) or execute(sql, params, many, context)
    ):
        request()
    print(f"{method} {path}: {len(queries)} SQL statements")
    for sql in queries:
        print(f"  {' '.join(sql.split())[:140]}")
    for _ in range(requests):
        request()


if __name__ == "__main__":
    main()
