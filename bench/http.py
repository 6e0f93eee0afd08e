"""HTTP throughput: Relay under gunicorn (2 workers; or uvicorn serving config.asgi, 2 workers) on loopback,
loaded by `wrk` with a JWT for a bench user.
"""

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

from messaging.models import Message
from users.tokens import RefreshToken

ROOT = Path(__file__).resolve().parent.parent
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


def run_http(
    *, subjects, duration: int = 15, connections: int = 16, server: str = "gunicorn", env=None, log=print
) -> dict:
    """Start the server (gunicorn, or uvicorn), run wrk for send and conversations, stop the server, remove
    the sent messages. `env`: extra environment for the server.
    """
    if not shutil.which("wrk"):
        return {"skipped": "wrk is not installed (apt-get install -y wrk)"}
    workers = 2
    command = server_command(server, workers=workers, connections=connections)
    if command is None:
        return {"skipped": f"{server} is not installed (pip install -r requirements.txt)"}
    env = {
        **os.environ,
        "THROTTLE_SEND_RATE": "1000000/min",
        "DB_CONN_MAX_AGE": "600",
        "DEBUG": "0",
        "LOG_LEVEL": "ERROR",
        **(env or {}),
    }
    before = Message.objects.order_by("-id").values_list("id", flat=True).first()
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603
    results = {
        "command": " ".join([server, *command[1:]]),
        "workers": workers,
        "connections": connections,
        "duration_s": duration,
    }
    try:
        _wait_for_port(PORT)
        token = str(RefreshToken.for_user(subjects.typical).access_token)
        # Reads first: the send run adds thousands of messages to the bench user's conversations, which
        # the conversation list would then group as well (it was a third slower measured after it).
        scenarios = {
            "conversations (typical user)": ("get.lua", {"BENCH_PATH": "/api/messages/conversations"}),
            # The floor of the stack (JWT + DRF + one indexed COUNT): what any endpoint can reach here.
            "unread-count (reference)": ("get.lua", {"BENCH_PATH": "/api/messages/unread-count"}),
            "send": ("send.lua", {"RECIPIENT_ID": str(subjects.typical_partner.pk)}),
        }

        def run_wrk(script, extra, seconds):
            with tempfile.TemporaryDirectory() as scratch:
                wrk = [
                    "wrk",
                    "-t2",
                    f"-c{connections}",
                    f"-d{seconds}s",
                    "--latency",
                    "-s",
                    str(WRK_DIR / script),
                    f"http://127.0.0.1:{PORT}",
                ]
                env = {**os.environ, "BENCH_TOKEN": token, **extra}
                output = subprocess.run(wrk, env=env, cwd=scratch, capture_output=True, text=True, check=True).stdout
            return wrk, output

        # Unmeasured: both workers booted, their connections open and their hot statements prepared.
        run_wrk(*scenarios["unread-count (reference)"], 3)
        for name, (script, extra) in scenarios.items():
            pids = _workers(process.pid)
            cpu_before = [_cpu_seconds(pid) for pid in pids]
            wrk, output = run_wrk(script, extra, duration)
            results[name] = parse_wrk(output)
            results[name]["wrk"] = " ".join(wrk)
            # Each worker's share of the CPU during the run: an idle worker shows an uneven spread of wrk's
            # keep-alive connections.
            results[name]["worker_cpu_s"] = [
                round(_cpu_seconds(pid) - before, 2) for pid, before in zip(pids, cpu_before, strict=True)
            ]
            log(
                f"  {server} {name}: {results[name]['requests_per_s']:.0f} req/s, non-2xx {results[name]['non_2xx']}, "
                f"socket errors {results[name]['socket_errors']}"
            )
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        Message.objects.filter(id__gt=before).delete()
    return results
