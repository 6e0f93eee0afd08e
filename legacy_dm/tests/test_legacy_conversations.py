"""`/api/messaging/*`: conversations as pairs of users with stable ids, on the messaging core."""

from datetime import timedelta

import pytest
from django.utils import timezone

from legacy_dm.models import LegacyConversation, OpenedConversation
from messaging.models import Message
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory

from .conftest import assert_422, assert_conversation_shape, assert_deprecated, assert_old_user, assert_row_shape

pytestmark = pytest.mark.django_db


def at(minutes_ago: int):
    return timezone.now() - timedelta(minutes=minutes_ago)


def open_with(client, *participant_ids):
    return client.post("/api/messaging/conversations", {"participant_ids": list(participant_ids)}, format="json")


def pair(a, b):
    low, high = sorted((a.pk, b.pk))
    return LegacyConversation.objects.get(user_low_id=low, user_high_id=high)


# --- POST /api/messaging/conversations ------------------------------------------------------------------------


def test_post_creates_the_pair_with_201_then_answers_200_with_the_same_id(alice_client, bob_client, alice, bob):
    created = open_with(alice_client, bob.pk)
    assert created.status_code == 201, created.content
    data = created.json()
    assert_conversation_shape(data)
    assert [p["id"] for p in data["participants"]] == sorted([alice.pk, bob.pk])
    assert data["last_message"] is None and data["unread_count"] == 0
    assert_deprecated(created, f"/api/messages/with/{bob.pk}")

    again = open_with(alice_client, bob.pk)
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    from_bob = open_with(bob_client, alice.pk)
    assert from_bob.status_code == 200 and from_bob.json()["id"] == data["id"]
    assert LegacyConversation.objects.count() == 1
    assert pair(alice, bob).created_by == alice


def test_post_for_a_pair_that_already_has_messages_shows_them(alice_client, alice, bob):
    message = MessageFactory(sender=bob, recipient=alice, body="earlier")
    data = open_with(alice_client, bob.pk).json()
    assert data["last_message"]["id"] == message.pk
    assert data["last_message"]["conversation_id"] == data["id"]
    assert data["unread_count"] == 1


def test_post_for_a_pair_with_an_old_id_answers_200_with_that_id(alice_client, alice, bob):
    old = LegacyConversation.objects.create(
        id=4242, user_low_id=min(alice.pk, bob.pk), user_high_id=max(alice.pk, bob.pk)
    )
    response = open_with(alice_client, bob.pk)
    assert response.status_code == 200
    assert response.json()["id"] == old.pk


@pytest.mark.parametrize(
    ("participants", "expected_loc"),
    [
        ([], ["body", "participant_ids"]),
        (["SELF"], ["body", "participant_ids"]),
        (["SELF", "BOB"], ["body", "participant_ids"]),
        (["BOB", "CAROL"], ["body", "participant_ids"]),
        ([999999], ["body", "participant_ids"]),
        (["INACTIVE"], ["body", "participant_ids"]),
        (["x"], ["body", "participant_ids", 0]),
        ("BOB", ["body", "participant_ids"]),
        (None, ["body", "participant_ids"]),
    ],
)
def test_post_bad_participants_is_a_422(alice_client, alice, bob, carol, participants, expected_loc):
    people = {"SELF": alice.pk, "BOB": bob.pk, "CAROL": carol.pk, "INACTIVE": UserFactory(is_active=False).pk}
    if isinstance(participants, list):
        body = {"participant_ids": [people.get(p, p) for p in participants]}
    else:
        body = {"participant_ids": people.get(participants, participants)}
    assert_422(alice_client.post("/api/messaging/conversations", body, format="json"), expected_loc)
    assert not LegacyConversation.objects.exists()


def test_post_without_participant_ids_is_field_required(alice_client):
    detail = assert_422(
        alice_client.post("/api/messaging/conversations", {}, format="json"), ["body", "participant_ids"]
    )
    assert detail[0]["type"] == "value_error.missing"


def test_post_with_the_same_person_twice_is_one_participant(alice_client, bob):
    assert open_with(alice_client, bob.pk, bob.pk).status_code == 201


