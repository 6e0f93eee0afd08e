"""Reads from the replica with read-your-writes (config/db_router.py), against a real PostgreSQL 15 primary and
streaming replica (tests/replication.py) whose replica replays each commit 2 s late, and real gunicorn nodes.

Without the PostgreSQL 15 binaries the tests that need the pair are skipped, and `.ci/run`
(RELAY_REQUIRE_SERVICES=1) fails them.
"""

import asyncio
import http.cookiejar
import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import dj_database_url
import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.db import connection, connections, transaction
from django.http import HttpResponse
from django.test import RequestFactory

from config import db_router
from messaging.models import Message
from tests.helpers import free_port, http_json, redis_is_up, server_env, stop_server, wait_for_port
from tests.replication import MISSING, PostgresPair, binaries_present

ROUTER_REDIS = "redis://127.0.0.1:6379/9"
PASSWORD = "a long enough passphrase 42"


# --- The pair and the nodes ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair():
    """A primary and a replica 2 s behind it, with Relay's schema migrated on the primary."""
    if not binaries_present():
        pytest.skip(MISSING)
    started = PostgresPair(apply_delay="2s").start()
    try:
        started.migrate(server_env())
        started.wait_for_replay()
        yield started
    finally:
        started.stop()


class Node:
    """A gunicorn serving Relay on the pair: DATABASE_URL the primary, DATABASE_REPLICA_URL the replica."""

    def __init__(self, pair: PostgresPair, log, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = server_env(
            DATABASE_URL=pair.url("primary"),
            DATABASE_REPLICA_URL=pair.url("replica"),
            REDIS_URL=ROUTER_REDIS,
            THROTTLE_REGISTER_RATE="1000/min",
            THROTTLE_LOGIN_RATE="1000/min",
            **{"REPLICA_MAX_LAG_SECONDS": "60", **env},
        )
        command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "1"]
        command += ["--worker-class", "gthread", "--threads", "2", "--bind", f"127.0.0.1:{self.port}"]
        self.process = subprocess.Popen(command, env=environment, cwd=django_settings.BASE_DIR, stdout=log, stderr=log)
        wait_for_port(self.process, self.port)

    def get(self, path: str, token: str | None = None) -> tuple[int, object]:
        return http_json(self.url + path, token=token, timeout=15)

    def post(self, path: str, body: object, token: str | None = None) -> tuple[int, object]:
        return http_json(self.url + path, method="POST", body=body, token=token, timeout=15)

    def reads(self) -> dict[str, float]:
        """This node's `relay_read_requests_total` by database."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=10) as response:
            text = response.read().decode()
        found = re.findall(r'^relay_read_requests_total\{database="(\w+)"\} (\S+)$', text, re.MULTILINE)
        return {"replica": 0.0, "primary": 0.0} | {name: float(value) for name, value in found}


@pytest.fixture(scope="module")
def nodes(pair):
    """Two app nodes (a and b) that read the replica while it is at most 60 s behind (b without prepared
    statements, as behind PgBouncer), and one (strict) that stops reading it past 0.5 s."""
    if not redis_is_up():
        pytest.skip("no Redis on 127.0.0.1:6379")
    redis.Redis.from_url(ROUTER_REDIS).flushdb()  # this module's own Redis database
    with tempfile.TemporaryFile(mode="w+") as log:
        started = []
        try:
            for env in ({}, {"DB_PREPARED_STATEMENTS": "0"}, {"REPLICA_MAX_LAG_SECONDS": "0.5"}):
                started.append(Node(pair, log, **env))
            yield dict(zip(("a", "b", "strict"), started, strict=True))
        finally:
            for node in started:
                stop_server(node.process)
            log.seek(0)
            print(log.read()[-5000:])  # shown when a test fails


@pytest.fixture(scope="module")
def people(pair, nodes):
    """alice and bob, registered through node a, with an access token each; the replica has them."""
    tokens = {}
    ids = {}
    for name in ("alice", "bob"):
        status, body = nodes["a"].post(
            "/api/auth/register", {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
        )
        assert status == 201, body
        ids[name] = body["id"]
        status, body = nodes["a"].post("/api/auth/token", {"username": name, "password": PASSWORD})
        assert status == 200, body
        tokens[name] = body["access"]
    pair.wait_for_replay()
    return {name: (ids[name], tokens[name]) for name in ids}


def send(node: Node, token: str, recipient_id: int) -> str:
    body = f"hello {uuid.uuid4().hex}"
    status, answer = node.post("/api/messages/send", {"recipient_id": recipient_id, "body": body}, token)
    assert status == 201, answer
    return body


# --- Through real nodes ----------------------------------------------------------------------------------


def test_a_message_sent_through_one_node_is_in_the_senders_list_at_once_through_the_other(pair, nodes, people):
    """The replica replays each send 2 s late; the sender's next read, on another node, goes to the primary."""
    (_, alice), (bob_id, _) = people["alice"], people["bob"]
    for _ in range(3):
        body = send(nodes["a"], alice, bob_id)
        status, thread = nodes["b"].get(f"/api/messages/with/{bob_id}", alice)
        assert status == 200 and body in json.dumps(thread), thread
        status, conversations = nodes["b"].get("/api/messages/conversations", alice)
        assert status == 200 and body in json.dumps(conversations), conversations


