"""POST /api/messages/send: every rule of the contract, in every input form."""

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from messaging.models import Message
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def send(client, **payload):
    return client.post("/api/messages/send", payload, format="json")


def test_send_json_returns_the_message_in_the_contract_shape(alice_client, alice, bob):
    response = send(alice_client, recipient_id=bob.pk, body="  Hello Bob  ")
    assert response.status_code == 201
    data = response.json()
    assert set(data) == {
        "id", "sender", "recipient", "body", "reply_to", "attachment", "created_at", "read_at", "is_read",
        "edited_at",
    }  # fmt: skip
    assert data["sender"] == {"id": alice.pk, "username": "alice", "display_name": "Alice Liddell"}
    assert data["recipient"] == {"id": bob.pk, "username": "bob", "display_name": "bob"}
    assert data["body"] == "Hello Bob"  # stripped
    assert data["reply_to"] is None and data["attachment"] is None
    assert data["created_at"].endswith("Z")
    assert data["read_at"] is None and data["is_read"] is False
    assert data["edited_at"] is None  # never edited
    stored = Message.objects.get(pk=data["id"])
    assert (stored.sender, stored.recipient, stored.body) == (alice, bob, "Hello Bob")


def test_send_answers_with_trailing_slash_too(alice_client, bob):
    response = alice_client.post("/api/messages/send/", {"recipient_id": bob.pk, "body": "x"}, format="json")
    assert response.status_code == 201


def test_cannot_message_yourself(alice_client, alice):
    response = send(alice_client, recipient_id=alice.pk, body="me")
    assert response.status_code == 400
    assert "recipient_id" in response.json()


def test_cannot_message_an_inactive_or_unknown_user(alice_client):
    gone = UserFactory(username="gone", is_active=False)
    for recipient_id in (gone.pk, 999_999):
        response = send(alice_client, recipient_id=recipient_id, body="hello?")
        assert response.status_code == 400
        assert "recipient_id" in response.json()
    assert not Message.objects.exists()


def test_body_limit_is_ten_thousand_characters(alice_client, bob):
    assert send(alice_client, recipient_id=bob.pk, body="x" * 10_000).status_code == 201
    response = send(alice_client, recipient_id=bob.pk, body="x" * 10_001)
    assert response.status_code == 400
    assert "body" in response.json()


@pytest.mark.parametrize("body", ["", "   \n\t "])
def test_empty_body_needs_an_attachment(alice_client, bob, body):
    response = send(alice_client, recipient_id=bob.pk, body=body)
    assert response.status_code == 400
    assert "body" in response.json()


def test_nul_character_in_body_is_rejected(alice_client, bob):
    response = send(alice_client, recipient_id=bob.pk, body="a\x00b")
    assert response.status_code == 400


def test_reply_in_the_same_conversation(alice_client, alice, bob):
    original = MessageFactory(sender=bob, recipient=alice, body="Can you send the plan? " + "x" * 200)
    response = send(alice_client, recipient_id=bob.pk, body="Here", reply_to_id=original.pk)
    assert response.status_code == 201
    reply_to = response.json()["reply_to"]
    assert reply_to["id"] == original.pk and reply_to["sender_id"] == bob.pk
    assert reply_to["body_preview"] == original.body[:100]


def test_reply_to_a_message_of_another_conversation_is_rejected(alice_client, alice, bob, carol):
    elsewhere = MessageFactory(sender=carol, recipient=alice)
    response = send(alice_client, recipient_id=bob.pk, body="Here", reply_to_id=elsewhere.pk)
    assert response.status_code == 400
    assert "reply_to_id" in response.json()


def test_reply_to_a_message_the_sender_deleted_is_rejected(alice_client, alice, bob):
    original = MessageFactory(sender=bob, recipient=alice)
    alice_client.delete(f"/api/messages/{original.pk}")
    response = send(alice_client, recipient_id=bob.pk, body="Here", reply_to_id=original.pk)
    assert response.status_code == 400


def test_reply_to_unknown_message_is_rejected(alice_client, bob):
    assert send(alice_client, recipient_id=bob.pk, body="x", reply_to_id=123456).status_code == 400


