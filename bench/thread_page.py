"""`python -m bench.thread_page`: the typical user's thread PAGE, Relay's before and after issue 28 and
django-postman's conversation page, timed in the same run on the same data.

Each side is one long-lived worker process, the page served end to end in process through Django's test client
with a logged-in session (a GET as a browser sends it: the rendered HTML, 200):

- `base`: Relay at `--base-root` (default /work/wt-pagebase, a worktree of the commit before issue 28), its
  `/inbox/with/<partner>/`, against its own copy of the data (`relay_page_base`);
- `head`: Relay at `--head-root` (this checkout), the same URL, against `relay_page_head`, migrated by it;
- `postman`: django-postman 4.6 in its bench virtualenv (bench/setup_competitors.sh), its `view_conversation`
  page (`/messages/view/t/<thread_id>/`, its own templates under bench/competitors/templates/base.html) for the
  same user and the same pair's messages, loaded from Relay's data by bench/competitors/run.py.

The two Relay databases are fresh copies of `--source` (`createdb -T`, so nothing may be connected to it), each
migrated by its own checkout; `--reuse-databases` keeps them from a previous run. Every side keeps its database
connection from request to request (`DB_CONN_MAX_AGE=600` / `CONN_MAX_AGE`) and runs with prepared statements.

A side logs in, opens the page once (the first visit marks the conversation read) and warms up; then, round after
round with the order of the sides rotating, each serves `--requests` GETs. After each round one more GET is
captured: its SQL statements, and how many of them write (INSERT/UPDATE/DELETE); after the first visit nothing is
unread, so a GET should write nothing. postman's read marks are put back at the end (its database is shared with
`python -m bench`); the Relay copies are scratch.

`--profile N` then runs cProfile over N requests of the head page and prints the top entries by cumulative time
of the project's code and of Django's template engine.
"""

import sys

if __name__ == "__main__" and sys.path[0].endswith("/bench"):  # run as a script (a worker): bench/http.py
    del sys.path[0]  # must not shadow the standard library's http

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = os.environ.get("BENCH_VENV", "/work/bench-venv")
WRITES = ("INSERT", "UPDATE", "DELETE")
GOAL = 1.5


# ---------------------------------------------------------------------------------------------- the workers


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


