"""`/api/messaging/*` for an old conversation id that is an alias: a later old conversation of the same pair.

The old system could hold several conversations of the same two people; old clients still hold each of those
ids. The data migration keeps the lowest as the pair's canonical id and makes the later ones aliases of it.
An alias answers exactly as the canonical conversation does, under the id the client asked for; lists and
get-or-create only ever name the canonical id.
"""

from datetime import UTC, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from legacy_dm.models import LegacyConversation, OpenedConversation
from messaging.models import Message
from messaging.tests.factories import MessageFactory

from .conftest import assert_conversation_shape, assert_deprecated, assert_row_shape

pytestmark = pytest.mark.django_db

CANONICAL_ID, ALIAS_ID = 41, 44


def at(minutes_ago: int):
    return timezone.now() - timedelta(minutes=minutes_ago)


@pytest.fixture
def old_pair(alice, bob):
    """Alice and bob's canonical old conversation and an alias of it, with a thread of four messages."""
    low, high = sorted((alice.pk, bob.pk))
    canonical = LegacyConversation.objects.create(
        id=CANONICAL_ID, user_low_id=low, user_high_id=high, created_at=at(900)
    )
    alias = LegacyConversation.objects.create(
        id=ALIAS_ID, user_low_id=low, user_high_id=high, alias_of=canonical, created_at=at(800)
    )
    thread = [
        MessageFactory(sender=bob if i % 2 else alice, recipient=alice if i % 2 else bob, created_at=at(60 - i))
        for i in range(4)
    ]
    return canonical, alias, thread


def without_ids(data):
    """A conversation answer without what belongs to the id itself: the id, and when that id was created."""
    data = dict(data)
    data.pop("id")
    data.pop("created_at")
    if data["last_message"] is not None:
        data["last_message"] = {k: v for k, v in data["last_message"].items() if k != "conversation_id"}
    return data


def test_an_alias_answers_as_the_canonical_conversation_under_its_own_id(alice_client, old_pair, alice, bob):
    _, _, thread = old_pair
    response = alice_client.get(f"/api/messaging/conversations/{ALIAS_ID}")
    assert response.status_code == 200, response.content
    data = response.json()
    assert_conversation_shape(data)
    assert data["id"] == ALIAS_ID
    assert [p["id"] for p in data["participants"]] == sorted([alice.pk, bob.pk])
    assert data["last_message"]["id"] == thread[-1].pk and data["last_message"]["conversation_id"] == ALIAS_ID
    assert data["unread_count"] == 2
    assert_deprecated(response, f"/api/messages/with/{bob.pk}")

    canonical = alice_client.get(f"/api/messaging/conversations/{CANONICAL_ID}").json()
    assert canonical["id"] == CANONICAL_ID
    assert without_ids(data) == without_ids(canonical)
    # Each old id keeps the creation time the old system gave it.
    alias_created = old_pair[1].created_at.astimezone(UTC).replace(tzinfo=None).isoformat()
    assert data["created_at"] == alias_created != canonical["created_at"]


def test_an_alias_lists_the_pairs_messages_with_the_id_asked_for(alice_client, old_pair):
    _, _, thread = old_pair
    rows = alice_client.get(f"/api/messaging/conversations/{ALIAS_ID}/messages").json()
    for row in rows:
        assert_row_shape(row)
    assert [row["id"] for row in rows] == [message.pk for message in thread]
    assert {row["conversation_id"] for row in rows} == {ALIAS_ID}
    canonical_rows = alice_client.get(f"/api/messaging/conversations/{CANONICAL_ID}/messages").json()
    assert [{**row, "conversation_id": ALIAS_ID} for row in canonical_rows] == rows
    paged = alice_client.get(f"/api/messaging/conversations/{ALIAS_ID}/messages?skip=1&limit=2").json()
    assert [row["id"] for row in paged] == [message.pk for message in thread[1:3]]


def test_a_message_sent_through_an_alias_joins_the_pairs_thread(alice_client, bob_client, old_pair, alice, bob):
    response = alice_client.post(f"/api/messaging/conversations/{ALIAS_ID}/messages", {"content": "via 44"})
    assert response.status_code == 201, response.content
    row = response.json()
    assert_row_shape(row)
    assert (row["conversation_id"], row["sender_id"], row["content"]) == (ALIAS_ID, alice.pk, "via 44")
    message = Message.objects.get(pk=row["id"])
    assert (message.sender, message.recipient) == (alice, bob)
    # Bob sees it under the canonical id, as the last message of the pair, unread.
    seen = bob_client.get(f"/api/messaging/conversations/{CANONICAL_ID}").json()
    assert seen["last_message"]["id"] == message.pk and seen["last_message"]["conversation_id"] == CANONICAL_ID
    assert seen["unread_count"] == 3
    bob_rows = bob_client.get(f"/api/messaging/conversations/{CANONICAL_ID}/messages").json()
    assert bob_rows[-1]["id"] == message.pk


