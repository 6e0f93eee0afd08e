"""`python -m bench.compare`: two checkouts side by side, the same data, the same machine, alternating rounds.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_bench \\
        python -m bench.compare --base /work/wt-base --head /work/main [--rounds 3] [--output table.md]

Prints a markdown table (ready for BENCHMARKS.md) of every in-process case and HTTP load: per checkout the
median of the rounds and their spread (lowest-highest), and head/base. The HTTP loads also show their
fraction of the floor in the same round (`bench/floor.py`) and the CPU per request of gunicorn's workers and of
PostgreSQL's backends. A change past 15% for the worse (issue 26's limit) is marked. Raw numbers: --json
(default artifacts/bench_compare.json under this checkout).

How it runs:
- Databases: `<name>_base` and `<name>_head` on DATABASE_URL's server (`<name>` is DATABASE_URL's
  database, which is not touched). `<name>_base` is made once and migrated by the base checkout, and the
  base checkout's own `bench/generate.py` loads the 1M-message dataset into it (about 2.5 minutes, the first
  time; kept after). `<name>_head` is copied from it afresh on every run (`CREATE DATABASE ... TEMPLATE`)
  and migrated by the head checkout: the head's code runs on the base's data as production would after the
  upgrade. Both are then `VACUUM (ANALYZE)`d.
- One process per checkout (`bench/checkout_pass.py`), in the checkout, with its virtualenv (`.venv`, else
  this Python), each with its own HTTP server and port. This tool asks them for one measurement at a time
  and alternates between them: each in-process case and each HTTP load runs on both checkouts back to back,
  the first of the two alternating from one case to the next and from one round to the next, so a burst of
  other load on the machine falls on both; head/base is the median of the rounds' paired ratios. The cases
  are the checkout's own (`bench/inprocess.py`, paired by name; `--inprocess quick`: up to 30 requests per
  case, `full`: up to 200), plus the inbox-at-scale rows; the HTTP loads are this package's
  (`bench/http.py`: gunicorn as in docs/operations.md's production line, wrk `-t2 -c16`, `--http-duration` seconds per
  load, the floors among them). `--case TEXT` (repeatable) keeps only the in-process cases whose name contains
  it: with `--http-duration 0`, a case re-run alone over more rounds.
- The base database keeps whatever a previous run left in it: `--fresh` drops it and loads the data again
  (needed when the base checkout changes its schema, or the database was made by another base).
- Environment: passed on to both. Set `REDIS_URL` (and an `EVENTS_KEY_PREFIX` of the run's own) to measure
  as production runs, with the throttle counters and the events in Redis.

With the defaults (3 rounds, quick in-process, 5 s per load) a run took 9.5 minutes on 2 shared cores (load
average 10-14), once the base database held the data. `--base` and `--head` may be the same checkout (the
noise level: ratios near 1). The machine's other load is the noise: compare on a quiet machine, and with
more `--rounds` where a change is near 15%.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .checkout_pass import MARK
from .compare_table import render

HERE = Path(__file__).resolve().parent
ALIAS = "relay_bench"  # this package's name inside a pass, beside the measured checkout's own `bench`


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _python(checkout: Path) -> str:
    venv = checkout / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _describe(checkout: Path) -> str:
    """`<short commit> <subject>`, and whether the work tree has uncommitted changes."""

    def git(*args):
        return subprocess.run(["git", "-C", str(checkout), *args], capture_output=True, text=True).stdout.strip()

    dirty = " (plus uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    line = git("log", "-1", "--format=%h %s")
    return f"{line if len(line) <= 80 else line[:79] + '…'}{dirty}"


class Databases:
    """The two databases on DATABASE_URL's server and an administrative connection to it."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        name = parts.path.lstrip("/") or "relay_bench"
        self.names = {"base": f"{name}_base", "head": f"{name}_head"}
        self.urls = {side: urlunsplit(parts._replace(path="/" + db)) for side, db in self.names.items()}
        self.admin_url = urlunsplit(parts._replace(path="/postgres"))

    def admin(self, *statements: str, database: str | None = None) -> list:
        import psycopg

        url = self.admin_url if database is None else self.urls[database]
        with psycopg.connect(url, autocommit=True) as conn:
            rows = []
            for statement in statements:
                cursor = conn.execute(statement)
                rows = cursor.fetchall() if cursor.description else []
            return rows

    def exists(self, side: str) -> bool:
        return bool(self.admin(f"SELECT 1 FROM pg_database WHERE datname = '{self.names[side]}'"))

    def server_version(self) -> str:
        return self.admin("SHOW server_version")[0][0]


