"""Benchmark: live delivery (issue 15) with 1,000 open event streams across 2 uvicorn processes (not a test).

Two uvicorn processes serve `config.asgi` on loopback, sharing one Redis (keys under a prefix of this run's
own) and one PostgreSQL database (`relay_livebench` by default: created, migrated and filled with the
issue 6 dataset, 10,000 users and 1,000,000 messages, the first time; reused after). An httpx client in this
process holds the streams (`GET /api/messages/events`, Bearer JWT), half on each process. Each round:

- send throughput without listeners: `wrk` POSTs /api/messages/send on both processes at once (8
  connections each, the sends spread over the 1,000 listening users), streams closed;
- memory: VmRSS of both processes before and after opening the 1,000 streams;
- delivery latency: sends one at a time to a listener held on the *other* process; the time from the
  send's 201 (as this client reads it) to the `message.created` event arriving on that stream, and from the
  POST's start; a negative "after 201" means the event reached the client before the 201 did;
- send throughput with the 1,000 listeners reading every event they are sent.

Then the server decision: the wrk loads of `python -m bench` (bench/http.py) against gunicorn (2 gthread
workers, config.wsgi) and uvicorn (2 workers, config.asgi), alternating, in the same run.

    .venv/bin/python -m bench.live_delivery [--rounds 3] [--sends 150] [--listeners 1000] [--output BENCHMARKS.md]

Needs Redis on 127.0.0.1:6379 (`BENCH_REDIS_URL`), PostgreSQL (`BENCH_PG_URL`, default
postgres://postgres@127.0.0.1:5432), `wrk` and the requirements (httpx, uvicorn, gunicorn). Ports 8771-8772
(`BENCH_LIVE_PORTS`) and 8766 (`BENCH_HTTP_PORT`). Every message it sends is deleted at the end, and its
Redis keys too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(ROOT)

START_MARK = "<!-- bench:live:start -->"
END_MARK = "<!-- bench:live:end -->"
SENDER = "livebench-sender"
WRK_DIR = ROOT / "bench" / "wrk"
# bench/http.py's loads that compare the two servers (the floors apart).
HTTP_LOADS = ("send", "conversations (typical user)", "unread-count (typical user)")


def log(line: str) -> None:
    print(line, flush=True)


# --- Setup ---------------------------------------------------------------------------------------------------


def _database(name: str, *, fresh: bool) -> str:
    """Create database `name` if it is missing (dropped first with `fresh`), point Django at it, set Django
    up, migrate, and load the issue 6 dataset unless it is there; the database's URL.
    """
    import psycopg

    server = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        if fresh:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{server}/{name}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("JWT_ACCESS_MINUTES", "120")  # the tokens outlive the run
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.generate import generate

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM messaging_message")
        count = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM users_user WHERE username = 'heavy1'")
        loaded = count >= 900_000 and cursor.fetchone()[0] == 1
    if not loaded:
        log("data: generating 10,000 users and 1,000,000 messages (bench/generate.py)")
        generate(log=log)
    else:
        log(f"data: {count} messages already loaded")
    return url


def _server_env(redis_url: str, prefix: str, *, server: str) -> dict[str, str]:
    """The servers' environment: one Redis and one key prefix for all. Persistent database connections for
    gunicorn only: Django's ASGI handler runs each request's sync code in a thread of that request's own, so
    a kept connection is never used again and stays open until its thread's objects are garbage-collected
    (with DB_CONN_MAX_AGE=600 two uvicorn processes ran PostgreSQL out of connections within seconds).
    Django's documentation says the same: no persistent connections under ASGI.
    """
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "EVENTS_KEY_PREFIX": prefix,
        "THROTTLE_SEND_RATE": "1000000/min",
        "DB_CONN_MAX_AGE": "600" if server == "gunicorn" else "0",
        "DEBUG": "0",
        "LOG_LEVEL": "ERROR",
    }


def _start_uvicorn(port: int, env: dict[str, str]) -> subprocess.Popen:
    uvicorn = Path(sys.executable).with_name("uvicorn")
    command = [str(uvicorn), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--lifespan", "off", "--no-access-log", "--log-level", "warning"]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- The client: streams, sends, wrk -----------------------------------------------------------------------


@dataclass
class Listener:
    """One open stream: a user's `GET /api/messages/events` on one server process."""

    user_id: int
    port: int
    token: str
    opened: asyncio.Event = field(default_factory=asyncio.Event)
    frames: int = 0