def test_another_users_read_goes_to_the_replica(pair, nodes, people):
    """bob has written nothing: his list comes from the replica, which shows alice's new message only once it has
    replayed it."""
    (_, alice), (bob_id, bob) = people["alice"], people["bob"]
    pair.wait_for_replay()
    before = nodes["b"].reads()
    body = send(nodes["a"], alice, bob_id)
    status, conversations = nodes["b"].get("/api/messages/conversations", bob)
    assert status == 200 and body not in json.dumps(conversations), "read from the primary"
    assert nodes["b"].reads()["replica"] == before["replica"] + 1
    pair.wait_for_replay()
    status, conversations = nodes["b"].get("/api/messages/conversations", bob)
    assert status == 200 and body in json.dumps(conversations)


def test_once_the_replica_has_replayed_a_write_its_writer_reads_the_replica_again(pair, nodes, people):
    (_, alice), (bob_id, _) = people["alice"], people["bob"]
    send(nodes["a"], alice, bob_id)
    before = nodes["b"].reads()
    assert nodes["b"].get(f"/api/messages/with/{bob_id}", alice)[0] == 200
    after_send = nodes["b"].reads()
    assert (after_send["primary"], after_send["replica"]) == (before["primary"] + 1, before["replica"])
    pair.wait_for_replay()
    time.sleep(db_router.STATE_MAX_AGE_SECONDS)  # the node's state may be as old as that
    assert nodes["b"].get(f"/api/messages/with/{bob_id}", alice)[0] == 200
    assert nodes["b"].reads()["replica"] == after_send["replica"] + 1


def test_a_replica_further_behind_than_the_limit_is_not_read(pair, nodes, people):
    """The strict node's limit is 0.5 s: 1.7 s after a send (0.3 s before the replica replays it) bob reads the
    primary, and /readyz stays 200 naming the replica lagging."""
    (_, alice), (bob_id, bob) = people["alice"], people["bob"]
    pair.wait_for_replay()
    body = send(nodes["a"], alice, bob_id)
    time.sleep(1.7)
    status, conversations = nodes["strict"].get("/api/messages/conversations", bob)
    assert status == 200 and body in json.dumps(conversations), "read from the replica"
    status, ready = nodes["strict"].get("/readyz")
    if ready["replica"]["state"] != "streaming":  # unless the replay came first on a slow machine
        assert status == 200 and ready["replica"]["state"] == "lagging", ready
        lag = ready["replica"]["lag_seconds"]
        assert lag is None or lag > 0.5, ready  # None: it has replayed no position the node read of the primary


def test_readyz_and_metrics_show_the_replica(pair, nodes, people):
    pair.wait_for_replay()
    status, ready = nodes["b"].get("/readyz")
    assert status == 200, ready
    assert ready["checks"] == {"database": "ok", "redis": "ok"}
    replica = ready["replica"]
    assert replica == {"state": "streaming", "lag_seconds": 0, "lag_bytes": 0, "age_seconds": replica["age_seconds"]}
    assert replica["age_seconds"] < 1
    with urllib.request.urlopen(nodes["b"].url + "/metrics", timeout=10) as response:
        text = response.read().decode()
    assert re.search(r"^relay_replica_lag_seconds 0\.0$", text, re.MULTILINE), text
    assert re.search(r"^relay_replica_lag_bytes 0\.0$", text, re.MULTILINE)
    assert re.search(r"^relay_replica_readable 1\.0$", text, re.MULTILINE)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def log_in(node: Node, username: str) -> tuple[urllib.request.OpenerDirector, urllib.error.HTTPError]:
    """A browser (cookies, no redirects followed) that logged in on `node`'s login page, and the login's answer."""
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    with browser.open(node.url + "/accounts/login/", timeout=10) as response:
        page = response.read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf})
    with pytest.raises(urllib.error.HTTPError) as redirect:  # a 302 not followed
        browser.open(node.url + "/accounts/login/", data=form.encode(), timeout=10)
    return browser, redirect.value


