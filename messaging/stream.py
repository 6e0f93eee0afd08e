"""`GET /api/messages/events`: the caller's live events as Server-Sent Events.

An async view: under an ASGI server (uvicorn, production) an open stream holds no thread. A WSGI server
refuses it (a 503) unless `EVENTS_STREAM_ON_WSGI` is on (DEBUG's runserver, scripts/run.sh): there a stream
holds a thread for as long as it is open, and a handful of streams would take every thread of gunicorn.

Same authentication as the API: a Bearer JWT, else the session; a refusal is the API's own 401. Without
`Last-Event-ID` (the header `EventSource` sends on reconnect, or `?last_event_id=`) the stream opens with
the caller's `unread_count`, whose id is the stream's position, then every new event; with it, exactly the
events after that id, in order, then the new ones. An id the broker cannot resume from exactly (older than
what it keeps, from before a restart, not one it gave, not an id at all) gets one `resync` event: reload
through the REST API, then carry on from the id it carries. A comment line every `EVENTS_HEARTBEAT_SECONDS`
keeps proxies from closing an idle stream.

A stream lives no longer than its credential. It checks the credential again (one query) when the user's
log says their credentials changed (`events.credentials_changed`: a logout, a password change or reset, a
deactivation or deletion) and at every heartbeat as a backstop, and a JWT stream ends at its token's `exp`.
It then sends `stream.ended` and closes; the client signs in again or takes a fresh token and resumes by
`Last-Event-ID`. A user has at most `EVENTS_STREAMS_PER_USER` open streams: opening one more ends the
oldest. A server told to stop (SIGTERM) ends its streams at once with a short retry hint.

Once the opening is done a stream holds no database connection while it waits; it takes one to render what
it delivers (`events.as_delivered`) and to check its credential.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import threading
import time
import uuid
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import AuthenticationFailed, NotAuthenticated
from rest_framework.request import Request
from rest_framework_simplejwt.tokens import Token

from config import metrics
from users.authentication import JWTAuthentication, user_for_session, user_for_token
from users.models import User

from . import selectors
from .broker import READ_COUNT, UNREACHABLE, Event, RedisBroker, TooOld, broker
from .events import as_delivered, counts_entry, unread_data
from .exceptions import exception_handler
from .memory_broker import MemoryBroker

logger = logging.getLogger(__name__)

RETRY_MS = 3000  # the reconnect delay a client is told at the start of every stream
RETRY_AFTER_RESTART_MS = 1000  # ... and when the server ends its streams to stop
RETRY_AFTER_REPLACED_MS = 60_000  # ... and when a newer stream of the user took this one's place
RETRY_AFTER_OUTAGE_MS = 10_000  # ... and when the broker stopped answering
DELIVERY_CHUNK = 5  # events rendered at a time: what a slow reader can pin in memory


@dataclass
class Credential:
    """What a stream was opened with: a JWT, or a signed-in session."""

    user: User
    token: Token | None = None
    session_key: str | None = None

    @property
    def expires_at(self) -> float | None:
        """When a JWT stream must end (its token's `exp`); None for a session's."""
        return None if self.token is None else float(self.token["exp"])

    def is_valid(self) -> bool:
        """Whether the credential still lets its user in, as the API would decide on a request now."""
        if self.expires_at is not None and time.time() >= self.expires_at:
            return False
        try:
            user = user_for_token(self.token) if self.token is not None else user_for_session(self.session_key)
        except AuthenticationFailed:
            return False
        return user is not None and user.pk == self.user.pk


def _credential(request: HttpRequest) -> Credential:
    """The caller's credential; `AuthenticationFailed` or `NotAuthenticated` when there is none."""
    found = JWTAuthentication().authenticate(Request(request))
    if found is not None:
        user, token = found
        # `JWTAuthentication.get_user` returns a `User`; simplejwt types it as its own TypeVar.
        return Credential(user=cast(User, user), token=token)
    if request.user.is_authenticated:
        return Credential(user=request.user, session_key=request.session.session_key)
    raise NotAuthenticated()


def _refusal(exc: Exception) -> JsonResponse:
    """The API's answer to `exc` (its shape, status and `code`), as a plain Django response."""
    response = exception_handler(exc, {})
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if response.status_code == 401 else {}
    return JsonResponse(response.data, status=response.status_code, headers=headers)


def _frame(event_type: str, data: dict, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event_type}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _ended(reason: str, retry_ms: int | None = None, **data: Any) -> str:
    retry = f"retry: {retry_ms}\n" if retry_ms else ""
    return retry + _frame("stream.ended", {"reason": reason, **data})


@csrf_exempt
async def events(request: HttpRequest) -> HttpResponseBase:
    if request.method != "GET":
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405, headers={"Allow": "GET"})
    under_asgi = isinstance(request, ASGIRequest)
    if under_asgi:
        _end_streams_on_exit_signals()
    if not under_asgi and not settings.EVENTS_STREAM_ON_WSGI:
        return JsonResponse(
            {
                "detail": "The event stream is served by the ASGI server only (docs/live-events.md, Serving it).",
                "code": "stream_not_served_here",
            },
            status=503,
        )
    try:
        credential = await _blocking(under_asgi, Blocking(_credential, (request,)))
    except (AuthenticationFailed, NotAuthenticated) as exc:
        return _refusal(exc)
    last_id = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    stream_id = uuid.uuid4().hex
    try:
        cursor, count = await _blocking(under_asgi, Blocking(_opening, (credential.user, stream_id, last_id)))
    except UNREACHABLE:
        logger.warning("The event broker is unreachable: no event stream", exc_info=True)
        return JsonResponse(
            {"detail": "Live events are unavailable right now; try again later."},
            status=503,
            headers={"Retry-After": "10"},
        )
    steps = _stream(credential, stream_id, cursor, count)
    return StreamingHttpResponse(
        _on_loop(steps) if under_asgi else _one_by_one(steps),
        content_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@dataclass
class Blocking:
    """A step of the stream that blocks (the database, the broker's sync client): its driver runs it and
    sends the result back into the stream, off the event loop."""

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()


Steps = AsyncGenerator["str | Blocking", Any]


async def _on_loop(steps: Steps) -> AsyncIterator[str]:
    """The stream for an ASGI server: blocking steps run in a shared worker thread (`_in_worker_thread`)."""
    reply = None
    try:
        while True:
            step = await steps.asend(reply)
            if isinstance(step, Blocking):
                reply = await _in_worker_thread(step)
            else:
                reply = None
                yield step
    except StopAsyncIteration:
        return
    finally:
        await steps.aclose()


async def _blocking(under_asgi: bool, step: Blocking) -> Any:
    """Run the view's own blocking step. Under ASGI in a shared worker thread (as the stream's steps), not in
    the request's thread: Django keeps that thread for the whole request, and whatever the step leaves in it
    (a database connection, the stack it touched) would stay for as long as the stream is open. Under WSGI
    in the request's thread, on its database connection."""
    if under_asgi:
        return await _in_worker_thread(step)
    return await sync_to_async(step.function)(*step.args)


async def _in_worker_thread(step: Blocking) -> Any:
    """`step` in a thread shared by every stream of the process, with the database connection handled as a
    request's would be (`CONN_MAX_AGE`)."""

    def run() -> Any:
        close_old_connections()
        try:
            return step.function(*step.args)
        finally:
            close_old_connections()

    return await sync_to_async(run, thread_sensitive=False)()


def _one_by_one(steps: Steps) -> Iterator[str]:
    """The stream for a WSGI server (runserver), frame by frame on this request's thread, where its blocking
    steps run too (outside the loop, on the request's own database connection). Django would otherwise read
    an async iterator to its end (never, here) before sending anything.
    """
    loop = asyncio.new_event_loop()
    reply = None
    try:
        while True:
            step = loop.run_until_complete(steps.asend(reply))
            if isinstance(step, Blocking):
                reply = step.function(*step.args)
            else:
                reply = None
                yield step
    except StopAsyncIteration:
        return
    finally:
        loop.run_until_complete(steps.aclose())
        loop.close()


def _opening(user: User, stream_id: str, resuming_from: str | None) -> tuple[str, selectors.UnreadCounts | None]:
    """Where the new stream starts and, for a new reader, the counts it opens with (in that order, so no event
    falls between); then count the stream, ending the user's oldest past the cap (last: nothing after it can
    fail and leave the stream counted).

    Read in the view, on the request's own database connection (under WSGI too).
    """
    source = broker()
    cursor, count = (
        (resuming_from, None) if resuming_from else (source.newest_id(user.pk), selectors.unread_counts(user=user))
    )
    for replaced in source.open_stream(user.pk, stream_id, cap=settings.EVENTS_STREAMS_PER_USER):
        source.publish(user.pk, "stream.closed", {"stream": replaced})
    return cursor, count


async def _stream(credential: Credential, stream_id: str, cursor: str, count: selectors.UnreadCounts | None) -> Steps:
    """The frames after `cursor`; first the opening counts of a new stream (a resumed one has none)."""
    source = broker()
    user = credential.user
    heartbeat = settings.EVENTS_HEARTBEAT_SECONDS
    checked = time.monotonic()
    metrics.STREAMS_OPEN.inc()
    try:
        yield f"retry: {RETRY_MS}\n\n"
        if count is not None:
            yield _frame("unread_count", unread_data(count), cursor)
        while True:
            wait: float = heartbeat
            if credential.expires_at is not None:
                wait = max(0.0, min(wait, credential.expires_at - time.time()))
            try:
                found = await _next_events(source, user.pk, cursor, wait)
            except TooOld:
                newest = yield Blocking(_newest_id, (source, user.pk))
                if newest is None:
                    yield _ended("events_unavailable", RETRY_AFTER_OUTAGE_MS)
                    return
                cursor = newest
                yield _frame("resync", {"reason": "missed events are no longer kept; reload through the API"}, cursor)
                continue
            except UNREACHABLE:
                logger.warning("The event broker is unreachable: an open stream ends", exc_info=True)
                yield _ended("events_unavailable", RETRY_AFTER_OUTAGE_MS)
                return
            if found is None:
                yield _ended("server_restarting", RETRY_AFTER_RESTART_MS)
                return
            if any(e.type == "stream.closed" and e.data.get("stream") == stream_id for e in found):
                yield _ended("too_many_streams", RETRY_AFTER_REPLACED_MS)
                return
            expired = credential.expires_at is not None and time.time() >= credential.expires_at
            if expired:
                yield _ended("token_expired", code="token_not_valid")
                return
            # Checked before anything is delivered: at the heartbeat, on a credentials event in this read, and
            # on every full read (a reader far behind may have such an event further on).
            due = time.monotonic() - checked >= heartbeat or len(found) >= READ_COUNT
            if due or any(e.type == "auth.changed" for e in found):
                if not (yield Blocking(_still_open, (credential, source, stream_id))):
                    yield _ended("credentials_ended", code="token_not_valid")
                    return
                checked = time.monotonic()
            if not found:
                yield ": heartbeat\n\n"
                continue
            counts_on = counts_entry(found)  # the counts once per read, whatever the chunk
            for start in range(0, len(found), DELIVERY_CHUNK):
                chunk = found[start : start + DELIVERY_CHUNK]
                for event_id, event_type, data in (yield Blocking(_delivered, (user, chunk, counts_on))):
                    # An event that tells this reader nothing still moves their position on (`id` alone
                    # dispatches no event in EventSource, but sets its Last-Event-ID).
                    if event_type is None:
                        yield f"id: {event_id}\n\n"
                    else:
                        metrics.EVENTS_DELIVERED.labels(event_type).inc()
                        yield _frame(event_type, data, event_id)
            cursor = found[-1].id
    finally:
        metrics.STREAMS_OPEN.dec()
        try:
            await asyncio.wait_for(source.close_stream(user.pk, stream_id), 2)
        except (*UNREACHABLE, TimeoutError):
            logger.warning("The event broker is unreachable: a closed stream stays counted", exc_info=True)


def _still_open(credential: Credential, source: RedisBroker | MemoryBroker, stream_id: str) -> bool:
    """Whether the stream's credential still holds; if so, the stream is marked seen now (`touch_stream`:
    the missed-message email counts its user as present only while it is seen)."""
    if not credential.is_valid():
        return False
    try:
        source.touch_stream(credential.user.pk, stream_id)
    except UNREACHABLE:
        logger.warning("The event broker is unreachable: an open stream is not marked seen", exc_info=True)
    return True


def _newest_id(source: RedisBroker | MemoryBroker, user_id: int) -> str | None:
    """The newest id of the user's log, or None when the broker cannot be reached."""
    try:
        return source.newest_id(user_id)
    except UNREACHABLE:
        logger.warning("The event broker is unreachable: an open stream ends", exc_info=True)
        return None


def _delivered(
    user: User, events: list[Event], counts_on: str | None
) -> list[tuple[str, str | None, dict[str, Any] | None]]:
    return as_delivered(user=user, events=events, counts_on=counts_on)


async def _next_events(
    source: RedisBroker | MemoryBroker, user_id: int, cursor: str, wait: float
) -> list[Event] | None:
    """The events after `cursor` (waiting up to `wait` seconds for one), or None when the server is stopping."""
    stopping = _stopping()
    if stopping.is_set():
        return None
    read = asyncio.ensure_future(source.read(user_id, cursor, block_ms=int(wait * 1000)))
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (read, stop):
            if not task.done():
                task.cancel()
    if stopping.is_set():
        return None
    return read.result()


# --- Ending every stream when the server stops ------------------------------------------------------------

_stop_events: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = weakref.WeakKeyDictionary()
_stopped = threading.Event()


def _stopping() -> asyncio.Event:
    """This loop's "the server is stopping" flag (set already if it was told before the loop asked)."""
    loop = asyncio.get_running_loop()
    if loop not in _stop_events:
        _stop_events[loop] = asyncio.Event()
        if _stopped.is_set():
            _stop_events[loop].set()
    return _stop_events[loop]


def end_streams() -> None:
    """Tell every open stream of this process to end now (each sends `stream.ended` with a retry hint)."""
    _stopped.set()
    for loop, stopping in list(_stop_events.items()):
        if not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)


def _end_streams_on_exit_signals() -> None:
    """On SIGTERM or SIGINT, end the open streams, then do what the server does on that signal.

    uvicorn waits for every open connection before it exits: without this, one open stream kept a deploy's
    `kill` waiting for ever. Done as a stream opens, when the server's own handlers are in place (uvicorn
    installs them after it has imported the application), by wrapping them. Outside the main thread (a
    server in a test's thread, a WSGI worker's thread) there are no signals to wrap.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if not callable(previous) or isinstance(previous, _EndStreamsFirst):
            continue  # the default action ends the process anyway; or wrapped already
        signal.signal(signum, _EndStreamsFirst(previous))


@dataclass(frozen=True)
class _EndStreamsFirst:
    """A signal handler: end the open streams, then do what `previous` (the server's handler) does."""

    previous: Callable[[int, FrameType | None], Any]

    def __call__(self, number: int, frame: FrameType | None) -> None:
        end_streams()
        self.previous(number, frame)
