"""Project-wide test fixtures."""

import os
import re
import threading
import time
import uuid

import pytest
import uvicorn
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from legacy_dm import usage
from messaging import broker as broker_module
from tests.browser import chromium
from tests.helpers import REDIS_URL, free_port, make_roles, redis_is_up
from users.tests.factories import UserFactory, client_for

# A test skipped because a service it needs is missing (Redis, Chromium, Playwright, curl, node and the npm
# packages of clients/, PostgreSQL 15's binaries for a primary and replica) is a failure
# where RELAY_REQUIRE_SERVICES=1 (`.ci/run` sets it): CI must not pass by not running them.
NEEDED_SERVICE = re.compile(
    r"redis|chromium|playwright|curl|python3 is not on PATH|node is not installed|npm packages|PostgreSQL 15 binaries",
    re.IGNORECASE,
)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.skipped and os.environ.get("RELAY_REQUIRE_SERVICES") == "1":
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if NEEDED_SERVICE.search(reason):
            report.outcome = "failed"
            report.longrepr = f"skipped, but RELAY_REQUIRE_SERVICES=1 requires what it needs: {reason}"
    return report


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    """A fast password hasher (bcrypt stays accepted for carried users), fresh throttle counters, quick
    heartbeats, legacy call counts written at once."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    # A live server's event streams (the pages open one each) notice a closed browser at the next heartbeat.
    settings.EVENTS_HEARTBEAT_SECONDS = 1
    # pytest-django's live server is a WSGI server with a thread per request: the pages' streams run on it.
    settings.EVENTS_STREAM_ON_WSGI = True
    # Legacy call counts written on every call, so a test reads its own calls' counts.
    settings.LEGACY_USAGE_WRITE_SECONDS = 0
    cache.clear()
    yield
    cache.clear()
    # Calls a test counted with an interval and did not write stay out of the next test (and of the exit).
    with usage._lock:
        if usage._pending is not None:
            usage._pending.cancel()
            usage._pending = None
        usage._unwritten.clear()


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", display_name="Alice Liddell")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def carol(db):
    return UserFactory(username="carol", display_name="Carol")


@pytest.fixture
def alice_client(alice):
    return client_for(alice)


@pytest.fixture
def bob_client(bob):
    return client_for(bob)


@pytest.fixture
def carol_client(carol):
    return client_for(carol)


@pytest.fixture
def moderator(db):
    """A member of the Moderators group (staff, not a superuser): the admin's moderation console."""
    user = UserFactory(username="mod", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def mod_client(client, moderator):
    client.force_login(moderator)
    return client


@pytest.fixture
def roles(db):
    """The authorization roles around one message with an attachment (see `tests.helpers.Roles`)."""
    return make_roles()


@pytest.fixture
def keep_test_connection():
    """Requests through the WSGI application itself stay inside the test's transaction.

    Django's test client disconnects `close_old_connections` from the request signals for the same reason:
    closing the connection would end the test transaction.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=["memory", "redis"])
def events_broker(request, settings):
    """A fresh broker of each kind; Redis keys under a prefix of their own."""
    if request.param == "redis":
        if not redis_is_up():
            pytest.skip("no Redis on 127.0.0.1:6379")
        settings.REDIS_URL = REDIS_URL
    else:
        settings.REDIS_URL = ""
    settings.EVENTS_KEY_PREFIX = f"relay-test:{uuid.uuid4().hex}"
    broker_module.reset_broker()
    yield broker_module.broker()
    broker_module.reset_broker()


@pytest.fixture
def asgi_server(transactional_db, settings):
    """uvicorn serving config.asgi in a thread of this process, on a free port, with a Redis broker."""
    if not redis_is_up():
        pytest.skip("no Redis on 127.0.0.1:6379")
    yield from _serve_asgi(settings, redis_url=REDIS_URL)


@pytest.fixture
def asgi_server_in_memory(transactional_db, settings):
    """The same with the in-process broker (no REDIS_URL)."""
    yield from _serve_asgi(settings, redis_url="")


def _serve_asgi(settings, *, redis_url: str):
    settings.REDIS_URL = redis_url
    settings.EVENTS_KEY_PREFIX = f"relay-test:{uuid.uuid4().hex}"
    settings.EVENTS_HEARTBEAT_SECONDS = 1
    broker_module.reset_broker()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config("config.asgi:application", host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    broker_module.reset_broker()


@pytest.fixture
def browser(monkeypatch):
    """One headless Chromium for a browser test (`tests.browser.chromium`): `browser.open_page(...)` gives a page
    of its own. Playwright's sync API keeps an event loop in the test's thread, hence the variable (for this
    test only: a later test's subprocess must not inherit it)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium() as pages:
        yield pages
