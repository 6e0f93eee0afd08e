"""`GET /api/messages/events`: the caller's live events as Server-Sent Events.

An async view, so that under an ASGI server (uvicorn, production) an open stream holds no thread; under a
WSGI server (runserver in scripts/run.sh, gunicorn) it works too, a thread per open stream. Same authentication as the API: a Bearer JWT, else the session. Without `Last-Event-ID` (the header
`EventSource` sends on reconnect, or `?last_event_id=`) the stream starts with the caller's current
`unread_count` and then every new event; with it, exactly the events after that id, in order, then the new
ones. An id older than the broker keeps (`EVENTS_RETAINED` per user) gets one `resync` event: reload
through the REST API, then carry on from the id it carries. A comment line every
`EVENTS_HEARTBEAT_SECONDS` keeps proxies from closing an idle stream. Once the opening lookups are done
the stream holds no database connection while it waits.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from rest_framework.exceptions import AuthenticationFailed

from users.authentication import JWTAuthentication

from . import selectors
from .broker import UNREACHABLE, TooOld, broker
from .events import unread_data

logger = logging.getLogger(__name__)


def _bearer_user(request: HttpRequest):
    result = JWTAuthentication().authenticate(request)
    return None if result is None else result[0]


def _frame(event_type: str, data: dict, event_id: str | None = None) -> str:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event_type}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def events(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return JsonResponse({"detail": f'Method "{request.method}" not allowed.'}, status=405)
    try:
        user = await sync_to_async(_bearer_user)(request)
    except AuthenticationFailed as exc:
        return JsonResponse({"detail": str(exc.detail)}, status=401, headers={"WWW-Authenticate": "Bearer"})
    if user is None:
        user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse(
            {"detail": "Authentication credentials were not provided."},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    last_id = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id")
    count: selectors.UnreadCounts | None = None
    if last_id:
        cursor = last_id
    else:
        try:
            cursor, count = await sync_to_async(_opening)(user)
        except UNREACHABLE:
            logger.warning("The event broker is unreachable: no event stream", exc_info=True)
            return JsonResponse(
                {"detail": "Live events are unavailable right now; try again later."},
                status=503,
                headers={"Retry-After": "10"},
            )
    await sync_to_async(_release)()
    frames = _stream(user, cursor, count)
    return StreamingHttpResponse(
        frames if isinstance(request, ASGIRequest) else _one_by_one(frames),
        content_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _one_by_one(frames: AsyncIterator[str]) -> Iterator[str]:
    """The stream for a WSGI server (runserver, gunicorn), frame by frame on this worker's thread: Django
    would otherwise read an async iterator to its end (never, here) before sending anything.
    """
    loop = asyncio.new_event_loop()
    try:
        while True:
            yield loop.run_until_complete(anext(frames))
    except StopAsyncIteration:
        return
    finally:
        loop.run_until_complete(frames.aclose())
        loop.close()


def _opening(user) -> tuple[str, selectors.UnreadCounts]:
    """Where a new stream starts, then the counts it opens with (in that order, so no event falls between).

    Read in the view, on the request's own database connection (under WSGI too): the stream itself only
    ever waits on the broker.
    """
    return broker().newest_id(user.pk), selectors.unread_counts(user=user)


def _release() -> None:
    """Close this request thread's database connections: nothing after the opening needs them.

    Django's ASGI handler runs each request's sync code in a thread of that request's own, and a connection
    belongs to its thread until `request_finished`: for a stream, when it ends, hours later. Without this,
    every open stream held a PostgreSQL connection (1,000 streams, 1,000 connections, far past a default
    `max_connections` of 100: bench/live_delivery.py failed its opens with "too many clients").
    """
    connections.close_all()


async def _stream(user, cursor: str, count: selectors.UnreadCounts | None) -> AsyncIterator[str]:
    """The frames after `cursor`; first the opening counts of a new stream (a resumed one has none)."""
    source = broker()
    heartbeat_ms = settings.EVENTS_HEARTBEAT_SECONDS * 1000
    yield "retry: 3000\n\n"
    if count is not None:
        yield _frame("unread_count", unread_data(count))
    while True:
        try:
            found = await source.read(user.pk, cursor, block_ms=heartbeat_ms)
        except TooOld:
            cursor = await sync_to_async(source.newest_id, thread_sensitive=False)(user.pk)
            yield _frame("resync", {"reason": "missed events are no longer kept; reload through the API"}, cursor)
            continue
        if not found:
            yield ": heartbeat\n\n"
            continue
        for event in found:
            yield _frame(event.type, event.data, event.id)
            cursor = event.id
