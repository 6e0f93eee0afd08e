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
import re
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import orjson
import redis
from django.conf import settings

if TYPE_CHECKING:
    from redis.asyncio import Redis as AsyncRedis
    from redis.typing import KeyT, StreamIdT

    from users.models import User

    from .memory_broker import MemoryBroker

logger = logging.getLogger(__name__)

READ_COUNT = 100  # the most events one read returns
PUBLISH_BATCH = 500  # the most events one call of the publish script adds

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


# What a stream id looks like: two ASCII decimal numbers of 64 bits. `int()` alone would also read `1_000`,
# full-width digits and numbers Redis refuses, and the read would fail mid-stream instead of resyncing.
_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
_LARGEST = 2**64 - 1


def _stream_id(value: str) -> tuple[int, int]:
    """A stream id (`<ms>-<seq>`) as a comparable pair; ValueError for anything else."""
    match = _ID.fullmatch(value)
    if match is None:
        raise ValueError(f"not an event id: {value!r}")
    ms, seq = int(match[1]), int(match[2])
    if ms > _LARGEST or seq > _LARGEST:
        raise ValueError(f"not an event id: {value!r}")
    return ms, seq


def _id_text(pair: tuple[int, int]) -> str:
    return f"{pair[0]}-{pair[1]}"


# The store's start: an id below every id it will give, set once per Redis dataset (a Redis restarted without
# its data gets a new one, so ids a client kept from before are told apart from the new ones). KEYS[#KEYS]
# is the key that holds it.
_SET_EPOCH = """
if redis.call('EXISTS', KEYS[#KEYS]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[#KEYS], (tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - 1) .. '-0')
end"""

# Make sure the store has its start; then for each event, XADD to its user's log and trim the log to the
# window, remembering the newest id trimmed (atomic: a script runs alone), so that a reader can tell exactly
# whether its id is older than the window. KEYS: each event's log and its trimmed-id key, then the start's;
# ARGV: the window, then each event's payload. Returns the ids, in order.
PUBLISH = f"""
{_SET_EPOCH}
local ids = {{}}
for i = 2, #ARGV do
  local log, trimmed = KEYS[2 * i - 3], KEYS[2 * i - 2]
  local id = redis.call('XADD', log, '*', 'e', ARGV[i])
  local over = redis.call('XLEN', log) - tonumber(ARGV[1])
  if over > 0 then
    local old = redis.call('XRANGE', log, '-', '+', 'COUNT', over)
    redis.call('SET', trimmed, old[#old][1])
    redis.call('XTRIM', log, 'MAXLEN', ARGV[1])
  end
  ids[#ids + 1] = id
end
return ids
"""


# What XREAD and XRANGE answer: (id, fields) entries, and for XREAD the stream's key with them (bytes).
Entries = list[tuple[bytes, dict[bytes, bytes]]]


def _events(entries: Entries) -> list[Event]:
    events = []
    for entry_id, fields in entries:
        body = json.loads(fields[b"e"])
        events.append(Event(entry_id.decode(), body["type"], body["data"]))
    return events


@dataclass(slots=True, eq=False)
class _Waiter:
    after: str  # the id it has read up to
    found: asyncio.Future[list[Event]]  # set to its events


