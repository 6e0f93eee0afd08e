"""Reads from the replica (`DATABASE_REPLICA_URL`), with read-your-writes; every write on the primary.

Only with a replica configured: settings then add `ReplicaRouter` to `DATABASE_ROUTERS` and
`ReadRoutingMiddleware` to `MIDDLEWARE`. Without one nothing here runs and every query goes to "default".

Who reads where:
- A GET or HEAD request served through WSGI (`ReadRoutingMiddleware`) may read the replica. Everything else
  reads the primary: unsafe methods, the live-event stream (it renders a message at its delivery, which may
  be before the replica has it), every request under ASGI, management commands and workers (no request).
- The choice is made once per request, at its first routed read (`Route.read_database`): the replica when it
  is up, no further behind than `REPLICA_MAX_LAG_SECONDS`, and has replayed the requesting user's last write
  (below); else the primary.
- Sessions are always read from the primary: a session made by the login a moment ago must be found.
- Once a request has written to the primary, locked rows there or opened a transaction there (a router's
  write, `select_for_update`, `transaction.atomic()`, literal SQL on `connections["default"]` that is not a
  plain SELECT), each later read of that request is on the primary: a page that marks messages read and
  then counts the unread sees its own marks. A plain SELECT on the primary (the session, the token's user)
  changes nothing.

Read-your-writes: after a request by a signed-in user that wrote and succeeded, the primary's WAL position
(`pg_current_wal_lsn()`) is kept in the cache under that user's id for a while longer than the replica is
read behind (`written_ttl`). The cache is
Redis (`REDIS_URL`), shared by every app node, so a write through one node and a read through another meet.
A later request of that user reads the replica only once the replica's `pg_last_wal_replay_lsn()` has passed
that position. The user is found from the request's credential without the database: the Bearer token's
user id claim (checked as the API checks it), else the session's.

The replica's state (`replica_state`) is refreshed at most every `STATE_MAX_AGE_SECONDS` per process, on a
connection with a short connect timeout: reachable, and how far behind (seconds and bytes of received WAL
not yet replayed). A replica address that leads to a server not in recovery (a proxy's fallback to the
primary) counts as "primary": reads go to "default".
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from config import metrics
from users.authentication import JWTAuthentication, user_id_from_claim

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD"})
STATE_MAX_AGE_SECONDS = 1.0
WRITTEN_TTL_SECONDS = 120
WRITTEN_KEY = "relay:written-lsn:{user_id}"
# Apps whose rows are read from the primary whatever the request: the session table.
PRIMARY_APPS = frozenset({"sessions"})


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


# --- The replica's state ---------------------------------------------------------------------------------

_STATE_SQL = """
SELECT pg_is_in_recovery(),
       pg_last_wal_replay_lsn()::text,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8
       END,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint
