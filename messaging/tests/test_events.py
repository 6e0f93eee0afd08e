"""Live events: what each write publishes, to whom (services, both brokers), and the SSE stream itself
against a live ASGI server (uvicorn in this process) with a real Redis.
"""

import json

import pytest
from django.core.exceptions import PermissionDenied

from messaging import broker as broker_module
from messaging import events, services
from messaging.models import Message
from messaging.tests.factories import MessageFactory
from tests.helpers import EventStream, delivered, http_json, read_all, token_for
from users.tests.factories import UserFactory


@pytest.mark.django_db
def test_a_send_reaches_the_recipient_and_the_senders_devices_and_nobody_else(
    events_broker, alice, bob, carol, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = services.send_message(sender=bob, recipient_id=alice.pk, body="hello alice")
    to_alice = read_all(events_broker, alice.pk)
    assert [e.type for e in to_alice] == ["message.created", "unread_count"]
    assert to_alice[0].data == {"id": message.pk}  # the log keeps what happened, not the body
    (_, _, shown), _ = events.as_delivered(user=alice, events=to_alice)
    assert shown["id"] == message.pk and shown["body"] == "hello alice"
    assert shown["sender"]["id"] == bob.pk and shown["is_read"] is False
    assert to_alice[1].data == {}  # the counts changed: the stream reads them when it delivers this
    assert delivered(events_broker, alice)[1] == ("unread_count", {"unread_count": 1, "badge_count": 1})
    assert [e.type for e in read_all(events_broker, bob.pk)] == ["message.created"]
    assert read_all(events_broker, carol.pk) == []


@pytest.mark.django_db
def test_reads_tell_the_sender_unless_the_reader_hides_receipts(
    events_broker, alice, bob, django_capture_on_commit_callbacks
):
    first = MessageFactory(sender=bob, recipient=alice, body="one")
    second = MessageFactory(sender=bob, recipient=alice, body="two")
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_message_read(user=alice, message_id=first.pk)
    (read,) = read_all(events_broker, bob.pk)
    assert (read.type, read.data["id"]) == ("message.read", first.pk) and read.data["read_at"]
    assert delivered(events_broker, alice) == [("unread_count", {"unread_count": 1, "badge_count": 1})]

    alice.read_receipts = False
    alice.save()
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_conversation_read(user=alice, other_id=bob.pk)
    assert len(read_all(events_broker, bob.pk)) == 1  # nothing new for bob
    assert delivered(events_broker, alice) == [  # the first count is now's too, on the batch's last entry
        ("conversation.read", {"user_id": bob.pk, "marked_read": 1}),
        ("unread_count", {"unread_count": 0, "badge_count": 0}),
    ]
    assert Message.objects.get(pk=second.pk).read_at is not None


@pytest.mark.django_db
def test_a_replay_shows_no_read_whose_reader_has_since_stopped_sharing_receipts(
    events_broker, alice, bob, django_capture_on_commit_callbacks
):
    first = MessageFactory(sender=alice, recipient=bob, body="one")
    MessageFactory(sender=alice, recipient=bob, body="two")
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_message_read(user=bob, message_id=first.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_conversation_read(user=bob, other_id=alice.pk)
    logged = read_all(events_broker, alice.pk)
    assert [t for _, t, _ in events.as_delivered(user=alice, events=logged)] == ["message.read", "conversation.read"]

    bob.read_receipts = False
    bob.save(update_fields=["read_receipts"])
    assert [t for _, t, _ in events.as_delivered(user=alice, events=logged)] == [None, None]


@pytest.mark.django_db
def test_a_hidden_message_is_announced_to_both_without_its_body(
    events_broker, alice, bob, roles, django_capture_on_commit_callbacks
):
    message = MessageFactory(sender=bob, recipient=alice, body="something nasty")
    with django_capture_on_commit_callbacks(execute=True):
        services.hide_messages(moderator=roles.moderator, messages=[message], reason="abuse")
    for user in (alice, bob):
        hidden = [e for e in read_all(events_broker, user.pk) if e.type == "message.hidden"]
        assert [e.data for e in hidden] == [{"id": message.pk}]
        assert "something nasty" not in json.dumps([e.data for e in read_all(events_broker, user.pk)])


@pytest.mark.django_db
def test_a_blocked_senders_attempt_publishes_nothing_and_a_delete_tells_only_the_deleter(
    events_broker, alice, bob, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.block_user(user=alice, blocked_id=bob.pk)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        services.send_message(sender=bob, recipient_id=alice.pk, body="let me in")
    assert read_all(events_broker, alice.pk) == [] and read_all(events_broker, bob.pk) == []

    message = MessageFactory(sender=alice, recipient=bob, body="before the block")
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_for_user(user=bob, message_id=message.pk)
    assert delivered(events_broker, bob) == [
        ("message.deleted", {"id": message.pk, "for": "me"}),
        ("unread_count", {"unread_count": 0, "badge_count": 0}),
    ]
    assert read_all(events_broker, alice.pk) == []  # alice keeps it, and is told nothing


@pytest.mark.django_db
def test_the_window_is_bounded_and_an_older_id_is_too_old(events_broker, settings, alice):
    events_broker.retained = 3
    ids = [events_broker.publish(alice.pk, "unread_count", {"unread_count": n}) for n in range(5)]
    kept = read_all(events_broker, alice.pk, ids[1])
    assert [e.id for e in kept] == ids[2:]
    with pytest.raises(broker_module.TooOld):
        read_all(events_broker, alice.pk, ids[0])


# --- The stream over real HTTP -----------------------------------------------------------------------------


def send_over_http(server: str, sender, recipient, body: str) -> tuple[int, dict]:
    """`POST /api/messages/send` as `sender` on `server`: (status, JSON)."""
    return http_json(
        f"{server}/api/messages/send",
        method="POST",
        token=token_for(sender),
        body={"recipient_id": recipient.pk, "body": body},
    )


def test_the_stream_delivers_sends_and_reads_and_resumes_exactly(asgi_server):
    alice, bob, carol = UserFactory(username="alice"), UserFactory(username="bob"), UserFactory(username="carol")
    alice_stream = EventStream(asgi_server, token_for(alice))
    bob_stream = EventStream(asgi_server, token_for(bob))
    carol_stream = EventStream(asgi_server, token_for(carol))
    assert alice_stream.next("unread_count")["data"] == {"unread_count": 0, "badge_count": 0}
    assert alice_stream.seen[0]["id"]  # the opening snapshot's id is the stream's position

    status, sent = send_over_http(asgi_server, bob, alice, "live!")
    assert status == 201
    created = alice_stream.next("message.created")
    assert created["data"]["id"] == sent["id"] and created["data"]["body"] == "live!" and created["id"]
    assert alice_stream.next("unread_count")["data"] == {"unread_count": 1, "badge_count": 1}

    http_json(f"{asgi_server}/api/messages/{sent['id']}/read", method="POST", token=token_for(alice))
    read = bob_stream.next("message.read")
    assert read["data"]["id"] == sent["id"] and read["data"]["read_at"]

    # Disconnect; two more messages; a reconnect with Last-Event-ID gets exactly what was missed.
    last_seen = alice_stream.next("unread_count")["id"]  # after the read
    alice_stream.close()
    missed = [services.send_message(sender=bob, recipient_id=alice.pk, body=f"missed {i}").pk for i in range(3)]
    again = EventStream(asgi_server, token_for(alice), last_event_id=last_seen)
    frames = [again.event() for _ in range(4)]
    # The three counts come in one read (of six entries, rendered five at a time): the stream sends them
    # once, as they are now, on the read's last entry.
    assert [f["event"] for f in frames] == ["message.created"] * 3 + ["unread_count"]
    assert [f["data"]["id"] for f in frames if f["event"] == "message.created"] == missed
    assert frames[3]["data"] == {"unread_count": 3, "badge_count": 3}
    assert len({f["id"] for f in frames}) == 4 and all(f["id"] > last_seen for f in frames)
    assert again.heartbeat() == ": heartbeat"  # idle: only heartbeats (EVENTS_HEARTBEAT_SECONDS = 1 here)
    assert again.during(1.5) == []
    for stream in (again, bob_stream):
        stream.close()

    # Carol saw nothing but her opening count, then heartbeats: no event about others' messages.
    assert carol_stream.during(1.5) == ["unread_count"]
    carol_stream.close()


def test_the_stream_never_carries_a_blocked_senders_message_or_a_hidden_body(asgi_server):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    moderator = UserFactory(username="mod", is_staff=True, is_superuser=True)
    stream = EventStream(asgi_server, token_for(alice))
    assert stream.next("unread_count")["data"]["unread_count"] == 0
    services.block_user(user=alice, blocked_id=bob.pk)
    status, _ = send_over_http(asgi_server, bob, alice, "blocked words")
    assert status == 403
    services.unblock_user(user=alice, blocked_id=bob.pk)
    nasty = services.send_message(sender=bob, recipient_id=alice.pk, body="nasty words")
    assert stream.next("message.created")["data"]["id"] == nasty.pk
    services.hide_messages(moderator=moderator, messages=[nasty], reason="abuse")
    hidden = stream.next("message.hidden")
    assert hidden["data"] == {"id": nasty.pk}
    assert stream.next("unread_count")["data"]["unread_count"] == 0
    stream.close()
    carried = json.dumps([frame["data"] for frame in stream.seen])
    assert "blocked words" not in carried
    assert carried.count("nasty words") == 1  # in its message.created only, never after the hide


def test_an_id_older_than_the_window_gets_resync(asgi_server, settings):
    settings.EVENTS_RETAINED = 3
    broker_module.reset_broker()
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    first = services.send_message(sender=bob, recipient_id=alice.pk, body="first")
    oldest = read_all(broker_module.broker(), alice.pk)[0].id
    for i in range(3):
        services.send_message(sender=bob, recipient_id=alice.pk, body=f"more {i}")
    stream = EventStream(asgi_server, token_for(alice), last_event_id=oldest)
    resync = stream.event()
    assert resync["event"] == "resync" and resync["id"] > oldest
    later = services.send_message(sender=bob, recipient_id=alice.pk, body="after the resync")
    assert stream.next("message.created")["data"]["id"] == later.pk
    stream.close()
    assert first.pk < later.pk


def test_the_stream_needs_a_login(asgi_server):
    status, body = http_json(f"{asgi_server}/api/messages/events")
    assert status == 401 and body["detail"]
    status, body = http_json(f"{asgi_server}/api/messages/events", token="not-a-token")
    assert status == 401


def test_the_stream_also_streams_under_a_wsgi_server(live_server, settings):
    """runserver (scripts/run.sh) and gunicorn are WSGI servers: frames go out one by one there too."""
    settings.REDIS_URL = ""
    settings.EVENTS_HEARTBEAT_SECONDS = 1
    broker_module.reset_broker()
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    stream = EventStream(live_server.url, token_for(alice))
    assert stream.next("unread_count")["data"] == {"unread_count": 0, "badge_count": 0}
    status, sent = send_over_http(live_server.url, bob, alice, "over WSGI")
    assert status == 201
    assert stream.next("message.created")["data"]["id"] == sent["id"]
    assert stream.heartbeat() == ": heartbeat"
    stream.close()
    broker_module.reset_broker()


@pytest.mark.django_db
def test_without_a_reachable_broker_the_stream_is_a_503_and_the_pages_still_render(settings, alice, alice_client):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    broker_module.reset_broker()
    try:
        response = alice_client.get("/api/messages/events")
        assert response.status_code == 503
        assert response.json()["detail"] == "Live events are unavailable right now; try again later."
        assert response["Retry-After"] == "10"

        alice_client.force_login(alice)
        page = alice_client.get("/inbox/")
        assert page.status_code == 200
        assert 'data-events="/api/messages/events"' in page.content.decode()  # no cursor: the stream's own
    finally:
        broker_module.reset_broker()


def test_an_edit_reaches_both_parties_streams_as_each_sees_it(asgi_server):
    """Over real HTTP: the sender's PATCH, then `message.updated` on the recipient's stream and on the sender's
    other device, the message with its new body and `edited_at`; a third person hears nothing. A replay of the
    send, read after the edit, shows the new body: the log holds ids, rendered when delivered."""
    alice, bob, carol = UserFactory(username="alice"), UserFactory(username="bob"), UserFactory(username="carol")
    streams = {user.username: EventStream(asgi_server, token_for(user)) for user in (alice, bob, carol)}
    opened = {name: stream.next("unread_count")["id"] for name, stream in streams.items()}
    status, sent = send_over_http(asgi_server, alice, bob, "meet at the pier")
    assert status == 201
    assert streams["bob"].next("message.created")["data"]["body"] == "meet at the pier"
    status, edited = http_json(
        f"{asgi_server}/api/messages/{sent['id']}",
        method="PATCH",
        body={"body": "meet at the lighthouse"},
        token=token_for(alice),
    )
    assert status == 200, edited
    for name in ("bob", "alice"):
        updated = streams[name].next("message.updated")["data"]
        assert (updated["id"], updated["body"]) == (sent["id"], "meet at the lighthouse")
        assert updated["edited_at"] == edited["edited_at"] and updated["sender"]["id"] == alice.pk
    assert streams["carol"].during(1.5) == []
    for stream in streams.values():
        stream.close()

    replay = EventStream(asgi_server, token_for(bob), last_event_id=opened["bob"])
    created = replay.next("message.created")["data"]
    assert (created["id"], created["body"]) == (sent["id"], "meet at the lighthouse")
    assert created["edited_at"] == edited["edited_at"]
    replay.close()
