"""/healthz and /readyz (config/health.py) and the request id (config/request_ids.py), through the test client
and through a real gunicorn with a real Redis, a closed port, and a Redis that never answers."""

import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings as django_settings

from config import health
from tests.helpers import free_port, server_env, stop_server, wait_for_port

REAL_REDIS = "redis://127.0.0.1:6379/13"
HEX32 = r"[0-9a-f]{32}"


@pytest.fixture
def closed_port_redis() -> str:
    """A Redis URL on a port where nothing listens: the connection is refused."""
    return f"redis://127.0.0.1:{free_port()}/0"


@pytest.fixture
def silent_redis():
    """A Redis URL on a socket that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"


# --- /healthz ---------------------------------------------------------------------------------------------


def test_healthz_answers_without_the_database_or_a_login(client, settings):
    """No `db` mark: pytest-django refuses any database access here, so a query would fail the test."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # not asked either
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert "Set-Cookie" not in response
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def test_healthz_and_readyz_answer_http_probes_when_https_is_forced(client, settings, db):
    """The proxy probes a node over plain HTTP: no redirect to https for these two, and still for the rest."""
    settings.SECURE_SSL_REDIRECT = True
    settings.REDIS_URL = ""
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301


# --- /readyz ----------------------------------------------------------------------------------------------


def test_readyz_without_redis_asks_only_the_database(client, settings, db):
    settings.REDIS_URL = ""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}
    assert "Content-Security-Policy" not in response  # JSON, as every JSON answer


def test_readyz_with_the_real_redis_is_ready(client, settings, db):
    settings.REDIS_URL = REAL_REDIS
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}


def test_readyz_with_redis_refusing_is_503_naming_redis(client, settings, db, closed_port_redis):
    settings.REDIS_URL = closed_port_redis
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {"database": "ok", "redis": "failed"},
        "failed": ["redis"],
    }


def test_readyz_with_a_silent_redis_answers_503_within_the_timeout(client, settings, db, silent_redis):
    settings.REDIS_URL = silent_redis
    settings.READYZ_TIMEOUT_SECONDS = 0.5
    started = time.monotonic()
    response = client.get("/readyz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["failed"] == ["redis"]
    assert response.json()["checks"]["redis"] in {"timeout", "failed"}
    assert elapsed < 1.5, elapsed


def test_a_check_that_hangs_is_a_timeout_and_the_answer_does_not_wait_for_it(client, settings, db, monkeypatch):
    """Any check in the list (the replica's lag will be one) is bounded by the timeout, not by its own."""
    settings.REDIS_URL = ""
    settings.READYZ_TIMEOUT_SECONDS = 0.3
    checks = health.readiness_checks()
    monkeypatch.setattr(health, "readiness_checks", lambda: {**checks, "replica": lambda timeout: time.sleep(3)})
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 1.0
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "replica": "timeout"}
    assert response.json()["failed"] == ["replica"]


