"""HTTP throughput: Relay under gunicorn (docs/operations.md's production line: 2 workers, gthread, 4 threads; or uvicorn
serving config.asgi, 2 workers) on loopback, loaded by `wrk` with a JWT for a bench user, beside two floors.

The server runs `bench.floor_settings`: Relay's settings and URLs plus the floors of `bench/floor.py`, two
minimal DRF endpoints on the same stack (an authenticated insert of one row into a table without triggers,
an authenticated GET of a constant). Every load is reported with its floor in the same run: the send as a
fraction of the insert floor, the reads as fractions of the constant floor. Per request, each load also
records the CPU time of gunicorn's workers and of the database's backends (when PostgreSQL runs on this
machine: its processes' /proc entries).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.db import connection
from django.urls import Resolver404, resolve

import config
from messaging.models import Message
from users.tokens import RefreshToken

from . import floor

# The checkout whose app is measured: the one `config` comes from (under `python -m bench.compare` this
# package is another checkout's).
ROOT = Path(config.__file__).resolve().parent.parent
SETTINGS = f"{__package__}.floor_settings"
WRK_DIR = Path(__file__).resolve().parent / "wrk"
PORT = int(os.environ.get("BENCH_HTTP_PORT", "8766"))


def _wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"the server did not listen on {port}")


def parse_wrk(output: str) -> dict:
    def number(pattern, default=0.0):
        match = re.search(pattern, output)
        return float(match.group(1)) if match else default

    def ms(pattern):
        match = re.search(pattern, output)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "requests_per_s": number(r"Requests/sec:\s+([\d.]+)"),
        "requests": int(number(r"(\d+) requests in")),
        "non_2xx": int(number(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
        "p50_ms": ms(r"50%\s+([\d.]+)(us|ms|s)"),
        "p99_ms": ms(r"99%\s+([\d.]+)(us|ms|s)"),
    }


def _wrk_counted(command: list[str], *, env: dict, cwd: str, threads: int) -> tuple[str, float | None]:
    """Run wrk with `count.lua` until each of its `threads` has printed that it is done, then interrupt it (wrk
    waits out its -d otherwise; on SIGINT it prints its numbers and ends). Its output and the seconds from
    its start to the last thread's end (None when -d ended it first).
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, text=True)  # noqa: S603
    lines, done, elapsed = [], 0, None
    for line in process.stdout:
        if line.startswith("@@thread-done"):
            done += 1
            if done == threads:
                elapsed = time.perf_counter() - started
                process.send_signal(signal.SIGINT)
        else:
            lines.append(line)
    if process.wait():
        raise subprocess.CalledProcessError(process.returncode, command, "".join(lines))
    return "".join(lines), elapsed


def server_command(server: str, *, workers: int, connections: int) -> list[str] | None:
    """The command that serves Relay on PORT with `workers` processes: gunicorn (WSGI) or uvicorn (ASGI,
    config.asgi); None when that server is not installed in this virtualenv.
    """
    executable = Path(sys.executable).with_name(server)
    if not executable.exists():
        return None
    if server == "uvicorn":
        # No access log (gunicorn writes none by default either); Django has no lifespan protocol.
        return [
            str(executable),
            "config.asgi:application",
            "--workers",
            str(workers),
            "--host",
            "127.0.0.1",
            "--port",
            str(PORT),
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    threads = 4
    # gthread: keep-alive connections and a few threads per worker to overlap database waits (sync workers
    # close every connection and served about half the requests/s here). wrk opens its keep-alive
    # connections once, at its start, and each stays with the worker that accepted it: with gunicorn's
    # default of 1,000 connections per worker, one worker often took all of them and the other idled (one
    # gunicorn process at 90% CPU, sends at 330 req/s against 590 with both busy). A limit of a little
    # more than half the connections per worker makes both take a share.
    per_worker = connections // workers + 2
    return [
        str(executable),
        "config.wsgi:application",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--worker-connections",
        str(per_worker),
        "--bind",
        f"127.0.0.1:{PORT}",
        "--log-level",
        "warning",
    ]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (/proc/<pid>/stat), 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _workers(pid: int) -> list[int]:
    """The worker processes of the server whose master is `pid` (its children)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in children.read_text().split()] if children.exists() else []


def _database_backends() -> list[int] | None:
    """The PostgreSQL backends serving this database other than this process's own connection; None when the
    server does not run on this machine (its pids are not postgres processes here).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        )
        pids = [pid for (pid,) in cursor.fetchall()]
    try:
        local = all(Path(f"/proc/{pid}/comm").read_text().strip() == "postgres" for pid in pids)
    except OSError:
        local = False
    return pids if local else None


