"""Fan-out across server processes: two uvicorn processes sharing one Redis, a send on one is delivered to a
stream held on the other.

PostgreSQL and Redis only: both processes serve the test database, so the test's rows are committed
(`transactional_db`) and the in-memory SQLite of the suite is out of their reach.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

from tests.helpers import REDIS_URL, EventStream, free_port, http_json, redis_is_up, token_for
from users.tests.factories import UserFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="server processes cannot share the suite's in-memory SQLite"
)


def database_url() -> str:
    """The test database, as the processes' DATABASE_URL."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return f"postgres://{quote(db['USER'] or '', safe='')}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for_port(process: subprocess.Popen, port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server on port {port} exited with {process.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {seconds} s")


@pytest.fixture
def two_servers(transactional_db):
    """Two `uvicorn config.asgi:application` processes on the test database and one Redis (their own keys)."""
    if not redis_is_up():
        pytest.skip("no Redis on 127.0.0.1:6379")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "EVENTS_KEY_PREFIX": f"relay-test:{uuid.uuid4().hex}",
        "EVENTS_HEARTBEAT_SECONDS": "1",
        "SECRET_KEY": django_settings.SECRET_KEY,
        "JWT_SIGNING_KEY": django_settings.JWT_SIGNING_KEY,
    }
    ports = [free_port(), free_port()]
    processes = []
    try:
        for port in ports:
            command = [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port)]
            command += ["--host", "127.0.0.1", "--log-level", "warning", "--lifespan", "off"]
            processes.append(subprocess.Popen(command, env=env, cwd=django_settings.BASE_DIR))
        for process, port in zip(processes, ports, strict=True):
            wait_for_port(process, port)
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_a_send_on_one_process_reaches_a_stream_held_on_the_other(two_servers):
    first, second = two_servers
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    stream = EventStream(second, token_for(alice))
    try:
        assert stream.next("unread_count")["data"] == {"unread_count": 0, "badge_count": 0}
        status, sent = http_json(
            f"{first}/api/messages/send",
            method="POST",
            token=token_for(bob),
            body={"recipient_id": alice.pk, "body": "from the other process"},
        )
        assert status == 201, sent
        created = stream.next("message.created")
        assert (created["data"]["id"], created["data"]["body"]) == (sent["id"], "from the other process")
        assert stream.next("unread_count")["data"] == {"unread_count": 1, "badge_count": 1}
    finally:
        stream.close()