# --- GET /api/messaging/conversations -------------------------------------------------------------------------


def test_list_shows_pairs_with_a_visible_message_newest_first(alice_client, alice, bob, carol):
    MessageFactory(sender=bob, recipient=alice, body="bob 1", created_at=at(30))
    MessageFactory(sender=alice, recipient=carol, body="to carol", created_at=at(20))
    MessageFactory(sender=bob, recipient=alice, body="bob 2", created_at=at(10))
    MessageFactory(sender=bob, recipient=carol, body="not alice's", created_at=at(5))
    response = alice_client.get("/api/messaging/conversations")
    assert response.status_code == 200
    rows = response.json()
    assert isinstance(rows, list) and len(rows) == 2
    for row in rows:
        assert_conversation_shape(row)
    assert [row["id"] for row in rows] == [pair(alice, bob).pk, pair(alice, carol).pk]
    assert [row["last_message"]["content"] for row in rows] == ["bob 2", "to carol"]
    assert [row["unread_count"] for row in rows] == [2, 0]
    assert [row["last_message"]["conversation_id"] for row in rows] == [row["id"] for row in rows]  # each its own
    assert_old_user(rows[0]["participants"][0], alice if alice.pk < bob.pk else bob)
    assert_deprecated(response, "/api/messages/conversations")


def test_listing_gives_ids_once_and_keeps_them(alice_client, bob_client, alice, bob):
    MessageFactory(sender=bob, recipient=alice)
    first = alice_client.get("/api/messaging/conversations").json()[0]["id"]
    assert bob_client.get("/api/messaging/conversations").json()[0]["id"] == first
    assert alice_client.get("/api/messaging/conversations").json()[0]["id"] == first
    assert LegacyConversation.objects.count() == 1


def test_list_includes_pairs_the_caller_opened_but_not_the_other_side(alice_client, bob_client, alice, bob, carol):
    MessageFactory(sender=carol, recipient=alice, created_at=at(60))
    opened = open_with(alice_client, bob.pk).json()
    rows = alice_client.get("/api/messaging/conversations").json()
    assert [row["id"] for row in rows] == [opened["id"], pair(alice, carol).pk]  # opened now: newest activity
    assert rows[0]["last_message"] is None
    assert bob_client.get("/api/messaging/conversations").json() == []


def test_list_skip_limit(alice_client, alice):
    partners = [UserFactory() for _ in range(6)]
    for i, partner in enumerate(partners):
        MessageFactory(sender=partner, recipient=alice, created_at=at(10 - i))
    newest_first = [p.pk for p in reversed(partners)]
    rows = alice_client.get("/api/messaging/conversations?skip=2&limit=3").json()
    other = [next(u["id"] for u in row["participants"] if u["id"] != alice.pk) for row in rows]
    assert other == newest_first[2:5]
    assert_422(alice_client.get("/api/messaging/conversations?limit=0"), ["query", "limit"])


def test_list_leaves_out_a_carried_self_conversation(alice_client, alice, bob):
    Message.objects.create(sender=alice, recipient=alice, body="note to self", legacy_id=7)
    MessageFactory(sender=bob, recipient=alice)
    rows = alice_client.get("/api/messaging/conversations").json()
    assert [row["id"] for row in rows] == [pair(alice, bob).pk]
    assert alice_client.get("/api/messaging/conversations?limit=1").json()[0]["id"] == pair(alice, bob).pk


# --- GET /api/messaging/conversations/{id} ---------------------------------------------------------------------


def test_get_one_conversation(alice_client, alice, bob):
    MessageFactory(sender=bob, recipient=alice, body="one", created_at=at(10))
    last = MessageFactory(sender=alice, recipient=bob, body="two", created_at=at(5))
    conversation_id = open_with(alice_client, bob.pk).json()["id"]
    response = alice_client.get(f"/api/messaging/conversations/{conversation_id}")
    assert response.status_code == 200
    data = response.json()
    assert_conversation_shape(data)
    assert data["id"] == conversation_id
    assert data["last_message"]["id"] == last.pk and data["unread_count"] == 1
    assert_deprecated(response, f"/api/messages/with/{bob.pk}")