class _Reader:
    """One blocking `XREAD` per event loop, over the keys of every stream of that loop that is waiting.

    A connection per waiting stream (the first design) ran into redis-py's pool limit (100 connections:
    `MaxConnectionsError` past 100 open streams in a process) and cost a Redis connection per stream. Here
    each waiter gives its key and the id it has read up to; the one read asks for every key from the lowest
    id waiting on it and hands each waiter the entries after its own id.

    The read also asks for this reader's wake stream, after the last wake entry it saw. A waiter whose key is
    not in the read in flight adds an entry there: the read returns at once (blocked already or not yet), and
    the next read asks for the new key too, from the waiter's id, so nothing is missed meanwhile.
    """

    BLOCK_MS = 5000

    def __init__(self, url: str, control: AsyncRedis) -> None:
        import redis.asyncio

        self._control = control  # the loop's client for short commands: adds the wake entries
        # The read's own connection: a pool of one rather than `single_connection_client`, whose connection
        # complains when collected after its loop closed.
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            url, max_connections=1, socket_timeout=self.BLOCK_MS / 1000 + 10
        )
        self._client = redis.asyncio.Redis(connection_pool=pool)
        self._waiters: dict[str, list[_Waiter]] = {}
        self._task: asyncio.Task | None = None
        self._reading: set[str] = set()  # the keys of the read in flight
        self._woken = False  # a wake entry was added since the read in flight started
        self._wake_key = f"{settings.EVENTS_KEY_PREFIX}:wake:{uuid.uuid4().hex}"
        self._wake_seen = "0-0"  # the newest wake entry a read returned

    async def wait(self, key: str, after: str, *, block_ms: int) -> list[Event]:
        waiter = _Waiter(after, asyncio.get_running_loop().create_future())
        self._waiters.setdefault(key, []).append(waiter)
        try:
            if self._task is None:
                self._task = asyncio.create_task(self._run())
            elif key not in self._reading and self._reading and not self._woken:
                self._woken = True
                async with self._control.pipeline(transaction=False) as pipe:
                    pipe.xadd(self._wake_key, {"w": 1}, maxlen=1)
                    pipe.expire(self._wake_key, 3600)  # outlives a reader whose process died by an hour
                    await pipe.execute()
            async with asyncio.timeout(block_ms / 1000):
                return await waiter.found
        except TimeoutError:
            return []
        finally:
            waiting = self._waiters.get(key, [])
            if waiter in waiting:
                waiting.remove(waiter)
                if not waiting:
                    del self._waiters[key]
            if not self._waiters and self._task is not None:
                # Nobody waits: stop the read rather than leave it pending on a loop that may be closing
                # (the WSGI path runs a loop per stream).
                self._task.cancel()
                self._task = None

    async def _run(self) -> None:
        this = asyncio.current_task()
        try:
            while self._waiters:
                # A waiter answered already whose task has not run yet is not asked for again.
                streams: dict[KeyT, StreamIdT] = {
                    key: min(afters, key=_stream_id)
                    for key, waiting in self._waiters.items()
                    if (afters := [w.after for w in waiting if not w.found.done()])
                }
                self._reading, self._woken = {str(key) for key in streams}, False
                streams[self._wake_key] = self._wake_seen
                read = await self._client.xread(streams, count=READ_COUNT, block=self.BLOCK_MS)
                # The client speaks RESP2: XREAD answers a list of [key, entries], or nothing.
                answer = cast("list[tuple[bytes, Entries]] | None", read)
                self._reading = set()
                for raw_key, entries in answer or []:
                    key = raw_key.decode()
                    if key == self._wake_key:
                        self._wake_seen = entries[-1][0].decode()
                        continue
                    events = _events(entries)
                    for waiter in self._waiters.get(key, []):
                        wanted = _stream_id(waiter.after)
                        mine = [e for e in events if _stream_id(e.id) > wanted]
                        if mine and not waiter.found.done():
                            waiter.found.set_result(mine)
                await asyncio.sleep(0)  # the answered waiters take their events before the next read is built
        except Exception as exc:  # Redis is down: every waiting stream fails, as its own read would have
            for waiting in self._waiters.values():
                for waiter in waiting:
                    if not waiter.found.done():
                        waiter.found.set_exception(exc)
        finally:
            self._reading = set()
            if self._task is this:
                self._task = None


# The store's start (`_SET_EPOCH`), for a reader.
EPOCH = f"""
{_SET_EPOCH}
return redis.call('GET', KEYS[1])
"""

# A stream opens: remember it with its opening time (KEYS[1]) and as seen now (KEYS[2]); past the cap, forget
# the oldest and return them (each is then told to close). A stream of a process that died stays until it is
# the oldest: it is closed first. It stops being seen at once, though: an open stream marks itself seen at
# every check of its credential (`touch_stream`), and one not seen lately is not counted as open
# (`seen_since`), so that a dead process does not keep its users from being mailed about what they missed.
OPEN_STREAM = """
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], 86400)
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], 86400)
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if over > 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1)
  redis.call('ZREM', KEYS[2], unpack(oldest))
  return oldest
end
return {}
"""


def _later_of(one: str, other: str) -> str:
    """The later of two ids (a log kept from before its store's start is older than the start)."""
    return max(one, other, key=_stream_id)


def _check_resumable(after: str, *, start: str, newest: str, trimmed: str | None) -> str:
    """`after` as the broker writes ids, when reading on from it misses nothing; else TooOld.

    Refused: anything but an id; an id from before the store's start (a restart lost what followed it); an id
    past the newest (not one this store gave); an id older than the window (events after it were dropped).
    """
    try:
        wanted = _stream_id(after)
    except ValueError:
        raise TooOld(after) from None
    if wanted < _stream_id(start) or wanted > _stream_id(newest):
        raise TooOld(after)
    if trimmed is not None and wanted < _stream_id(trimmed):
        raise TooOld(after)
    return _id_text(wanted)


