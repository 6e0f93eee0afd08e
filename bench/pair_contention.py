"""`python -m bench.pair_contention`: sends into one busy conversation, at the database alone, with the
summary's additions taking their pair's lock exclusively (messaging 0007, what runs) and shared (the
alternative measured), side by side.

    DATABASE_URL=postgres://postgres@127.0.0.1:5433/relay_bench python -m bench.pair_contention \\
        [--clients 1,2,4,8,16] [--seconds 5] [--rounds 2]

A send is one INSERT whose statement trigger adds to the pair's two summary rows and the recipient's totals
(`relay_summary_add`). Many clients sending into one pair at once queue on the pair's advisory lock, then on
those rows. Additions commute, so they could share the lock (`pg_advisory_xact_lock_shared`), leaving only a
recomputation to take it alone; this measures whether that helps. (Measured: on a quiet machine it does not,
and it is slower past 8 clients: the waiters then pile on the rows' own locks. On a machine loaded by other
work it was faster, where the exclusive lock's holder was often descheduled.) This runs PostgreSQL's own `pgbench` (from the server's
packages: `/usr/lib/postgresql/<version>/bin`, or on PATH) with one such INSERT as its transaction, between
two people of its own (`contention-a` to `contention-b`), for each number of clients, once with each form of
`relay_summary_add` installed (alternating which goes first from one round to the next), and prints the
transactions per second as a markdown table. Afterwards it puts back the migrations' function (0007's) and
deletes what it sent. The database must be migrated (the bench data is not needed, but measure on it: the
tables' size is part of the cost).
"""

import argparse
import importlib
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import django

BODY = "pair contention"
EXCLUSIVE = "exclusive (0007)"
SHARED = "shared"


def pgbench() -> str:
    found = shutil.which("pgbench") or next(
        (str(path) for path in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True)), None
    )
    if found is None:
        raise SystemExit("pgbench not found: it comes with PostgreSQL's server packages")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,2,4,8,16")
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

    from django.db import connection

    from users.models import User

    sender, _ = User.objects.get_or_create(username="contention-a", defaults={"email": "contention-a@example.com"})
    recipient, _ = User.objects.get_or_create(username="contention-b", defaults={"email": "contention-b@example.com"})
    add = importlib.import_module("messaging.migrations.0007_summary_functions_written_down").ADD
    functions = {EXCLUSIVE: add, SHARED: add.replace("pg_advisory_xact_lock(", "pg_advisory_xact_lock_shared(")}
    assert functions[SHARED] != add, "0007's relay_summary_add no longer takes the pair's lock as measured here"
    url = urlsplit(os.environ.get("DATABASE_URL", ""))
    target = [
        "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres",
        url.path.lstrip("/"),
    ]  # fmt: skip
    clients = [int(n) for n in args.clients.split(",")]
    tps: dict[tuple[str, int], list[float]] = {}
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(
            "INSERT INTO messaging_message (sender_id, recipient_id, body, attachment_name,"
            " attachment_content_type, created_at, hidden_reason, legacy_file_name)"
            f" VALUES ({sender.pk}, {recipient.pk}, '{BODY}', '', '', now(), '', '');\n"
        )
        script.flush()
        try:
            for round_ in range(args.rounds):
                order = list(functions) if round_ % 2 == 0 else list(reversed(functions))
                for count in clients:
                    for name in order:
                        with connection.cursor() as cursor:
                            cursor.execute(functions[name])
                        command = [pgbench(), "-n", "-M", "prepared", "-c", str(count), "-j", str(min(count, 2))]
                        command += ["-T", str(args.seconds), "-f", script.name, *target]
                        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
                        line = next(line for line in output.splitlines() if line.startswith("tps = "))
                        tps.setdefault((name, count), []).append(float(line.split()[2]))
                        print(f"round {round_ + 1}, {count} clients, {name}: {tps[(name, count)][-1]:.0f} tps")
        finally:
            with connection.cursor() as cursor:
                cursor.execute(functions[EXCLUSIVE])  # the migrations' text
                # Literal: the ORM's delete collects the rows and their relations first, past PostgreSQL's
                # 65,535 parameters after a few seconds of sends.
                cursor.execute(
                    "DELETE FROM messaging_message WHERE sender_id = %s AND recipient_id = %s AND body = %s",
                    [sender.pk, recipient.pk, BODY],
                )

    names = list(functions)
    print(f"\n| clients | {' | '.join(names)} | shared / exclusive |")
    print(f"|---|{'---|' * len(names)}---|")
    for count in clients:
        cells = [tps[(name, count)] for name in names]
        ratio = statistics.median(cells[1]) / statistics.median(cells[0])
        text = " | ".join(f"{statistics.median(c):,.0f} ({min(c):,.0f}-{max(c):,.0f})" for c in cells)
        print(f"| {count} | {text} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
