"""Every surface publishes through the services: the legacy API, the pages and the admin produce the same
events as the new API, on both brokers.
"""

import pytest
from django.urls import reverse

from messaging import services
from messaging.models import Message
from messaging.tests.factories import MessageFactory
from tests.helpers import delivered, read_all

pytestmark = pytest.mark.django_db


def types_and_data(broker, user):
    return delivered(broker, user)


def test_legacy_send_and_read_publish_what_the_new_api_does(
    events_broker, alice, bob, alice_client, bob_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sent = alice_client.post("/api/direct-messages/", {"receiver_id": bob.pk, "content": "hi"}, format="json")
    assert sent.status_code == 201, sent.content
    message_id = sent.json()["id"]
    to_bob = read_all(events_broker, bob.pk)
    assert [e.type for e in to_bob] == ["message.created", "unread_count"]
    assert to_bob[0].data == {"id": message_id}
    assert [e.type for e in read_all(events_broker, alice.pk)] == ["message.created"]

    with django_capture_on_commit_callbacks(execute=True):
        assert bob_client.put(f"/api/direct-messages/{message_id}/read").status_code == 200
    read = [e for e in read_all(events_broker, alice.pk) if e.type == "message.read"]
    assert [e.data["id"] for e in read] == [message_id]


@pytest.mark.parametrize("surface", ["api", "legacy", "page"])
def test_deleting_a_whole_conversation_tells_the_deleters_other_devices(
    surface, events_broker, alice, bob, alice_client, client, django_capture_on_commit_callbacks
):
    """Regression: a whole-conversation delete published only `unread_count`, so the deleter's other open
    pages and clients kept showing the conversation."""
    MessageFactory(sender=bob, recipient=alice, body="one")
    MessageFactory(sender=alice, recipient=bob, body="two")
    with django_capture_on_commit_callbacks(execute=True):
        if surface == "api":
            assert alice_client.delete(f"/api/messages/with/{bob.pk}").status_code == 204
        elif surface == "legacy":
            opened = alice_client.post("/api/messaging/conversations", {"participant_ids": [bob.pk]}, format="json")
            assert alice_client.delete(f"/api/messaging/conversations/{opened.json()['id']}").status_code == 200
        else:
            client.force_login(alice)
            assert client.post(reverse("messaging-web:delete-conversation", args=[bob.pk])).status_code == 302
    assert Message.objects.visible_to(alice).count() == 0
    assert types_and_data(events_broker, alice) == [
        ("conversation.deleted", {"user_id": bob.pk, "deleted": 2}),
        ("unread_count", {"unread_count": 0, "badge_count": 0}),
    ]
    assert read_all(events_broker, bob.pk) == []  # bob keeps the conversation, and is told nothing

    with django_capture_on_commit_callbacks(execute=True):  # nothing left to delete: nothing to tell
        assert alice_client.delete(f"/api/messages/with/{bob.pk}").status_code == 204
    assert len(read_all(events_broker, alice.pk)) == 2


def test_the_admins_hide_and_unhide_actions_publish(
    events_broker, alice, bob, mod_client, django_capture_on_commit_callbacks
):
    message = MessageFactory(sender=alice, recipient=bob, body="rude words")
    action = {"_selected_action": [message.pk], "apply": "1", "reason": "abuse"}
    with django_capture_on_commit_callbacks(execute=True):
        response = mod_client.post("/admin/messaging/message/", {"action": "hide_messages", **action})
    assert response.status_code == 302
    for user in (alice, bob):
        assert ("message.hidden", {"id": message.pk}) in types_and_data(events_broker, user)
        assert "rude words" not in str(types_and_data(events_broker, user))
    with django_capture_on_commit_callbacks(execute=True):
        response = mod_client.post("/admin/messaging/message/", {"action": "unhide_messages", **action})
    assert response.status_code == 302
    # Regression: an unhide published only the recipient's count, so open pages never showed it again.
    assert types_and_data(events_broker, alice)[-1] == ("message.unhidden", {"id": message.pk, "user_id": bob.pk})
    assert types_and_data(events_broker, bob)[-2:] == [
        ("message.unhidden", {"id": message.pk, "user_id": alice.pk}),
        ("unread_count", {"unread_count": 1, "badge_count": 1}),
    ]


def test_an_unhide_is_not_announced_to_a_party_who_deleted_the_message(
    events_broker, alice, bob, roles, django_capture_on_commit_callbacks
):
    message = MessageFactory(sender=alice, recipient=bob, body="gone for bob")
    services.delete_for_user(user=bob, message_id=message.pk)
    services.hide_messages(moderator=roles.moderator, messages=[message], reason="abuse")
    seen_by_bob = len(read_all(events_broker, bob.pk))
    with django_capture_on_commit_callbacks(execute=True):
        services.unhide_messages(moderator=roles.moderator, messages=[message])
    assert ("message.unhidden", {"id": message.pk, "user_id": bob.pk}) in types_and_data(events_broker, alice)
    assert "message.unhidden" not in [e.type for e in read_all(events_broker, bob.pk)[seen_by_bob:]]