class Side:
    """One page of one app, served through Django's test client as a logged-in user."""

    def __init__(self, kind: str):
        self.kind = kind
        self.client: Any = None
        self.url = ""
        self.restore: Any = lambda: None

    def subjects(self) -> dict:
        from bench.inprocess import choose_subjects

        s: Any = choose_subjects()
        return {"typical": s.typical.username, "partner": s.typical_partner.username, "facts": s.facts}

    def setup(self, typical: str, partner: str, warmup: int) -> dict:
        from django.contrib.auth import get_user_model
        from django.test import Client

        users = get_user_model().objects.in_bulk([typical, partner], field_name="username")
        user, other = users[typical], users[partner]
        if self.kind == "relay":
            from messaging.models import Message

            self.url = f"/inbox/with/{other.pk}/"
            pair = Message.objects.between(user, other)
            shown_total = pair.visible_to(user).count()
            unread = pair.filter(recipient=user, read_at__isnull=True).count()
        else:
            from django.db.models import Q
            from postman.models import Message as PostmanMessage  # type: ignore[import-not-found]

            pair = PostmanMessage.objects.filter(Q(sender=user, recipient=other) | Q(sender=other, recipient=user))
            thread_id = pair.order_by("id").values_list("id", flat=True).first()
            self.url = f"/messages/view/t/{thread_id}/"
            shown_total = PostmanMessage.objects.thread(user, Q(thread=thread_id)).count()
            unread_ids = list(pair.filter(recipient=user, read_at__isnull=True).values_list("id", flat=True))
            unread = len(unread_ids)

            def restore(ids: list[int] = unread_ids) -> None:
                PostmanMessage.objects.filter(id__in=ids).update(read_at=None)

            self.restore = restore
        self.client = Client()
        self.client.force_login(user)
        first = self.check()
        for _ in range(warmup):
            self.get()
        return {
            "url": self.url,
            "unread before": unread,
            "messages in the thread": shown_total,
            "first visit": first,
        }

    def get(self):
        response = self.client.get(self.url)
        if response.status_code != 200 or b"</html>" not in response.content:
            raise SystemExit(f"{self.kind} {self.url}: {response.status_code} {response.content[:300]!r}")
        return response

    def check(self) -> dict:
        """One GET with its SQL captured: the statements, the writes among them, the page's size."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            response = self.get()
        sql = [q["sql"] for q in captured.captured_queries]
        marker = b'id="message-' if self.kind == "relay" else b'class="pm_message'
        return {
            "queries": len(sql),
            "writes": sum(1 for s in sql if s.lstrip().upper().startswith(WRITES)),
            "sql": [s[:160] for s in sql],
            "bytes": len(response.content),
            "shown": response.content.count(marker),
        }

    def round(self, requests: int) -> dict:
        samples, cpu = [], []
        for _ in range(requests):
            started, cpu_started = time.perf_counter(), time.process_time()
            self.get()
            samples.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        return {"samples": samples, "cpu": cpu, **self.check()}

    def profile(self, requests: int, root: str, top: int) -> dict:
        import cProfile
        import io
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            self.get()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(rf"^{root}/(?!\.venv)|django/template/", top)
        return {"text": out.getvalue() + self.template_times(requests)}

    def template_times(self, requests: int) -> str:
        """Each template's own render time (its nested templates' taken out), per request, without cProfile."""
        from django.template.base import Template

        original = Template.render
        totals: dict[str, list[float]] = {}
        stack: list[float] = []

        def render(template: Any, context: Any) -> Any:
            stack.append(0.0)
            started = time.perf_counter()
            try:
                return original(template, context)
            finally:
                spent = time.perf_counter() - started
                nested = stack.pop()
                if stack:
                    stack[-1] += spent
                entry = totals.setdefault(template.origin.template_name or str(template.origin), [0.0, 0.0, 0])
                entry[0] += spent - nested
                entry[1] += spent
                entry[2] += 1

        Template.render = render  # type: ignore[method-assign,assignment]
        try:
            started = time.perf_counter()
            for _ in range(requests):
                self.get()
            whole = (time.perf_counter() - started) / requests * 1000
        finally:
            Template.render = original  # type: ignore[method-assign]
        lines = [f"\nTemplates, ms per request (a request: {whole:.2f} ms here, timing wrappers included):"]
        lines.append(f"{'template':<44} {'own':>7} {'with nested':>12} {'renders':>8}")
        for name, (own, inclusive, calls) in sorted(totals.items(), key=lambda item: -item[1][0]):
            lines.append(
                f"{name:<44} {own / requests * 1000:7.2f} {inclusive / requests * 1000:12.2f} {calls / requests:8.1f}"
            )
        return "\n".join(lines)


def worker(kind: str, root: str) -> None:
    """A side's process: JSON commands on stdin, one JSON answer a line on stdout."""
    sys.path.insert(0, root)
    if kind == "relay":
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        os.environ.setdefault("DB_CONN_MAX_AGE", "600")
    else:
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.competitors.settings"
        os.environ["BENCH_COMPETITOR"] = "postman"
    import django

    django.setup()
    if kind == "postman":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # the sessions table, on a database run.py prepared
    side = Side(kind)
    for line in sys.stdin:
        command = json.loads(line)
        name = command.pop("cmd")
        if name == "quit":
            side.restore()
            answer: dict = {"ok": True}
        elif name == "subjects":
            answer = side.subjects()
        elif name == "setup":
            answer = side.setup(**command)
        elif name == "round":
            answer = side.round(**command)
        elif name == "profile":
            answer = side.profile(root=root, **command)
        else:
            raise SystemExit(f"unknown command {name}")
        print(json.dumps(answer), flush=True)
        if name == "quit":
            return


# ----------------------------------------------------------------------------------------- the orchestrator