def test_a_conversation_the_caller_is_not_in_is_404(carol_client, alice, bob):
    conversation = LegacyConversation.objects.create(
        user_low_id=min(alice.pk, bob.pk), user_high_id=max(alice.pk, bob.pk)
    )
    MessageFactory(sender=alice, recipient=bob)
    for method, suffix in [("get", ""), ("delete", ""), ("get", "/messages"), ("post", "/messages"), ("put", "/read")]:
        response = getattr(carol_client, method)(
            f"/api/messaging/conversations/{conversation.pk}{suffix}", {"content": "x"}, format="json"
        )
        assert response.status_code == 404, (method, suffix)
        assert response.json() == {"detail": "Conversation not found"}
        assert_deprecated(response)
    assert Message.objects.count() == 1
    assert Message.objects.get().sender_deleted_at is None


def test_an_old_conversation_without_a_pair_is_404(alice_client):
    orphan = LegacyConversation.objects.create(id=77)  # one or three participants in the old system
    assert alice_client.get(f"/api/messaging/conversations/{orphan.pk}").status_code == 404


def test_unknown_conversation_is_404_and_non_integer_is_422(alice_client):
    assert alice_client.get("/api/messaging/conversations/999999").json() == {"detail": "Conversation not found"}
    for suffix in ["", "/messages", "/read"]:
        method = "put" if suffix == "/read" else "get"
        response = getattr(alice_client, method)(f"/api/messaging/conversations/abc{suffix}")
        assert_422(response, ["path", "conversation_id"])


# --- messages of a conversation ---------------------------------------------------------------------------------


def test_messages_are_oldest_first_with_skip_limit(alice_client, alice, bob, carol):
    thread = [
        MessageFactory(sender=bob if i % 2 else alice, recipient=alice if i % 2 else bob, created_at=at(60 - i))
        for i in range(7)
    ]
    MessageFactory(sender=carol, recipient=alice)
    conversation_id = open_with(alice_client, bob.pk).json()["id"]
    response = alice_client.get(f"/api/messaging/conversations/{conversation_id}/messages")
    assert response.status_code == 200
    rows = response.json()
    assert [row["id"] for row in rows] == [m.pk for m in thread]
    for row in rows:
        assert_row_shape(row)
        assert row["conversation_id"] == conversation_id
    page = alice_client.get(f"/api/messaging/conversations/{conversation_id}/messages?skip=1&limit=2").json()
    assert [row["id"] for row in page] == [m.pk for m in thread[1:3]]
    assert_422(
        alice_client.get(f"/api/messaging/conversations/{conversation_id}/messages?limit=101"), ["query", "limit"]
    )
    assert_deprecated(response, f"/api/messages/with/{bob.pk}")


def test_post_message_answers_201_with_the_row_and_the_new_api_shows_it(alice_client, bob_client, alice, bob):
    conversation_id = open_with(alice_client, bob.pk).json()["id"]
    response = alice_client.post(
        f"/api/messaging/conversations/{conversation_id}/messages", {"content": "hello"}, format="json"
    )
    assert response.status_code == 201, response.content
    row = response.json()
    assert_row_shape(row)
    assert (row["conversation_id"], row["sender_id"], row["content"], row["is_read"]) == (
        conversation_id,
        alice.pk,
        "hello",
        False,
    )
    new = bob_client.get(f"/api/messages/with/{alice.pk}").json()["results"]
    assert [m["id"] for m in new] == [row["id"]] and new[0]["body"] == "hello"
    # ... and the other side now lists the conversation, with the same id.
    assert [c["id"] for c in bob_client.get("/api/messaging/conversations").json()] == [conversation_id]
    assert_deprecated(response, "/api/messages/send")


def test_a_message_sent_with_the_new_api_is_in_the_conversation(alice_client, bob_client, alice, bob):
    conversation_id = open_with(alice_client, bob.pk).json()["id"]
    sent = bob_client.post("/api/messages/send", {"recipient_id": alice.pk, "body": "via new"}, format="json").json()
    rows = alice_client.get(f"/api/messaging/conversations/{conversation_id}/messages").json()
    assert [(row["id"], row["content"]) for row in rows] == [(sent["id"], "via new")]


