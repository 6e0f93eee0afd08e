"""Who gets what: every endpoint of the new API, for a message from A to B, as each kind of caller.

Callers: the sender A, the recipient B, a third user C, a moderator (staff, not a party), a user B has
blocked, and an anonymous client. A non-party never learns that the message exists: the same status and the
same body as for an id that does not exist, and never a byte of the message. The legacy API and the pages
extend this matrix in their own apps.
"""

import pytest
from rest_framework.test import APIClient

from messaging import services
from messaging.models import Message
from messaging.tests.factories import AttachmentMessageFactory
from users.tests.factories import UserFactory, client_for

pytestmark = pytest.mark.django_db

SECRET = "secret-rendezvous-at-the-old-mill"
ACTORS = ["sender", "recipient", "stranger", "moderator", "blocked", "anonymous"]
NON_PARTIES = ["stranger", "moderator", "blocked", "anonymous"]


class World:
    """A message with an attachment from alice to bob, and everyone else around it."""

    def __init__(self):
        self.alice = UserFactory(username="alice")
        self.bob = UserFactory(username="bob")
        self.carol = UserFactory(username="carol")
        self.moderator = UserFactory(username="mod", is_staff=True, is_superuser=True)
        self.blocked = UserFactory(username="xavier")
        services.block_user(user=self.bob, blocked_id=self.blocked.pk)
        self.message = AttachmentMessageFactory(
            sender=self.alice, recipient=self.bob, body=SECRET, attachment_data=b"%PDF-1.4 " + SECRET.encode()
        )
        self.missing_id = self.message.pk + 1000
        self.users = {
            "sender": self.alice,
            "recipient": self.bob,
            "stranger": self.carol,
            "moderator": self.moderator,
            "blocked": self.blocked,
        }

    def client(self, actor: str) -> APIClient:
        return APIClient() if actor == "anonymous" else client_for(self.users[actor])


@pytest.fixture
def world(db):
    return World()


# (method, path, payload), with the status each caller gets.
DETAIL_ENDPOINTS = {
    "retrieve": ("get", "/api/messages/{id}", None),
    "delete": ("delete", "/api/messages/{id}", None),
    "read": ("post", "/api/messages/{id}/read", None),
    "attachment": ("get", "/api/messages/{id}/attachment", None),
    "report": ("post", "/api/messages/{id}/report", {"reason": "spam"}),
}
EXPECTED_STATUS = {
    "sender": {"retrieve": 200, "delete": 204, "read": 403, "attachment": 200, "report": 201},
    "recipient": {"retrieve": 200, "delete": 204, "read": 200, "attachment": 200, "report": 201},
    **{actor: dict.fromkeys(DETAIL_ENDPOINTS, 404) for actor in ["stranger", "moderator", "blocked"]},
    "anonymous": dict.fromkeys(DETAIL_ENDPOINTS, 401),
}


def call(client, endpoint: str, message_id: int):
    method, path, payload = DETAIL_ENDPOINTS[endpoint]
    return getattr(client, method)(path.format(id=message_id), payload, format="json")


@pytest.mark.parametrize("endpoint", DETAIL_ENDPOINTS)
@pytest.mark.parametrize("actor", ACTORS)
def test_message_endpoints_answer_each_caller_as_the_matrix_says(world, actor, endpoint):
    response = call(world.client(actor), endpoint, world.message.pk)
    assert response.status_code == EXPECTED_STATUS[actor][endpoint], response.content


@pytest.mark.parametrize("endpoint", DETAIL_ENDPOINTS)
@pytest.mark.parametrize("actor", NON_PARTIES)
def test_a_non_party_cannot_tell_the_message_from_one_that_does_not_exist(world, actor, endpoint):
    client = world.client(actor)
    existing = call(client, endpoint, world.message.pk)
    missing = call(client, endpoint, world.missing_id)

    assert existing.status_code == missing.status_code
    assert existing.json() == missing.json()
    assert SECRET.encode() not in existing.content
    # And nothing changed: no read, no delete, no report by them.
    world.message.refresh_from_db()
    assert world.message.read_at is None
    assert world.message.sender_deleted_at is None and world.message.recipient_deleted_at is None
    assert not world.message.reports.exists()


