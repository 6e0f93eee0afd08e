"""`MemoryBroker`: the broker's interface in one process, for a laptop without `REDIS_URL` and for the tests
(`messaging.broker.broker()` picks it)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from typing import Any

import orjson

from .broker import READ_COUNT, Event, _check_resumable, _id_text, _stream_id


class MemoryBroker:
    """The same interface in one process: a bounded deque per user, ids `<ms>-<seq>` like a Redis stream's
    (so that ids from before a restart are older than the process's start), and readers woken by the
    publish itself (an idle stream costs no CPU).
    """

    def __init__(self, retained: int) -> None:
        self.retained = retained
        self._lock = threading.Lock()
        self._logs: dict[int, deque[Event]] = {}
        self._dropped: dict[int, str] = {}
        self._start = (time.time_ns() // 1_000_000 - 1, 0)
        self._last = self._start
        self._waiters: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Future]]] = {}
        self._streams: dict[int, dict[str, float]] = {}  # per user, in opening order: when each was last seen

    def _next_id(self) -> str:
        now = time.time_ns() // 1_000_000
        ms, seq = self._last
        self._last = (now, 0) if now > ms else (ms, seq + 1)
        return _id_text(self._last)

    def publish(self, user_id: int, type_: str, data: dict[str, Any]) -> str:
        with self._lock:
            # Through JSON as Redis's log stores it (`RedisBroker.publish_many`): what it cannot hold fails here too.
            event = Event(self._next_id(), type_, orjson.loads(orjson.dumps(data)))
            log = self._logs.setdefault(user_id, deque())
            log.append(event)
            while len(log) > self.retained:
                self._dropped[user_id] = log.popleft().id
            waiters = self._waiters.pop(user_id, set())
        for loop, found in waiters:
            loop.call_soon_threadsafe(_settle, found)
        return event.id

    def publish_many(self, events: list[tuple[int, str, dict[str, Any]]]) -> list[str]:
        return [self.publish(user_id, type_, data) for user_id, type_, data in events]

    def start_id(self) -> str:
        return _id_text(self._start)

    def newest_id(self, user_id: int) -> str:
        with self._lock:
            log = self._logs.get(user_id)
            return log[-1].id if log else self.start_id()

    async def read(self, user_id: int, after: str, *, block_ms: int) -> list[Event]:
        deadline = time.monotonic() + block_ms / 1000
        loop = asyncio.get_running_loop()
        while True:
            waiter = (loop, loop.create_future())
            with self._lock:
                log = self._logs.get(user_id, ())
                after = _check_resumable(
                    after,
                    start=self.start_id(),
                    newest=log[-1].id if log else self.start_id(),
                    trimmed=self._dropped.get(user_id),
                )
                wanted = _stream_id(after)
                events = [e for e in log if _stream_id(e.id) > wanted][:READ_COUNT]
                left = deadline - time.monotonic()
                if events or left <= 0:
                    return events
                self._waiters.setdefault(user_id, set()).add(waiter)
            try:
                await asyncio.wait_for(waiter[1], left)
            except TimeoutError:
                return []
            finally:
                with self._lock:
                    self._waiters.get(user_id, set()).discard(waiter)

    def open_stream(self, user_id: int, stream_id: str, *, cap: int) -> list[str]:
        with self._lock:
            streams = self._streams.setdefault(user_id, {})
            streams[stream_id] = time.time()
            closed = list(streams)[: max(0, len(streams) - cap)]
            for old in closed:
                del streams[old]
            return closed

    async def close_stream(self, user_id: int, stream_id: str) -> None:
        with self._lock:
            self._streams.get(user_id, {}).pop(stream_id, None)

    def touch_stream(self, user_id: int, stream_id: str) -> None:
        with self._lock:
            streams = self._streams.get(user_id, {})
            if stream_id in streams:
                streams[stream_id] = time.time()

    def seen_since(self, user_ids: list[int], since: float) -> set[int]:
        """Only this process's streams: without `REDIS_URL` another process (the mail worker) sees none."""
        with self._lock:
            return {user_id for user_id in user_ids if any(t >= since for t in self._streams.get(user_id, {}).values())}


def _settle(found: asyncio.Future[None]) -> None:
    if not found.done():
        found.set_result(None)