def test_logging_in_on_the_page_through_one_node_is_a_session_the_other_finds(pair, nodes, people):
    """The session a login makes is read from the primary: the next page, on the other node, is signed in."""
    browser, answer = log_in(nodes["a"], "alice")
    assert answer.code == 302 and answer.headers["Location"] == "/inbox/"
    with browser.open(nodes["b"].url + "/inbox/", timeout=10) as response:
        assert response.status == 200
        assert '<span class="whoami">alice</span>' in response.read().decode()


def test_a_page_that_marks_messages_read_is_a_write_its_readers_next_read_sees(pair, nodes, people):
    """bob opens, on node b, the thread with alice's new message (a GET that marks it read, on the primary);
    his unread count, asked of node a at once, is 0 and not the replica's 1."""
    (alice_id, alice), (bob_id, bob) = people["alice"], people["bob"]
    browser, _ = log_in(nodes["a"], "bob")
    read_all = nodes["a"].url + f"/api/messages/mark-conversation-read/{alice_id}"
    assert http_json(read_all, method="PUT", body={}, token=bob)[0] == 200  # nothing unread before
    send(nodes["a"], alice, bob_id)
    pair.wait_for_replay()
    assert nodes["a"].get("/api/messages/unread-count", bob)[1]["unread_count"] == 1
    with browser.open(nodes["b"].url + f"/inbox/with/{alice_id}/", timeout=10) as response:
        assert response.status == 200
    assert nodes["a"].get("/api/messages/unread-count", bob)[1] == {"unread_count": 0, "badge_count": 0}
    with pair.connect("replica") as replica:  # still 1 there: the 0 came from the primary
        unread = "SELECT count(*) FROM messaging_message WHERE recipient_id = %s AND read_at IS NULL"
        assert replica.execute(unread, [bob_id]).fetchone()[0] == 1


def run_python(code: str, environment: dict[str, str], *args: str, **options) -> subprocess.CompletedProcess:
    """`python -c code args` in this checkout with `environment` (a server's, `server_env`), its output as text."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=environment,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        **options,
    )


# Run in a process of its own on the pair: alice's session, and the request it signs in routed to the replica;
# the queries that loading its user sends to each server.
LOAD_SESSION_USER = """
import json
import django
django.setup()
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connections
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils.module_loading import import_string
from config import db_router
from users.models import User