def visible_ids(client, other) -> dict[str, set[int]]:
    """The message ids a caller sees on every list endpoint (the thread with `other`)."""
    thread = client.get(f"/api/messages/with/{other.pk}").json()["results"]
    search = client.post("/api/messages/search", {"query": "rendezvous"}, format="json").json()["results"]
    conversations = client.get("/api/messages/conversations").json()["results"]
    return {
        "thread": {row["id"] for row in thread},
        "search": {row["id"] for row in search},
        "conversations": {row["last_message"]["id"] for row in conversations},
    }


@pytest.mark.parametrize("actor", ACTORS)
def test_list_endpoints_show_the_message_to_its_two_parties_only(world, actor):
    client = world.client(actor)
    if actor == "anonymous":
        for response in (
            client.get(f"/api/messages/with/{world.bob.pk}"),
            client.post("/api/messages/search", {"query": "rendezvous"}, format="json"),
            client.get("/api/messages/conversations"),
            client.get("/api/messages/unread-count"),
            client.get("/api/messages/participants"),
        ):
            assert response.status_code == 401
            assert SECRET.encode() not in response.content
        return

    party = actor in ("sender", "recipient")
    for other in (world.alice, world.bob):
        if other == world.users[actor]:
            continue
        seen = visible_ids(client, other)
        for endpoint, ids in seen.items():
            assert (world.message.pk in ids) is party, endpoint
    unread = client.get("/api/messages/unread-count").json()["unread_count"]
    assert unread == (1 if actor == "recipient" else 0)


@pytest.mark.parametrize("actor", ["stranger", "moderator", "blocked"])
def test_mark_conversation_read_by_a_non_party_reads_nothing(world, actor):
    response = world.client(actor).put(f"/api/messages/mark-conversation-read/{world.alice.pk}")
    assert response.json() == {"marked_read": 0}
    world.message.refresh_from_db()
    assert world.message.read_at is None


@pytest.mark.parametrize("actor", ["stranger", "moderator", "blocked"])
def test_replying_to_a_message_one_cannot_see_is_the_same_error_as_to_a_missing_one(world, actor):
    client = world.client(actor)

    def reply_to(message_id):
        return client.post(
            "/api/messages/send",
            {"recipient_id": world.alice.pk, "body": "hi", "reply_to_id": message_id},
            format="json",
        )

    existing, missing = reply_to(world.message.pk), reply_to(world.missing_id)
    assert existing.status_code == missing.status_code == 400
    assert existing.json() == missing.json()
    assert not Message.objects.filter(reply_to=world.message).exists()


def test_a_hidden_message_is_invisible_to_both_parties_everywhere(world):
    services.hide_messages(moderator=world.moderator, messages=[world.message], reason="abuse")
    for actor, other in (("sender", world.bob), ("recipient", world.alice)):
        client = world.client(actor)
        for endpoint in ("retrieve", "read", "attachment", "report", "delete"):
            assert call(client, endpoint, world.message.pk).status_code == 404, (actor, endpoint)
        assert all(world.message.pk not in ids for ids in visible_ids(client, other).values())
        assert client.get("/api/messages/unread-count").json() == {"unread_count": 0}


@pytest.mark.parametrize(("deleter", "still_sees"), [("recipient", "sender"), ("sender", "recipient")])
def test_a_delete_hides_the_message_from_the_deleter_only(world, deleter, still_sees):
    assert call(world.client(deleter), "delete", world.message.pk).status_code == 204

    assert call(world.client(deleter), "retrieve", world.message.pk).status_code == 404
    assert call(world.client(deleter), "attachment", world.message.pk).status_code == 404
    assert call(world.client(still_sees), "retrieve", world.message.pk).status_code == 200
    other = world.bob if deleter == "sender" else world.alice
    assert all(world.message.pk not in ids for ids in visible_ids(world.client(deleter), other).values())


def test_a_blocked_sender_keeps_seeing_the_old_thread_but_cannot_send(world):
    services.block_user(user=world.bob, blocked_id=world.alice.pk)
    alice = world.client("sender")

    assert call(alice, "retrieve", world.message.pk).status_code == 200
    response = alice.post("/api/messages/send", {"recipient_id": world.bob.pk, "body": "hello?"}, format="json")
    assert response.status_code == 403
    assert Message.objects.count() == 1


def test_a_blocked_user_is_refused_and_not_offered_as_a_participant(world):
    blocked = world.client("blocked")
    response = blocked.post("/api/messages/send", {"recipient_id": world.bob.pk, "body": "hi"}, format="json")
    assert response.status_code == 403
    names = {row["username"] for row in world.client("recipient").get("/api/messages/participants").json()["results"]}
    assert "xavier" not in names and "alice" in names
