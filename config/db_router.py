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
- Who is asking is always read from the primary: the session (a session made by the login a moment ago must
  be found), its user (`AuthenticationMiddleware`: a user deactivated or whose password changed a moment ago
  is signed out at once) and a Bearer token's user (`users.selectors.user_by_id`, on the primary's
  connection).
- Once a request has written to the primary, locked rows there or opened a transaction there (a router's
  write, `select_for_update`, `transaction.atomic()`, literal SQL on `connections["default"]` that is not a
  plain SELECT), each later read of that request is on the primary: a page that marks messages read and
  then counts the unread sees its own marks. A plain SELECT on the primary (the session, the token's user)
  changes nothing.
- A request whose read on the replica fails on a lost connection (the replica stopped, failed over, or its
  connection cut) and that wrote nothing is answered again from the primary, once, and the replica counts as
  down until its next probe: a user sees no error for it.

Read-your-writes: after a request by a signed-in user that wrote (whatever its answer: a request may fail
after a write of it committed), the primary's WAL position (`pg_current_wal_lsn()`) is kept in the cache
under that user's id for a while longer than the replica is read behind (`written_ttl`). The cache is Redis
(`REDIS_URL`), shared by every app node, so a write through one node and a read through another meet. A
later request of that user reads the replica only once the replica's `pg_last_wal_replay_lsn()` has passed
that position. The user is found from the request's credential without the database: the Bearer token's
user id claim (checked as the API checks it), else the session's. While Redis does not answer, reads of
signed-in users go to the primary; a position not recorded then (a write while Redis was down), or lost
with Redis (restarted empty), is not waited for: that user reads the replica as soon as it is within
`REPLICA_MAX_LAG_SECONDS`.

The replica's state (`replica_state`) is refreshed at most every `STATE_MAX_AGE_SECONDS` per process by a
probe: the primary's `pg_current_wal_lsn()` (kept with the time it was read, `PrimaryPositions`), then on a
connection to the replica with a short connect timeout, its `pg_last_wal_replay_lsn()` and whether a WAL
receiver runs. The replica is read only while a WAL receiver runs and it has replayed a position the primary
was at no more than `REPLICA_MAX_LAG_SECONDS` ago: measured against the primary, so a replica that stopped
receiving WAL (a partition, a wrong `primary_conninfo`) stops being read once the primary has moved on for
that long, though it sees no lag of its own. A replica address that leads to a server not in recovery (a
proxy's fallback to the primary) counts as "primary": reads go to "default".
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth import middleware as auth_middleware
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

from config import metrics
from users.authentication import JWTAuthentication, user_id_from_claim

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD"})
STATE_MAX_AGE_SECONDS = 1.0
# While a probe hangs the others take the last state, and not one older than this: then the replica is down.
STATE_STALE_SECONDS = 5.0
# The primary's positions are kept this much longer than REPLICA_MAX_LAG_SECONDS, to tell how far behind a
# replica past the limit is.
POSITIONS_KEPT_SECONDS = 60.0
WRITTEN_TTL_SECONDS = 120
WRITTEN_KEY = "relay:written-lsn:{user_id}"
# Apps whose rows are read from the primary whatever the request: the session table.
PRIMARY_APPS = frozenset({"sessions"})


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


# --- The replica's state ---------------------------------------------------------------------------------

_PRIMARY_POSITION_SQL = "SELECT pg_current_wal_lsn()::text"

# On the replica: whether it is one, what it has replayed, and whether a WAL receiver runs (its pid is visible
# to every role; its other columns only to pg_read_all_stats).
_STATE_SQL = """
SELECT pg_is_in_recovery(),
       pg_last_wal_replay_lsn()::text,
       EXISTS (SELECT FROM pg_stat_wal_receiver WHERE pid IS NOT NULL)
"""


class PrimaryPositions:
    """The primary's WAL positions as this process's probes read them (monotonic time, position), oldest first,
    kept for `keep_seconds`: how far behind the replica is, measured against the primary and not against
    what the replica itself has received."""

    def __init__(self) -> None:
        self.samples: deque[tuple[float, int]] = deque()

    def add(self, at: float, position: int, keep_seconds: float) -> None:
        self.samples.append((at, position))
        while len(self.samples) > 1 and at - self.samples[0][0] > keep_seconds:
            self.samples.popleft()

    def lag(self, replayed: int, now: float) -> float | None:
        """How long ago the primary was at the newest of the positions kept that the replica has `replayed`:
        at most that far behind (0 when it has replayed the newest). None when it has replayed none of them."""
        for at, position in reversed(self.samples):
            if position <= replayed:
                return 0.0 if at == self.samples[-1][0] else max(now - at, 0.0)
        return None


@dataclass(frozen=True)
class ReplicaState:
    """What a probe of the replica found.

    `state`: "streaming" (in recovery, a WAL receiver running, within `REPLICA_MAX_LAG_SECONDS`), "lagging"
    (further behind, or behind by an unknown time), "disconnected" (in recovery with no WAL receiver: it has
    lost the primary, whatever it has replayed), "primary" (the replica's address leads to a server that is
    not in recovery), "down" (no answer). Only "streaming" is read.
    `lag_seconds`: how long ago the primary was at the newest position this process read from it (at most
    once a second, `PrimaryPositions`) that the replica has replayed: 0 when it has replayed the primary's
    position of this probe; None when it has replayed none of them (or the primary did not answer).
    `lag_bytes`: the primary's WAL, as of this probe, that the replica has not replayed.
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


def probe(
    connection: BaseDatabaseWrapper,
    max_lag_seconds: float,
    *,
    primary: BaseDatabaseWrapper,
    positions: PrimaryPositions,
) -> ReplicaState:
    """The state of the server behind `connection`, measured against the primary behind `primary` (whose
    position this adds to `positions`): one statement on each. "down" when the replica does not answer (its
    connection is closed); behind by an unknown time when the primary does not."""
    primary_lsn: int | None = None
    try:
        with primary.cursor() as cursor:
            cursor.execute(_PRIMARY_POSITION_SQL)
            primary_lsn = lsn_value(cursor.fetchone()[0])
        positions.add(time.monotonic(), primary_lsn, max_lag_seconds + POSITIONS_KEPT_SECONDS)
    except DatabaseError as error:
        logger.warning("replica: no WAL position from the primary: %s: %s", type(error).__name__, str(error).strip())
    try:
        with connection.cursor() as cursor:
            cursor.execute(_STATE_SQL)
            in_recovery, replay_lsn, receiving = cursor.fetchone()
    except DatabaseError as error:
        logger.warning("replica: %s: %s", type(error).__name__, str(error).strip())
        connection.close()
        return ReplicaState("down", time.monotonic())
    now = time.monotonic()
    if not in_recovery:
        return ReplicaState("primary", now)
    if primary_lsn is None or replay_lsn is None:
        return ReplicaState("lagging", now, replay_lsn=replay_lsn)
    replayed = lsn_value(replay_lsn)
    lag_seconds = positions.lag(replayed, now)
    if not receiving:
        state = "disconnected"
    elif lag_seconds is None or lag_seconds > max_lag_seconds:
        state = "lagging"
    else:
        state = "streaming"
    lag = None if lag_seconds is None else round(lag_seconds, 3)
    return ReplicaState(state, now, lag, max(primary_lsn - replayed, 0), replay_lsn)


_state: ReplicaState | None = None
_state_lock = threading.Lock()
_positions = PrimaryPositions()


def replica_state(*, fresh: bool = False, wait: float | None = None) -> ReplicaState:
    """This process's view of the replica, probed again when older than `STATE_MAX_AGE_SECONDS` (or `fresh`).

    One thread probes at a time; the others meanwhile take the last state (`last_state`). `fresh` waits for a
    probe in flight to end (at most `wait` seconds, when given) and probes again; if it is still running then,
    it takes the last state too. Until the first probe ends, the replica counts as down (reads on the primary).
    """
    global _state
    state = _state
    if not fresh and state is not None and time.monotonic() - state.checked_at < STATE_MAX_AGE_SECONDS:
        return state
    acquired = _state_lock.acquire(timeout=-1 if wait is None else wait) if fresh else _state_lock.acquire(False)
    if not acquired:
        return last_state() or ReplicaState("down", 0.0)
    try:
        state = _state = probe(
            connections[REPLICA], settings.REPLICA_MAX_LAG_SECONDS, primary=connections[PRIMARY], positions=_positions
        )
    finally:
        _state_lock.release()
    metrics.REPLICA_READABLE.set(1 if state.readable else 0)
    if state.lag_seconds is not None:
        metrics.REPLICA_LAG_SECONDS.set(state.lag_seconds)
    if state.lag_bytes is not None:
        metrics.REPLICA_LAG_BYTES.set(state.lag_bytes)
    return state


def last_state() -> ReplicaState | None:
    """The last probe's state, or "down" (as of that probe) once it is older than `STATE_STALE_SECONDS` (a
    probe that hangs); None before the first probe ends."""
    state = _state
    if state is not None and state.state != "down" and time.monotonic() - state.checked_at > STATE_STALE_SECONDS:
        return ReplicaState("down", state.checked_at)
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


def has_replayed(connection: BaseDatabaseWrapper, position: str, state: ReplicaState) -> bool:
    """The server behind `connection` has replayed the WAL up to `position`.

    A server not in recovery (NULL) counts as having replayed it only when `state`, the probe's, says the
    replica's address leads to a primary: behind a pooler in transaction mode (PgBouncer over HAProxy, whose
    replica port falls back to the primary) this statement may reach the primary and the reads after it a
    replica, which may not have replayed the write."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])
        replayed: bool | None = cursor.fetchone()[0]
    if replayed is None:
        return state.state == "primary"
    return replayed