# --- Request ids -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/accounts/login/", "/api/no-such-endpoint", "/no-such-page/"])
def test_every_answer_carries_a_new_request_id(client, db, path):
    first, second = client.get(path)["X-Request-ID"], client.get(path)["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) >= 0
    assert first != second


def test_the_pages_keep_their_security_headers_beside_the_request_id(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == django_settings.PAGES_CONTENT_SECURITY_POLICY
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.parametrize("given", ["3f2a9c0d4e5b6a7c8d9e0f1a2b3c4d5e", "a", "req-1.2_x", "9" * 128])
def test_a_sane_id_from_the_proxy_comes_back(client, given):
    assert client.get("/healthz", headers={"X-Request-ID": given})["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["", "9" * 129, "has space", "new\\nline", "a;b", "ünï", "x\tz"])
def test_an_id_that_does_not_look_like_one_is_replaced(client, given):
    returned = client.get("/healthz", headers={"X-Request-ID": given})["X-Request-ID"]
    assert returned != given
    assert len(returned) == 32 and int(returned, 16) >= 0


# --- A real server ---------------------------------------------------------------------------------------


def gunicorn(env: dict[str, str], port: int, log) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "1"]
    command += ["--worker-class", "gthread", "--threads", "2", "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen(command, env=env, cwd=django_settings.BASE_DIR, stdout=log, stderr=log)
    wait_for_port(process, port)
    return process


def get(url: str, request_id: str | None = None) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, headers={"X-Request-ID": request_id} if request_id else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), response.headers["X-Request-ID"]
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), error.headers["X-Request-ID"]


def test_gunicorn_readyz_follows_redis_and_logs_json_lines_with_the_request_id(db, closed_port_redis):
    """gunicorn with LOG_FORMAT=json: /readyz is 503 within its timeout while Redis's port is closed, and each
    line it logs for that request is a JSON object with the proxy's request id; with the real Redis, 200."""
    timeout = 1.0
    port = free_port()
    env = server_env(REDIS_URL=closed_port_redis, LOG_FORMAT="json", READYZ_TIMEOUT_SECONDS=str(timeout))
    with tempfile.TemporaryFile(mode="w+") as log:
        process = gunicorn(env, port, log)
        try:
            assert get(f"http://127.0.0.1:{port}/healthz")[:2] == (200, {"status": "ok"})
            started = time.monotonic()
            status, body, returned_id = get(f"http://127.0.0.1:{port}/readyz", "probe-42")
            elapsed = time.monotonic() - started
        finally:
            stop_server(process)
        log.seek(0)
        output = log.read()
    assert status == 503 and body["failed"] == ["redis"], body
    assert elapsed < timeout + 0.5, elapsed
    assert returned_id == "probe-42"
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    ours = [line for line in lines if line.get("request_id") == "probe-42"]
    assert {line["logger"] for line in ours} >= {"config.health", "django.request"}, output
    for line in ours:
        assert set(line) >= {"time", "level", "logger", "message"}
    readyz_line = next(line for line in ours if line["logger"] == "config.health")
    assert readyz_line["level"] == "WARNING" and "redis failed" in readyz_line["message"]

    port = free_port()
    process = gunicorn(server_env(REDIS_URL=REAL_REDIS, READYZ_TIMEOUT_SECONDS=str(timeout)), port, subprocess.DEVNULL)
    try:
        status, body, _ = get(f"http://127.0.0.1:{port}/readyz")
    finally:
        stop_server(process)
    assert (status, body) == (200, {"status": "ready", "checks": {"database": "ok", "redis": "ok"}})


def test_under_asgi_the_id_comes_back_too():
    """The async path of the middleware (uvicorn): a sane id comes back, and a missing one is made."""
    from django.test import AsyncClient

    async def probe():
        client = AsyncClient()
        return await client.get("/healthz", headers={"X-Request-ID": "asgi-1"}), await client.get("/healthz")

    given, made = asyncio.run(probe())
    assert given.status_code == 200 and given["X-Request-ID"] == "asgi-1"
    assert made.status_code == 200 and len(made["X-Request-ID"]) == 32


def test_gunicorn_readyz_is_503_naming_the_database_when_it_is_down(db):
    """A node whose database refuses connections is not ready (503 naming it), and still alive (/healthz)."""
    port = free_port()
    env = server_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/relay", REDIS_URL=REAL_REDIS)
    process = gunicorn({**env, "READYZ_TIMEOUT_SECONDS": "1"}, port, subprocess.DEVNULL)
    try:
        started = time.monotonic()
        status, body, _ = get(f"http://127.0.0.1:{port}/readyz")
        elapsed = time.monotonic() - started
        alive = get(f"http://127.0.0.1:{port}/healthz")[:2]
    finally:
        stop_server(process)
    assert (status, body["failed"], body["checks"]["redis"]) == (503, ["database"], "ok"), body
    assert elapsed < 1.5, elapsed
    assert alive == (200, {"status": "ok"})


def test_gunicorn_readyz_stays_ready_and_prompt_while_the_replica_hangs(db):
    """A replica address that accepts connections and never answers (a hung host): its probes take their
    2 s connect timeout each, on a thread of their own, one at a time. /readyz asked four times a second (two
    proxies probing) answers 200 every time within its timeout, the replica shown as last known."""
    timeout = 1.0
    with socket.socket() as silent, tempfile.TemporaryFile(mode="w+") as log:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        replica_url = f"postgres://postgres@127.0.0.1:{silent.getsockname()[1]}/relay"
        env = server_env(DATABASE_REPLICA_URL=replica_url, REDIS_URL=REAL_REDIS, READYZ_TIMEOUT_SECONDS=str(timeout))
        port = free_port()
        process = gunicorn(env, port, log)
        answers = []
        try:
            assert get(f"http://127.0.0.1:{port}/healthz")[0] == 200  # the URLs and views loaded
            for _ in range(20):
                started = time.monotonic()
                status, body, _ = get(f"http://127.0.0.1:{port}/readyz")
                answers.append((status, round(time.monotonic() - started, 2), body))
                time.sleep(max(0.0, 0.25 - (time.monotonic() - started)))
        finally:
            stop_server(process)
            log.seek(0)
            print(log.read()[-3000:])
    for status, elapsed, body in answers:
        assert status == 200 and body["checks"] == {"database": "ok", "redis": "ok"}, answers
        assert elapsed < timeout, answers  # the replica is not waited for past the checks (and 0.25 s)
        assert body["replica"]["state"] in ("unknown", "down"), answers
    assert any(body["replica"]["state"] == "down" for _, _, body in answers), answers  # a probe has ended
