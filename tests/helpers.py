"""What several test modules share: the authorization roles, the forged server-side fields, the fuzzing checks,
concurrent clients, the live event stream's client and brokers.

Test modules import from here (and from the apps' `tests/factories.py`), never from each other.
"""

import asyncio
import http.client
import importlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import quote, urlsplit

from django.contrib.auth.models import Group
from django.db import connection, connections
from django.utils import timezone
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from messaging import services
from messaging.models import Message
from messaging.tests.factories import AttachmentMessageFactory
from users.tests.factories import UserFactory
from users.tokens import RefreshToken

# The authorization roles around one message: its two parties, a third user, a moderator (staff of the
# Moderators group, as `seed_data` makes one), a user the recipient has blocked, and an anonymous caller.
ROLES = ("sender", "recipient", "third_user", "moderator", "blocked_user", "anonymous")
PARTIES = ("sender", "recipient")
# Signed-in callers who are no party to the message. A superuser is not one of the six roles; tests that add
# "superuser" to these check that outside the admin even a superuser is no party.
OUTSIDERS = ("third_user", "moderator", "blocked_user")
SECRET = "the secret launch code is 0000"


@dataclass
class Roles:
    """A message with an attachment from the sender to the recipient, and a user for each role."""

    sender: object
    recipient: object
    third_user: object
    moderator: object
    blocked_user: object
    superuser: object
    message: Message

    def user(self, role: str):
        """The user who plays `role`; None for the anonymous caller."""
        return None if role == "anonymous" else getattr(self, role)

    @property
    def missing_id(self) -> int:
        return self.message.pk + 1000


def make_roles() -> Roles:
    sender = UserFactory(username="sender")
    recipient = UserFactory(username="recipient")
    moderator = UserFactory(username="moderator", is_staff=True)
    moderator.groups.add(Group.objects.get(name="Moderators"))
    blocked_user = UserFactory(username="blocked_user")
    services.block_user(user=recipient, blocked_id=blocked_user.pk)
    message = AttachmentMessageFactory(
        sender=sender, recipient=recipient, body=SECRET, attachment_data=b"%PDF-1.4 " + SECRET.encode()
    )
    return Roles(
        sender=sender,
        recipient=recipient,
        third_user=UserFactory(username="third_user"),
        moderator=moderator,
        blocked_user=blocked_user,
        superuser=UserFactory(username="superuser", is_staff=True, is_superuser=True),
        message=message,
    )


LONG_AGO = "2000-01-01T00:00:00Z"


def forged_message_fields(*, impersonated, moderator_id) -> dict:
    """Everything a Message row has that only the server may decide."""
    return {
        "id": 999_999,
        "sender": impersonated.pk,
        "sender_id": impersonated.pk,
        "read_at": LONG_AGO,
        "is_read": True,
        "sender_deleted_at": LONG_AGO,
        "recipient_deleted_at": LONG_AGO,
        "hidden_at": LONG_AGO,
        "hidden_by": moderator_id,
        "hidden_by_id": moderator_id,
        "hidden_reason": "forged",
        "created_at": LONG_AGO,
        "updated_at": LONG_AGO,
        "legacy_id": 4242,
        "legacy_reply_to_id": 4241,
        "legacy_file_name": "forged.bin",
        "attachment_size": 1,
        "attachment_name": "forged.bin",
    }


def assert_server_decided(message: Message, *, sender):
    """None of `forged_message_fields` reached the stored row."""
    before = timezone.now() - timedelta(minutes=1)
    assert message.sender == sender
    assert message.pk != 999_999
    assert message.read_at is None
    assert message.sender_deleted_at is None and message.recipient_deleted_at is None
    assert message.hidden_at is None and message.hidden_by is None and message.hidden_reason == ""
    assert message.created_at > before
    assert message.legacy_id is None and message.legacy_reply_to_id is None and message.legacy_file_name == ""
    assert message.attachment_size is None and message.attachment_name == ""


# What the schemathesis runs of the new and the legacy API check on every answer.
FUZZ_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
]