def lsn_value(position: str) -> int:
    """A WAL position ("16/B374D848") as a number, for comparing two of them."""
    high, _, low = position.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def written_ttl() -> int:
    """How long a user's last write is remembered: two minutes, and a minute longer than the largest lag at
    which the replica is read. A replica is read only while its last probe (at most `STATE_STALE_SECONDS`
    old) found it had replayed what the primary had written `REPLICA_MAX_LAG_SECONDS` before: so a write
    forgotten here is on the replica that is read (the one behind its address, `DATABASE_REPLICA_URL`)."""
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
    the primary): a valid Bearer token's user id, else the signed-in session's, else None.

    An API request's first routed read comes after DRF's authentication, which leaves the token it validated
    on Django's request (`request.auth`): that one is not validated again (61 µs a request)."""
    token = getattr(request, "auth", None)
    if not isinstance(token, Token):
        authentication = JWTAuthentication()
        header = authentication.get_header(request)  # type: ignore[arg-type]
        try:
            raw = None if header is None else authentication.get_raw_token(header)
            token = None if raw is None else authentication.get_validated_token(raw)
        except APIException:  # not a valid token: DRF refuses the request, wherever its reads would go
            return None
    if token is not None:
        return user_id_from_claim(token.payload.get(jwt_settings.USER_ID_CLAIM))
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
        self.replica_failed: Exception | None = None  # the error of a read on the replica, when one failed

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
        """The replica if it is readable and has replayed the requesting user's last write, else the primary.

        Asks the replica whether it has replayed the write only when the state is from an earlier request's
        probe: a probe of this request has just read its replay position."""
        asked = time.monotonic()
        state = replica_state()
        if not state.readable:
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
        if state.replay_lsn is not None and lsn_value(state.replay_lsn) >= lsn_value(position):
            return REPLICA
        if state.checked_at >= asked:
            return PRIMARY
        try:
            return REPLICA if has_replayed(connections[REPLICA], position, state) else PRIMARY
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
_on_primary: ContextVar[bool] = ContextVar("relay_reads_on_primary", default=False)


