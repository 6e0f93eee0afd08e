"""`python -m bench`: Relay's benchmarks on a 1M-message PostgreSQL dataset, written to BENCHMARKS.md.

Run from the repository root with DATABASE_URL pointing at a PostgreSQL database that `manage.py migrate`
has prepared (it is emptied and filled with the benchmark data when it doesn't hold it yet):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_bench python -m bench

Steps: data (bench/generate.py), in-process latency and query counts (bench/inprocess.py), EXPLAIN ANALYZE
of the hot queries (bench/plans.py), HTTP throughput under gunicorn + wrk (bench/http.py), django-postman and
pinax-messages on the same data in their own virtualenvs (bench/competitors/). Options skip any of them.
The HTTP loads run beside two floors on the same stack (bench/floor.py) and are reported as fractions of them.
`python -m bench.compare` runs the in-process cases and the HTTP loads of two checkouts side by side.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_MARK = "<!-- bench:results:start -->"
END_MARK = "<!-- bench:results:end -->"


def _setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("JWT_ACCESS_MINUTES", "120")  # tokens of the HTTP run outlive it
    os.environ.setdefault("THROTTLE_SEND_RATE", "1000000/min")  # the send case is not a throttle test
    import django

    django.setup()


def _machine() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "load average at start (1/5/15 min)": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "postgresql": f"{pg} (shared_buffers {shared_buffers}, default configuration)",
        "python": platform.python_version(),
    }


def _ensure_data(*, force: bool, log) -> dict | None:
    from django.db import connection

    from .generate import generate

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM messaging_message")
        count = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM users_user WHERE username = 'heavy1'")
        has_bench_users = cursor.fetchone()[0] == 1
    if not force and count >= 900_000 and has_bench_users:
        log(f"data: {count} messages already loaded (--generate to rebuild)")
        return None
    log("data: generating 10,000 users and 1,000,000 messages")
    return generate(log=log)


def _vacuum(*, log) -> None:
    """Earlier runs' writes (undone, but dead rows) clear the visibility map that index-only scans need;
    autovacuum restores it in production, this does it now so every run starts from the same state."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) messaging_message")
    log("data: vacuumed and analyzed messaging_message")


def _competitors(subjects, *, log) -> dict:
    from django.conf import settings

    script = ROOT / "bench" / "setup_competitors.sh"
    log("competitors: preparing the bench virtualenvs (bench/setup_competitors.sh)")
    subprocess.run([str(script)], check=True)
    database = settings.DATABASES["default"]
    source = (
        f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
    )
    results = {}
    for app, venv in (
        ("postman", os.environ.get("BENCH_VENV", "/work/bench-venv")),
        ("pinax", os.environ.get("BENCH_VENV_PINAX", "/work/bench-venv-pinax")),
    ):
        env = {**os.environ, "BENCH_COMPETITOR": app, "COMPETITORS_DATABASE_URL": source + f"_competitors_{app}"}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        command = [
            f"{venv}/bin/python",
            str(ROOT / "bench" / "competitors" / "run.py"),
            "--source",
            source,
            "--heavy",
            subjects.heavy.username,
            "--typical",
            subjects.typical.username,
            "--thread",
            subjects.long_a.username,
            subjects.long_b.username,
            "--typical-thread",
            subjects.typical.username,
            subjects.typical_partner.username,
        ]
        log(f"competitors: {app}")
        completed = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
        sys.stderr.write(completed.stderr if completed.returncode else "")
        if completed.returncode:
            results[app] = {"error": completed.stderr.strip().splitlines()[-1]}
            continue
        results[app] = json.loads(completed.stdout.strip().splitlines()[-1])
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--generate", action="store_true", help="rebuild the dataset even if it is there")
    parser.add_argument("--quick", action="store_true", help="fewer runs per case (a smoke run)")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-competitors", action="store_true")
    parser.add_argument("--skip-plans", action="store_true")
    parser.add_argument("--skip-inprocess", action="store_true")
    parser.add_argument("--http-duration", type=int, default=15, help="seconds of wrk per scenario")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"), help="markdown file to update ('' for none)")
    args = parser.parse_args(argv)

    def log(line):
        print(line, flush=True)

    if "DATABASE_URL" not in os.environ or not os.environ["DATABASE_URL"].startswith("postgres"):
        parser.error("set DATABASE_URL to a PostgreSQL database prepared by `manage.py migrate`")
    _setup_django()
    from . import inprocess, report
    from .plans import explain_request

    started = time.perf_counter()
    machine = _machine()
    generation = _ensure_data(force=args.generate, log=log)
    _vacuum(log=log)
    subjects = inprocess.choose_subjects()
    for key, value in subjects.facts.items():
        log(f"subject {key}: {value}")

    cases = inprocess.relay_cases(subjects)
    legacy, notes = inprocess.legacy_cases(subjects)
    rows = []
    if args.skip_inprocess:
        cases, legacy = [], []
    for case in [*cases, *legacy]:
        result = inprocess.run_case(case, quick=args.quick)
        rows.append((case, result))
        log(report.format_row(case, result))
    for note in notes:
        log(note)

    plans = {}
    if not args.skip_plans:
        _vacuum(log=log)  # the write cases above left dead rows: explain the steady state
        s = subjects
        for title, user, method, path, data in (
            ("conversations (heavy user)", s.heavy, "get", "/api/messages/conversations", None),
            ("thread deep cursor page", s.long_a, "get", s.deep_cursor, None),
            ("unread-count (heavy user)", s.heavy, "get", "/api/messages/unread-count", None),
            ("search common word (heavy user)", s.heavy, "post", "/api/messages/search", {"query": "meeting"}),
            ("participants ?search=ada (heavy user)", s.heavy, "get", "/api/messages/participants?search=ada", None),
        ):
            plans[title] = explain_request(user=user, method=method, path=path, data=data)
        log(f"plans: {sum(len(p) for p in plans.values())} queries explained")

    http = {"skipped": "--skip-http"}
    if not args.skip_http:
        from .http import run_http

        http = run_http(subjects=subjects, duration=args.http_duration, log=log)
        _vacuum(log=log)  # the send run's messages are deleted; their dead rows would slow the user's lists

    competitors = {"skipped": "--skip-competitors"}
    if not args.skip_competitors:
        competitors = _competitors(subjects, log=log)

    relay_reference = report.relay_reference(subjects, quick=args.quick)
    machine["load average at end (1/5/15 min)"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    text = report.render(
        command="DATABASE_URL=... python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=machine,
        generation=generation,
        subjects=subjects,
        rows=rows,
        notes=notes,
        plans=plans,
        http=http,
        competitors=competitors,
        relay_reference=relay_reference,
        elapsed=time.perf_counter() - started,
    )
    print()
    print(report.summary(rows=rows, http=http, competitors=competitors, relay_reference=relay_reference))
    if args.output:
        report.write(Path(args.output), text, start=START_MARK, end=END_MARK)
        log(f"written: {args.output}")


if __name__ == "__main__":
    main()
