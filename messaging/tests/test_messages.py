"""One message: detail, per-user delete, mark read, attachment download, report; 404 for everything unseen."""

import pytest
from django.utils import timezone

from messaging.models import Message, MessageReport
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from tests.openapi import SchemaCheckedClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(alice, bob):
    return MessageFactory(sender=alice, recipient=bob, body="Secret plan")


def test_both_parties_see_the_message(alice_client, bob_client, message):
    for client in (alice_client, bob_client):
        response = client.get(f"/api/messages/{message.pk}")
        assert response.status_code == 200
        assert response.json()["body"] == "Secret plan"


def test_a_third_user_gets_404_exactly_like_a_missing_message(carol_client, message):
    """Never 403: the caller cannot tell whether the message exists."""
    unseen = carol_client.get(f"/api/messages/{message.pk}")
    missing = carol_client.get("/api/messages/987654")
    assert unseen.status_code == missing.status_code == 404
    assert unseen.json() == missing.json()
    for method, suffix in [("delete", ""), ("post", "/read"), ("get", "/attachment"), ("post", "/report")]:
        response = getattr(carol_client, method)(f"/api/messages/{message.pk}{suffix}", {"reason": "x"}, format="json")
        assert response.status_code == 404, (method, suffix)
    assert Message.objects.get(pk=message.pk).sender_deleted_at is None
    assert not MessageReport.objects.exists()


def test_anonymous_gets_401(message):
    assert SchemaCheckedClient().get(f"/api/messages/{message.pk}").status_code == 401


def test_recipient_no_longer_sees_message_after_deleting_it_but_sender_does(alice_client, bob_client, alice, message):
    assert bob_client.delete(f"/api/messages/{message.pk}").status_code == 204
    assert bob_client.get(f"/api/messages/{message.pk}").status_code == 404
    assert bob_client.get(f"/api/messages/with/{alice.pk}").json()["results"] == []
    assert bob_client.get("/api/messages/conversations").json()["results"] == []
    assert bob_client.post("/api/messages/search", {"query": "Secret"}, format="json").json()["results"] == []
    assert alice_client.get(f"/api/messages/{message.pk}").status_code == 200
    assert bob_client.delete(f"/api/messages/{message.pk}").status_code == 404


def test_sender_deleting_hides_it_only_from_the_sender(alice_client, bob_client, message):
    assert alice_client.delete(f"/api/messages/{message.pk}/").status_code == 204
    assert alice_client.get(f"/api/messages/{message.pk}").status_code == 404
    assert bob_client.get(f"/api/messages/{message.pk}").status_code == 200
    stored = Message.objects.get(pk=message.pk)
    assert stored.sender_deleted_at is not None and stored.recipient_deleted_at is None


def test_hidden_message_is_visible_to_nobody(alice_client, bob_client, message):
    Message.objects.filter(pk=message.pk).update(hidden_at=timezone.now(), hidden_reason="spam")
    assert alice_client.get(f"/api/messages/{message.pk}").status_code == 404
    assert bob_client.get(f"/api/messages/{message.pk}").status_code == 404
    assert bob_client.get("/api/messages/unread-count").json() == {"unread_count": 0, "badge_count": 0}


def test_mark_read_by_recipient_is_idempotent(bob_client, message):
    first = bob_client.post(f"/api/messages/{message.pk}/read")
    assert first.status_code == 200
    assert first.json()["is_read"] is True and first.json()["read_at"].endswith("Z")
    second = bob_client.post(f"/api/messages/{message.pk}/read")
    assert second.status_code == 200
    assert second.json()["read_at"] == first.json()["read_at"]


def test_mark_read_by_sender_is_403(alice_client, message):
    assert alice_client.post(f"/api/messages/{message.pk}/read").status_code == 403
    assert Message.objects.get(pk=message.pk).read_at is None


def test_attachment_download_headers(alice, bob, bob_client):
    message = AttachmentMessageFactory(sender=alice, recipient=bob, attachment_name="plän 2026.pdf")
    response = bob_client.get(f"/api/messages/{message.pk}/attachment")
    assert response.status_code == 200
    assert response.content == b"%PDF-1.4 a tiny pdf"
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''pl%C3%A4n%202026.pdf" in response["Content-Disposition"]
    assert response["Content-Length"] == str(len(b"%PDF-1.4 a tiny pdf"))


def test_attachment_of_a_message_without_one_is_404(bob_client, message):
    assert bob_client.get(f"/api/messages/{message.pk}/attachment").status_code == 404


def test_detail_does_not_load_attachment_bytes_but_download_does(bob_client, alice, bob, django_assert_max_num_queries):
    message = AttachmentMessageFactory(sender=alice, recipient=bob)
    with django_assert_max_num_queries(2):
        response = bob_client.get(f"/api/messages/{message.pk}")
    assert response.json()["attachment"]["size"] == message.attachment_size


def test_report_once_per_user(bob_client, message):
    first = bob_client.post(f"/api/messages/{message.pk}/report", {"reason": "Spam"}, format="json")
    assert first.status_code == 201
    assert first.json() == {"id": first.json()["id"], "status": "open"}
    again = bob_client.post(f"/api/messages/{message.pk}/report", {"reason": "Really spam"}, format="json")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert MessageReport.objects.count() == 1


@pytest.mark.parametrize("reason", ["", "   ", "x" * 1001, None])
def test_report_reason_is_required_and_bounded(bob_client, message, reason):
    response = bob_client.post(f"/api/messages/{message.pk}/report", {"reason": reason}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()


def test_non_numeric_ids_are_404(alice_client):
    assert alice_client.get("/api/messages/abc").status_code == 404
    assert alice_client.get("/api/messages/99999999999999999999999").status_code == 404


def test_wrong_method_is_405(alice_client, message):
    assert alice_client.put(f"/api/messages/{message.pk}", {}, format="json").status_code == 405
    assert alice_client.get("/api/messages/send").status_code == 405


def test_session_authentication_works(alice, message):
    client = SchemaCheckedClient()
    client.force_login(alice)
    assert client.get(f"/api/messages/{message.pk}").status_code == 200


def test_a_carried_attachment_is_served_with_a_checked_name_and_type(alice, bob, bob_client):
    """Carried rows kept what old clients claimed; the download checks it as sending does."""
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    message = AttachmentMessageFactory(
        sender=alice,
        recipient=bob,
        legacy_id=77,
        attachment_name='../evil"\r\nSet-Cookie: x=1.html',
        attachment_content_type="text/html",
        attachment_data=png,
    )
    response = bob_client.get(f"/api/messages/{message.pk}/attachment")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    disposition = response["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "../" not in disposition
    assert "Set-Cookie" not in response.cookies