class CpuMeter:
    """CPU seconds used by the server's workers and the database's backends between `__init__` and `stop`.
    Backends that connect meanwhile count from zero; one that ends meanwhile loses its share, so the
    database's share is only measured (`database`) when the server keeps its connections (`DB_CONN_MAX_AGE`).
    """

    def __init__(self, server_pid: int, *, database: bool = True):
        self.workers = {pid: _cpu_seconds(pid) for pid in _workers(server_pid)}
        backends = _database_backends() if database else None
        self.backends = None if backends is None else {pid: _cpu_seconds(pid) for pid in backends}

    def stop(self) -> dict:
        worker_cpu = [round(_cpu_seconds(pid) - before, 2) for pid, before in self.workers.items()]
        database_cpu = None
        if self.backends is not None:
            now = _database_backends() or []
            database_cpu = sum(_cpu_seconds(pid) - self.backends.get(pid, 0.0) for pid in now)
        return {"worker_cpu_s": worker_cpu, "database_cpu_s": database_cpu}


# The loads, in the order they run. Reads first: the send adds messages to the bench user's conversations,
# which the conversation list would then group as well (it was a third slower measured after it). Each
# floor runs right before the loads measured against it. A load whose URL the build does not serve (the
# legacy lists of a build without the legacy API) is skipped and named in the result.
FLOOR_READ = "floor: authenticated GET of a constant"
FLOOR_INSERT = "floor: authenticated insert of one row"
SEND_BODY = "wrk: see you at the meeting tomorrow"
LOADS = {
    FLOOR_READ: {"method": "GET", "path": "/bench/floor/constant", "floor": None},
    "unread-count (typical user)": {"method": "GET", "path": "/api/messages/unread-count", "floor": FLOOR_READ},
    "conversations (typical user)": {"method": "GET", "path": "/api/messages/conversations", "floor": FLOOR_READ},
    "legacy direct-messages/conversations (typical user)": {
        "method": "GET",
        "path": "/api/direct-messages/conversations",
        "floor": FLOOR_READ,
    },
    "legacy messaging/conversations (typical user)": {
        "method": "GET",
        "path": "/api/messaging/conversations",
        "floor": FLOOR_READ,
    },
    FLOOR_INSERT: {"method": "POST", "path": "/bench/floor/insert", "floor": None, "body": {"body": SEND_BODY}},
    "send": {"method": "POST", "path": "/api/messages/send", "floor": FLOOR_INSERT, "body": "send"},
}


