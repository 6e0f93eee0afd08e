"""A message carried over by the data migration is served exactly as the old service served it.

The rows are made as the migration makes them (see docs/spec/data-migration.md): same id, recorded as
`legacy_id`, naive UTC times read as UTC, `read_at` filled for read rows, messy rows kept.
"""

import base64
from datetime import UTC, datetime

import pytest

from legacy_dm.models import LegacyConversation
from messaging.models import Message
from users.tests.factories import UserFactory, client_for

from .conftest import assert_dm_shape, assert_row_shape

pytestmark = pytest.mark.django_db

CREATED = datetime(2026, 11, 20, 9, 14, 3, 120000, tzinfo=UTC)
READ = datetime(2026, 11, 20, 10, 0, 0, 500, tzinfo=UTC)


@pytest.fixture
def old_alice(db):
    return UserFactory(id=7, username="old_alice", display_name="Alice Liddell")


@pytest.fixture
def old_bob(db):
    return UserFactory(id=9, username="old_bob")


def carried(**fields) -> Message:
    return Message.objects.create(**{"created_at": CREATED, **fields, "legacy_id": fields["id"]})


def test_carried_dm_with_file_and_read_state_in_the_old_shape(old_alice, old_bob):
    pdf = b"%PDF-1.4 the plan"
    carried(id=1040, sender=old_bob, recipient=old_alice, body="Can you send the plan?")
    carried(
        id=1042,
        sender=old_alice,
        recipient=old_bob,
        body="See the attached plan.",
        reply_to_id=1040,
        attachment_name="plan.pdf",
        attachment_content_type="application/pdf",
        attachment_data=pdf,
        attachment_size=len(pdf),
        read_at=READ,
        updated_at=READ,
    )
    response = client_for(old_bob).get("/api/direct-messages/1042")
    assert response.status_code == 200
    data = response.json()
    assert_dm_shape(data)
    assert data == {
        "id": 1042,
        "sender_id": 7,
        "receiver_id": 9,
        "content": "See the attached plan.",
        "reply_to_id": 1040,
        "is_read": True,
        "read_at": "2026-11-20T10:00:00.000500",
        "file_name": "plan.pdf",
        "file_type": "application/pdf",
        "has_attachment": True,
        "created_at": "2026-11-20T09:14:03.120000",
        "updated_at": "2026-11-20T10:00:00.000500",
        "sender": {"id": 7, "username": "old_alice", "full_name": "Alice Liddell"},
        "receiver": {"id": 9, "username": "old_bob", "full_name": None},
    }
    download = client_for(old_bob).get("/api/direct-messages/1042/attachment")
    assert download.status_code == 200 and download.content == pdf


def test_carried_messy_rows_keep_what_the_old_service_showed(old_alice, old_bob):
    # reply_to_id of a row that no longer exists, NULL content, file_name without file_data.
    carried(
        id=2001,
        sender=old_alice,
        recipient=old_bob,
        body="",
        legacy_reply_to_id=1999,
        legacy_file_name="lost.txt",
    )
    data = client_for(old_alice).get("/api/direct-messages/2001").json()
    assert_dm_shape(data)
    assert data["reply_to_id"] == 1999
    assert data["content"] == ""
    assert data["file_name"] == "lost.txt" and data["has_attachment"] is False and data["file_type"] is None
    assert client_for(old_alice).get("/api/direct-messages/2001/attachment").status_code == 404


def test_carried_message_to_oneself_is_served_once(old_alice):
    carried(id=3001, sender=old_alice, recipient=old_alice, body="note to self")
    client = client_for(old_alice)
    assert [dm["id"] for dm in client.get("/api/direct-messages/").json()] == [3001]
    assert [dm["id"] for dm in client.get("/api/direct-messages/conversation/7").json()] == [3001]
    rows = client.get("/api/direct-messages/conversations").json()
    assert [(row["user"]["id"], row["last_message"]["id"]) for row in rows] == [(7, 3001)]


def test_carried_deleted_state_is_respected(old_alice, old_bob):
    carried(id=4001, sender=old_alice, recipient=old_bob, body="gone for alice", sender_deleted_at=CREATED)
    assert client_for(old_alice).get("/api/direct-messages/4001").status_code == 404
    assert client_for(old_bob).get("/api/direct-messages/4001").json()["content"] == "gone for alice"


def test_old_conversation_id_still_names_its_pair(old_alice, old_bob):
    LegacyConversation.objects.create(id=55, user_low=old_alice, user_high=old_bob, created_at=CREATED)
    carried(id=5001, sender=old_bob, recipient=old_alice, body="in conversation 55")
    client = client_for(old_alice)
    data = client.get("/api/messaging/conversations/55").json()
    assert data["id"] == 55 and data["created_at"] == "2026-11-20T09:14:03.120000"
    assert data["last_message"]["id"] == 5001
    rows = client.get("/api/messaging/conversations/55/messages").json()
    assert [row["id"] for row in rows] == [5001]
    assert_row_shape(rows[0])
    assert rows[0]["conversation_id"] == 55
    assert [row["id"] for row in client.get("/api/messaging/conversations").json()] == [55]


def test_new_files_sent_through_the_legacy_api_are_served_like_carried_ones(old_alice, old_bob):
    payload = {"receiver_id": 9, "content": "new", "file_data": base64.b64encode(b"%PDF-1.4 x").decode()}
    sent = client_for(old_alice).post("/api/direct-messages/", payload, format="json").json()
    served = client_for(old_bob).get(f"/api/direct-messages/{sent['id']}").json()
    assert served == sent