class RedisBroker:
    def __init__(self, url: str, retained: int) -> None:
        self.retained = retained
        self.sync = redis.Redis.from_url(url)
        self._publish = self.sync.register_script(PUBLISH)
        self._epoch = self.sync.register_script(EPOCH)
        self._open_stream = self.sync.register_script(OPEN_STREAM)
        self._url = url
        # One asyncio client and one reader per event loop (a client is bound to the loop it first ran on).
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, _Reader]] = (
            weakref.WeakKeyDictionary()
        )

    def _for_loop(self) -> tuple[Any, _Reader]:
        import redis.asyncio

        loop = asyncio.get_running_loop()
        if loop not in self._async:
            # Short commands only (the blocking read has its own connection): a few connections shared by
            # every stream of the loop, waited for rather than refused when all are busy.
            pool = redis.asyncio.BlockingConnectionPool.from_url(self._url, max_connections=20, timeout=20)
            client = redis.asyncio.Redis(connection_pool=pool)
            self._async[loop] = (client, _Reader(self._url, client))
        return self._async[loop]

    def _epoch_key(self) -> str:
        return f"{settings.EVENTS_KEY_PREFIX}:epoch"

    def publish(self, user_id: int, type_: str, data: dict[str, Any]) -> str:
        return self.publish_many([(user_id, type_, data)])[0]

    def publish_many(self, events: list[tuple[int, str, dict[str, Any]]]) -> list[str]:
        """Add each of `events` (to whom, its type, its data) to its user's log, in order: one round trip per
        PUBLISH_BATCH events (a script holds Redis while it runs; a moderator's action may announce thousands)."""
        ids: list[str] = []
        for start in range(0, len(events), PUBLISH_BATCH):
            keys, payloads = [], []
            for user_id, type_, data in events[start : start + PUBLISH_BATCH]:
                log = _key(user_id)
                keys += [log, f"{log}:trimmed"]
                # orjson: the same JSON as json.dumps (UTF-8 where it escapes), a tenth of its cost per event.
                payloads.append(orjson.dumps({"type": type_, "data": data}))
            published: list[bytes] = self._publish(keys=[*keys, self._epoch_key()], args=[self.retained, *payloads])
            ids += [event_id.decode() for event_id in published]
        return ids

    def start_id(self) -> str:
        """An id below every event this store holds or will hold: reading after it reads all that is kept."""
        start: bytes = self._epoch(keys=[self._epoch_key()])
        return start.decode()

    def newest_id(self, user_id: int) -> str:
        """The id of the newest event kept for `user_id` (the store's start when none): where a new reader
        starts."""
        entries = cast(Entries, self.sync.xrevrange(_key(user_id), count=1))  # RESP2: a list of entries
        start = self.start_id()
        return _later_of(entries[0][0].decode(), start) if entries else start

    async def read(self, user_id: int, after: str, *, block_ms: int) -> list[Event]:
        """Events after id `after`, oldest first (at most READ_COUNT); waits up to `block_ms` for the first one.
        TooOld when reading on from `after` could miss events (`_check_resumable`).
        """
        client, reader = self._for_loop()
        key = _key(user_id)
        async with client.pipeline(transaction=False) as pipe:
            pipe.get(self._epoch_key())
            pipe.get(f"{key}:trimmed")
            pipe.xrevrange(key, count=1)
            start, trimmed, newest = await pipe.execute()
        if start is None:  # a Redis without its data: whatever the client had is gone
            await client.eval(EPOCH, 1, self._epoch_key())
            raise TooOld(after)
        start = start.decode()
        after = _check_resumable(
            after,
            start=start,
            newest=_later_of(newest[0][0].decode(), start) if newest else start,
            trimmed=None if trimmed is None else trimmed.decode(),
        )
        answer = await client.xread({key: after}, count=READ_COUNT)
        if answer or not block_ms:
            return [event for _, entries in answer or [] for event in _events(entries)]
        return await reader.wait(key, after, block_ms=block_ms)

    def open_stream(self, user_id: int, stream_id: str, *, cap: int) -> list[str]:
        """Count a newly opened stream of `user_id`; the ids of the oldest ones past `cap`, to be closed."""
        key = _key(user_id)
        closed = self._open_stream(keys=[f"{key}:streams", f"{key}:seen"], args=[time.time(), stream_id, cap])
        return [value.decode() for value in closed]

    async def close_stream(self, user_id: int, stream_id: str) -> None:
        client, _ = self._for_loop()
        async with client.pipeline(transaction=False) as pipe:
            pipe.zrem(f"{_key(user_id)}:streams", stream_id)
            pipe.zrem(f"{_key(user_id)}:seen", stream_id)
            await pipe.execute()

    def touch_stream(self, user_id: int, stream_id: str) -> None:
        """Mark an open stream as seen now (only one still counted: a stream closed for being over the cap is
        not counted again)."""
        seen = f"{_key(user_id)}:seen"
        with self.sync.pipeline(transaction=False) as pipe:
            pipe.zadd(seen, {stream_id: time.time()}, xx=True)
            pipe.expire(seen, 86400)
            pipe.execute()

    def seen_since(self, user_ids: list[int], since: float) -> set[int]:
        """Those of `user_ids` with an open stream seen at `since` (a UNIX time) or later: one round trip."""
        with self.sync.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.zcount(f"{_key(user_id)}:seen", since, "+inf")
            counts = pipe.execute()
        return {user_id for user_id, count in zip(user_ids, counts, strict=True) if count}


_broker: RedisBroker | MemoryBroker | None = None
_broker_lock = threading.Lock()


def broker() -> RedisBroker | MemoryBroker:
    """The process's broker: Redis when `REDIS_URL` is set, else in memory."""
    from .memory_broker import MemoryBroker

    global _broker
    with _broker_lock:
        if _broker is None:
            url = getattr(settings, "REDIS_URL", "")
            retained = settings.EVENTS_RETAINED
            _broker = RedisBroker(url, retained) if url else MemoryBroker(retained)
        return _broker


def events_cursor(user: User) -> str | None:
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