class Streams:
    """Holds the listeners' streams in one httpx client and tells waiting sends when their message arrives."""

    def __init__(self, listeners: list[Listener]) -> None:
        import httpx

        self.listeners = listeners
        self.waiting: dict[str, asyncio.Future] = {}
        self.tasks: list[asyncio.Task] = []
        self.errors: list[str] = []
        self.client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=len(listeners) + 10, max_keepalive_connections=0),
            timeout=httpx.Timeout(60.0, connect=30.0),
        )

    async def _listen(self, listener: Listener) -> None:
        url = f"http://127.0.0.1:{listener.port}/api/messages/events"
        headers = {"Authorization": f"Bearer {listener.token}", "Accept": "text/event-stream"}
        try:
            async with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code != 200:
                    raise RuntimeError(f"stream answered {response.status_code}")
                event = ""
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        arrived = time.perf_counter()
                        listener.frames += 1
                        if event == "unread_count":
                            listener.opened.set()
                        elif event == "message.created" and self.waiting:
                            waiter = self.waiting.pop(json.loads(line[6:])["body"], None)
                            if waiter is not None and not waiter.done():
                                waiter.set_result(arrived)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a broken stream is reported, not fatal to the others
            self.errors.append(f"{listener.user_id}@{listener.port}: {exc!r}")
            listener.opened.set()

    async def open(self, *, concurrency: int = 50) -> float:
        """Open every stream (at most `concurrency` opening at once); seconds until all had their first event."""
        started = time.perf_counter()
        gate = asyncio.Semaphore(concurrency)

        async def one(listener: Listener) -> None:
            async with gate:
                self.tasks.append(asyncio.create_task(self._listen(listener)))
                await asyncio.wait_for(listener.opened.wait(), 60)

        await asyncio.gather(*(one(listener) for listener in self.listeners))
        if self.errors:
            raise RuntimeError(f"{len(self.errors)} streams failed, first: {self.errors[0]}")
        return time.perf_counter() - started

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()


async def _latency_run(streams: Streams, *, sender_token: str, ports: tuple[int, int], sends: int, rng) -> dict:
    """`sends` sends one at a time, alternately on each process, each to a listener held on the other."""
    import httpx

    by_port = {port: [item for item in streams.listeners if item.port == port] for port in ports}
    after_201, from_start = [], []
    headers = {"Authorization": f"Bearer {sender_token}"}
    async with httpx.AsyncClient(timeout=30.0) as client:
        for i in range(sends):
            source, target = (ports[0], ports[1]) if i % 2 == 0 else (ports[1], ports[0])
            listener = rng.choice(by_port[target])
            body = f"livebench {uuid.uuid4().hex}"
            arrived = asyncio.get_running_loop().create_future()
            streams.waiting[body] = arrived
            started = time.perf_counter()
            response = await client.post(
                f"http://127.0.0.1:{source}/api/messages/send",
                json={"recipient_id": listener.user_id, "body": body},
                headers=headers,
            )
            created = time.perf_counter()
            if response.status_code != 201:
                raise RuntimeError(f"send answered {response.status_code}: {response.text[:200]}")
            at = await asyncio.wait_for(arrived, 10)
            after_201.append((at - created) * 1000)
            from_start.append((at - started) * 1000)
            await asyncio.sleep(0.005)  # each send measured on its own, not queued behind the last
    return {"after_201": after_201, "from_start": from_start}