def test_reading_through_an_alias_reads_the_pair(bob_client, old_pair, alice):
    response = bob_client.put(f"/api/messaging/conversations/{ALIAS_ID}/read")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "marked_read": 2}
    assert bob_client.get(f"/api/messaging/conversations/{CANONICAL_ID}").json()["unread_count"] == 0
    assert bob_client.put(f"/api/messaging/conversations/{CANONICAL_ID}/read").json()["marked_read"] == 0


def test_deleting_through_an_alias_deletes_the_pair_for_the_caller_only(alice_client, bob_client, old_pair, bob):
    _, _, thread = old_pair
    opened = alice_client.post("/api/messaging/conversations", {"participant_ids": [bob.pk]}, format="json")
    assert opened.json()["id"] == CANONICAL_ID
    response = alice_client.delete(f"/api/messaging/conversations/{ALIAS_ID}")
    assert response.status_code == 200 and response.json() == {"ok": True}
    # Gone from alice's list (messages and her opening of the pair), still there for bob.
    assert alice_client.get("/api/messaging/conversations").json() == []
    assert not OpenedConversation.objects.filter(conversation_id=CANONICAL_ID).exists()
    assert alice_client.get(f"/api/messaging/conversations/{CANONICAL_ID}/messages").json() == []
    after = alice_client.get(f"/api/messaging/conversations/{ALIAS_ID}")
    assert after.status_code == 200 and after.json()["last_message"] is None
    assert len(bob_client.get(f"/api/messaging/conversations/{ALIAS_ID}/messages").json()) == len(thread)


def test_the_list_names_the_canonical_id_once_per_pair(alice_client, bob_client, old_pair, alice, bob, carol):
    MessageFactory(sender=carol, recipient=alice, created_at=at(5))
    for client in (alice_client, bob_client):
        ids = [row["id"] for row in client.get("/api/messaging/conversations").json()]
        assert ids.count(CANONICAL_ID) == 1 and ALIAS_ID not in ids
    assert len(alice_client.get("/api/messaging/conversations").json()) == 2  # with bob, with carol
    # Opening the pair again names its canonical id (200), never the alias nor a new id.
    response = alice_client.post("/api/messaging/conversations", {"participant_ids": [bob.pk]}, format="json")
    assert response.status_code == 200 and response.json()["id"] == CANONICAL_ID
    assert LegacyConversation.objects.count() == 3  # the pair's two ids, and carol's with alice


def test_an_alias_of_a_pair_the_caller_is_not_in_is_404(carol_client, old_pair):
    for method, suffix in [("get", ""), ("delete", ""), ("get", "/messages"), ("post", "/messages"), ("put", "/read")]:
        response = getattr(carol_client, method)(
            f"/api/messaging/conversations/{ALIAS_ID}{suffix}", {"content": "x"}, format="json"
        )
        assert response.status_code == 404, (method, suffix)
        assert response.json() == {"detail": "Conversation not found"}
    assert Message.objects.count() == 4


def test_the_map_holds_one_canonical_id_per_pair_and_aliases_with_their_pair(old_pair, alice, carol):
    canonical, _, _ = old_pair
    # A second alias of the same pair is fine; a second canonical id is not; an alias without a pair is not.
    LegacyConversation.objects.create(
        id=45, user_low_id=canonical.user_low_id, user_high_id=canonical.user_high_id, alias_of=canonical
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        LegacyConversation.objects.create(id=46, user_low_id=canonical.user_low_id, user_high_id=canonical.user_high_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        LegacyConversation.objects.create(id=47, alias_of=canonical)
    # An old conversation of one or three people still maps to no pair.
    LegacyConversation.objects.create(id=48)


def test_the_map_refuses_a_half_pair_or_an_unordered_one(alice, bob):
    """A comparison with NULL is not false, so the pair check names both halves explicitly."""
    low, high = sorted([alice.pk, bob.pk])
    for pair in ({"user_low_id": low}, {"user_high_id": high}, {"user_low_id": high, "user_high_id": low}):
        with pytest.raises(IntegrityError), transaction.atomic():
            LegacyConversation.objects.create(**pair)