class Worker:
    def __init__(self, label: str, command: list[str], env: dict, cwd: str):
        self.label = label
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=cwd, bufsize=1
        )

    def ask(self, cmd: str, **arguments: Any) -> dict:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"cmd": cmd, **arguments}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"{self.label}: the worker ended (exit {self.process.wait()})")
        return dict(json.loads(line))

    def close(self) -> None:
        if self.process.poll() is None:
            self.ask("quit")
            self.process.wait(timeout=60)


def _url(base: str, name: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + name


def _psql(url: str, sql: str) -> str:
    return subprocess.run(["psql", url, "-Atc", sql], check=True, capture_output=True, text=True).stdout.strip()


def prepare_databases(source: str, copies: dict[str, tuple[str, str]], log: Any) -> None:
    """Fresh copies of `source`, each migrated by its own checkout (`copies`: database -> (root, python))."""
    name = source.rsplit("/", 1)[1]
    admin = _url(source, "postgres")
    holders = _psql(admin, f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'")
    if holders != "0":
        raise SystemExit(f"{holders} connection(s) hold {name}: createdb -T needs it alone")
    for database, (root, python) in copies.items():
        _psql(admin, f'DROP DATABASE IF EXISTS "{database}"')
        _psql(admin, f'CREATE DATABASE "{database}" TEMPLATE "{name}"')
        env = {**os.environ, "DATABASE_URL": _url(source, database)}
        subprocess.run([python, "manage.py", "migrate", "-v", "0"], check=True, cwd=root, env=env)
        log(f"database {database}: copied from {name}, migrated by {root}")


def _summary(rounds: list[dict]) -> dict:
    samples = [s for r in rounds for s in r["samples"]]
    p50s = [_percentile(r["samples"], 0.5) for r in rounds]
    cpu = [c for r in rounds for c in r["cpu"]]
    return {
        "cpu p50": _percentile(cpu, 0.5),
        "p50": _percentile(samples, 0.5),
        "p90": _percentile(samples, 0.9),
        "round p50s": p50s,
        "requests": len(samples),
        "queries": sorted({r["queries"] for r in rounds}),
        "writes": sorted({r["writes"] for r in rounds}),
        "shown": rounds[-1]["shown"],
        "bytes": rounds[-1]["bytes"],
        "sql": rounds[-1]["sql"],
    }


def _git(root: str, *args: str) -> str:
    return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["relay", "postman"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--source", default="postgres://postgres@127.0.0.1:5433/relay_bench")
    parser.add_argument("--base-root", default="/work/wt-pagebase")
    parser.add_argument("--head-root", default=str(ROOT))
    parser.add_argument("--reuse-databases", action="store_true", help="keep relay_page_base/head as they are")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=200, help="GETs per side per round")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--profile", type=int, default=0, help="then cProfile N requests of the head page")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.root)
        return

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    python = sys.executable
    databases = {"base": "relay_page_base", "head": "relay_page_head"}
    roots = {"base": args.base_root, "head": args.head_root}
    if not args.reuse_databases:
        prepare_databases(args.source, {databases[k]: (roots[k], python) for k in databases}, log)
    subprocess.run(["bash", str(ROOT / "bench" / "setup_competitors.sh")], check=True)
    competitors_url = args.source + "_competitors_postman"
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "DATABASE_URL")}
    script = str(ROOT / "bench" / "thread_page.py")
    workers = {
        label: Worker(
            label,
            [python, script, "--worker", "relay", "--root", roots[label]],
            {**env, "DATABASE_URL": _url(args.source, databases[label])},
            roots[label],
        )
        for label in ("base", "head")
    }
    # postman's data: run.py's copy of Relay's (a no-op when it is there already).
    loader = [
        f"{BENCH_VENV}/bin/python",
        "-c",
        "import os, sys; sys.path.insert(0, os.getcwd()); import django; django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from bench.competitors.run import load;"
        f"load(app='postman', source_url={args.source!r}, target_url={competitors_url!r}, log=print)",
    ]
    postman_env = {
        **env,
        "BENCH_COMPETITOR": "postman",
        "COMPETITORS_DATABASE_URL": competitors_url,
        "DJANGO_SETTINGS_MODULE": "bench.competitors.settings",
    }
    _psql(_url(args.source, "postgres"), "SELECT 1")
    exists = _psql(
        _url(args.source, "postgres"),
        f"SELECT 1 FROM pg_database WHERE datname = '{competitors_url.rsplit('/', 1)[1]}'",
    )
    if not exists:
        _psql(_url(args.source, "postgres"), f'CREATE DATABASE "{competitors_url.rsplit("/", 1)[1]}"')
    subprocess.run(loader, check=True, cwd=str(ROOT), env=postman_env)
    workers["postman"] = Worker(
        "postman",
        [f"{BENCH_VENV}/bin/python", script, "--worker", "postman", "--root", str(ROOT)],
        {k: v for k, v in postman_env.items() if k != "DJANGO_SETTINGS_MODULE"},
        str(ROOT),
    )
    try:
        subjects = workers["head"].ask("subjects")
        log(f"typical user {subjects['typical']}, partner {subjects['partner']}: {subjects['facts']['thread']}")
        setups = {}
        for label, w in workers.items():
            setups[label] = w.ask("setup", typical=subjects["typical"], partner=subjects["partner"], warmup=args.warmup)
            first = setups[label]["first visit"]
            log(f"{label}: {setups[label]['url']}, first visit {first['queries']} queries, {first['writes']} writes")
        labels = list(workers)
        rounds: dict[str, list[dict]] = {label: [] for label in labels}
        for r in range(args.rounds):
            order = labels[r % 3 :] + labels[: r % 3]
            for label in order:
                rounds[label].append(workers[label].ask("round", requests=args.requests))
            line = ", ".join(f"{label} {_percentile(rounds[label][-1]['samples'], 0.5):.2f} ms" for label in labels)
            log(f"round {r + 1} ({' > '.join(order)}): p50 {line}")
        profile = workers["head"].ask("profile", requests=args.profile, top=40)["text"] if args.profile else ""
    finally:
        for w in workers.values():
            w.close()

    summary = {label: _summary(rounds[label]) for label in labels}
    ratios = {
        label: [p / r for p, r in zip(summary["postman"]["round p50s"], summary[label]["round p50s"], strict=True)]
        for label in ("base", "head")
    }
    result = {
        "subjects": subjects,
        "setups": setups,
        "summary": summary,
        "ratios": ratios,
        "commits": {
            "base": _git(args.base_root, "rev-parse", "--short", "HEAD"),
            "head": _git(args.head_root, "rev-parse", "--short", "HEAD"),
        },
        "rounds": args.rounds,
        "requests": args.requests,
        "load average": Path("/proc/loadavg").read_text().split()[:3],
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    print(table(result))
    if profile:
        print("\ncProfile of the head page, top entries by cumulative time (project code and templates):\n")
        print(profile)


def table(result: dict) -> str:
    names = {
        "base": f"Relay before issue 28 (`{result['commits']['base']}`)",
        "head": f"Relay with issue 28 (`{result['commits']['head']}`)",
        "postman": "django-postman 4.6 `view_conversation`",
    }
    lines = [
        "| page | p50 ms | p90 ms | p50 per round (min–max) | CPU ms p50 | queries | writes per GET | messages on the page | "
        "postman p50 / this p50 (median of rounds, min–max) |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for label, name in names.items():
        s = result["summary"][label]
        ratio = ""
        if label in result["ratios"]:
            r = result["ratios"][label]
            verdict = "meets" if statistics.median(r) >= GOAL else "misses"
            ratio = f"**{statistics.median(r):.2f}×** ({min(r):.2f}–{max(r):.2f}), {verdict} {GOAL}×"
        shown = f"{result['summary'][label]['shown']} of {result['setups'][label]['messages in the thread']}"
        lines.append(
            f"| {name} | {s['p50']:.2f} | {s['p90']:.2f} | {min(s['round p50s']):.2f}–{max(s['round p50s']):.2f} | {s['cpu p50']:.2f} | "
            f"{'/'.join(map(str, s['queries']))} | {'/'.join(map(str, s['writes']))} | {shown} | {ratio} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
