"""Benchmark: what an open event stream costs its uvicorn process in memory (issue 25; not a test).

One uvicorn process (`config.asgi`, one worker, a real Redis under a key prefix of this run's own) serves a
small database (`relay_streambench`: created and migrated the first time, `--users` users). An httpx client
in this process opens `--streams` streams (Bearer JWT, spread over the users, so no user's cap is reached)
and reads each one's opening; the VmRSS of the server before and after, per stream, is the result. Then slow
readers: one user receives `--backlog` messages of 10,000 characters (the most a body may hold) through one
process, and twenty clients resume that user's stream from the start of the log on a fresh second process
and read nothing; that process's VmRSS growth per reader is what such a reader pins. With
`--baseline DIR` (a checkout of another revision, e.g. `git worktree add /tmp/base 41cbfb6`) the same is
measured for that code in the same run, the two alternating round by round; tokens are minted by each
checkout's own code.

    .venv/bin/python -m bench.stream_memory [--streams 1000] [--rounds 3] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE = "relay_streambench"
PORT = int(os.environ.get("BENCH_STREAM_PORT", "8781"))

MINT = """
import django, sys
django.setup()
from users.models import User
try:
    from users.tokens import AccessToken
except ImportError:
    from rest_framework_simplejwt.tokens import AccessToken
users = list(User.objects.filter(username__startswith="streambench").order_by("pk")[: int(sys.argv[1])])
print("\\n".join(str(AccessToken.for_user(user)) for user in users))
"""

CREATE = """
import django, sys
django.setup()
from users.models import User
wanted = int(sys.argv[1])
have = User.objects.filter(username__startswith="streambench").count()
User.objects.bulk_create(
    [User(username=f"streambench{i}", password="!") for i in range(have, wanted)], batch_size=1000
)
"""


def _env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"{PG_URL}/{DATABASE}",
        "REDIS_URL": REDIS_URL,
        "DB_CONN_MAX_AGE": "0",
        "SECRET_KEY": "stream-memory-bench",
        "JWT_SIGNING_KEY": "stream-memory-bench-jwt",
        **extra,
    }


def _python(code_dir: Path) -> str:
    local = code_dir / ".venv" / "bin" / "python"
    return str(local) if local.exists() else sys.executable


def prepare(code_dir: Path, users: int) -> None:
    subprocess.run(["psql", PG_URL + "/postgres", "-qc", f"CREATE DATABASE {DATABASE}"], capture_output=True)
    env = _env()
    subprocess.run([_python(code_dir), "manage.py", "migrate", "-v0"], cwd=code_dir, env=env, check=True)
    subprocess.run([_python(code_dir), "-c", CREATE, str(users)], cwd=code_dir, env=env, check=True)


def tokens(code_dir: Path, count: int) -> list[str]:
    out = subprocess.run(
        [_python(code_dir), "-c", MINT, str(count)], cwd=code_dir, env=_env(), check=True, capture_output=True
    )
    return out.stdout.decode().split()


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


async def _hold(streams: int, keys: list[str], opened: asyncio.Event, done: asyncio.Event) -> int:
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{PORT}", timeout=60, limits=limits) as client:
        count = 0
        ready = asyncio.Semaphore(50)

        async def one(key: str) -> None:
            nonlocal count
            async with ready:
                request = client.build_request(
                    "GET", "/api/messages/events", headers={"Authorization": f"Bearer {key}"}
                )
                response = await client.send(request, stream=True)
            assert response.status_code == 200, response.status_code
            lines = response.aiter_lines()
            while "unread_count" not in await anext(lines):
                pass
            count += 1
            if count == streams:
                opened.set()
            await done.wait()
            await response.aclose()

        tasks = [asyncio.create_task(one(keys[i % len(keys)])) for i in range(streams)]
        await opened.wait()
        return len(tasks)


@contextlib.contextmanager
def _server(code_dir: Path, env: dict[str, str], port: int) -> Iterator[subprocess.Popen]:
    """uvicorn serving `code_dir`'s `config.asgi` on `port`, once it answers."""
    command = [_python(code_dir), "-m", "uvicorn", "config.asgi:application", "--port", str(port)]
    server = subprocess.Popen([*command, "--log-level", "warning", "--lifespan", "off"], cwd=code_dir, env=env)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/messages/unread-count", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _open_one(port: int, key: str) -> None:
    """One stream, to its opening, then closed: warms a fresh process (imports, connections, the loop)."""
    headers = {"Authorization": f"Bearer {key}"}
    url = f"http://127.0.0.1:{port}/api/messages/events"
    with httpx.Client(timeout=10) as client, client.stream("GET", url, headers=headers) as response:
        next(response.iter_lines())


