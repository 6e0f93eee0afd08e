"""Where live events wait for their readers: a bounded, ordered log per user, with ids to resume from.

Redis Streams (with `REDIS_URL`), because one structure gives all three things the event stream needs:
ordered ids (`XADD`), a bounded replay window (`MAXLEN`), and a blocking read from any id (`XREAD BLOCK`),
shared by every server process. Publishing (one script, atomic) also remembers the newest id it trimmed,
so a client whose id is older than the window is told to resync instead of silently skipping events.
Pub/sub would need a second store for the replay.

Without `REDIS_URL` (one process on a laptop, the tests) `MemoryBroker` keeps the same interface in this
process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# What a broker that cannot be reached raises (a refused or broken connection, a Redis error).
UNREACHABLE = (OSError, redis.RedisError)


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    data: dict[str, Any]


class TooOld(Exception):
    """The id is older than what the broker keeps: events after it were dropped."""


def _key(user_id: int) -> str:
    return f"{settings.EVENTS_KEY_PREFIX}:{user_id}"


def _stream_id(value: str) -> tuple[int, int]:
    """A stream id (`<ms>-<seq>`) as a comparable pair; ValueError for anything else."""
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


# XADD, then trim to the window, remembering the newest id trimmed (atomic: a script runs alone), so that a
# reader can tell exactly whether its id is older than the window.
PUBLISH = """
local id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[1])
local over = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[2])
if over > 0 then
  local old = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', over)
  redis.call('SET', KEYS[2], old[#old][1])
  redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[2])
end
return id
"""


class RedisBroker:
    def __init__(self, url: str, retained: int) -> None:
        self.retained = retained
        self.sync = redis.Redis.from_url(url)
        self._publish = self.sync.register_script(PUBLISH)
        self._url = url
        # One asyncio client per event loop (a client is bound to the loop it first ran on).
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def _client(self):
        import redis.asyncio

        loop = asyncio.get_running_loop()
        if loop not in self._async:
            self._async[loop] = redis.asyncio.Redis.from_url(self._url)
        return self._async[loop]

    def publish(self, user_id: int, type_: str, data: dict[str, Any]) -> str:
        payload = json.dumps({"type": type_, "data": data}, separators=(",", ":"))
        key = _key(user_id)
        event_id = self._publish(keys=[key, f"{key}:trimmed"], args=[payload, self.retained])
        return event_id.decode()

    def newest_id(self, user_id: int) -> str:
        """The id of the newest event kept for `user_id` ("0-0" when none): where a new reader starts."""
        entries = self.sync.xrevrange(_key(user_id), count=1)
        return entries[0][0].decode() if entries else "0-0"

    async def read(self, user_id: int, after: str, *, block_ms: int) -> list[Event]:
        """Events after id `after`, oldest first; waits up to `block_ms` for the first one. TooOld when events
        after `after` were dropped from the window.
        """
        client = self._client()
        key = _key(user_id)
        try:
            wanted = _stream_id(after)
        except ValueError:
            raise TooOld(after) from None
        trimmed = await client.get(f"{key}:trimmed")
        if trimmed is not None and wanted < _stream_id(trimmed.decode()):
            raise TooOld(after)
        answer = await client.xread({key: after}, count=100, block=block_ms or None)  # (BLOCK 0: forever)
        events = []
        for _, entries in answer or []:
            for entry_id, fields in entries:
                body = json.loads(fields[b"e"])
                events.append(Event(entry_id.decode(), body["type"], body["data"]))
        return events


class MemoryBroker:
    """The same interface in one process: a bounded deque per user; ids `0-<n>` like a stream's."""

    def __init__(self, retained: int) -> None:
        self.retained = retained
        self._lock = threading.Lock()
        self._logs: dict[int, deque[Event]] = {}
        self._dropped: dict[int, int] = {}
        self._counter = 0

    def publish(self, user_id: int, type_: str, data: dict[str, Any]) -> str:
        with self._lock:
            self._counter += 1
            event = Event(f"0-{self._counter}", type_, json.loads(json.dumps(data)))
            log = self._logs.setdefault(user_id, deque())
            log.append(event)
            while len(log) > self.retained:
                self._dropped[user_id] = _stream_id(log.popleft().id)[1]
            return event.id

    def newest_id(self, user_id: int) -> str:
        with self._lock:
            log = self._logs.get(user_id)
            return log[-1].id if log else "0-0"

    async def read(self, user_id: int, after: str, *, block_ms: int) -> list[Event]:
        try:
            wanted = _stream_id(after)
        except ValueError:
            raise TooOld(after) from None
        waited = 0
        while True:
            with self._lock:
                if wanted < (0, self._dropped.get(user_id, 0)):
                    raise TooOld(after)
                events = [e for e in self._logs.get(user_id, ()) if _stream_id(e.id) > wanted]
            if events or waited >= block_ms:
                return events[:100]
            await asyncio.sleep(0.02)
            waited += 20


_broker: RedisBroker | MemoryBroker | None = None
_broker_lock = threading.Lock()


def broker() -> RedisBroker | MemoryBroker:
    """The process's broker: Redis when `REDIS_URL` is set, else in memory."""
    global _broker
    with _broker_lock:
        if _broker is None:
            url = getattr(settings, "REDIS_URL", "")
            retained = settings.EVENTS_RETAINED
            _broker = RedisBroker(url, retained) if url else MemoryBroker(retained)
        return _broker


def events_cursor(user) -> str | None:
    """The newest event id of `user`, or None when the broker cannot be reached (a page still renders; its
    live updates start from the stream's own opening instead)."""
    try:
        return broker().newest_id(user.pk)
    except UNREACHABLE:
        logger.warning("The event broker is unreachable: pages render without a live cursor", exc_info=True)
        return None


def reset_broker() -> None:
    """Forget the broker (tests switch settings)."""
    global _broker
    with _broker_lock:
        _broker = None
