"""Real answers of the new and the legacy API match the OpenAPI schema for a strict OpenAPI 3.0 validator.

Every client made by `client_for` checks each answer (`tests.openapi.SchemaCheckedClient`); these tests walk
the main operations once each, with the shapes that used to fail (null `reply_to`, `attachment` and
`last_message`), and show that the check does run and can fail.
"""

import base64
import json

import pytest
from django.http import JsonResponse
from openapi_core.validation.response.exceptions import InvalidData

from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from tests.openapi import SchemaCheckedClient, validate_response
from users.tests.factories import DEFAULT_PASSWORD, client_for

pytestmark = pytest.mark.django_db


def checked(response, method, path, **query):
    """`response`, after `validate_response` says it checked it (not an undocumented or streamed answer)."""
    assert validate_response(response, method=method, path=path, query=query), (method, path)
    return response


def test_new_api_answers_match_the_schema_with_nulls_and_attachments(alice, bob, alice_client):
    first = MessageFactory(sender=bob, recipient=alice, body="plain, no reply, no file")
    MessageFactory(sender=alice, recipient=bob, reply_to=first, body="a reply")
    AttachmentMessageFactory(sender=bob, recipient=alice)
    sent = alice_client.post(
        "/api/messages/send",
        {
            "recipient_id": bob.pk,
            "body": "with a file",
            "attachment": {"name": "a.txt", "content_type": "text/plain", "data": base64.b64encode(b"hi").decode()},
        },
        format="json",
    )
    assert sent.status_code == 201 and sent.json()["reply_to"] is None and sent.json()["attachment"]
    thread = checked(
        alice_client.get(f"/api/messages/with/{bob.pk}?page_size=2"), "GET", f"/api/messages/with/{bob.pk}"
    )
    assert any(message["reply_to"] is None for message in thread.json()["results"])
    cursor = thread.json()["next"].split("?", 1)[1]
    assert alice_client.get(f"/api/messages/with/{bob.pk}?{cursor}").status_code == 200
    conversations = checked(alice_client.get("/api/messages/conversations"), "GET", "/api/messages/conversations")
    assert conversations.json()["results"][0]["last_message"]["attachment"] is not None
    search = alice_client.post("/api/messages/search", {"query": "reply", "unread": None}, format="json")
    assert search.status_code == 200 and search.json()["results"][0]["reply_to"]["id"] == first.pk
    assert alice_client.get("/api/messages/participants?search=bo").json()["results"][0]["id"] == bob.pk
    assert alice_client.get("/api/messages/unread-count").json()["unread_count"] == 2
    assert alice_client.put(f"/api/messages/mark-conversation-read/{bob.pk}").json() == {"marked_read": 2}
    assert alice_client.get(f"/api/messages/{first.pk}").json()["reply_to"] is None
    assert alice_client.get("/api/auth/me/").status_code == 200
    assert alice_client.get("/api/messages/999999").status_code == 404
    assert alice_client.post("/api/messages/send", {"recipient_id": "x"}, format="json").status_code == 400


def test_auth_answers_match_the_schema(alice):
    client = SchemaCheckedClient()
    tokens = client.post("/api/auth/token/", {"username": "alice", "password": DEFAULT_PASSWORD}, format="json")
    checked(tokens, "POST", "/api/auth/token/")
    assert client.post("/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json").status_code == 401
    refreshed = client.post("/api/auth/token/refresh/", {"refresh": tokens.json()["refresh"]}, format="json")
    assert refreshed.status_code == 200
    assert (
        client.post("/api/auth/token/verify/", {"token": refreshed.json()["access"]}, format="json").status_code == 200
    )
    registered = client.post(
        "/api/auth/register/",
        {"username": "dinah", "email": "dinah@example.com", "password": "a long enough passphrase"},
        format="json",
    )
    assert registered.status_code == 201
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert client.patch("/api/auth/me/", {"display_name": "Alice L."}, format="json").status_code == 200
    assert client.post("/api/auth/logout/", {"refresh": refreshed.json()["refresh"]}, format="json").status_code == 205
    anonymous = SchemaCheckedClient()
    assert anonymous.get("/api/messages/unread-count", HTTP_AUTHORIZATION="Bearer nope").status_code == 401


def test_legacy_answers_match_the_schema_with_null_last_messages(alice, bob, carol):
    client = client_for(alice)
    message = AttachmentMessageFactory(sender=bob, recipient=alice)
    assert client.get("/api/direct-messages/").json()[0]["id"] == message.pk
    checked(client.get("/api/direct-messages/conversations"), "GET", "/api/direct-messages/conversations")
    assert client.get(f"/api/direct-messages/conversation/{bob.pk}?skip=0&limit=10").status_code == 200
    assert client.get("/api/direct-messages/unread-count").json() == {"unread_count": 1}
    assert (
        client.post("/api/direct-messages/", {"receiver_id": bob.pk, "content": "hi"}, format="json").status_code == 201
    )
    assert client.put(f"/api/direct-messages/{message.pk}/read").status_code == 200
    assert client.get(f"/api/direct-messages/{message.pk}/attachment").status_code == 200
    # A conversation opened without a message yet: `last_message` is null.
    opened = client.post("/api/messaging/conversations", {"participant_ids": [carol.pk]}, format="json")
    assert opened.status_code == 201 and opened.json()["last_message"] is None
    listed = checked(client.get("/api/messaging/conversations"), "GET", "/api/messaging/conversations")
    assert None in [row["last_message"] for row in listed.json()]
    conversation_id = opened.json()["id"]
    assert (
        client.post(
            f"/api/messaging/conversations/{conversation_id}/messages", {"content": "hello"}, format="json"
        ).status_code
        == 201
    )
    assert client.get(f"/api/messaging/conversations/{conversation_id}/messages").status_code == 200
    assert client.put(f"/api/messaging/conversations/{conversation_id}/read").status_code == 200
    assert client.get("/api/direct-messages/?limit=0").status_code == 422


def test_the_check_refuses_an_answer_the_schema_does_not_describe(alice, bob, alice_client):
    """A message whose `reply_to` is not a reply-to object nor null is refused: the check can fail."""
    message = MessageFactory(sender=bob, recipient=alice)
    good = alice_client.get(f"/api/messages/{message.pk}")
    data = json.loads(good.content)
    assert checked(good, "GET", f"/api/messages/{message.pk}")
    data["reply_to"] = "not a message"
    with pytest.raises(InvalidData):
        validate_response(JsonResponse(data), method="GET", path=f"/api/messages/{message.pk}")
    data["reply_to"] = None
    data["attachment"] = {"name": "a.txt"}
    with pytest.raises(InvalidData):
        validate_response(JsonResponse(data), method="GET", path=f"/api/messages/{message.pk}")