async def _wrk_sends(*, ports, token: str, recipients: list[int], seconds: int) -> dict:
    """Both processes loaded at once by one wrk each (1 thread, 8 connections); sends/s added up."""
    from bench.http import parse_wrk

    env = {**os.environ, "BENCH_TOKEN": token, "RECIPIENT_IDS": ",".join(map(str, recipients))}
    runs = []
    for offset, port in enumerate(ports):
        # Each wrk starts at a different recipient, so the two do not write to the same ones in step.
        ids = recipients[offset * len(recipients) // 2 :] + recipients[: offset * len(recipients) // 2]
        wrk = ["wrk", "-t1", "-c8", f"-d{seconds}s", "--latency", "-s", str(WRK_DIR / "send_many.lua")]
        runs.append(
            await asyncio.create_subprocess_exec(
                *wrk,
                f"http://127.0.0.1:{port}",
                env={**env, "RECIPIENT_IDS": ",".join(map(str, ids))},
                stdout=asyncio.subprocess.PIPE,
            )
        )
    outputs = [parse_wrk((await run.communicate())[0].decode()) for run in runs]
    return {
        "sends_per_s": sum(o["requests_per_s"] for o in outputs),
        "non_2xx": sum(o["non_2xx"] for o in outputs),
        "socket_errors": sum(o["socket_errors"] for o in outputs),
        "p50_ms": max(o["p50_ms"] for o in outputs),
        "p99_ms": max(o["p99_ms"] for o in outputs),
    }


def _redis_clients(redis_client) -> int:
    return int(redis_client.info("clients")["connected_clients"])


async def _wait_for_clients(redis_client, at_most: int, timeout: float = 30.0) -> int:
    """Wait until the servers' Redis connections of closed streams are gone (at most `at_most` left)."""
    deadline = time.monotonic() + timeout
    while True:
        count = _redis_clients(redis_client)
        if count <= at_most or time.monotonic() > deadline:
            return count
        await asyncio.sleep(0.5)


async def _round(
    *, index, servers, ports, listeners, sender_token, recipients, sends, runs, seconds, redis_client, pg, rng
) -> dict:
    result: dict = {}
    clients_idle = _redis_clients(redis_client)
    result["without"] = await _wrk_sends(ports=ports, token=sender_token, recipients=recipients, seconds=seconds)
    log(f"round {index}: sends without listeners {result['without']['sends_per_s']:.0f}/s")
    await asyncio.sleep(1)
    rss_before = [_rss_kib(server.pid) for server in servers]
    streams = Streams([Listener(user_id, port, token) for user_id, port, token in listeners])
    try:
        result["open_s"] = await streams.open()
        await asyncio.sleep(2)  # every stream has gone into its XREAD
        rss_after = [_rss_kib(server.pid) for server in servers]
        result["rss_before_kib"], result["rss_after_kib"] = rss_before, rss_after
        result["redis_clients"] = (clients_idle, _redis_clients(redis_client))
        result["pg_connections"] = pg.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        ).fetchone()[0]
        growth = (sum(rss_after) - sum(rss_before)) / len(listeners)
        log(
            f"round {index}: {len(listeners)} streams open in {result['open_s']:.1f}s; RSS {rss_before} -> "
            f"{rss_after} KiB ({growth:.1f} KiB/stream); Redis clients {result['redis_clients']}; "
            f"PostgreSQL connections {result['pg_connections']}"
        )
        result["latency"] = []
        for run in range(runs):
            samples = await _latency_run(streams, sender_token=sender_token, ports=ports, sends=sends, rng=rng)
            result["latency"].append(samples)
            ordered = sorted(samples["after_201"])
            log(
                f"round {index} latency run {run + 1}: p50 {statistics.median(ordered):.2f} ms, "
                f"p99 {_p(ordered, 0.99):.2f} ms after the 201 (load {_load()})"
            )
        frames_before = sum(item.frames for item in streams.listeners)
        result["with"] = await _wrk_sends(ports=ports, token=sender_token, recipients=recipients, seconds=seconds)
        result["frames_during_with"] = sum(item.frames for item in streams.listeners) - frames_before
        log(
            f"round {index}: sends with listeners {result['with']['sends_per_s']:.0f}/s "
            f"({result['frames_during_with']} frames read by the listeners)"
        )
        if streams.errors:
            raise RuntimeError(f"{len(streams.errors)} streams broke, first: {streams.errors[0]}")
    finally:
        await streams.close()
    left = await _wait_for_clients(redis_client, clients_idle + 10)
    log(f"round {index}: streams closed (Redis clients {left})")
    return result


def _p(ordered: list[float], fraction: float) -> float:
    from bench.measure import percentile

    return percentile(ordered, fraction)


# --- Report --------------------------------------------------------------------------------------------------


def _spread(values: list[float], digits: int = 2) -> str:
    return f"{min(values):.{digits}f}-{max(values):.{digits}f}"