alice = User.objects.get(username="alice")
session = SessionStore()
session[SESSION_KEY] = str(alice.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = alice.get_session_auth_hash()
session.save()
request = RequestFactory().get("/inbox/")
request.session = SessionStore(session.session_key)
request.session.load()
route = db_router.Route(request)
route.database = db_router.REPLICA  # as decided for a GET
db_router.current_route.set(route)
[authentication] = [path for path in settings.MIDDLEWARE if path.endswith(".AuthenticationMiddleware")]
import_string(authentication)(lambda request: None).process_request(request)
with CaptureQueriesContext(connections["replica"]) as replica, CaptureQueriesContext(connections["default"]) as primary:
    username = request.user.username
print(json.dumps({"user": username, "replica": len(replica), "primary": len(primary)}))
"""


def test_the_session_user_of_a_request_routed_to_the_replica_is_read_from_the_primary(pair, people):
    """A user deactivated, or whose password changed (which ends their other sessions), a moment ago is
    signed out at once: their session's user is never read from a replica that has not replayed that."""
    environment = server_env(
        DATABASE_URL=pair.url("primary"),
        DATABASE_REPLICA_URL=pair.url("replica"),
        REDIS_URL=ROUTER_REDIS,
        REPLICA_MAX_LAG_SECONDS="60",
    )
    output = run_python(LOAD_SESSION_USER, environment)
    assert output.returncode == 0, output.stderr
    loaded = json.loads(output.stdout.splitlines()[-1])
    assert (loaded["user"], loaded["replica"]) == ("alice", 0), loaded
    assert loaded["primary"] >= 1  # the session, and its user


# --- The router's parts on the real pair -----------------------------------------------------------------


@pytest.fixture(scope="module")
def pair_connections(pair, django_db_blocker):
    """Connections of this process to the pair's primary and replica (aliases of their own)."""
    aliases = {"pair_primary": pair.url("primary"), "pair_replica": pair.url("replica")}
    for alias, url in aliases.items():
        configured = connections.configure_settings({"default": connections.settings["default"], alias: {}})
        connections.settings[alias] = {**configured[alias], **dj_database_url.parse(url)}
    with django_db_blocker.unblock():
        yield connections["pair_primary"], connections["pair_replica"]
        for alias in aliases:
            connections[alias].close()
    for alias in aliases:
        del connections.settings[alias]


STREAMING = db_router.ReplicaState("streaming", 0.0)


def write_something(primary) -> str:
    with primary.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS router_test (id serial PRIMARY KEY)")
        cursor.execute("INSERT INTO router_test DEFAULT VALUES")
    return db_router.primary_position(primary)


def probe(replica, primary, max_lag_seconds: float, positions=None) -> db_router.ReplicaState:
    return db_router.probe(
        replica, max_lag_seconds, primary=primary, positions=positions or db_router.PrimaryPositions()
    )


def test_the_probe_tells_a_replica_from_the_primary_and_from_nothing(pair, pair_connections):
    primary, replica = pair_connections
    pair.wait_for_replay()
    state = probe(replica, primary, 5.0)
    assert (state.state, state.lag_seconds, state.lag_bytes) == ("streaming", 0, 0)
    assert state.readable
    assert probe(primary, primary, 5.0).state == "primary"
    connections.settings["nowhere"] = {**connections.settings["pair_replica"], "PORT": free_port()}
    try:
        assert probe(connections["nowhere"], primary, 5.0).state == "down"
    finally:
        del connections.settings["nowhere"]


def test_a_write_is_replayed_after_the_delay_and_not_before(pair, pair_connections):
    primary, replica = pair_connections
    pair.wait_for_replay()
    positions = db_router.PrimaryPositions()
    assert probe(replica, primary, 0.5, positions).state == "streaming"
    position = write_something(primary)
    assert not db_router.has_replayed(replica, position, STREAMING)
    time.sleep(0.7)
    lagging = probe(replica, primary, 0.5, positions)
    assert lagging.state == "lagging" and lagging.lag_seconds >= 0.7 and lagging.lag_bytes > 0
    assert db_router.lsn_value(lagging.replay_lsn) < db_router.lsn_value(position)
    pair.wait_for_replay()
    assert db_router.has_replayed(replica, position, STREAMING)
    assert db_router.lsn_value(probe(replica, primary, 0.5).replay_lsn) >= db_router.lsn_value(position)


def test_a_server_not_in_recovery_has_replayed_a_write_only_when_the_probe_found_the_primary_there(
    pair, pair_connections
):
    """Behind a pooler in transaction mode the replica's address may lead to the primary for the check and to a
    replica for the reads: a check answered by a server not in recovery proves nothing, unless the probe found
    that the address leads to a primary (then the reads go there anyway)."""
    primary, _ = pair_connections
    position = write_something(primary)
    assert not db_router.has_replayed(primary, position, STREAMING)
    assert db_router.has_replayed(primary, position, db_router.ReplicaState("primary", 0.0))


def test_wal_positions_compare_as_numbers():
    assert db_router.lsn_value("0/FFFFFFFF") < db_router.lsn_value("1/0") < db_router.lsn_value("1/A")
    assert db_router.lsn_value("16/B374D848") == 0x16B374D848


# --- The router's rules (the test database) --------------------------------------------------------------


class Request:
    """What a `Route` reads of a request: its headers and session."""

    META: dict[str, str] = {}
    session: dict[str, str] = {}


@pytest.mark.django_db(transaction=True)  # outside a transaction: inside one, every statement pins
def test_a_plain_read_on_the_primary_leaves_the_route_and_a_write_or_a_lock_pins_it():
    for sql, pins in [
        ("SELECT 1", False),
        ("  select id from users_user", False),
        ("SELECT id FROM users_user FOR UPDATE", True),
        ("SELECT id FROM users_user FOR NO KEY UPDATE", True),
        ("UPDATE users_user SET is_active = is_active WHERE false", True),
        ("WITH x AS (SELECT 1) SELECT * FROM x", True),  # not a plain SELECT: taken for a write
    ]:
        route = db_router.Route(Request())  # type: ignore[arg-type]
        with connection.execute_wrapper(route.watch_primary), connection.cursor() as cursor:
            cursor.execute(sql)
        assert (route.wrote, route.database) == ((True, "default") if pins else (False, None)), sql


@pytest.mark.django_db(transaction=True)
def test_a_read_inside_a_transaction_on_the_primary_pins_the_route():
    route = db_router.Route(Request())  # type: ignore[arg-type]
    with connection.execute_wrapper(route.watch_primary), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert route.database == "default"


@pytest.mark.django_db(transaction=True)
def test_a_read_inside_a_transaction_goes_to_the_primary_and_so_do_the_later_ones():
    router = db_router.ReplicaRouter()
    route = db_router.Route(Request())  # type: ignore[arg-type]
    route.database = "replica"  # as decided for a GET
    token = db_router.current_route.set(route)
    try:
        with transaction.atomic():
            assert router.db_for_read(Message) == "default"
        assert router.db_for_read(Message) == "default"
    finally:
        db_router.current_route.reset(token)


def test_outside_a_request_and_for_sessions_and_writes_the_router_says_primary():
    router = db_router.ReplicaRouter()
    assert router.db_for_read(Message) == "default"  # a command, a worker: no route
    route = db_router.Route(Request())  # type: ignore[arg-type]
    route.database = "replica"  # as decided for a GET
    token = db_router.current_route.set(route)
    try:
        assert router.db_for_read(Session) == "default"
        assert router.db_for_read(Message) == "replica"
        assert router.db_for_write(Message) == "default"
        assert router.db_for_read(Message) == "default"  # from the first write on
    finally:
        db_router.current_route.reset(token)
    assert router.allow_migrate("replica", "messaging") is False
    assert router.allow_migrate("default", "messaging") is True


def route_seen(method: str, path: str) -> str | None:
    """What `ReadRoutingMiddleware` leaves for the view of a WSGI request: where its reads are decided to go
    before any read ("default"), or None (decided at its first read)."""
    seen = []

    def view(request):
        seen.append(db_router.current_route.get().database)
        return HttpResponse()

    db_router.ReadRoutingMiddleware(view)(getattr(RequestFactory(), method)(path))
    assert db_router.current_route.get() is None  # gone with the request
    return seen[0]


def test_only_get_and_head_requests_other_than_the_event_stream_may_read_the_replica():
    assert route_seen("get", "/api/messages/conversations") is None
    assert route_seen("head", "/inbox/") is None
    for method in ("post", "put", "patch", "delete", "options"):
        assert route_seen(method, "/api/messages/conversations") == "default", method
    assert route_seen("get", "/api/messages/events") == "default"
    assert route_seen("get", "/api/messages/events/") == "default"


@pytest.mark.django_db(transaction=True)
def test_a_request_that_wrote_is_recorded_whatever_its_answer():
    """A request that wrote and then failed (a 4xx or 5xx after a first write committed) still wrote: its
    user's next reads wait for the replica to replay it."""
    from django.core.cache import cache

    from users.tests.factories import UserFactory

    user = UserFactory()
    cache.delete(db_router.WRITTEN_KEY.format(user_id=user.pk))

    def view(request):
        request.user = user
        with connection.cursor() as cursor:
            cursor.execute("UPDATE users_user SET last_login = now() WHERE id = %s", [user.pk])
        return HttpResponse(status=409)

    response = db_router.ReadRoutingMiddleware(view)(RequestFactory().post("/api/messages/send"))
    assert response.status_code == 409
    position = db_router.last_write(user.pk)
    assert position is not None
    assert db_router.lsn_value(position) <= db_router.lsn_value(db_router.primary_position(connection))


@pytest.mark.django_db
def test_the_bearer_token_drf_validated_is_not_validated_again_to_route_the_request(monkeypatch):
    """DRF's authentication validates a request's Bearer token before its first routed read; the route, decided
    at that read, takes the user from the token DRF validated (`request.auth`) instead of checking its
    signature and claims a second time (61 µs a request, measured)."""
    from django.contrib.auth import SESSION_KEY
    from rest_framework.exceptions import AuthenticationFailed
    from rest_framework.request import Request
    from rest_framework_simplejwt.backends import TokenBackend

    from users.authentication import JWTAuthentication
    from users.tests.factories import UserFactory
    from users.tokens import RefreshToken

    user = UserFactory()
    access = str(RefreshToken.for_user(user).access_token)
    http_request = RequestFactory().get("/api/messages/conversations", HTTP_AUTHORIZATION=f"Bearer {access}")
    decoded = []
    decode = TokenBackend.decode
    monkeypatch.setattr(
        TokenBackend, "decode", lambda self, *args, **kwargs: decoded.append(1) or decode(self, *args, **kwargs)
    )

    assert Request(http_request, authenticators=[JWTAuthentication()]).user == user
    assert len(decoded) == 1
    assert db_router.requesting_user_id(http_request) == user.pk
    assert len(decoded) == 1  # not decoded again

    # A request DRF has not authenticated (a page, or a read before its authentication): the router validates
    # the token itself, and a token that is not valid speaks for nobody.
    assert db_router.requesting_user_id(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {access}")) == user.pk
    assert len(decoded) == 2
    assert db_router.requesting_user_id(RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {access}x")) is None

    # DRF refused the token (its account deactivated since): no token is left on the request, and the router
    # reads the header as before, wherever a refused request's reads would go.
    user.is_active = False
    user.save(update_fields=["is_active"])
    refused = RequestFactory().get("/api/messages/conversations", HTTP_AUTHORIZATION=f"Bearer {access}")
    with pytest.raises(AuthenticationFailed):
        Request(refused, authenticators=[JWTAuthentication()]).user  # noqa: B018
    assert refused.auth is None
    assert db_router.requesting_user_id(refused) == user.pk

    # Without a Bearer token, the signed-in session's user.
    signed_in = RequestFactory().get("/inbox/")
    signed_in.session = {SESSION_KEY: str(user.pk)}
    assert db_router.requesting_user_id(signed_in) == user.pk


def test_under_asgi_the_middleware_routes_nothing():
    seen = []

    async def view(request):
        seen.append(db_router.current_route.get())
        return HttpResponse()

    middleware = db_router.ReadRoutingMiddleware(view)
    asyncio.run(middleware(RequestFactory().get("/api/messages/conversations")))
    assert seen == [None]


# --- Settings ---------------------------------------------------------------------------------------------

PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'replica': s.DATABASES.get('replica'), 'routers': s.DATABASE_ROUTERS, "
    "'middleware': s.MIDDLEWARE}, default=str))"
)


def settings_with(**env: str) -> dict:
    environment = server_env(**env)
    if "DATABASE_REPLICA_URL" not in env:
        environment.pop("DATABASE_REPLICA_URL", None)
    output = run_python(PRINT_SETTINGS, environment, check=True).stdout
    return json.loads(output)


def test_without_a_replica_url_nothing_is_routed():
    configured = settings_with()
    assert configured["replica"] is None and configured["routers"] == []
    assert "config.db_router.ReadRoutingMiddleware" not in configured["middleware"]


# Timeouts on every connection to the replica, so that one that hangs or vanishes holds no request for long.
REPLICA_OPTIONS = {
    "connect_timeout": 2,
    "tcp_user_timeout": 5000,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "options": "-c statement_timeout=10s",
}


def test_a_replica_url_adds_the_replica_the_router_and_the_middleware_before_the_sessions():
    configured = settings_with(
        DATABASE_REPLICA_URL="postgres://postgres@127.0.0.1:5999/relay", DB_PREPARED_STATEMENTS="0"
    )
    replica = configured["replica"]
    assert replica["ENGINE"] == "django.db.backends.postgresql" and replica["PORT"] == 5999
    assert replica["OPTIONS"] == REPLICA_OPTIONS
    assert replica["TEST"]["MIRROR"] == "default"
    assert configured["routers"] == ["config.db_router.ReplicaRouter"]
    middleware = configured["middleware"]
    routing = middleware.index("config.db_router.ReadRoutingMiddleware")
    assert middleware[routing + 1] == "django.contrib.sessions.middleware.SessionMiddleware"
    assert "config.db_router.AuthenticationMiddleware" in middleware  # in place of Django's
    assert "django.contrib.auth.middleware.AuthenticationMiddleware" not in middleware
    prepared = settings_with(DATABASE_REPLICA_URL="postgres://postgres@127.0.0.1:5999/relay")["replica"]
    assert prepared["ENGINE"] == "config.postgresql"
    assert prepared["OPTIONS"] == {**REPLICA_OPTIONS, "server_side_binding": True, "prepare_threshold": 5}


# Run in a process of its own: how long a signed-in read's question to the cache waits on a Redis that hangs.
ASK_THE_CACHE = """
import time
import django
django.setup()
from config import db_router
started = time.monotonic()
try:
    db_router.last_write(1)
except Exception as error:
    print(type(error).__name__, round(time.monotonic() - started, 2))
"""


def test_a_redis_that_hangs_costs_a_read_half_a_second_and_not_for_ever():
    """A Redis that accepts connections and never answers: the cache gives up after its socket timeout, half a
    second (the router then reads the primary); without it, redis-py's default waits 5 s."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        environment = server_env(REDIS_URL=f"redis://127.0.0.1:{silent.getsockname()[1]}/9")
        try:
            output = run_python(ASK_THE_CACHE, environment, timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("the cache waited on the silent Redis for 20 s")
    name, seconds = output.stdout.split()
    assert name == "TimeoutError" and float(seconds) < 2, output


# --- What routing costs -----------------------------------------------------------------------------------

# Run in a process of its own on the pair: each request through Django's whole stack (the test client), the
# statements it sent to each server. The router's own statements are recognised by what they ask.
COUNT_STATEMENTS = """
import json, sys
import django
django.setup()
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from users.models import User
from users.tokens import RefreshToken

ROUTER = ("pg_is_in_recovery", "pg_last_wal_replay_lsn() >=", "pg_current_wal_lsn")
aliases = [alias for alias in ("default", "replica") if alias in connections.settings]
people = {user.username: user for user in User.objects.filter(username__in=["alice", "bob"])}
clients = {
    name: Client(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    for name, user in people.items()
}
if "replica" in aliases:  # a process reads the replica once it has replayed a position read of the primary
    import time
    from config import db_router
    deadline = time.monotonic() + 30
    while not db_router.replica_state(fresh=True).readable and time.monotonic() < deadline:
        time.sleep(0.2)
connections.close_all()
costs = []
for name, method, path, body in json.loads(sys.argv[1]):
    path = path.format(bob=people["bob"].pk)
    contexts = {alias: CaptureQueriesContext(connections[alias]) for alias in aliases}
    for context in contexts.values():
        context.__enter__()
    call = getattr(clients[name], method)
    response = call(path, body, content_type="application/json") if body else call(path)
    assert response.status_code < 400, response.content
    cost = {}
    for alias, context in contexts.items():
        context.__exit__(None, None, None)
        sqls = [query["sql"] for query in context.captured_queries]
        cost[alias] = {"router": sum(any(mark in sql for mark in ROUTER) for sql in sqls), "all": len(sqls)}
    costs.append(cost)
print(json.dumps(costs))
"""


def statements_per_request(pair: PostgresPair, requests: list, **env: str) -> list[dict]:
    environment = server_env(
        DATABASE_URL=pair.url("primary"), REDIS_URL=ROUTER_REDIS, REPLICA_MAX_LAG_SECONDS="60", **env
    )
    output = run_python(COUNT_STATEMENTS, environment, json.dumps(requests))
    assert output.returncode == 0, output.stderr
    return json.loads(output.stdout.splitlines()[-1])


def test_routing_costs_a_few_statements_and_none_without_a_replica(pair, nodes, people):
    """The same requests with and without DATABASE_REPLICA_URL: the same statements, less the router's own, plus
    at most three of the router's per request: a probe's two (the primary's position, the replica's state: at
    most once a second per process) and the WAL position of a write, or a probe's two, or a look at the
    replica's replay."""
    requests = [
        ["bob", "get", "/api/messages/conversations", None],
        ["alice", "post", "/api/messages/send", {"recipient_id": people["bob"][0], "body": "costs"}],
        ["alice", "get", "/api/messages/with/{bob}", None],
        ["bob", "get", "/api/messages/conversations", None],
    ]
    pair.wait_for_replay()
    alone = statements_per_request(pair, requests)
    routed = statements_per_request(pair, requests, DATABASE_REPLICA_URL=pair.url("replica"))
    for without, with_replica in zip(alone, routed, strict=True):
        assert without["default"]["router"] == 0
        router = with_replica["default"]["router"] + with_replica["replica"]["router"]
        assert router <= 3, with_replica
        total = with_replica["default"]["all"] + with_replica["replica"]["all"]
        assert total - router == without["default"]["all"], (without, with_replica)
    send, thread_after_send = routed[1], routed[2]
    assert send["default"]["router"] == 1  # the WAL position of alice's write
    assert thread_after_send["replica"]["all"] == 1  # has the replica replayed it? No: the primary reads
    assert routed[0]["replica"]["all"] > routed[0]["replica"]["router"]  # bob's list from the replica


def test_a_read_cut_off_on_the_replica_is_answered_from_the_primary(pair, nodes, people):
    """The replica's connection is cut while a list is being read there (as when the replica is stopped or
    fails over under load): the request, which wrote nothing, is answered from the primary, not with a 500.

    To catch the read in flight, the primary takes an ACCESS EXCLUSIVE lock on the summary (replayed on the
    replica at once, so the list's read there waits for it), the replica's backend of that read is then
    terminated, and the primary's lock released so that the read again there can go on."""
    (_, alice), (bob_id, bob) = people["alice"], people["bob"]
    body = send(nodes["a"], alice, bob_id)
    pair.wait_for_replay()
    time.sleep(2.5)  # bob has written nothing lately: past his recorded position, if any
    answers: list = []
    with pair.connect("primary") as primary, pair.connect("replica") as replica:
        primary.execute("BEGIN")
        primary.execute("LOCK TABLE messaging_conversation_summary IN ACCESS EXCLUSIVE MODE")
        primary.execute("SELECT pg_switch_wal()")  # the lock's record goes to the replica now
        reader = threading.Thread(target=lambda: answers.append(nodes["b"].get("/api/messages/conversations", bob)))
        reader.start()
        waiting = None
        for _ in range(100):
            waiting = replica.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND backend_type = 'client backend'"
            ).fetchone()
            if waiting:
                break
            time.sleep(0.1)
        assert waiting, "the list's read never waited on the replica"
        replica.execute("SELECT pg_terminate_backend(%s)", [waiting[0]])
        primary.execute("COMMIT")
        reader.join(timeout=30)
    ((status, conversations),) = answers
    assert status == 200, conversations
    assert body in json.dumps(conversations)


# --- Last: these stop the replica (and start it again) ----------------------------------------------------


def test_with_the_replica_stopped_reads_go_to_the_primary_without_an_error(pair, nodes, people):
    (_, alice), (bob_id, bob) = people["alice"], people["bob"]
    pair.wait_for_replay()
    pair.stop_replica()
    try:
        body = send(nodes["a"], alice, bob_id)
        started = time.monotonic()
        while time.monotonic() - started < 3:
            status, conversations = nodes["b"].get("/api/messages/conversations", bob)
            assert status == 200 and body in json.dumps(conversations), conversations
        status, ready = nodes["b"].get("/readyz")
        assert status == 200 and ready["status"] == "ready", ready
        assert ready["replica"]["state"] == "down", ready
        assert (ready["replica"]["lag_seconds"], ready["replica"]["lag_bytes"]) == (None, None)
    finally:
        pair.start_replica()


def test_a_new_replica_that_has_replayed_no_transaction_yet_counts_as_lagging(django_db_blocker):
    """Until it replays a transaction a replica knows no replay time (a new replica, and the pair's own start
    ends with a CREATE DATABASE that waits its 2 s): its lag is unknown, not an error, and it is not read."""
    if not binaries_present():
        pytest.skip(MISSING)
    fresh = PostgresPair(apply_delay="2s").start()
    aliases = {"fresh": fresh.url("replica", "postgres"), "fresh_primary": fresh.url("primary", "postgres")}
    add_connections(aliases)
    try:
        fresh.wait_for_receipt()  # and not yet replayed: the 2 s are not over
        with django_db_blocker.unblock():
            state = probe(connections["fresh"], connections["fresh_primary"], 60.0)
            assert (state.state, state.lag_seconds, state.readable) == ("lagging", None, False)
            fresh.wait_for_replay()
            assert probe(connections["fresh"], connections["fresh_primary"], 60.0).state == "streaming"
    finally:
        remove_connections(aliases)
        fresh.stop()


def test_a_replica_that_stops_receiving_wal_is_not_read_once_the_primary_has_moved_on_past_the_limit(
    django_db_blocker,
):
    """The replica's WAL receiver loses the primary (here its primary_conninfo leads nowhere; a partition is the
    same to it): the replica has replayed all it received and sees no lag of its own, but the primary has
    written since. Measured against the primary's positions it is behind, and not read."""
    if not binaries_present():
        pytest.skip(MISSING)
    cut = PostgresPair(apply_delay="0s").start()
    aliases = {"cut": cut.url("replica", "postgres"), "cut_primary": cut.url("primary", "postgres")}
    add_connections(aliases)
    try:
        cut.wait_for_replay()
        with django_db_blocker.unblock():
            replica, primary = connections["cut"], connections["cut_primary"]
            positions = db_router.PrimaryPositions()
            assert probe(replica, primary, 1.0, positions).state == "streaming"
            with cut.connect("replica", "postgres") as connection:
                connection.execute("ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1'")
                connection.execute("SELECT pg_reload_conf()")
            cut.wait_for_no_receiver()  # else the write below may still reach it before the receiver stops
            with cut.connect("primary", "postgres") as connection:
                connection.execute("CREATE TABLE cut_off (id int)")
            started = time.monotonic()
            while time.monotonic() - started < 1.5:  # past the limit of 1 s, probing as a process does
                state = probe(replica, primary, 1.0, positions)
                time.sleep(0.25)
            state = probe(replica, primary, 1.0, positions)
            assert not state.readable and state.state in ("lagging", "disconnected"), state
            assert state.lag_seconds is None or state.lag_seconds >= 1.5, state
            assert state.lag_bytes > 0, state
    finally:
        remove_connections(aliases)
        cut.stop()


def add_connections(aliases: dict[str, str]) -> None:
    """Connections of this process to the databases at these URLs, by alias."""
    configured = connections.configure_settings(
        {"default": connections.settings["default"], **dict.fromkeys(aliases, {})}
    )
    for alias, url in aliases.items():
        connections.settings[alias] = {**configured[alias], **dj_database_url.parse(url)}


def remove_connections(aliases: dict[str, str]) -> None:
    for alias in aliases:
        connections[alias].close()
        del connections.settings[alias]