def _run(command: list[str], *, checkout: Path, env: dict) -> None:
    completed = subprocess.run(command, cwd=checkout, env=env)  # noqa: S603
    if completed.returncode:
        raise SystemExit(f"failed ({completed.returncode}) in {checkout}: {' '.join(command)}")


def _pass_env(shim: Path, url: str, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["DATABASE_URL"] = url
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(shim), os.environ.get("PYTHONPATH")]))
    env["BENCH_HTTP_PORT"] = str(port)
    return env


def prepare(databases: Databases, checkouts: dict[str, Path], shim: Path, *, fresh: bool) -> None:
    """Base: created, migrated by base, loaded by base's generator; head: a copy of it, migrated by head."""
    port = _free_port()
    base, head = checkouts["base"], checkouts["head"]
    if fresh:
        databases.admin(f'DROP DATABASE IF EXISTS "{databases.names["base"]}" WITH (FORCE)')
    if not databases.exists("base"):
        _log(f"prepare: creating {databases.names['base']}")
        databases.admin(f'CREATE DATABASE "{databases.names["base"]}"')
    env = _pass_env(shim, databases.urls["base"], port)
    _log(f"prepare: migrating {databases.names['base']} with {base}")
    _run([_python(base), "manage.py", "migrate", "--noinput", "-v0"], checkout=base, env=env)
    _run([_python(base), "-m", f"{ALIAS}.checkout_pass", "--prepare"], checkout=base, env=env)
    _log(f"prepare: copying it to {databases.names['head']} and migrating that with {head}")
    databases.admin(
        f'DROP DATABASE IF EXISTS "{databases.names["head"]}" WITH (FORCE)',
        f'CREATE DATABASE "{databases.names["head"]}" TEMPLATE "{databases.names["base"]}" STRATEGY FILE_COPY',
    )
    env = _pass_env(shim, databases.urls["head"], port)
    _run([_python(head), "manage.py", "migrate", "--noinput", "-v0"], checkout=head, env=env)
    databases.admin("VACUUM (ANALYZE)", database="head")


