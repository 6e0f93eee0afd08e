"""A message its sender unsent (`DELETE /api/messages/{id}?for=everyone`) is gone from the legacy API too, for
both people: the message, the lists, the threads, the conversations and the unread counts, in the old shapes."""

import pytest

from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

BODY = "sent to the wrong person"


def legacy_reads(client, other_id: int) -> dict[str, object]:
    """Every legacy read that could show the message, by path: the answer's JSON."""
    paths = [
        "/api/direct-messages/",
        "/api/direct-messages/conversations",
        f"/api/direct-messages/conversation/{other_id}",
        "/api/direct-messages/unread-count",
        "/api/messaging/conversations",
    ]
    answers = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.content)
        answers[path] = response.json()
    for conversation in answers["/api/messaging/conversations"]:
        path = f"/api/messaging/conversations/{conversation['id']}/messages"
        answers[path] = client.get(path).json()
    return answers


def test_an_unsent_message_is_gone_from_every_legacy_read_for_both(alice_client, bob_client, alice, bob):
    MessageFactory(sender=bob, recipient=alice, body="an earlier one")
    sent = MessageFactory(sender=alice, recipient=bob, body=BODY)
    assert BODY in str(legacy_reads(bob_client, alice.pk)) and BODY in str(legacy_reads(alice_client, bob.pk))
    assert bob_client.get("/api/direct-messages/unread-count").json() == {"unread_count": 1}

    assert alice_client.delete(f"/api/messages/{sent.pk}?for=everyone").status_code == 204

    for client, other in ((alice_client, bob), (bob_client, alice)):
        answers = legacy_reads(client, other.pk)
        assert BODY not in str(answers), answers
        assert answers[f"/api/direct-messages/conversation/{other.pk}"][-1]["content"] == "an earlier one"
        missing = client.get(f"/api/direct-messages/{sent.pk}")
        assert missing.status_code == 404 and missing.json() == {"detail": "Message not found"}
        assert client.delete(f"/api/direct-messages/{sent.pk}").status_code == 404
    assert bob_client.get("/api/direct-messages/unread-count").json() == {"unread_count": 0}
    assert alice_client.get("/api/direct-messages/unread-count").json() == {"unread_count": 1}
    (conversation,) = bob_client.get("/api/messaging/conversations").json()
    assert conversation["unread_count"] == 0 and conversation["last_message"]["content"] == "an earlier one"