def _render(*, machine, args, rounds, servers_cmp, listeners, elapsed) -> str:
    out = []
    runs = [run for r in rounds for run in r["latency"]]
    out.append(
        f"Produced by `python -m bench.live_delivery {' '.join(sys.argv[1:])}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({elapsed / 60:.1f} minutes); everything between the markers "
        "is rewritten by it."
    )
    out.append("")
    out.append("#### Machine")
    out.append("")
    out += [f"- {key}: {value}" for key, value in machine.items()]
    out.append("")
    out.append("#### Delivery latency (1,000 open streams, 2 uvicorn processes, one Redis)")
    out.append("")
    out.append(
        f"{len(runs)} runs ({args.rounds} rounds x {args.runs}) of {args.sends} sends each, one at a time, "
        "alternately on each process, each to one of the listeners held on the *other* process. Milliseconds; "
        "median of the runs' percentiles, and the spread (lowest-highest run). *After the 201*: from this client "
        "reading the send's 201 to the `message.created` frame arriving on the stream (negative: the frame came "
        "first; the event is published when the send's transaction commits, before the 201 is written). *From "
        "the POST*: from the start of the send's request, the whole path."
    )
    out.append("")
    out.append("| measure | p50 | p50 spread | p99 | p99 spread | max | target |")
    out.append("|---|---|---|---|---|---|---|")
    for key, name, target in (
        ("after_201", "after the 201", "p50 <= 10, p99 <= 50"),
        ("from_start", "from the POST", ""),
    ):
        p50s = [statistics.median(sorted(run[key])) for run in runs]
        p99s = [_p(sorted(run[key]), 0.99) for run in runs]
        worst = max(max(run[key]) for run in runs)
        met = ""
        if target:
            met = " (met)" if statistics.median(p50s) <= 10 and statistics.median(p99s) <= 50 else " (missed)"
        out.append(
            f"| {name} | {statistics.median(p50s):.2f} | {_spread(p50s)} | {statistics.median(p99s):.2f} | "
            f"{_spread(p99s)} | {worst:.2f} | {target}{met} |"
        )
    out.append("")
    out.append("#### Memory per open stream")
    out.append("")
    out.append(
        "VmRSS of the two server processes just before and 2 s after opening the streams (each round opens "
        "them anew; the first round is the cold one), over the number of streams; Redis connections while "
        "they are open."
    )
    out.append("")
    out.append(
        "| round | RSS before (KiB, per process) | RSS with streams | KiB per stream | Redis clients (idle -> open) |"
    )
    out.append("|---|---|---|---|---|")
    for i, r in enumerate(rounds, 1):
        growth = (sum(r["rss_after_kib"]) - sum(r["rss_before_kib"])) / len(listeners)
        out.append(
            f"| {i} | {' + '.join(map(str, r['rss_before_kib']))} | {' + '.join(map(str, r['rss_after_kib']))} | "
            f"{growth:.1f} | {r['redis_clients'][0]} -> {r['redis_clients'][1]} |"
        )
    out.append("")
    out.append(
        f"Opening {len(listeners)} streams took {_spread([r['open_s'] for r in rounds], 1)} s; PostgreSQL "
        f"connections of the bench database while they were open: {max(r['pg_connections'] for r in rounds)} "
        f"(max_connections {machine['postgresql max_connections']})."
    )
    out.append("")
    out.append("#### Send throughput with and without the listeners")
    out.append("")
    out.append(
        f"`wrk -t1 -c8 -d{args.seconds}s` (bench/wrk/send_many.lua) on each process at once, the sends spread "
        "over the listening users; sends/s of both added up; per round, without the streams and then with all "
        "of them open and reading every frame (the client holding them runs on the same 2 cores)."
    )
    out.append("")
    out.append("| case | sends/s (median) | spread | p99 ms (median) | non-2xx | socket errors |")
    out.append("|---|---|---|---|---|---|")
    for key, name in (("without", "without listeners"), ("with", f"with {len(listeners)} listeners")):
        rates = [r[key]["sends_per_s"] for r in rounds]
        p99 = [r[key]["p99_ms"] for r in rounds]
        out.append(
            f"| {name} | {statistics.median(rates):.0f} | {_spread(rates, 0)} | {statistics.median(p99):.1f} | "
            f"{sum(r[key]['non_2xx'] for r in rounds)} | {sum(r[key]['socket_errors'] for r in rounds)} |"
        )
    out.append("")
    if servers_cmp:
        out.append("#### WSGI (gunicorn) against ASGI (uvicorn), the same wrk loads")
        out.append("")
        first = servers_cmp["gunicorn"][0]
        out.append(
            f"bench/http.py's three loads (`wrk -t2 -c{first['connections']} -d{first['duration_s']}s`, the "
            "issue 6 dataset's typical user), the two servers alternating, "
            f"{len(servers_cmp['gunicorn'])} rounds each; both with `REDIS_URL` (throttle counters and "
            "events in Redis, as in production). req/s median (spread); latency "
            "medians; worker CPU: seconds of CPU each worker process used during the load, median. "
            "`DB_CONN_MAX_AGE=600` for gunicorn, `0` for uvicorn (persistent connections do not work under "
            "ASGI: each request's sync code runs in a thread of its own)."
        )
        out.append("")
        for server in ("gunicorn", "uvicorn"):
            out.append(f"- {server}: `{servers_cmp[server][0]['command']}`")
        out.append("")
        out.append("| endpoint | server | req/s | spread | p50 ms | p99 ms | worker CPU s | non-2xx | socket errors |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for name in HTTP_LOADS:
            for server in ("gunicorn", "uvicorn"):
                got = [run[name] for run in servers_cmp[server]]
                rates = [g["requests_per_s"] for g in got]
                cpu = [statistics.median(sorted(c)) for c in zip(*(g["worker_cpu_s"] for g in got), strict=True)]
                out.append(
                    f"| {name} | {server} | {statistics.median(rates):.0f} | {_spread(rates, 0)} | "
                    f"{statistics.median(g['p50_ms'] for g in got):.1f} | "
                    f"{statistics.median(g['p99_ms'] for g in got):.1f} | {' / '.join(f'{c:.1f}' for c in cpu)} | "
                    f"{sum(g['non_2xx'] for g in got)} | {sum(g['socket_errors'] for g in got)} |"
                )
        out.append("")
    return "\n".join(out) + "\n"


# --- Main ----------------------------------------------------------------------------------------------------


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.live_delivery", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=2, help="latency runs per round")
    parser.add_argument("--sends", type=int, default=150, help="sends per latency run")
    parser.add_argument("--listeners", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10, help="seconds of wrk per throughput case")
    parser.add_argument("--http-rounds", type=int, default=2, help="rounds of gunicorn against uvicorn (0: none)")
    parser.add_argument("--http-duration", type=int, default=10, help="seconds of wrk per load and server")
    parser.add_argument("--database", default="relay_livebench")
    parser.add_argument("--fresh", action="store_true", help="drop the database and load the data again")
    parser.add_argument("--output", default="", help="markdown file whose live-delivery block to rewrite")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"relay-livebench:{uuid.uuid4().hex[:12]}"
    ports = tuple(int(p) for p in os.environ.get("BENCH_LIVE_PORTS", "8771,8772").split(","))
    os.environ["REDIS_URL"] = redis_url  # this process (its tokens and its cleanup) and every server alike
    os.environ["EVENTS_KEY_PREFIX"] = prefix
    url = _database(args.database, fresh=args.fresh)

    import psycopg
    import redis
    from django.db import connection

    from bench.http import _wait_for_port, run_http
    from bench.inprocess import choose_subjects
    from messaging.models import Message
    from users.models import User
    from users.tokens import AccessToken

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) messaging_message")
    pg = psycopg.connect(url, autocommit=True)
    redis_client = redis.Redis.from_url(redis_url)
    machine = {
        "load average at start (1/5/15 min)": _load(),
        "nproc": os.cpu_count(),
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        ),
        "python": platform.python_version(),
        "postgresql": pg.execute("SHOW server_version").fetchone()[0],
        "postgresql max_connections": pg.execute("SHOW max_connections").fetchone()[0],
        "redis": redis_client.info("server")["redis_version"],
        "open files limit (ulimit -n)": subprocess.run(
            ["bash", "-c", "ulimit -n"], capture_output=True, text=True
        ).stdout.strip(),
        # Whether anything else ran on the machine meanwhile: the run cannot tell, its caller says.
        "shared": os.environ.get("BENCH_SHARED", "not recorded (BENCH_SHARED)"),
    }

    sender, _ = User.objects.get_or_create(username=SENDER, defaults={"email": "sender@livebench.example"})
    chosen = list(
        User.objects.filter(is_active=True, username__startswith="user")
        .exclude(username__in=["user000001"])
        .order_by("id")
        .values_list("id", flat=True)[100 : 100 + args.listeners]
    )
    if len(chosen) < args.listeners:
        raise SystemExit(f"only {len(chosen)} users to listen as")
    # Alternate processes, so each holds half the streams.
    users = User.objects.in_bulk(chosen)  # the tokens carry a hash of each user's password hash
    listeners = [(uid, ports[i % 2], str(AccessToken.for_user(users[uid]))) for i, uid in enumerate(chosen)]
    sender_token = str(AccessToken.for_user(sender))
    before = Message.objects.order_by("-id").values_list("id", flat=True).first() or 0

    servers_cmp: dict[str, list[dict]] = {"gunicorn": [], "uvicorn": []}
    rounds = []
    try:
        if args.http_rounds:
            subjects = choose_subjects()
            for round_ in range(args.http_rounds):
                for server in ("gunicorn", "uvicorn"):
                    log(f"http round {round_ + 1}: {server}")
                    env = _server_env(redis_url, prefix, server=server)
                    got = run_http(
                        subjects=subjects,
                        duration=args.http_duration,
                        server=server,
                        env=env,
                        loads=HTTP_LOADS,
                        log=log,
                    )
                    if "skipped" in got:
                        raise SystemExit(got["skipped"])
                    servers_cmp[server].append(got)
                    with connection.cursor() as cursor:
                        cursor.execute("VACUUM (ANALYZE) messaging_message")

        env = _server_env(redis_url, prefix, server="uvicorn")
        processes = [_start_uvicorn(port, env) for port in ports]
        try:
            for port in ports:
                _wait_for_port(port)
            rng = random.Random(15)  # noqa: S311 (which listener gets each send: the same every run)

            async def warm_up() -> None:
                import httpx

                async with httpx.AsyncClient() as client:
                    for port in ports:
                        for _ in range(20):
                            await client.get(
                                f"http://127.0.0.1:{port}/api/messages/unread-count",
                                headers={"Authorization": f"Bearer {sender_token}"},
                            )
                # The stream's code paths loaded (and its Redis client made) before the baseline RSS.
                warm = Streams([Listener(uid, port, token) for uid, port, token in listeners[:20]])
                await warm.open()
                await warm.close()

            asyncio.run(warm_up())
            for index in range(1, args.rounds + 1):
                rounds.append(
                    asyncio.run(
                        _round(
                            index=index,
                            servers=processes,
                            ports=ports,
                            listeners=listeners,
                            sender_token=sender_token,
                            recipients=chosen,
                            sends=args.sends,
                            runs=args.runs,
                            seconds=args.seconds,
                            redis_client=redis_client,
                            pg=pg,
                            rng=rng,
                        )
                    )
                )
        finally:
            for process in processes:
                _stop(process)
    finally:
        Message.objects.filter(id__gt=before).delete()
        keys = list(redis_client.scan_iter(f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            redis_client.delete(*keys[start : start + 500])
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) messaging_message")
        pg.close()

    machine["load average at end (1/5/15 min)"] = _load()
    text = _render(
        machine=machine,
        args=args,
        rounds=rounds,
        servers_cmp=servers_cmp if args.http_rounds else {},
        listeners=listeners,
        elapsed=time.perf_counter() - started,
    )
    print()
    print(text)
    raw = ROOT / "artifacts" / "live_delivery.json"
    raw.parent.mkdir(exist_ok=True)
    raw.write_text(json.dumps({"machine": machine, "rounds": rounds, "servers": servers_cmp}, indent=1))
    log(f"raw numbers: {raw}")
    if args.output:
        from bench.report import write

        write(Path(args.output), text, start=START_MARK, end=END_MARK)
        log(f"written: {args.output}")


if __name__ == "__main__":
    main()