@pytest.mark.parametrize(
    ("body", "loc"),
    [({}, ["body", "content"]), ({"content": ""}, ["body", "content"]), ({"content": None}, ["body", "content"])],
)
def test_post_message_bad_content_is_a_422(alice_client, bob, body, loc):
    conversation_id = open_with(alice_client, bob.pk).json()["id"]
    response = alice_client.post(f"/api/messaging/conversations/{conversation_id}/messages", body, format="json")
    assert_422(response, loc)
    assert not Message.objects.exists()


def test_post_message_to_a_now_inactive_partner_is_a_422(alice_client, bob):
    conversation_id = open_with(alice_client, bob.pk).json()["id"]
    bob.is_active = False
    bob.save()
    response = alice_client.post(f"/api/messaging/conversations/{conversation_id}/messages", {"content": "x"})
    assert_422(response, ["path", "conversation_id"])


# --- read, delete ---------------------------------------------------------------------------------------------


def test_put_read_marks_the_partners_messages_read(alice_client, alice, bob, carol):
    MessageFactory.create_batch(2, sender=bob, recipient=alice)
    MessageFactory(sender=carol, recipient=alice)
    conversation_id = open_with(alice_client, bob.pk).json()["id"]
    response = alice_client.put(f"/api/messaging/conversations/{conversation_id}/read")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "marked_read": 2}
    assert alice_client.get(f"/api/messaging/conversations/{conversation_id}").json()["unread_count"] == 0
    assert alice_client.get("/api/direct-messages/unread-count").json() == {"unread_count": 1}
    assert_deprecated(response, f"/api/messages/mark-conversation-read/{bob.pk}")


def test_delete_removes_the_conversation_for_the_caller_only(alice_client, bob_client, alice, bob):
    MessageFactory(sender=bob, recipient=alice, body="one")
    MessageFactory(sender=alice, recipient=bob, body="two")
    conversation_id = open_with(alice_client, bob.pk).json()["id"]

    response = alice_client.delete(f"/api/messaging/conversations/{conversation_id}")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert_deprecated(response)

    assert alice_client.get("/api/messaging/conversations").json() == []
    assert alice_client.get(f"/api/messaging/conversations/{conversation_id}/messages").json() == []
    detail = alice_client.get(f"/api/messaging/conversations/{conversation_id}")
    assert detail.status_code == 200
    assert detail.json()["last_message"] is None and detail.json()["unread_count"] == 0
    assert alice_client.get("/api/direct-messages/").json() == []
    assert not OpenedConversation.objects.filter(user=alice).exists()

    # Bob still has everything.
    assert len(bob_client.get(f"/api/messaging/conversations/{conversation_id}/messages").json()) == 2
    assert [c["id"] for c in bob_client.get("/api/messaging/conversations").json()] == [conversation_id]

    # A new message brings the conversation back for alice, with only that message.
    new = bob_client.post(f"/api/messaging/conversations/{conversation_id}/messages", {"content": "three"}).json()
    rows = alice_client.get("/api/messaging/conversations").json()
    assert [row["id"] for row in rows] == [conversation_id]
    assert rows[0]["last_message"]["id"] == new["id"]
    assert [
        m["content"] for m in alice_client.get(f"/api/messaging/conversations/{conversation_id}/messages").json()
    ] == ["three"]


def test_delete_of_an_opened_conversation_without_messages_unlists_it(alice_client, bob):
    conversation_id = open_with(alice_client, bob.pk).json()["id"]
    assert alice_client.delete(f"/api/messaging/conversations/{conversation_id}").json() == {"ok": True}
    assert alice_client.get("/api/messaging/conversations").json() == []
    assert alice_client.get(f"/api/messaging/conversations/{conversation_id}").status_code == 200
    # Opening it again lists it again, under the same id.
    again = open_with(alice_client, bob.pk)
    assert again.status_code == 200 and again.json()["id"] == conversation_id
    assert [c["id"] for c in alice_client.get("/api/messaging/conversations").json()] == [conversation_id]
