"""Live events of old servers' writes: an old server (raw SQL on the old tables) sends, reads and deletes, and
Relay's clients hear of it exactly as of the same write through Relay, from `legacy_sync_events`.

PostgreSQL only, like the live sync itself.
"""

import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, connections

from config.tests.test_metrics import scrape, value
from legacy_dm import sync
from legacy_dm.models import SyncEvent
from legacy_dm.sync import events as sync_events
from legacy_dm.sync import outbox
from messaging import events, services
from messaging.models import Message
from tests.helpers import delivered, read_all, run_at_once
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def types(events_broker, user_id: int) -> list[str]:
    return [event.type for event in read_all(events_broker, user_id)]


def test_an_old_servers_send_reaches_both_parties_after_a_drain(synced, old_server, events_broker):
    alice, bob = synced["alice"], synced["bob"]
    sent = old_server.send(alice, bob, "Written by an old server")
    assert list(SyncEvent.objects.values_list("kind", "message_id")) == [("sent", sent)]

    assert sync_events.drain() == 1
    to_bob = read_all(events_broker, bob)
    assert [e.type for e in to_bob] == ["message.created", "unread_count"]
    assert to_bob[0].data == {"id": sent}
    (_, _, shown), _ = events.as_delivered(user=User.objects.get(pk=bob), events=to_bob)
    assert (shown["body"], shown["sender"]["id"], shown["is_read"]) == ("Written by an old server", alice, False)
    bob_user = User.objects.get(pk=bob)  # with the carried first message:
    assert delivered(events_broker, bob_user)[-1] == ("unread_count", {"unread_count": 2, "badge_count": 2})
    assert types(events_broker, alice) == ["message.created"]
    assert not SyncEvent.objects.exists()
    assert sync_events.drain() == 0


def test_old_reads_tell_the_sender_unless_the_reader_hides_receipts_and_deletes_tell_the_deleter(
    synced, old_server, events_broker
):
    alice, bob = synced["alice"], synced["bob"]
    sent = old_server.send(alice, bob, "read me")
    old_server.read(sent)
    sync_events.drain()
    read = read_all(events_broker, alice)[-1]
    assert (read.type, read.data["id"]) == ("message.read", sent) and read.data["read_at"]
    assert delivered(events_broker, User.objects.get(pk=bob))[-1] == (
        "unread_count",
        {"unread_count": 1, "badge_count": 1},
    )

    # Bob stops sharing read receipts: his next old-side read tells alice nothing.
    User.objects.filter(pk=bob).update(read_receipts=False)
    hidden_read = old_server.send(alice, bob, "read without a receipt")
    sync_events.drain()
    before = len(read_all(events_broker, alice))
    old_server.read(hidden_read)
    sync_events.drain()
    assert len(read_all(events_broker, alice)) == before
    assert delivered(events_broker, User.objects.get(pk=bob))[-1] == (
        "unread_count",
        {"unread_count": 1, "badge_count": 1},
    )

    old_server.delete(sent, by="receiver")
    sync_events.drain()
    assert delivered(events_broker, User.objects.get(pk=bob))[-2:] == [
        ("message.deleted", {"id": sent, "for": "me"}),
        ("unread_count", {"unread_count": 1, "badge_count": 1}),
    ]
    assert types(events_broker, alice)[-1] != "message.deleted"  # alice still has it


def test_an_old_conversation_read_is_one_unread_count(synced, old_server, events_broker):
    """One UPDATE of several rows (the old "mark conversation read"): a `message.read` each, one count."""
    alice, bob = synced["alice"], synced["bob"]
    sent = [old_server.send(alice, bob, f"unread {i}") for i in range(3)]
    sync_events.drain()
    now = old_server.now()
    old_server.conn.execute(
        "UPDATE direct_messages SET is_read = true, read_at = %s, updated_at = %s WHERE receiver_id = %s AND NOT is_read",
        (now, now, bob),
    )
    sync_events.drain()
    reads = [e.data["id"] for e in read_all(events_broker, alice) if e.type == "message.read"]
    assert sorted(reads) == sorted([synced["first"], *sent])
    counts = [e for e in read_all(events_broker, bob) if e.type == "unread_count"]
    assert len(counts) == 3 + 1  # one per send, one for the read
    assert delivered(events_broker, User.objects.get(pk=bob))[-1] == (
        "unread_count",
        {"unread_count": 0, "badge_count": 0},
    )


def test_a_message_deleted_or_hidden_before_the_drain_is_not_announced_to_who_cannot_see_it(
    synced, old_server, events_broker
):
    alice, bob = synced["alice"], synced["bob"]
    moderator = User.objects.create_superuser("mod", "mod@example.com", "mod-secret-123")
    gone = old_server.send(alice, bob, "deleted by bob at once")
    old_server.delete(gone, by="receiver")
    hidden = old_server.send(alice, bob, "something nasty")
    services.hide_messages(moderator=moderator, messages=Message.objects.filter(pk=hidden), reason="abuse")
    sync_events.drain()
    created_for_bob = [e.data["id"] for e in read_all(events_broker, bob) if e.type == "message.created"]
    assert created_for_bob == []
    assert [e.data["id"] for e in read_all(events_broker, alice) if e.type == "message.created"] == [gone]
    assert "something nasty" not in str([e.data for e in read_all(events_broker, alice)])


