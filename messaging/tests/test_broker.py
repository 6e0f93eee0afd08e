"""The Redis broker's blocking reads with many streams waiting at once in one event loop (one server
process holds hundreds of open streams).
"""

import asyncio
import uuid

import pytest

from messaging import broker as broker_module
from tests.helpers import REDIS_URL, read_all, redis_is_up


@pytest.fixture
def redis_broker(settings):
    if not redis_is_up():
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.REDIS_URL = REDIS_URL
    settings.EVENTS_KEY_PREFIX = f"relay-test:{uuid.uuid4().hex}"
    broker_module.reset_broker()
    yield broker_module.broker()
    keys = list(broker_module.broker().sync.scan_iter(f"{settings.EVENTS_KEY_PREFIX}:*"))
    if keys:
        broker_module.broker().sync.delete(*keys)
    broker_module.reset_broker()


def test_150_waiting_reads_in_one_loop_each_get_their_own_event(redis_broker):
    """More waiting streams than redis-py's pool of 100 connections: each read gets its user's event, and
    only that one, including readers that start waiting while the shared read is in flight.
    """
    users = list(range(1, 151))
    start = redis_broker.start_id()

    async def scenario():
        early = {user: asyncio.create_task(redis_broker.read(user, start, block_ms=5000)) for user in users[:100]}
        await asyncio.sleep(0.2)  # the shared read is blocked on the first 100 keys
        late = {user: asyncio.create_task(redis_broker.read(user, start, block_ms=5000)) for user in users[100:]}
        await asyncio.sleep(0.2)
        ids = {user: redis_broker.publish(user, "unread_count", {"unread_count": user}) for user in users}
        results = {user: await task for user, task in {**early, **late}.items()}
        return ids, results

    ids, results = asyncio.run(scenario())
    for user in users:
        assert [(e.id, e.data) for e in results[user]] == [(ids[user], {"unread_count": user})]


def test_a_read_after_an_id_returns_what_is_kept_without_waiting_and_times_out_empty(redis_broker):
    first = redis_broker.publish(7, "unread_count", {"unread_count": 1})
    second = redis_broker.publish(7, "unread_count", {"unread_count": 2})

    async def scenario():
        kept = await redis_broker.read(7, first, block_ms=5000)
        idle = await redis_broker.read(7, second, block_ms=200)
        return kept, idle

    kept, idle = asyncio.run(scenario())
    assert [e.id for e in kept] == [second]
    assert idle == []


def test_a_reader_joining_a_blocked_read_gets_its_event_without_waiting_for_the_read_to_end(redis_broker):
    """The shared read blocks for seconds (`_Reader.BLOCK_MS`); a reader of another key that joins it wakes it,
    so the next read asks for that key too and its event arrives well within a one-second wait."""
    start = redis_broker.start_id()

    async def scenario():
        first = asyncio.create_task(redis_broker.read(1, start, block_ms=10_000))
        await asyncio.sleep(0.3)  # the shared read is blocked on user 1's key alone
        joined = asyncio.create_task(redis_broker.read(2, start, block_ms=1000))
        await asyncio.sleep(0.1)
        event_id = redis_broker.publish(2, "unread_count", {"unread_count": 1})
        got = await joined
        redis_broker.publish(1, "unread_count", {"unread_count": 1})
        await first
        return event_id, got

    event_id, got = asyncio.run(scenario())
    assert [e.id for e in got] == [event_id]


def test_many_events_are_published_in_order_in_batches_and_each_log_keeps_its_window(redis_broker, monkeypatch):
    """`publish_many`: one script call per PUBLISH_BATCH events, the ids in order, each user's log trimmed to
    the window with its newest trimmed id remembered (an older id is too old to resume from)."""
    monkeypatch.setattr(broker_module, "PUBLISH_BATCH", 7)
    redis_broker.retained = 10
    events = [(user, "message.deleted", {"id": n}) for n in range(40) for user in (3, 4)]
    ids = redis_broker.publish_many(events)
    assert len(ids) == 80 and ids == sorted(ids, key=broker_module._stream_id)
    for user in (3, 4):
        mine = [event_id for event_id, (to, _, _) in zip(ids, events, strict=True) if to == user]
        kept = read_all(redis_broker, user, mine[29])  # the newest trimmed: what follows it is all kept
        assert [event.id for event in kept] == mine[30:]
        assert [event.data["id"] for event in kept] == list(range(30, 40))
        for older in (mine[28], redis_broker.start_id()):
            with pytest.raises(broker_module.TooOld):
                read_all(redis_broker, user, older)
