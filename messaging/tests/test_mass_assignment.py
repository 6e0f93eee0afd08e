"""Fields a client must never set (sender, read and delete times, moderation flags, times, carried ids, staff
flags) are ignored on every write endpoint of the API: the stored rows say so.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from messaging.models import Message, MessageReport
from messaging.tests.factories import MessageFactory
from tests.helpers import LONG_AGO, assert_server_decided, forged_message_fields

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("form", ["json", "multipart"])
def test_send_ignores_every_server_decided_field(alice_client, alice, bob, carol, form):
    payload = {"recipient_id": bob.pk, "body": "hello"} | forged_message_fields(
        impersonated=carol, moderator_id=carol.pk
    )
    response = alice_client.post("/api/messages/send", payload, format=form)

    assert response.status_code == 201, response.content
    message = Message.objects.get()
    assert_server_decided(message, sender=alice)
    assert message.recipient == bob
    assert response.json()["sender"]["id"] == alice.pk
    # And the message is really there, unread, for bob.
    assert Message.objects.unread_for(bob).count() == 1


def test_report_ignores_status_reporter_and_target_fields(alice, bob, bob_client, carol):
    message = MessageFactory(sender=alice, recipient=bob)
    other = MessageFactory(sender=alice, recipient=carol)
    response = bob_client.post(
        f"/api/messages/{message.pk}/report",
        {
            "reason": "spam",
            "status": "resolved",
            "reporter": carol.pk,
            "message": other.pk,
            "message_id": other.pk,
            "resolved_at": LONG_AGO,
            "resolved_by": carol.pk,
            "created_at": LONG_AGO,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    report = MessageReport.objects.get()
    assert (report.message, report.reporter, report.status) == (message, bob, MessageReport.Status.OPEN)
    assert report.resolved_at is None and report.resolved_by is None
    assert report.created_at > timezone.now() - timedelta(minutes=1)
    assert response.json()["status"] == "open"


def test_read_ignores_a_client_supplied_read_time_and_other_fields(alice, bob, bob_client, carol):
    message = MessageFactory(sender=alice, recipient=bob)
    response = bob_client.post(
        f"/api/messages/{message.pk}/read",
        {"read_at": LONG_AGO, "recipient_deleted_at": LONG_AGO, "hidden_at": LONG_AGO, "sender": carol.pk},
        format="json",
    )

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.read_at > timezone.now() - timedelta(minutes=1)
    assert message.recipient_deleted_at is None and message.hidden_at is None
    assert message.sender == alice


def test_mark_conversation_read_ignores_a_body(alice, bob, bob_client):
    message = MessageFactory(sender=alice, recipient=bob)
    response = bob_client.put(
        f"/api/messages/mark-conversation-read/{alice.pk}",
        {"read_at": LONG_AGO, "sender_id": bob.pk, "recipient_deleted_at": LONG_AGO},
        format="json",
    )

    assert response.json() == {"marked_read": 1}
    message.refresh_from_db()
    assert message.read_at > timezone.now() - timedelta(minutes=1)
    assert message.recipient_deleted_at is None


def test_delete_ignores_a_body_asking_to_delete_for_the_other_side(alice, bob, bob_client):
    message = MessageFactory(sender=alice, recipient=bob)
    response = bob_client.delete(
        f"/api/messages/{message.pk}", {"sender_deleted_at": LONG_AGO, "hidden_at": LONG_AGO}, format="json"
    )

    assert response.status_code == 204
    message.refresh_from_db()
    assert message.recipient_deleted_at is not None
    assert message.sender_deleted_at is None and message.hidden_at is None


def test_register_ignores_staff_superuser_active_and_id_fields(client):
    response = client.post(
        "/api/auth/register/",
        {
            "username": "mallory",
            "email": "mallory@example.com",
            "password": "a-long-unusual-pass-42",
            "is_staff": True,
            "is_superuser": True,
            "is_active": False,
            "id": 1,
            "date_joined": LONG_AGO,
            "last_login": LONG_AGO,
            "groups": [1],
            "user_permissions": [1],
            "legacy_id": 7,
        },
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    user = get_user_model().objects.get(username="mallory")
    assert not user.is_staff and not user.is_superuser and user.is_active
    assert user.last_login is None
    assert user.date_joined > timezone.now() - timedelta(minutes=1)
    assert not user.groups.exists() and not user.user_permissions.exists()
    assert set(response.json()) == {"id", "username", "display_name"}


def test_me_writes_only_the_callers_own_settings(alice, alice_client):
    """`PATCH /api/auth/me/` changes the display name and settings only; PUT and POST are not allowed."""
    for method in ("put", "post"):
        response = getattr(alice_client, method)("/api/auth/me/", {"is_staff": True, "username": "root"}, format="json")
        assert response.status_code == 405
    forged = {"is_staff": True, "is_superuser": True, "username": "root", "id": 1, "password": "x"}
    response = alice_client.patch("/api/auth/me/", forged, format="json")
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.username == "alice" and not alice.is_staff and not alice.is_superuser
    assert response.json()["username"] == "alice"