def test_new_side_writes_mirrored_to_the_old_tables_note_nothing(synced, old_server, events_broker):
    """The services publish their own events; their old rows (`to_old`) must not be published twice."""
    alice, bob = User.objects.get(pk=synced["alice"]), User.objects.get(pk=synced["bob"])
    message = services.send_message(sender=alice, recipient_id=bob.pk, body="from Relay")
    services.mark_message_read(user=bob, message_id=message.pk)
    services.mark_conversation_read(user=bob, other_id=alice.pk)
    services.delete_for_user(user=bob, message_id=message.pk)
    services.delete_conversation_for_user(user=alice, other=bob)
    User.objects.create_user("dora", "dora@example.com", "dora-secret-123")
    assert old_server.one("SELECT is_deleted_by_receiver FROM direct_messages WHERE id = %s", (message.pk,))
    assert not SyncEvent.objects.exists()


def test_workers_side_by_side_publish_each_write_once(synced, old_server, events_broker):
    alice, bob = synced["alice"], synced["bob"]
    sent = [old_server.send(alice, bob, f"burst {i}") for i in range(40)]
    drained, errors = run_at_once(lambda _: sync_events.drain(batch_size=3), 4, timeout=60)
    assert errors == [] and sum(drained) == 40
    created = [e.data["id"] for e in read_all(events_broker, bob) if e.type == "message.created"]
    assert sorted(created) == sent


def test_the_worker_publishes_an_old_write_within_a_second(synced, old_server, events_broker):
    """`legacy_sync_events` drains what waits when it starts, then on each notification: well before its
    fallback interval (5 s here).
    """
    alice, bob = synced["alice"], synced["bob"]
    waiting = old_server.send(alice, bob, "sent while no worker ran")
    stop = threading.Event()

    def worker() -> None:
        try:
            call_command("legacy_sync_events", interval=5, stop=stop, verbosity=0)
        finally:
            connections.close_all()

    def created_for_bob() -> list[int]:
        return [e.data["id"] for e in read_all(events_broker, bob) if e.type == "message.created"]

    def wait_for(message_id: int, seconds: float) -> float:
        started = time.monotonic()
        while message_id not in created_for_bob():
            assert time.monotonic() - started < seconds, f"no message.created for {message_id} in {seconds} s"
            time.sleep(0.01)
        return time.monotonic() - started

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    try:
        wait_for(waiting, 10)  # the drain at start (the worker listens by then)
        live = old_server.send(alice, bob, "sent while the worker listens")
        assert wait_for(live, 1.0) < 1.0
    finally:
        stop.set()
        old_server.conn.execute(f"NOTIFY {outbox.CHANNEL}")  # wake it now rather than at the interval
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert created_for_bob() == [waiting, live]


def test_the_outbox_triggers_come_and_go_with_the_sync(synced, capsys):
    assert sync.installed_triggers(connection) == sync.expected_triggers(connection) == len(sync.trigger_names())
    call_command("legacy_sync", "status")
    out = capsys.readouterr().out
    assert f"legacy sync: on ({len(sync.trigger_names())} triggers)" in out
    assert "waiting for `legacy_sync_events` to publish their events: 0" in out

    # A sync turned on before the outbox existed (legacy_dm 0004, then 0005 and 0006) gets its triggers.
    sync.remove_outbox(connection, lock_timeout_ms=5000)
    assert sync.installed_triggers(connection) == len(sync.trigger_names()) - len(outbox.trigger_names())
    assert sync.install_outbox(connection, lock_timeout_ms=5000)
    assert sync.install_outbox(connection, lock_timeout_ms=5000)  # idempotent
    assert sync.installed_triggers(connection) == len(sync.trigger_names())


def test_the_worker_drains_once_and_exits():
    call_command("legacy_sync_events", once=True, verbosity=0)


def test_metrics_show_the_sync_and_the_events_waiting_for_the_worker(synced, old_server, client):
    """/metrics reads the sync's state at each scrape (legacy_dm.metrics): on, broken, the outbox's backlog."""
    found = scrape(client)
    assert value(found, "relay_legacy_sync_on") == 1
    assert value(found, "relay_legacy_sync_triggers_enabled") == value(found, "relay_legacy_sync_triggers") > 0
    assert value(found, "relay_legacy_sync_events_waiting") == 0
    assert value(found, "relay_legacy_sync_oldest_event_age_seconds") == 0

    old_server.send(synced["alice"], synced["bob"], "waits for the worker")
    old_server.send(synced["bob"], synced["alice"], "and so does this")
    time.sleep(0.2)
    found = scrape(client)
    assert value(found, "relay_legacy_sync_events_waiting") == 2
    assert value(found, "relay_legacy_sync_oldest_event_age_seconds") >= 0.2

    sync_events.drain()
    sync.remove_outbox(connection, lock_timeout_ms=5000)  # some triggers on, some off: broken
    found = scrape(client)
    assert value(found, "relay_legacy_sync_events_waiting") == 0
    assert value(found, "relay_legacy_sync_on") == 0
    assert 0 < value(found, "relay_legacy_sync_triggers_enabled") < value(found, "relay_legacy_sync_triggers")
    call_command("legacy_sync", "status")  # the command reads the same state


def test_metrics_show_the_sync_off(client):
    found = scrape(client)
    assert value(found, "relay_legacy_sync_on") == 0
    assert value(found, "relay_legacy_sync_triggers_enabled") == 0
    assert ("relay_legacy_sync_triggers", frozenset()) in found