"""


@dataclass(frozen=True)
class ReplicaState:
    """What a probe of the replica found.

    `state`: "streaming" (in recovery, within `REPLICA_MAX_LAG_SECONDS`), "lagging" (further behind, or
    behind by an unknown time: WAL waits and it has replayed no transaction since it started),
    "primary" (the replica's address leads to a server that is not in recovery), "down" (no answer).
    `lag_seconds`: 0 when the replica has replayed all the WAL it received, else the age of the last
    transaction it replayed. `lag_bytes`: WAL received and not yet replayed.
    """

    state: str
    checked_at: float  # time.monotonic()
    lag_seconds: float | None = None
    lag_bytes: int | None = None
    replay_lsn: str | None = None

    @property
    def readable(self) -> bool:
        """Reads may go to the replica."""
        return self.state == "streaming"

    def report(self) -> dict[str, object]:
        """For /readyz."""
        return {"state": self.state, "lag_seconds": self.lag_seconds, "lag_bytes": self.lag_bytes}


def probe(connection: BaseDatabaseWrapper, max_lag_seconds: float) -> ReplicaState:
    """The state of the server behind `connection`; "down" when it does not answer (the connection is closed)."""
    now = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute(_STATE_SQL)
            in_recovery, replay_lsn, lag_seconds, lag_bytes = cursor.fetchone()
    except DatabaseError as error:
        logger.warning("replica: %s: %s", type(error).__name__, str(error).strip())
        connection.close()
        return ReplicaState("down", now)
    if not in_recovery:
        return ReplicaState("primary", now)
    if lag_seconds is None:  # nothing replayed since it started, and WAL waiting (or none received yet)
        return ReplicaState("lagging", now, None, lag_bytes, replay_lsn)
    state = "streaming" if lag_seconds <= max_lag_seconds else "lagging"
    return ReplicaState(state, now, round(lag_seconds, 3), lag_bytes, replay_lsn)


_state: ReplicaState | None = None
_state_lock = threading.Lock()


def replica_state(*, fresh: bool = False) -> ReplicaState:
    """This process's view of the replica, probed again when older than `STATE_MAX_AGE_SECONDS` (or `fresh`).

    One thread probes at a time; the others meanwhile take the last state. Until the first probe ends, the
    replica counts as down (reads on the primary).
    """
    global _state
    state = _state
    if not fresh and state is not None and time.monotonic() - state.checked_at < STATE_MAX_AGE_SECONDS:
        return state
    if not _state_lock.acquire(blocking=fresh):
        return state or ReplicaState("down", 0.0)
    try:
        state = _state = probe(connections[REPLICA], settings.REPLICA_MAX_LAG_SECONDS)
    finally:
        _state_lock.release()
    metrics.REPLICA_READABLE.set(1 if state.readable else 0)
    if state.lag_seconds is not None:
        metrics.REPLICA_LAG_SECONDS.set(state.lag_seconds)
    if state.lag_bytes is not None:
        metrics.REPLICA_LAG_BYTES.set(state.lag_bytes)
    return state


def replica_lost(error: Exception) -> None:
    """A connection to the replica failed: it counts as down until its next probe."""
    global _state
    logger.warning("replica: %s: %s", type(error).__name__, str(error).strip())
    _state = ReplicaState("down", time.monotonic())
    metrics.REPLICA_READABLE.set(0)


# --- Read-your-writes ------------------------------------------------------------------------------------


def primary_position(connection: BaseDatabaseWrapper) -> str:
    """The primary's current WAL position: every transaction committed so far is before it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        position: str = cursor.fetchone()[0]
    return position


def has_replayed(connection: BaseDatabaseWrapper, position: str) -> bool:
    """The server behind `connection` has replayed the WAL up to `position`, or is not a replica at all."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])
        replayed = cursor.fetchone()[0]
    return replayed is None or replayed  # NULL: not in recovery, the primary itself


def lsn_value(position: str) -> int:
    """A WAL position ("16/B374D848") as a number, for comparing two of them."""
    high, _, low = position.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def written_ttl() -> int:
    """How long a user's last write is remembered: two minutes, and a minute longer than the largest lag at
    which the replica is read, so no replica that is read can still be missing a write forgotten here."""
    return max(WRITTEN_TTL_SECONDS, int(settings.REPLICA_MAX_LAG_SECONDS) + 60)


def record_write(user_id: int, position: str) -> None:
    """`user_id` wrote: their reads stay on the primary until the replica has replayed `position`."""
    try:
        cache.set(WRITTEN_KEY.format(user_id=user_id), position, written_ttl())
    except Exception as error:  # the cache (Redis) down: the write stands, only the read may be stale
        logger.warning("replica: could not record %s's write: %s: %s", user_id, type(error).__name__, error)


def last_write(user_id: int) -> str | None:
    """The WAL position of `user_id`'s last recorded write, if within `written_ttl()`.

    Raises when the cache does not answer: the caller then reads the primary.
    """
    position: str | None = cache.get(WRITTEN_KEY.format(user_id=user_id))
    return position


def requesting_user_id(request: HttpRequest) -> int | None:
    """Whom `request` speaks for, from its credential and without the database (the session table is read from
    the primary): a valid Bearer token's user id, else the signed-in session's, else None."""
    authentication = JWTAuthentication()
    header = authentication.get_header(request)  # type: ignore[arg-type]
    if header is not None:
        try:
            raw = authentication.get_raw_token(header)
            if raw is not None:
                token = authentication.get_validated_token(raw)
                return user_id_from_claim(token.payload.get(jwt_settings.USER_ID_CLAIM))
        except APIException:  # not a valid token: DRF refuses the request, wherever its reads would go
            return None
    session = getattr(request, "session", None)
    value = session.get(SESSION_KEY) if session is not None else None
    return user_id_from_claim(value)


# --- One request's route ---------------------------------------------------------------------------------

# A statement on the primary that is more than a plain read: anything but a SELECT, or one that locks rows.
_LOCKING = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b", re.IGNORECASE)


def writes(sql: str, connection: BaseDatabaseWrapper) -> bool:
    """`sql`, run on `connection`, writes, locks or is part of a transaction."""
    if connection.in_atomic_block:
        return True
    head = sql.lstrip()[:6].upper()
    return head != "SELECT" or _LOCKING.search(sql) is not None


class Route:
    """Where one replica-eligible request reads: decided at its first routed read, the primary from its first
    write on."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.database: str | None = None
        self.wrote = False
        self.counted = False

    def read_database(self) -> str:
        if self.database is None:
            self.database = self._choose()
        if not self.counted:
            self.counted = True
            metrics.READ_REQUESTS.labels("replica" if self.database == REPLICA else "primary").inc()
        return self.database

    def use_primary(self) -> None:
        self.database = PRIMARY

    def _choose(self) -> str:
        database = self._fresh_enough()
        if database == REPLICA:
            try:
                connections[REPLICA].ensure_connection()
            except DatabaseError as error:  # gone since its last probe: the request reads the primary
                connections[REPLICA].close()
                replica_lost(error)
                return PRIMARY
        return database

    def _fresh_enough(self) -> str:
        """The replica if it is readable and has replayed the requesting user's last write, else the primary."""
        if not replica_state().readable:
            return PRIMARY
        user_id = requesting_user_id(self.request)
        if user_id is None:
            return REPLICA
        try:
            position = last_write(user_id)
        except Exception as error:  # the cache does not answer: whether the user wrote is unknown
            logger.warning("replica: no answer from the cache: %s: %s", type(error).__name__, error)
            return PRIMARY
        if position is None:
            return REPLICA
        state = replica_state()
        if state.replay_lsn is not None and lsn_value(state.replay_lsn) >= lsn_value(position):
            return REPLICA
        try:
            return REPLICA if has_replayed(connections[REPLICA], position) else PRIMARY
        except DatabaseError as error:
            connections[REPLICA].close()
            replica_lost(error)
            return PRIMARY

    def watch_primary(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        """`connections["default"].execute_wrapper`: a write (or a lock, or a transaction) pins the request."""
        if not self.wrote and writes(sql, context["connection"]):
            self.wrote = True
            self.use_primary()
        return execute(sql, params, many, context)


current_route: ContextVar[Route | None] = ContextVar("relay_read_route", default=None)


class ReplicaRouter:
    """Django's database router: reads where the request's `Route` says (the primary outside one), writes on
    the primary. The schema is migrated on the primary only; the replica follows it."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        route = current_route.get()
        if route is None or model._meta.app_label in PRIMARY_APPS:
            return PRIMARY
        if connections[PRIMARY].in_atomic_block:  # a read inside a transaction on the primary is part of it
            route.use_primary()
        return route.read_database()

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        route = current_route.get()
        if route is not None:
            route.use_primary()
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same rows on both servers

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY


class ReadRoutingMiddleware:
    """Marks GET and HEAD requests (under WSGI, not the event stream) as replica-eligible, and after a request
    that wrote and succeeded records the primary's WAL position for its user (read-your-writes).

    Before SessionMiddleware: the session a login saves is a write of the request too. Under ASGI (uvicorn
    serves the event stream) it passes the request through: everything reads the primary.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        self._stream_path: str | None = None

    def stream_path(self) -> str:
        if self._stream_path is None:
            self._stream_path = reverse("message-events").rstrip("/")
        return self._stream_path

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.get_response(request)  # the coroutine, awaited by the caller
        route = Route(request)
        if request.method not in SAFE_METHODS or request.path_info.rstrip("/") == self.stream_path():
            route.use_primary()
        token = current_route.set(route)
        try:
            with connections[PRIMARY].execute_wrapper(route.watch_primary):
                response: HttpResponseBase = self.get_response(request)
                if route.wrote and response.status_code < 400:
                    self._record(request)
        finally:
            current_route.reset(token)
        return response

    def _record(self, request: HttpRequest) -> None:
        user = getattr(request, "user", None)  # DRF sets the Bearer token's user here too
        if user is None or not user.is_authenticated:
            return
        try:
            position = primary_position(connections[PRIMARY])
        except DatabaseError as error:
            logger.warning("replica: no WAL position from the primary: %s", error)
            return
        record_write(user.pk, position)
