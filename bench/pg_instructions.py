"""Instructions per execution of the lists' page statements in PostgreSQL's backend, counted by valgrind: what
a statement costs the database, which the machine's other work does not move (`bench.instructions` counts the
Python process the same way).

    python -m bench.pg_instructions --callgrind-dir DIR [--executions 100] [--user USERNAME]

The PostgreSQL server of `DATABASE_URL` must run under callgrind, writing a file per backend into DIR (a
directory its user can write), for example, for the benchmark cluster:

    pg_ctlcluster 15 bench stop
    su postgres -c "valgrind --tool=callgrind --callgrind-out-file=DIR/cg.%p \\
        /usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/bench \\
        -c config_file=/etc/postgresql/15/bench/postgresql.conf" &

(stop it with `pg_ctl -D ... stop` and start the cluster again afterwards). For each statement (`STATEMENTS`,
taken from this checkout's code, as the lists run it: prepared, binary results, the typical user's page) it
opens two connections, one executing it 10 times and one 10 + `--executions` times, and prints the difference of
the two backends' instruction counts (written when each backend exits) divided by `--executions`: one execution
of the prepared statement's generic plan, with its Bind, Execute and rows sent, without the connection's start.
Run it in two checkouts against the same server to compare them.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from pathlib import Path
from typing import Any

_SUMMARY = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)


def statements(user: Any) -> dict[str, tuple[str, Any]]:  # a User; after django.setup()
    """The statements counted, with the parameters of `user`'s first page as each list asks for it."""
    from legacy_dm import conversations
    from messaging import list_reads
    from users import selectors as user_selectors

    return {
        "conversations page (new API, legacy direct-messages)": (
            list_reads._CONVERSATIONS_PAGE_SQL,
            {"user": user.pk, "offset": 0, "limit": 21},
        ),
        "legacy messaging page": (
            conversations._LISTED_PAGE_SQL,
            {"user": user.pk, "skip": 0, "limit": 50, "head": 50},
        ),
        "authentication's user (every request, the floors' only statement)": (
            user_selectors._USER_BY_ID_SQL,
            [user.pk],
        ),
    }


def backend_instructions(url: str, sql: str, params: Any, executions: int, directory: Path) -> int:
    """The instructions of a backend that executes `sql` 10 + `executions` times, read from its callgrind file."""
    import psycopg

    with psycopg.connect(url) as connection:
        (pid,) = connection.execute("SELECT pg_backend_pid()").fetchone() or (0,)
        cursor = connection.cursor(binary=True)
        for _ in range(10 + executions):
            cursor.execute(sql, params, prepare=True)
            cursor.fetchall()
    path = directory / f"cg.{pid}"
    for _ in range(300):  # the file is written as the backend exits
        if path.exists() and _SUMMARY.search(path.read_text(errors="replace")):
            break
        time.sleep(0.2)
    found = _SUMMARY.search(path.read_text(errors="replace"))
    if found is None:
        raise SystemExit(f"no callgrind count in {path}: is the server running under callgrind, writing to DIR?")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callgrind-dir", type=Path, required=True)
    parser.add_argument("--executions", type=int, default=100)
    parser.add_argument("--user", help="a username; default: bench.profile_send's typical user")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from psycopg.conninfo import make_conninfo

    from bench.profile_send import typical_user
    from users.models import User

    database = settings.DATABASES["default"]
    url = make_conninfo(
        host=database["HOST"], port=database["PORT"], user=database["USER"], password=database["PASSWORD"],
        dbname=database["NAME"],
    )  # fmt: skip
    user = User.objects.get(username=args.user) if args.user else typical_user()
    for name, (sql, params) in statements(user).items():
        counts = [backend_instructions(url, sql, params, n, args.callgrind_dir) for n in (0, args.executions)]
        per_execution = (counts[1] - counts[0]) / args.executions
        print(f"{name}: {per_execution / 1e3:.0f} K instructions per execution", flush=True)


if __name__ == "__main__":
    main()