def test_base64_json_attachment(alice_client, bob):
    data = base64.b64encode(b"%PDF-1.7 plan").decode()
    response = send(
        alice_client,
        recipient_id=bob.pk,
        body="See the attached plan.",
        attachment={"name": "plan.pdf", "content_type": "application/pdf", "data": data},
    )
    assert response.status_code == 201, response.content
    attachment = response.json()["attachment"]
    message_id = response.json()["id"]
    assert attachment == {
        "name": "plan.pdf",
        "content_type": "application/pdf",
        "size": len(b"%PDF-1.7 plan"),
        "url": f"/api/messages/{message_id}/attachment",
    }
    assert bytes(Message.objects.get(pk=message_id).attachment_data) == b"%PDF-1.7 plan"


def test_multipart_attachment_with_empty_body(alice_client, bob):
    upload = SimpleUploadedFile("picture.png", PNG, content_type="image/png")
    response = alice_client.post(
        "/api/messages/send", {"recipient_id": bob.pk, "body": "", "attachment": upload}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["attachment"]["content_type"] == "image/png"
    assert response.json()["attachment"]["size"] == len(PNG)


def test_invalid_base64_is_400(alice_client, bob):
    response = send(
        alice_client, recipient_id=bob.pk, body="x", attachment={"name": "a.txt", "data": "%%% not base64 %%%"}
    )
    assert response.status_code == 400
    assert "attachment" in response.json()


@pytest.mark.parametrize("attachment", ["just a string", 42, ["a"], {"data": "aGk="}, {"name": "", "data": "aGk="}])
def test_malformed_attachment_is_400(alice_client, bob, attachment):
    response = send(alice_client, recipient_id=bob.pk, body="x", attachment=attachment)
    assert response.status_code == 400


def test_attachment_over_the_limit_is_413_in_both_forms(alice_client, bob, settings):
    settings.MESSAGING_MAX_ATTACHMENT_BYTES = 1000
    big = b"a" * 1001
    json_response = send(
        alice_client,
        recipient_id=bob.pk,
        body="x",
        attachment={"name": "a.txt", "data": base64.b64encode(big).decode()},
    )
    assert json_response.status_code == 413
    assert "detail" in json_response.json()
    multipart = alice_client.post(
        "/api/messages/send",
        {"recipient_id": bob.pk, "body": "x", "attachment": SimpleUploadedFile("a.txt", big)},
        format="multipart",
    )
    assert multipart.status_code == 413
    just_under = {"name": "a.txt", "data": base64.b64encode(b"a" * 1000).decode()}
    assert send(alice_client, recipient_id=bob.pk, body="x", attachment=just_under).status_code == 201
    assert Message.objects.count() == 1


def test_attachment_just_under_the_default_limit_is_accepted_in_both_forms(alice_client, bob, settings):
    """Request-size settings leave room for a 10 MiB file, raw in multipart or base64 in JSON."""
    data = b"\x00" * (settings.MESSAGING_MAX_ATTACHMENT_BYTES - 1)
    payload = {"name": "blob.bin", "content_type": "application/octet-stream", "data": base64.b64encode(data).decode()}
    assert send(alice_client, recipient_id=bob.pk, body="", attachment=payload).status_code == 201
    upload = SimpleUploadedFile("blob.bin", data, content_type="application/octet-stream")
    response = alice_client.post(
        "/api/messages/send", {"recipient_id": bob.pk, "attachment": upload}, format="multipart"
    )
    assert response.status_code == 201


def test_html_claiming_to_be_png_is_not_stored_as_either(alice_client, bob):
    html = base64.b64encode(b"<html><script>alert(1)</script></html>").decode()
    response = send(
        alice_client,
        recipient_id=bob.pk,
        body="x",
        attachment={"name": "cat.png", "content_type": "image/png", "data": html},
    )
    assert response.status_code == 201
    assert response.json()["attachment"]["content_type"] == "application/octet-stream"


def test_png_claiming_to_be_html_is_stored_as_png(alice_client, bob):
    data = base64.b64encode(PNG).decode()
    response = send(
        alice_client,
        recipient_id=bob.pk,
        body="x",
        attachment={"name": "a.html", "content_type": "text/html", "data": data},
    )
    assert response.json()["attachment"]["content_type"] == "image/png"


def test_filename_is_sanitised(alice_client, bob):
    data = base64.b64encode(b"hello").decode()
    response = send(
        alice_client,
        recipient_id=bob.pk,
        body="x",
        attachment={"name": '../../etc/pa"ss\r\nwd.txt', "content_type": "text/plain", "data": data},
    )
    assert response.status_code == 201
    assert response.json()["attachment"]["name"] == "wd.txt" or "/" not in response.json()["attachment"]["name"]
    name = response.json()["attachment"]["name"]
    assert "/" not in name and '"' not in name and "\r" not in name and "\n" not in name


@pytest.mark.parametrize(
    "payload",
    [
        {"recipient_id": "abc", "body": "x"},
        {"recipient_id": None, "body": "x"},
        {"body": "x"},
        {"recipient_id": [1], "body": "x"},
        {"recipient_id": 1, "body": {"nested": True}},
        {"recipient_id": 10**30, "body": "x"},
        {"recipient_id": 1, "body": "x", "reply_to_id": "first"},
    ],
)
def test_wrong_types_are_400(alice_client, payload):
    assert alice_client.post("/api/messages/send", payload, format="json").status_code == 400


def test_malformed_json_is_400(alice_client):
    response = alice_client.post("/api/messages/send", '{"recipient_id": 1,', content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_unsupported_media_type_is_415(alice_client):
    response = alice_client.post("/api/messages/send", "<xml/>", content_type="application/xml")
    assert response.status_code == 415


def test_sending_is_rate_limited_with_retry_after(alice_client, bob, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"send": "3/min"}}
    statuses = [send(alice_client, recipient_id=bob.pk, body=f"m{i}").status_code for i in range(4)]
    assert statuses == [201, 201, 201, 429]
    limited = send(alice_client, recipient_id=bob.pk, body="again")
    assert int(limited["Retry-After"]) > 0
    assert Message.objects.count() == 3


def test_anonymous_cannot_send(bob):
    from rest_framework.test import APIClient

    assert (
        APIClient().post("/api/messages/send", {"recipient_id": bob.pk, "body": "x"}, format="json").status_code == 401
    )


def test_send_query_count(alice_client, bob, django_assert_num_queries):
    """The token's user, then the send's one statement (the recipient with whether they block the sender, and
    the insert), which is its own transaction: no savepoint around it (67cd5e0 made 5: a savepoint and its
    release inside the test's; eec5292 made 3, the recipient read before the insert)."""
    with django_assert_num_queries(2) as captured:
        response = send(alice_client, recipient_id=bob.pk, body="counted")
    assert response.status_code == 201, [query["sql"] for query in captured.captured_queries]


def test_a_reply_query_count(alice_client, alice, bob, django_assert_num_queries):
    """A reply reads the recipient and the quoted message (of their conversation) before the send's statement."""
    quoted = MessageFactory(sender=bob, recipient=alice)
    with django_assert_num_queries(4) as captured:
        response = send(alice_client, recipient_id=bob.pk, body="counted", reply_to_id=quoted.pk)
    assert response.status_code == 201, [query["sql"] for query in captured.captured_queries]


def test_publishing_a_sends_events_reads_nothing(
    alice_client, bob, django_assert_num_queries, django_capture_on_commit_callbacks
):
    """The events after the commit (the message's id to both, the recipient's `unread_count`) read nothing:
    a stream reads the counts when it delivers them. Fails on 67cd5e0, where every send read the recipient's
    counts after its commit (6 queries; 3 before the send became one statement), whether or not they had a stream open."""
    with django_assert_num_queries(2), django_capture_on_commit_callbacks(execute=True) as published:
        assert send(alice_client, recipient_id=bob.pk, body="counted").status_code == 201
    assert len(published) == 1