class Side:
    """One checkout's process (`python -m relay_bench.<module> <arguments>` in the checkout, its database's
    URL in DATABASE_URL), asked for one thing at a time: a JSON line on its stdin, a reply line (MARK) on its
    stdout. The first reply is its offer. `bench.checkout_pass` serves this tool, `bench.send_growth` its own.
    """

    def __init__(self, name: str, checkout: Path, url: str, shim: Path, module: str, arguments: list[str]):
        self.name = name
        command = [_python(checkout), "-m", f"{ALIAS}.{module}", *arguments]
        self.process = subprocess.Popen(  # noqa: S603
            command,
            cwd=checkout,
            env=_pass_env(shim, url, _free_port()),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.offer = self._read()

    def _read(self) -> dict:
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise SystemExit(f"the {self.name} checkout's process ended ({self.process.wait()})")
            if line.startswith(MARK):
                return json.loads(line[len(MARK) :])
            sys.stderr.write(line)

    def ask(self, **request) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.write(json.dumps({"do": "quit"}) + "\n")
            self.process.stdin.close()
            self.process.wait(timeout=120)


def _order(round_: int, index: int) -> tuple[str, str]:
    """Which side goes first: alternating from one case to the next and from one round to the next."""
    return ("base", "head") if (round_ + index) % 2 == 0 else ("head", "base")


def run_rounds(
    sides: dict[str, Side], rounds: int, started: float, only: list[str] | None = None
) -> dict[str, list[dict]]:
    """Every case (or those whose name contains one of `only`), then every load, of both sides back to back, in
    alternating order; `rounds` times."""

    def union(key):
        names = []
        for side in ("base", "head"):
            names += [name for name in sides[side].offer[key] if name not in names]
        return names

    cases, loads = union("cases"), union("loads")
    if only:
        cases = [name for name in cases if any(part in name for part in only)]
    runs: dict[str, list[dict]] = {"base": [], "head": []}
    for round_ in range(rounds):
        _log(f"round {round_ + 1}/{rounds}, {time.perf_counter() - started:.0f} s")
        got = {side: {"facts": sides[side].offer["facts"], "inprocess": {}, "http": {}} for side in sides}
        for side in sides:
            sides[side].ask(do="vacuum")
        for index, name in enumerate(cases):
            for side in _order(round_, index):
                if name in sides[side].offer["cases"]:
                    got[side]["inprocess"][name] = sides[side].ask(do="case", name=name)
        if loads:
            for side in sides:
                sides[side].ask(do="http-start")
            for index, name in enumerate(loads):
                for side in _order(round_, index):
                    if name in sides[side].offer["loads"]:
                        got[side]["http"][name] = sides[side].ask(do="load", name=name)
            for side in sides:
                got[side]["http"].update(sides[side].ask(do="http-stop"))
        for side in sides:
            runs[side].append(got[side])
    return runs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.compare", description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, type=Path, help="the checkout measured as before")
    parser.add_argument("--head", required=True, type=Path, help="the checkout measured as after")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--inprocess", choices=("quick", "full", "none"), default="quick")
    parser.add_argument("--http-duration", type=int, default=5, help="seconds of wrk per load (0: no HTTP)")
    parser.add_argument("--fresh", action="store_true", help="drop the base database and load the data again")
    parser.add_argument("--connections", type=int, default=16, help="wrk's connections")
    parser.add_argument(
        "--case", action="append", help="only the in-process cases whose name contains this (repeatable)"
    )
    parser.add_argument("--output", help="also write the markdown to this file")
    parser.add_argument("--json", default=str(HERE.parent / "artifacts" / "bench_compare.json"), help="raw numbers")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        parser.error("set DATABASE_URL to a PostgreSQL server and a database name to derive the run's from")
    checkouts = {"base": args.base.resolve(), "head": args.head.resolve()}
    for checkout in checkouts.values():
        if not (checkout / "manage.py").exists():
            parser.error(f"{checkout} is not a Relay checkout (no manage.py)")
    started = time.perf_counter()
    databases = Databases(url)
    machine = {
        "load average at start (1/5/15 min)": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "nproc": os.cpu_count(),
        "postgresql": databases.server_version(),
        "redis": "REDIS_URL set (throttle counters and events in Redis)"
        if os.environ.get("REDIS_URL")
        else "none (REDIS_URL unset: in-process broker and cache)",
    }
    with tempfile.TemporaryDirectory() as shim_dir:
        shim = Path(shim_dir)
        (shim / ALIAS).symlink_to(HERE, target_is_directory=True)
        prepare(databases, checkouts, shim, fresh=args.fresh)
        sides = {}
        try:
            for side in ("base", "head"):
                _log(f"starting the {side} checkout's process ({checkouts[side]})")
                arguments = ["--inprocess", args.inprocess, "--http-duration", str(args.http_duration)]
                arguments += ["--connections", str(args.connections)]
                sides[side] = Side(side, checkouts[side], databases.urls[side], shim, "checkout_pass", arguments)
            runs = run_rounds(sides, args.rounds, started, args.case)
        finally:
            for side in sides.values():
                side.close()
    machine["load average at end (1/5/15 min)"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    meta = {
        "command": "DATABASE_URL=... python -m bench.compare " + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "minutes": (time.perf_counter() - started) / 60,
        "rounds": args.rounds,
        "databases": databases.names,
        "base": _describe(checkouts["base"]).split()[0],
        "head": _describe(checkouts["head"]).split()[0],
        "base_path": checkouts["base"],
        "head_path": checkouts["head"],
        "base_commit": _describe(checkouts["base"]),
        "head_commit": _describe(checkouts["head"]),
        "machine": machine,
        "facts": next((run["facts"] for run in runs["base"]), {}),
    }
    write_report(render(runs=runs, meta=meta), {"meta": meta, "runs": runs}, json_path=args.json, output=args.output)


def write_report(text: str, raw: dict, *, json_path: str | None, output: str | None) -> None:
    """Print the markdown; write the raw numbers to `json_path` and the markdown to `output` when given."""
    print(text)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(raw, default=str, indent=1))
        _log(f"raw numbers: {json_path}")
    if output:
        Path(output).write_text(text)
        _log(f"written: {output}")


if __name__ == "__main__":
    main()
