"""The legacy write endpoints ignore every field only the server may decide, as the new API does."""

import pytest

from legacy_dm.conversations import conversation_for_pair
from messaging.models import Message
from messaging.tests.factories import MessageFactory
from tests.helpers import assert_server_decided, forged_message_fields

pytestmark = pytest.mark.django_db

OLD_FORGED = {
    "sender_id": None,  # filled with the impersonated user
    "is_read": True,
    "read_at": "2000-01-01T00:00:00",
    "is_deleted_by_sender": True,
    "is_deleted_by_receiver": True,
    "has_attachment": True,
    "created_at": "2000-01-01T00:00:00",
    "updated_at": "2000-01-01T00:00:00",
    "conversation_id": 424242,
}


def forged(*, impersonated, moderator_id) -> dict:
    return (
        forged_message_fields(impersonated=impersonated, moderator_id=moderator_id)
        | OLD_FORGED
        | {"sender_id": impersonated.pk}
    )


def test_post_direct_message_ignores_server_decided_fields(alice_client, alice, bob, carol):
    payload = {"receiver_id": bob.pk, "content": "hello"} | forged(impersonated=carol, moderator_id=carol.pk)
    response = alice_client.post("/api/direct-messages/", payload, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["sender_id"] == alice.pk and data["is_read"] is False and data["has_attachment"] is False
    assert_server_decided(Message.objects.get(pk=data["id"]), sender=alice)


def test_post_conversation_message_ignores_server_decided_fields(alice_client, alice, bob, carol):
    conversation, _ = conversation_for_pair(user=alice, other=bob)
    payload = {"content": "hello"} | forged(impersonated=carol, moderator_id=carol.pk)
    response = alice_client.post(f"/api/messaging/conversations/{conversation.pk}/messages", payload, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["conversation_id"] == conversation.pk and data["sender_id"] == alice.pk and data["is_read"] is False
    message = Message.objects.get(pk=data["id"])
    assert_server_decided(message, sender=alice)
    assert message.recipient == bob


def test_read_and_delete_ignore_a_body(bob_client, alice, bob, carol):
    message = MessageFactory(sender=alice, recipient=bob)
    forged_body = forged(impersonated=carol, moderator_id=carol.pk)
    assert bob_client.put(f"/api/direct-messages/{message.pk}/read", forged_body, format="json").status_code == 200
    message.refresh_from_db()
    assert message.sender == alice and message.recipient == bob
    assert message.read_at is not None and message.read_at.year > 2000
    assert message.hidden_at is None and message.legacy_id is None and message.sender_deleted_at is None


def test_open_conversation_ignores_extra_fields(alice_client, alice, bob, carol):
    response = alice_client.post(
        "/api/messaging/conversations",
        {"participant_ids": [bob.pk], "id": 999_999, "created_by": carol.pk, "participants": [carol.pk]},
        format="json",
    )
    assert response.status_code in (200, 201), response.content
    data = response.json()
    assert data["id"] != 999_999
    assert {person["id"] for person in data["participants"]} == {alice.pk, bob.pk}