def per_stream(code_dir: Path, streams: int, keys: list[str]) -> float:
    """KiB of server RSS per open stream for the code in `code_dir`."""
    env = _env(EVENTS_KEY_PREFIX=f"relay-bench:{uuid.uuid4().hex}", EVENTS_HEARTBEAT_SECONDS="60")
    with _server(code_dir, env, PORT) as server:
        _open_one(PORT, keys[0])
        time.sleep(0.5)
        before = _rss_kib(server.pid)

        async def run() -> int:
            opened, done = asyncio.Event(), asyncio.Event()
            holder = asyncio.create_task(_hold(streams, keys, opened, done))
            await opened.wait()
            await asyncio.sleep(1)
            after = _rss_kib(server.pid)
            done.set()
            await holder
            return after

        return (asyncio.run(run()) - before) / streams


SLOW_READERS = 20


def slow_readers(code_dir: Path, keys: list[str], backlog: int) -> float:
    """KiB a reader pins who resumes a long backlog of large messages and reads nothing. The backlog is sent
    through one process; the readers open on a fresh second one (sharing Redis and the database), so that
    what the sends allocated and freed does not hide what the readers hold."""
    import socket

    import redis

    prefix = f"relay-bench:{uuid.uuid4().hex}"
    env = _env(EVENTS_KEY_PREFIX=prefix, EVENTS_HEARTBEAT_SECONDS="60", THROTTLE_SEND_RATE="100000/min")
    sender, reader = keys[1], keys[2]
    with _server(code_dir, env, PORT):
        reader_id = httpx.get(
            f"http://127.0.0.1:{PORT}/api/auth/me/", headers={"Authorization": f"Bearer {reader}"}, timeout=10
        ).json()["id"]
        with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=30) as client:
            for _ in range(backlog):
                sent = client.post(
                    "/api/messages/send",
                    json={"recipient_id": reader_id, "body": "x" * 10_000},
                    headers={"Authorization": f"Bearer {sender}"},
                )
                assert sent.status_code == 201, sent.text
    # Where this code's log starts: its start id where it has one, else "0-0" (the code before issue 25).
    start = redis.Redis.from_url(REDIS_URL).get(f"{prefix}:epoch")
    position = start.decode() if start else "0-0"
    with _server(code_dir, env, PORT + 1) as server:
        _open_one(PORT + 1, keys[0])
        time.sleep(0.5)
        before = _rss_kib(server.pid)
        sockets = []
        for _ in range(SLOW_READERS):
            sock = socket.create_connection(("127.0.0.1", PORT + 1))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            request = (
                f"GET /api/messages/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {reader}\r\n"
                f"Last-Event-ID: {position}\r\n\r\n"
            )
            sock.sendall(request.encode())
            sockets.append(sock)
        time.sleep(3)
        pinned = (_rss_kib(server.pid) - before) / SLOW_READERS
        for sock in sockets:
            sock.close()
        return pinned


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=300)
    parser.add_argument("--baseline", type=Path)
    args = parser.parse_args()
    codes = {"this checkout": ROOT}
    if args.baseline:
        codes = {f"baseline ({args.baseline})": args.baseline.resolve(), **codes}
    prepare(ROOT, args.users)
    keys = {name: tokens(code, args.users) for name, code in codes.items()}
    results: dict[str, list[float]] = {name: [] for name in codes}
    pinned: dict[str, list[float]] = {name: [] for name in codes}
    for round_ in range(args.rounds):
        for name, code in codes.items():
            cost = per_stream(code, args.streams, keys[name])
            slow = slow_readers(code, keys[name], args.backlog)
            results[name].append(cost)
            pinned[name].append(slow)
            print(f"round {round_ + 1}: {name}: {cost:.1f} KiB per open stream; a slow reader pins {slow:.0f} KiB")
    for name, values in results.items():
        spread = f"{min(values):.1f}-{max(values):.1f}"
        print(
            f"{name}: median {statistics.median(values):.1f} KiB per stream (range {spread}); a slow reader"
            f" pins median {statistics.median(pinned[name]):.0f} KiB (range {min(pinned[name]):.0f}-{max(pinned[name]):.0f})"
            f" over {len(values)} rounds"
        )


if __name__ == "__main__":
    main()