@contextmanager
def reads_on_primary() -> Iterator[None]:
    """Every routed read inside is on the primary, and the request's route stays as it was."""
    token = _on_primary.set(True)
    try:
        yield
    finally:
        _on_primary.reset(token)


class ReplicaRouter:
    """Django's database router: reads where the request's `Route` says (the primary outside one), writes on
    the primary. The schema is migrated on the primary only; the replica follows it."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        route = current_route.get()
        if route is None or model._meta.app_label in PRIMARY_APPS or _on_primary.get():
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
    that wrote, whatever its answer, records the primary's WAL position for its user (read-your-writes).

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
                if route.replica_failed is not None and not route.wrote:
                    # The replica went away under a read (stopped, failed over, its connection cut): the
                    # request wrote nothing, so it is answered again from the primary.
                    replica_lost(route.replica_failed)
                    connections[REPLICA].close()
                    route.database, route.replica_failed = PRIMARY, None
                    response = self.get_response(request)
                if route.wrote:  # whatever the answer: a request may fail after one of its writes committed
                    self._record(request)
        finally:
            current_route.reset(token)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        """A view failed on a lost connection while the request read the replica: noted, for `__call__` to
        answer the request again from the primary."""
        route = current_route.get()
        if route is not None and route.database == REPLICA and isinstance(exception, OperationalError | InterfaceError):
            route.replica_failed = exception

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


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's, reading the session's user from the primary (in place of Django's with a replica): a user
    deactivated a moment ago, or whose password changed (which ends their other sessions), is signed out on
    their next request on any node, whatever the replica has replayed."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: session_user(request))  # type: ignore[assignment]


def session_user(request: HttpRequest) -> Any:
    """The user signed in to `request`'s session (or AnonymousUser), read from the primary."""
    with reads_on_primary():
        return auth_middleware.get_user(request)