def run_at_once(work: Callable[[int], object], count: int, *, timeout: float = 120.0) -> tuple[list, list]:
    """Call `work(index)` in `count` threads released together: their results (None where one raised), and
    the exceptions raised. Each thread closes its own database connections; all finish within `timeout` s.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list = []

    def runner(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:  # handed to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(index,), daemon=True) for index in range(count)]
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), "the threads did not finish in time"
    return results, errors


def http_json(
    url: str, *, method: str = "GET", body: object = None, token: str | None = None, timeout: float = 60.0
) -> tuple[int, object]:
    """A real HTTP request with a JSON body (and a Bearer token): the status and the decoded JSON (None if empty;
    `{"raw": ...}` for a body that is not JSON, such as a server's HTML error page).
    """
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    if not raw:
        return status, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {"raw": raw[:300].decode(errors="replace")}


def restore_moderators_group() -> None:
    """Recreate the "Moderators" group as migrations messaging 0002 and 0009 do (idempotent).

    A transactional test (`live_server`) starts after earlier ones flushed every table, the migration's
    group included; `serialized_rollback` cannot restore it here (it collides with the content types that
    the flush's post_migrate recreates).
    """
    from django.apps import apps

    schema_editor = SimpleNamespace(connection=connection)
    importlib.import_module("messaging.migrations.0002_moderators_group").create_moderators_group(apps, schema_editor)
    importlib.import_module("messaging.migrations.0009_moderators_view_people").let_moderators_view_people(
        apps, schema_editor
    )


# --- Live events ----------------------------------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_is_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port nobody listens on now, for a server the test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """The test database, as a server process's DATABASE_URL."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    user = quote(db["USER"] or "", safe="")
    # A socket folder (the embedded server's) is a host too, percent-encoded.
    host = quote(db["HOST"] or "127.0.0.1", safe="")
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{db['NAME']}"


def server_env(**overrides: str) -> dict[str, str]:
    """The environment of a server process on the test database, with this process's keys."""
    from django.conf import settings

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "EVENTS_KEY_PREFIX": f"relay-test:{uuid.uuid4().hex}",
        "EVENTS_HEARTBEAT_SECONDS": "1",
        "SECRET_KEY": settings.SECRET_KEY,
        "JWT_SIGNING_KEY": settings.JWT_SIGNING_KEY,
        **overrides,
    }


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


def start_server(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    """A server process (`python -m uvicorn ...`, `python -m gunicorn ...`) from the project's folder, once it
    listens on `port`."""
    from django.conf import settings

    process = subprocess.Popen([sys.executable, "-m", *command], env=env, cwd=settings.BASE_DIR)
    wait_for_port(process, port)
    return process


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def read_all(source, user_id, after=None):
    """Every event `source` (a broker) holds for `user_id` after id `after` (else all it keeps), without waiting."""
    return asyncio.run(source.read(user_id, after or source.start_id(), block_ms=0))


def delivered(source, user) -> list[tuple[str, dict]]:
    """What a stream of `user` delivers of every event `source` holds for them, read now in one batch: (type,
    data), without the entries it passes over (`messaging.events.as_delivered`)."""
    from messaging.events import as_delivered

    shown = as_delivered(user=user, events=read_all(source, user.pk))
    return [(type_, data) for _, type_, data in shown if type_ is not None and data is not None]


def token_for(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


class EventStream:
    """An SSE client on a raw HTTP connection: `next(type)` waits for the next event of that type."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        last_event_id: str | None = None,
        *,
        session: str | None = None,
        path: str = "/api/messages/events",
    ) -> None:
        """A stream opened with a Bearer `token`, or with the session cookie `session`."""
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        headers = {"Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if session:
            headers["Cookie"] = f"sessionid={session}"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        self.conn.request("GET", path, headers=headers)
        self.response = self.conn.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type").startswith("text/event-stream")
        self.seen: list[dict] = []

    def event(self) -> dict:
        frame: dict = {}
        while True:
            line = self.response.readline().decode()
            if line == "":
                raise EOFError("stream closed")
            line = line.rstrip("\n")
            if not line:
                if "event" in frame:
                    frame["data"] = json.loads(frame.get("data", "null"))
                    self.seen.append(frame)
                    return frame
                frame = {}
                continue
            if line.startswith(":"):
                frame.setdefault("comments", []).append(line)
                continue
            name, _, value = line.partition(": ")
            frame[name] = value

    def heartbeat(self) -> str:
        """The next comment line (a heartbeat); events before it are kept in `seen`."""
        while True:
            line = self.response.readline().decode()
            if line.startswith(":"):
                return line.rstrip("\n")
            if line == "":
                raise EOFError("stream closed")

    def during(self, seconds: float) -> list[str]:
        """The event types that arrive within `seconds` (heartbeats come every second, so reads return)."""
        deadline = time.monotonic() + seconds
        types = []
        while time.monotonic() < deadline:
            line = self.response.readline().decode()
            if line.startswith("event: "):
                types.append(line[len("event: ") :].strip())
        return types

    def next(self, event_type: str) -> dict:
        while True:
            frame = self.event()
            if frame["event"] == event_type:
                return frame

    def rest(self) -> str:
        """Everything the server sends until it closes the stream."""
        return self.response.read().decode()

    @staticmethod
    def refused(url: str, *, token: str | None = None, session: str | None = None) -> int:
        """The status of a stream that does not open (a 401, say)."""
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if session:
            headers["Cookie"] = f"sessionid={session}"
        conn.request("GET", "/api/messages/events", headers=headers)
        status = conn.getresponse().status
        conn.close()
        return status

    @staticmethod
    def allow_header(url: str) -> str | None:
        """The `Allow` header of a POST to the stream's URL."""
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        conn.request("POST", "/api/messages/events", body=b"", headers={"Content-Type": "application/json"})
        allow = conn.getresponse().getheader("Allow")
        conn.close()
        return allow

    def close(self) -> None:
        self.conn.close()