def _resolves(path: str) -> bool:
    """Whether the benchmark's server (the app's URLs plus the floors) serves `path`."""
    try:
        resolve(path, urlconf=f"{__package__}.floor")
        return True
    except Resolver404:
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class HttpBench:
    """One benchmark server (gunicorn, or uvicorn) with the floors, loaded one load at a time: `start`, then
    `measure(name)` for names of LOADS (a floor before the loads measured against it), then `stop`, which
    removes what the loads wrote. `results` collects the measurements, as `run_http` returns them.
    """

    def __init__(self, *, subjects, connections: int = 16, server: str = "gunicorn", env=None, log=print):
        self.subjects, self.connections, self.server, self.log = subjects, connections, server, log
        self.workers = 2
        self.command = server_command(server, workers=self.workers, connections=connections)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "THROTTLE_SEND_RATE": "1000000/min",
            "DB_CONN_MAX_AGE": "600",
            "DEBUG": "0",
            "LOG_LEVEL": "ERROR",
            **(env or {}),
        }
        self.process = None
        self.results: dict = {}

    def unavailable(self) -> str | None:
        """Why this machine cannot run the loads, or None."""
        if not shutil.which("wrk"):
            return "wrk is not installed (apt-get install -y wrk)"
        if self.command is None:
            return f"{self.server} is not installed (pip install -r requirements.txt)"
        return None

    def served(self, names) -> tuple[list[str], list[str]]:
        """`names` split into the loads this build serves and those it does not."""
        served = [name for name in names if _resolves(LOADS[name]["path"])]
        return served, [name for name in names if name not in served]

    def start(self) -> None:
        if not _port_free(PORT):
            raise RuntimeError(f"port {PORT} is taken: set BENCH_HTTP_PORT to a free one")
        floor.ensure_table()
        self.before = Message.objects.order_by("-id").values_list("id", flat=True).first() or 0
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, start_new_session=True)  # noqa: S603
        self.results = {
            "command": " ".join([self.server, *self.command[1:]]),
            "settings": SETTINGS,
            "workers": self.workers,
            "connections": self.connections,
            "loads": [],
        }
        _wait_for_port(PORT)
        self.token = str(RefreshToken.for_user(self.subjects.typical).access_token)
        # Unmeasured: both workers booted (the port opens before they have loaded Django: on a busy machine
        # the first seconds answered nothing, then timed out), their connections open and the hot
        # statements prepared.
        for _ in range(15):
            warm = parse_wrk(self._wrk(FLOOR_READ, 2)[1])
            if warm["requests"] and not warm["socket_errors"] and not warm["non_2xx"]:
                break
        self._wrk("unread-count (typical user)", 3)

    def _wrk(self, name: str, seconds: int, requests: int | None = None) -> tuple[list[str], str, float | None]:
        """Run wrk on the load `name` for `seconds`, or for exactly `requests` requests (`count.lua`, with
        `seconds` as the limit); wrk's command, its output, and for a count the seconds it took (None when the
        limit came first).
        """
        load = LOADS[name]
        script = "count.lua" if requests else "post.lua" if load["method"] == "POST" else "get.lua"
        body = load.get("body")
        if body == "send":
            body = {"recipient_id": self.subjects.typical_partner.pk, "body": SEND_BODY}
        extra = {"BENCH_PATH": load["path"], "BENCH_BODY": json.dumps(body) if body else ""}
        threads = 2
        if requests:
            extra.update(BENCH_METHOD=load["method"], BENCH_REQUESTS=str(requests), BENCH_THREADS=str(threads))
        wrk = ["wrk", f"-t{threads}", f"-c{self.connections}", f"-d{seconds}s", "--latency"]
        wrk += ["-s", str(WRK_DIR / script), f"http://127.0.0.1:{PORT}"]
        with tempfile.TemporaryDirectory() as scratch:
            env = {**os.environ, "BENCH_TOKEN": self.token, **extra}
            if requests:
                output, elapsed = _wrk_counted(wrk, env=env, cwd=scratch, threads=threads)
                return wrk, output, elapsed
            output = subprocess.run(wrk, env=env, cwd=scratch, capture_output=True, text=True, check=True).stdout
        return wrk, output, None

    def measure(self, name: str, duration: int | None = None, *, requests: int | None = None) -> dict:
        """Load `name` for `duration` seconds, or for exactly `requests` requests (its req/s: `requests` over
        the seconds they took); wrk's numbers, CPU per request and the fraction of the load's floor (the
        floor's last measurement: measure it first).
        """
        time.sleep(0.5)  # the requests the last load left in flight are answered
        meter = CpuMeter(self.process.pid, database=self.env["DB_CONN_MAX_AGE"] != "0")
        # A count's time limit: at least 2 requests/s (a lost request would otherwise hold it for long).
        seconds = duration if requests is None else max(30, requests // 2)
        wrk, output, elapsed = self._wrk(name, seconds, requests)
        result = parse_wrk(output)
        result.update(meter.stop())
        result["wrk"] = " ".join(wrk)
        if requests is not None:
            result["seconds"] = elapsed
            result["complete"] = elapsed is not None
            result["requests_per_s"] = result["requests"] / elapsed if elapsed else result["requests_per_s"]
        answered = result["requests"]
        result["worker_cpu_ms_per_request"] = sum(result["worker_cpu_s"]) * 1000 / answered if answered else None
        result["database_cpu_ms_per_request"] = (
            result["database_cpu_s"] * 1000 / answered if answered and result["database_cpu_s"] is not None else None
        )
        result["floor"] = LOADS[name]["floor"]
        floor_result = self.results.get(result["floor"]) if result["floor"] else None
        result["fraction_of_floor"] = (
            result["requests_per_s"] / floor_result["requests_per_s"]
            if floor_result and floor_result["requests_per_s"]
            else None
        )
        self.results[name] = result
        self.results["loads"].append(name)
        if duration is not None:
            self.results["duration_s"] = duration
        fraction = f", {result['fraction_of_floor']:.2f} of its floor" if result["fraction_of_floor"] else ""
        self.log(
            f"  {self.server} {name}: {result['requests_per_s']:.0f} req/s{fraction}, non-2xx {result['non_2xx']}, "
            f"socket errors {result['socket_errors']}"
        )
        return result

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
            self.process = None
            Message.objects.filter(id__gt=self.before).delete()
            floor.ensure_table()


def run_http(
    *,
    subjects,
    duration: int = 15,
    connections: int = 16,
    server: str = "gunicorn",
    env=None,
    loads=None,
    log=print,
) -> dict:
    """Start the server (gunicorn, or uvicorn) with the floors, run wrk for each of `loads` (names of LOADS,
    all by default), stop the server, remove what the loads wrote. `env`: extra environment for the server.

    The result: the server command and load parameters, then per load wrk's numbers (`parse_wrk`), the wrk
    command, `worker_cpu_s` (each worker's CPU seconds during the load: an idle worker shows wrk's keep-alive
    connections spread unevenly), `database_cpu_s` (the backends', None when PostgreSQL is not on this
    machine), `floor` (its floor's name) and `fraction_of_floor`.
    """
    bench = HttpBench(subjects=subjects, connections=connections, server=server, env=env, log=log)
    if reason := bench.unavailable():
        return {"skipped": reason}
    wanted, skipped = bench.served([name for name in LOADS if loads is None or name in loads])
    bench.start()
    try:
        for name in wanted:
            bench.measure(name, duration)
    finally:
        bench.stop()
    return {**bench.results, "duration_s": duration, "skipped_loads": skipped}
