"""`python -m bench.send_growth`: a send's throughput as its conversation grows, two checkouts side by side.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_growth \\
        python -m bench.send_growth --base /work/wt-base --head /work/main \\
        [--sends 10000] [--step 1000] [--sync off,on] [--output FILE] [--json FILE]

Issue 27's targets: `POST /api/messages/send` at 0.5 of the authenticated-insert floor or more, "flat as the
conversation grows (the 1,000th send into one conversation as fast as the first), with sync off and with the
live sync on", shown by "a run of 10,000 sends into one pair, reported in steps of 1,000". Prints a markdown
table per sync state (step by step: req/s, latency, the fraction of the floor, CPU per send, on both
checkouts) and a summary line per checkout: req/s and CPU per send of the last step over the first (1 is
flat; on a shared machine the CPU is the steadier), the median fraction of the floor. Raw numbers: --json (default artifacts/bench_send_growth.json under this checkout).

How it runs:
- Databases: `<name>_base` and `<name>_head` on DATABASE_URL's server (`<name>` is DATABASE_URL's database),
  each migrated by its checkout: `bench.compare`'s (relay_bench_base and relay_bench_head), or small ones.
  Turning the live sync on the first time in a database writes every new row the old tables lack into them
  (`legacy_sync on`'s backfill: on compare's 1,000,000 messages, over 14 minutes, and the old tables hold the
  rows from then on), so measure on copies of compare's databases (`createdb -T relay_bench_base relay_growth_base`
  and the same for head, DATABASE_URL naming relay_growth) and leave those as they are.
- One process per checkout (this module with `--serve`, in the checkout, with its virtualenv and this package
  beside it as `relay_bench`, as `bench.compare` runs them), each with its own gunicorn: `bench/http.py`'s
  server (the production line: 2 workers, gthread, 4 threads; `bench.floor_settings`, the app's URLs plus the
  floors; its environment, with REDIS_URL and the rest of this one's passed on).
- For each sync state: each process switches the sync (`manage.py legacy_sync on|off`), vacuums the messages,
  makes a pair of users of its own (new names every run and state, so every state starts an empty
  conversation) and starts its server. Then, step by step, the two checkouts alternating which goes first:
  `ANALYZE messaging_message` (autovacuum's part, off on this machine's PostgreSQL), the floor insert for
  `--floor-seconds` (2) on the same server, then exactly `--step` sends from one of the pair to the other
  (`wrk -t2 -c16` with `bench/wrk/count.lua`, which stops after that many). Per step: req/s (the step's sends
  over the seconds they took), wrk's p50 and p99, the fraction of the floor just measured, the CPU
  milliseconds per send of gunicorn's workers and of PostgreSQL's backends (`bench/http.py`'s `CpuMeter`),
  non-2xx answers and socket errors, and the conversation's size after it.
- Afterwards each process removes the sends (as `bench/http.py` does after its loads) and its pairs, stops its
  server and puts the sync back as it found it.

A default run (10,000 sends per checkout and sync state) took 8 minutes on 2 shared cores (load average 6-9),
4 per sync state, on compare's data as on small databases. `--base` and `--head` may be the same checkout:
the noise level.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SIDES = ("base", "head")


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# --- in the checkout: one process per checkout, driven by the comparison ---------------------------------------


def _pair(tag: str):
    """Two new users who exchange nothing yet: `typical` sends to `typical_partner` (the names
    `bench/http.py`'s loads use for their sender and recipient)."""
    from types import SimpleNamespace

    from users.models import User

    sender, recipient = (
        User.objects.create(username=f"growth-{tag}-{end}", email=f"growth-{tag}-{end}@bench.invalid")
        for end in ("a", "b")
    )
    return SimpleNamespace(typical=sender, typical_partner=recipient)


def _switch_sync(state: str) -> str:
    """`manage.py legacy_sync <state>`; its output."""
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("legacy_sync", state, stdout=out)
    return out.getvalue().strip()


def serve(*, connections: int, floor_seconds: int) -> None:
    """Answer the comparison's requests, one JSON line each on stdin, one reply each on stdout: first the
    sync's state and the commit, then `{"do": "start", "sync": "on"|"off", "tag": ...}` (switch the sync, VACUUM
    ANALYZE the messages, make a pair, start the server), `{"do": "step", "sends": N}` (ANALYZE the messages, the floor, then N sends), `{"do": "stop"}`
    (remove the sends and the pair, stop the server), `{"do": "quit"}` (the sync back as it was).
    """
    from django.core.management.base import CommandError
    from django.db import connection

    from legacy_dm import sync
    from messaging.models import Message

    from .checkout_pass import _reply
    from .http import FLOOR_INSERT, HttpBench

    sync_before = "on" if sync.is_on(connection) else "off"
    _reply({"sync_before": sync_before})
    bench = pair = None

    def stop():
        nonlocal bench, pair
        if bench is not None:
            bench.stop()
            bench = None
        if pair is not None:
            type(pair.typical).objects.filter(pk__in=[pair.typical.pk, pair.typical_partner.pk]).delete()
            pair = None

    try:
        for line in sys.stdin:
            request = json.loads(line)
            if request["do"] == "start":
                try:
                    switched = _switch_sync(request["sync"])
                except CommandError as exc:
                    _reply({"error": str(exc)})
                    continue
                _log(f"  {switched}")
                with connection.cursor() as cursor:
                    # The last state's sends are gone but their dead rows would slow this one: each starts alike.
                    cursor.execute("VACUUM (ANALYZE) messaging_message")
                pair = _pair(request["tag"])
                bench = HttpBench(subjects=pair, connections=connections, log=_log)
                bench.start()
                _reply({"sender": pair.typical.username, "server": bench.results["command"]})
            elif request["do"] == "step":
                with connection.cursor() as cursor:
                    # What autovacuum does in production (this machine's PostgreSQL runs without it): the
                    # planner knows how many messages there are. Without it a small database's sends took
                    # more PostgreSQL time step after step (1.9 to 6.3 ms over 10,000), flat once analyzed.
                    cursor.execute("ANALYZE messaging_message")
                floor = bench.measure(FLOOR_INSERT, floor_seconds)
                send = bench.measure("send", requests=request["sends"])
                send["conversation"] = Message.objects.filter(
                    sender=pair.typical, recipient=pair.typical_partner
                ).count()
                _reply({"floor": floor, "send": send})
            elif request["do"] == "stop":
                stop()
                _reply({})
            elif request["do"] == "quit":
                break
    finally:
        stop()
        _log(f"  {_switch_sync(sync_before)} (as before)")


# --- the comparison -------------------------------------------------------------------------------------------


def _fmt(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _cpu(send: dict) -> str:
    return f"{_fmt(send['worker_cpu_ms_per_request'])} / {_fmt(send['database_cpu_ms_per_request'])}"


def summarize(steps: list[dict]) -> dict:
    """Per checkout: req/s and CPU per send (both processes) of the last step over the first, and the median
    fraction of the floor (lowest-highest)."""
    summary = {}
    for side in SIDES:
        sends = [step[side]["send"] for step in steps]
        fractions = [send["fraction_of_floor"] for send in sends if send["fraction_of_floor"]]

        def cpu(send):
            parts = (send["worker_cpu_ms_per_request"], send["database_cpu_ms_per_request"])
            return None if None in parts else sum(parts)

        first, last = sends[0], sends[-1]
        summary[side] = {
            "last_over_first_req_s": last["requests_per_s"] / first["requests_per_s"]
            if first["requests_per_s"]
            else None,
            "last_over_first_cpu": cpu(last) / cpu(first) if cpu(first) and cpu(last) is not None else None,
            "median_fraction": statistics.median(fractions) if fractions else None,
            "fraction_range": (min(fractions), max(fractions)) if fractions else None,
            "non_2xx": sum(send["non_2xx"] + send["socket_errors"] for send in sends),
            "incomplete_steps": sum(not send["complete"] for send in sends),
        }
    return summary


def render(runs: dict, meta: dict) -> str:
    """The markdown: what ran, then per sync state its table and the summary lines."""
    lines = [
        f"### A send as its conversation grows: base `{meta['base']}` against head `{meta['head']}`",
        "",
        f"Produced by `{meta['command']}` on {meta['when']} ({meta['minutes']:.0f} minutes).",
        "",
        f"Each sync state: a new pair of users per checkout, then {meta['steps']} steps of {meta['step']:,} sends "
        f"from one to the other (`{meta['wrk']}`, the count kept by `bench/wrk/count.lua`), each right after "
        f"{meta['floor_seconds']} s of the insert floor on the same server; the two checkouts alternate which goes "
        "first from one step to the next. req/s: the step's sends over the seconds they took; fraction: of that "
        "step's floor; CPU: milliseconds per send of gunicorn's workers / PostgreSQL's backends.",
        "",
    ]
    lines += [f"- {key}: {value}" for key, value in meta["facts"].items()]
    for state, steps in runs.items():
        lines += ["", f"#### Live sync {state}", ""]
        if isinstance(steps, str):
            lines.append(f"Not measured: {steps}")
            continue
        lines += [
            "| step | conversation after it | base req/s | head req/s | base: fraction of floor | "
            "head: fraction of floor | base CPU ms gunicorn / PostgreSQL | head CPU ms gunicorn / PostgreSQL | "
            "base p50 / p99 ms | head p50 / p99 ms | non-2xx + socket errors (base, head) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for index, step in enumerate(steps, 1):
            base, head = step["base"]["send"], step["head"]["send"]
            sizes = {base["conversation"], head["conversation"]}
            size = (
                f"{base['conversation']:,}"
                if len(sizes) == 1
                else f"{base['conversation']:,}, {head['conversation']:,}"
            )
            errors = [send["non_2xx"] + send["socket_errors"] for send in (base, head)]
            lines.append(
                f"| {index} | {size} | {base['requests_per_s']:.0f} | {head['requests_per_s']:.0f} | "
                f"{_fmt(base['fraction_of_floor'])} | {_fmt(head['fraction_of_floor'])} | {_cpu(base)} | "
                f"{_cpu(head)} | {_fmt(base['p50_ms'], 1)} / {_fmt(base['p99_ms'], 1)} | "
                f"{_fmt(head['p50_ms'], 1)} / {_fmt(head['p99_ms'], 1)} | {errors[0]}, {errors[1]} |"
            )
        lines.append("")
        for side, got in summarize(steps).items():
            spread = got["fraction_range"]
            incomplete = (
                f"; {got['incomplete_steps']} steps cut short by wrk's limit" if got["incomplete_steps"] else ""
            )
            lines.append(
                f"- {side}: last step / first step: req/s {_fmt(got['last_over_first_req_s'])}, CPU per send "
                f"{_fmt(got['last_over_first_cpu'])}; fraction of the floor: median {_fmt(got['median_fraction'])}"
                f" ({_fmt(spread[0]) if spread else '–'}–{_fmt(spread[1]) if spread else '–'}); non-2xx + socket "
                f"errors {got['non_2xx']}{incomplete}"
            )
    return "\n".join(lines) + "\n"


def compare(args, databases, checkouts: dict[str, Path]) -> tuple[dict, str]:
    """Run the steps of every sync state on both checkouts: per state its steps (or why it was skipped), and
    the server's command line."""
    from .compare import Side, _order

    runs: dict = {}
    server = ""
    tag = f"{datetime.now(UTC):%m%d%H%M}{uuid.uuid4().hex[:4]}"
    arguments = ["--serve", "--connections", str(args.connections), "--floor-seconds", str(args.floor_seconds)]
    with tempfile.TemporaryDirectory() as shim_dir:
        shim = Path(shim_dir)
        (shim / "relay_bench").symlink_to(HERE, target_is_directory=True)
        sides = {}
        try:
            for side in SIDES:
                _log(f"starting the {side} checkout's process ({checkouts[side]}, {databases.names[side]})")
                sides[side] = Side(side, checkouts[side], databases.urls[side], shim, "send_growth", arguments)
            for state_index, state in enumerate(args.sync):
                _log(f"live sync {state}")
                started = {side: sides[side].ask(do="start", sync=state, tag=f"{tag}{state}") for side in SIDES}
                errors = [f"{side}: {got['error']}" for side, got in started.items() if "error" in got]
                if errors:
                    runs[state] = "; ".join(errors)
                    for side in SIDES:
                        sides[side].ask(do="stop")
                    continue
                server = started["base"]["server"]
                steps = []
                for index in range(args.sends // args.step):
                    got = {}
                    for side in _order(state_index, index):
                        got[side] = sides[side].ask(do="step", sends=args.step)
                    steps.append(got)
                    _log(
                        f"  step {index + 1}: conversation {got['base']['send']['conversation']:,}; req/s base "
                        f"{got['base']['send']['requests_per_s']:.0f}, head {got['head']['send']['requests_per_s']:.0f}"
                    )
                for side in SIDES:
                    sides[side].ask(do="stop")
                runs[state] = steps
        finally:
            for side in sides.values():
                side.close()
    return runs, server


def main(argv=None) -> None:
    from .compare import Databases, _describe, write_report

    parser = argparse.ArgumentParser(prog="python -m bench.send_growth", description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, help="the checkout measured as before (required)")
    parser.add_argument("--head", type=Path, help="the checkout measured as after (required)")
    parser.add_argument("--sends", type=int, default=10_000, help="sends into the one pair, per checkout and state")
    parser.add_argument("--step", type=int, default=1_000, help="sends per step (divides --sends)")
    parser.add_argument("--sync", default="off,on", help="the live sync's states to measure, in order")
    parser.add_argument("--floor-seconds", type=int, default=2, help="seconds of the insert floor before each step")
    parser.add_argument("--connections", type=int, default=16, help="wrk's connections")
    parser.add_argument("--output", help="also write the markdown to this file")
    parser.add_argument("--json", default=str(HERE.parent / "artifacts" / "bench_send_growth.json"), help="raw numbers")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # a checkout's process
    args = parser.parse_args(argv)
    if args.serve:
        from .checkout_pass import _setup_django

        _setup_django()
        serve(connections=args.connections, floor_seconds=args.floor_seconds)
        return
    if not (args.base and args.head):
        parser.error("--base and --head are required")
    args.sync = [state.strip() for state in args.sync.split(",") if state.strip()]
    if not args.sync or set(args.sync) - {"on", "off"}:
        parser.error("--sync: on, off or both, comma-separated")
    if args.step < 2 or args.sends < args.step or args.sends % args.step:
        parser.error("--step: at least 2 (wrk's threads), dividing --sends")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        parser.error("set DATABASE_URL to a PostgreSQL server and a database name to derive the run's from")
    checkouts = {side: getattr(args, side).resolve() for side in SIDES}
    for checkout in checkouts.values():
        if not (checkout / "manage.py").exists():
            parser.error(f"{checkout} is not a Relay checkout (no manage.py)")
    databases = Databases(url)
    for side in SIDES:
        if not databases.exists(side):
            parser.error(f"no database {databases.names[side]}: make it and migrate it with the {side} checkout")
    started = time.perf_counter()
    load_at_start = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    runs, server = compare(args, databases, checkouts)
    meta = {
        "command": "DATABASE_URL=... python -m bench.send_growth "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "minutes": (time.perf_counter() - started) / 60,
        "base": _describe(checkouts["base"]).split()[0],
        "head": _describe(checkouts["head"]).split()[0],
        "steps": args.sends // args.step,
        "step": args.step,
        "floor_seconds": args.floor_seconds,
        "wrk": f"wrk -t2 -c{args.connections}",
        "facts": {
            "base": f"`{checkouts['base']}`, {_describe(checkouts['base'])}, database {databases.names['base']}",
            "head": f"`{checkouts['head']}`, {_describe(checkouts['head'])}, database {databases.names['head']}",
            "server": f"`{server}` with `DJANGO_SETTINGS_MODULE=bench.floor_settings`",
            "redis": "REDIS_URL set (throttle counters and events in Redis)"
            if os.environ.get("REDIS_URL")
            else "none (REDIS_URL unset: in-process broker and cache)",
            "load average at start / end (1/5/15 min)": (
                f"{load_at_start} / {' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
            ),
        },
    }
    write_report(render(runs, meta), {"meta": meta, "runs": runs}, json_path=args.json, output=args.output)


if __name__ == "__main__":
    main()
