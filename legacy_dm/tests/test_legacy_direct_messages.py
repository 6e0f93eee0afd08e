"""`/api/direct-messages/*`: the original endpoints, in the old shapes, on the messaging core."""

import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Message, UserBlock
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from users.tests.factories import UserFactory

from .conftest import assert_422, assert_deprecated, assert_dm_shape, assert_old_user

pytestmark = pytest.mark.django_db


def at(minutes_ago: int):
    return timezone.now() - timedelta(minutes=minutes_ago)


# --- POST /api/direct-messages/ -------------------------------------------------------------------------------


def test_send_answers_201_with_the_dm_in_the_old_shape(alice_client, alice, bob):
    response = alice_client.post("/api/direct-messages/", {"receiver_id": bob.pk, "content": "Hi Bob"}, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert_dm_shape(data)
    assert data["sender_id"] == alice.pk and data["receiver_id"] == bob.pk
    assert data["content"] == "Hi Bob"
    assert data["is_read"] is False and data["read_at"] is None and data["updated_at"] is None
    assert data["has_attachment"] is False and data["file_name"] is None and data["file_type"] is None
    assert data["reply_to_id"] is None
    assert_old_user(data["sender"], alice)
    assert_old_user(data["receiver"], bob)
    assert data["sender"]["full_name"] == "Alice Liddell" and data["receiver"]["full_name"] is None
    message = Message.objects.get(pk=data["id"])
    assert (message.sender, message.recipient, message.body) == (alice, bob, "Hi Bob")
    assert_deprecated(response, "/api/messages/send")


def test_send_without_trailing_slash_works_too(alice_client, bob):
    response = alice_client.post("/api/direct-messages", {"receiver_id": bob.pk, "content": "x"}, format="json")
    assert response.status_code == 201


def test_send_with_base64_file(alice_client, alice, bob):
    pdf = b"%PDF-1.4 the plan"
    payload = {
        "receiver_id": bob.pk,
        "content": "See the attached plan.",
        "file_data": base64.b64encode(pdf).decode(),
        "file_name": "plan.pdf",
        "file_type": "application/pdf",
    }
    data = alice_client.post("/api/direct-messages/", payload, format="json").json()
    assert_dm_shape(data)
    assert data["has_attachment"] is True
    assert (data["file_name"], data["file_type"]) == ("plan.pdf", "application/pdf")
    message = Message.objects.get(pk=data["id"])
    assert bytes(message.attachment_data) == pdf and message.attachment_size == len(pdf)
    download = alice_client.get(f"/api/direct-messages/{data['id']}/attachment")
    assert download.status_code == 200
    assert download.content == pdf
    assert download["Content-Type"] == "application/pdf"
    assert "attachment" in download["Content-Disposition"]
    assert_deprecated(download, f"/api/messages/{data['id']}/attachment")


def test_send_only_a_file_with_null_content_and_no_name(alice_client, bob):
    payload = {"receiver_id": bob.pk, "content": None, "file_data": base64.b64encode(b"hello").decode()}
    response = alice_client.post("/api/direct-messages/", payload, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["content"] == "" and data["has_attachment"] is True
    assert data["file_name"] == "attachment"


def test_send_with_reply_to(alice_client, alice, bob):
    original = MessageFactory(sender=bob, recipient=alice)
    payload = {"receiver_id": bob.pk, "content": "answer", "reply_to_id": original.pk}
    data = alice_client.post("/api/direct-messages/", payload, format="json").json()
    assert data["reply_to_id"] == original.pk


def test_file_name_without_file_data_is_ignored(alice_client, bob):
    payload = {"receiver_id": bob.pk, "content": "no file really", "file_name": "ghost.txt", "file_type": "text/plain"}
    data = alice_client.post("/api/direct-messages/", payload, format="json").json()
    assert data["has_attachment"] is False and data["file_name"] is None


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"content": "no receiver"}, ["body", "receiver_id"]),
        ({"receiver_id": "bob", "content": "x"}, ["body", "receiver_id"]),
        ({"receiver_id": None, "content": "x"}, ["body", "receiver_id"]),
        ({"receiver_id": 999999, "content": "x"}, ["body", "receiver_id"]),
        ({"receiver_id": "BOB", "content": ""}, ["body", "content"]),
        ({"receiver_id": "BOB", "content": "   "}, ["body", "content"]),
        ({"receiver_id": "BOB", "content": "x" * 10_001}, ["body", "content"]),
        ({"receiver_id": "BOB", "content": "x", "file_data": "not base64!"}, ["body", "file_data"]),
        ({"receiver_id": "BOB", "content": "x", "reply_to_id": 999999}, ["body", "reply_to_id"]),
        ({"receiver_id": "BOB", "content": "x", "reply_to_id": "abc"}, ["body", "reply_to_id"]),
    ],
)
def test_send_bad_input_is_a_422_in_the_fastapi_shape(alice_client, bob, payload, loc):
    payload = {key: (bob.pk if value == "BOB" else value) for key, value in payload.items()}
    assert_422(alice_client.post("/api/direct-messages/", payload, format="json"), loc)
    assert not Message.objects.exists()


def test_missing_receiver_has_pydantics_words(alice_client):
    detail = assert_422(
        alice_client.post("/api/direct-messages/", {"content": "x"}, format="json"), ["body", "receiver_id"]
    )
    assert detail == [{"loc": ["body", "receiver_id"], "msg": "field required", "type": "value_error.missing"}]


def test_messaging_yourself_is_a_422(alice_client, alice):
    response = alice_client.post("/api/direct-messages/", {"receiver_id": alice.pk, "content": "me"}, format="json")
    assert_422(response, ["body", "receiver_id"])
    assert not Message.objects.exists()


def test_messaging_an_inactive_user_is_a_422(alice_client):
    gone = UserFactory(is_active=False)
    response = alice_client.post("/api/direct-messages/", {"receiver_id": gone.pk, "content": "hi"}, format="json")
    assert_422(response, ["body", "receiver_id"])


def test_invalid_base64_is_a_422_on_file_data(alice_client, bob):
    payload = {"receiver_id": bob.pk, "content": "x", "file_data": "%%%not-base64%%%"}
    detail = assert_422(alice_client.post("/api/direct-messages/", payload, format="json"), ["body", "file_data"])
    assert "base64" in detail[0]["msg"]
    assert not Message.objects.exists()


def test_body_that_is_not_an_object_is_a_422(alice_client):
    response = alice_client.post("/api/direct-messages/", [1, 2], format="json")
    assert_422(response, ["body"])


def test_malformed_json_is_a_422(alice_client):
    response = alice_client.post("/api/direct-messages/", "{not json", content_type="application/json")
    detail = assert_422(response, ["body"])
    assert detail[0]["type"] == "value_error.jsondecode"


def test_attachment_over_the_limit_is_a_413_detail(alice_client, bob, settings):
    settings.MESSAGING_MAX_ATTACHMENT_BYTES = 10
    payload = {"receiver_id": bob.pk, "content": "x", "file_data": base64.b64encode(b"x" * 100).decode()}
    response = alice_client.post("/api/direct-messages/", payload, format="json")
    assert response.status_code == 413
    assert set(response.json()) == {"detail"} and isinstance(response.json()["detail"], str)
    assert_deprecated(response)


def test_sending_is_throttled_with_a_429_detail(alice_client, bob, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "send": "2/min",
    }
    statuses = [
        alice_client.post("/api/direct-messages/", {"receiver_id": bob.pk, "content": str(i)}, format="json")
        for i in range(3)
    ]
    assert [r.status_code for r in statuses] == [201, 201, 429]
    assert set(statuses[2].json()) == {"detail"}
    assert int(statuses[2]["Retry-After"]) > 0
    assert_deprecated(statuses[2])


# --- GET /api/direct-messages/ --------------------------------------------------------------------------------


def test_list_is_the_callers_messages_sent_and_received_newest_first(alice_client, alice, bob, carol):
    first = MessageFactory(sender=alice, recipient=bob, created_at=at(30))
    second = MessageFactory(sender=carol, recipient=alice, created_at=at(20))
    MessageFactory(sender=bob, recipient=carol, created_at=at(10))  # not alice's
    MessageFactory(sender=bob, recipient=alice, created_at=at(5), recipient_deleted_at=at(1))  # deleted by alice
    response = alice_client.get("/api/direct-messages/")
    assert response.status_code == 200
    data = response.json()
    assert isinstance(data, list)
    assert [dm["id"] for dm in data] == [second.pk, first.pk]
    for dm in data:
        assert_dm_shape(dm)
    assert_deprecated(response, "/api/messages/conversations")


def test_list_skip_limit_paging(alice_client, alice, bob):
    messages = [MessageFactory(sender=bob, recipient=alice, created_at=at(60 - i)) for i in range(60)]
    newest_first = [m.pk for m in reversed(messages)]
    assert [dm["id"] for dm in alice_client.get("/api/direct-messages/").json()] == newest_first[:50]
    page = alice_client.get("/api/direct-messages/?skip=10&limit=5").json()
    assert [dm["id"] for dm in page] == newest_first[10:15]
    assert len(alice_client.get("/api/direct-messages/?limit=100").json()) == 60
    assert alice_client.get("/api/direct-messages/?skip=60").json() == []


@pytest.mark.parametrize(
    ("query", "locs"),
    [
        ("limit=0", [["query", "limit"]]),
        ("limit=101", [["query", "limit"]]),
        ("limit=-3", [["query", "limit"]]),
        ("limit=ten", [["query", "limit"]]),
        ("skip=-1", [["query", "skip"]]),
        ("skip=x", [["query", "skip"]]),
        ("skip=-1&limit=1000", [["query", "skip"], ["query", "limit"]]),
    ],
)
@pytest.mark.parametrize(
    "path", ["/api/direct-messages/", "/api/direct-messages/conversations", "/api/direct-messages/conversation/BOB"]
)
def test_bad_paging_is_a_422_on_the_query(alice_client, bob, path, query, locs):
    response = alice_client.get(f"{path.replace('BOB', str(bob.pk))}?{query}")
    assert_422(response, *locs)


def test_limit_over_100_has_pydantics_words(alice_client):
    detail = assert_422(alice_client.get("/api/direct-messages/?limit=101"), ["query", "limit"])
    assert detail == [
        {
            "loc": ["query", "limit"],
            "msg": "ensure this value is less than or equal to 100",
            "type": "value_error.number.not_le",
        }
    ]


# --- GET /api/direct-messages/conversations -------------------------------------------------------------------


def test_conversations_newest_first_with_last_dm_and_unread(alice_client, alice, bob, carol):
    MessageFactory(sender=bob, recipient=alice, body="from bob", created_at=at(30))
    MessageFactory(sender=alice, recipient=bob, body="to bob", created_at=at(20))
    MessageFactory(sender=carol, recipient=alice, body="carol 1", created_at=at(10))
    MessageFactory(sender=carol, recipient=alice, body="carol 2", created_at=at(5))
    response = alice_client.get("/api/direct-messages/conversations")
    assert response.status_code == 200
    rows = response.json()
    assert [set(row) for row in rows] == [{"user", "last_message", "unread_count"}] * 2
    assert_old_user(rows[0]["user"], carol)
    assert_old_user(rows[1]["user"], bob)
    assert [row["last_message"]["content"] for row in rows] == ["carol 2", "to bob"]
    assert [row["unread_count"] for row in rows] == [2, 1]
    for row in rows:
        assert_dm_shape(row["last_message"])
        assert type(row["unread_count"]) is int
    assert_deprecated(response, "/api/messages/conversations")


def test_conversations_paging(alice_client, alice):
    partners = [UserFactory() for _ in range(5)]
    for i, partner in enumerate(partners):
        MessageFactory(sender=partner, recipient=alice, created_at=at(10 - i))
    rows = alice_client.get("/api/direct-messages/conversations?skip=1&limit=2").json()
    assert [row["user"]["id"] for row in rows] == [partners[3].pk, partners[2].pk]


# --- GET /api/direct-messages/conversation/{user_id} ----------------------------------------------------------


def test_thread_is_oldest_first_with_skip_limit(alice_client, alice, bob, carol):
    thread = [
        MessageFactory(sender=alice if i % 2 else bob, recipient=bob if i % 2 else alice, created_at=at(100 - i))
        for i in range(8)
    ]
    MessageFactory(sender=carol, recipient=alice)
    response = alice_client.get(f"/api/direct-messages/conversation/{bob.pk}")
    assert response.status_code == 200
    assert [dm["id"] for dm in response.json()] == [m.pk for m in thread]
    for dm in response.json():
        assert_dm_shape(dm)
    page = alice_client.get(f"/api/direct-messages/conversation/{bob.pk}?skip=2&limit=3").json()
    assert [dm["id"] for dm in page] == [m.pk for m in thread[2:5]]
    assert_deprecated(response, f"/api/messages/with/{bob.pk}")


def test_thread_with_unknown_user_is_404(alice_client):
    response = alice_client.get("/api/direct-messages/conversation/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}
    assert_deprecated(response)


def test_thread_with_non_integer_user_is_422(alice_client):
    assert_422(alice_client.get("/api/direct-messages/conversation/bob"), ["path", "user_id"])


# --- unread count, read ---------------------------------------------------------------------------------------


def test_unread_count(alice_client, alice, bob, carol):
    MessageFactory(sender=bob, recipient=alice)
    MessageFactory(sender=carol, recipient=alice)
    MessageFactory(sender=carol, recipient=alice, read_at=at(1))
    MessageFactory(sender=carol, recipient=alice, recipient_deleted_at=at(1))  # deleted never counts as unread
    MessageFactory(sender=alice, recipient=bob)
    response = alice_client.get("/api/direct-messages/unread-count")
    assert response.status_code == 200
    assert response.json() == {"unread_count": 2}
    assert_deprecated(response, "/api/messages/unread-count")


def test_put_read_marks_one_message_and_answers_the_dm(alice_client, alice, bob):
    message = MessageFactory(sender=bob, recipient=alice)
    response = alice_client.put(f"/api/direct-messages/{message.pk}/read")
    assert response.status_code == 200
    data = response.json()
    assert_dm_shape(data)
    assert data["is_read"] is True and data["read_at"] is not None and data["updated_at"] is not None
    message.refresh_from_db()
    assert message.read_at is not None
    assert alice_client.get("/api/direct-messages/unread-count").json() == {"unread_count": 0}
    assert_deprecated(response, f"/api/messages/{message.pk}/read")


def test_put_read_of_someone_elses_message_is_404(carol_client, alice, bob):
    message = MessageFactory(sender=bob, recipient=alice)
    response = carol_client.put(f"/api/direct-messages/{message.pk}/read")
    assert response.status_code == 404
    assert response.json() == {"detail": "Message not found"}


def test_put_read_by_the_sender_is_refused(bob_client, alice, bob):
    message = MessageFactory(sender=bob, recipient=alice)
    response = bob_client.put(f"/api/direct-messages/{message.pk}/read")
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}
    message.refresh_from_db()
    assert message.read_at is None


def test_put_conversation_read_marks_everything_from_that_user(alice_client, alice, bob, carol):
    MessageFactory.create_batch(3, sender=bob, recipient=alice)
    MessageFactory(sender=carol, recipient=alice)
    response = alice_client.put(f"/api/direct-messages/conversation/{bob.pk}/read")
    assert response.status_code == 200
    assert response.json() == {"marked_read": 3}
    assert alice_client.put(f"/api/direct-messages/conversation/{bob.pk}/read").json() == {"marked_read": 0}
    assert alice_client.get("/api/direct-messages/unread-count").json() == {"unread_count": 1}
    assert_deprecated(response, f"/api/messages/mark-conversation-read/{bob.pk}")


def test_put_conversation_read_for_unknown_user_is_404(alice_client):
    response = alice_client.put("/api/direct-messages/conversation/999999/read")
    assert response.status_code == 404 and response.json() == {"detail": "User not found"}


# --- GET / DELETE /api/direct-messages/{id} -------------------------------------------------------------------


def test_get_one_dm(bob_client, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob, body="hello")
    response = bob_client.get(f"/api/direct-messages/{message.pk}")
    assert response.status_code == 200
    data = response.json()
    assert_dm_shape(data)
    assert (data["id"], data["content"]) == (message.pk, "hello")
    assert_deprecated(response, f"/api/messages/{message.pk}")


@pytest.mark.parametrize("method", ["get", "delete"])
def test_someone_elses_dm_is_404(carol_client, alice, bob, method):
    message = MessageFactory(sender=alice, recipient=bob)
    response = getattr(carol_client, method)(f"/api/direct-messages/{message.pk}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Message not found"}
    assert_deprecated(response)
    message.refresh_from_db()
    assert message.sender_deleted_at is None and message.recipient_deleted_at is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/direct-messages/abc"),
        ("delete", "/api/direct-messages/abc"),
        ("put", "/api/direct-messages/1.5/read"),
        ("get", "/api/direct-messages/abc/attachment"),
    ],
)
def test_non_integer_message_id_is_a_422_on_the_path(alice_client, method, path):
    detail = assert_422(getattr(alice_client, method)(path), ["path", "message_id"])
    assert detail[0] == {
        "loc": ["path", "message_id"],
        "msg": "value is not a valid integer",
        "type": "type_error.integer",
    }


def test_huge_message_id_is_404(alice_client):
    response = alice_client.get(f"/api/direct-messages/{10**30}")
    assert response.status_code == 404


def test_delete_is_per_user(alice_client, bob_client, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob)
    response = alice_client.delete(f"/api/direct-messages/{message.pk}")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert_deprecated(response, f"/api/messages/{message.pk}")
    assert alice_client.get(f"/api/direct-messages/{message.pk}").status_code == 404
    assert alice_client.get("/api/direct-messages/").json() == []
    still = bob_client.get(f"/api/direct-messages/{message.pk}")
    assert still.status_code == 200
    # Alice's delete is hers alone: Bob's copy does not say when (`Message.updated_at_for`).
    assert still.json()["updated_at"] is None
    assert alice_client.delete(f"/api/direct-messages/{message.pk}").status_code == 404


def test_attachment_of_a_message_without_one_is_404(alice_client, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob)
    response = alice_client.get(f"/api/direct-messages/{message.pk}/attachment")
    assert response.status_code == 404
    assert response.json() == {"detail": "Attachment not found"}


def test_attachment_of_someone_elses_message_is_404(carol_client, alice, bob):
    message = AttachmentMessageFactory(sender=alice, recipient=bob)
    response = carol_client.get(f"/api/direct-messages/{message.pk}/attachment")
    assert response.status_code == 404
    assert response.json() == {"detail": "Message not found"}


# --- one row, two APIs ----------------------------------------------------------------------------------------


def test_a_dm_sent_through_the_legacy_api_is_the_row_the_new_api_shows(alice_client, bob_client, bob):
    sent = alice_client.post("/api/direct-messages/", {"receiver_id": bob.pk, "content": "via old"}, format="json")
    new = bob_client.get(f"/api/messages/{sent.json()['id']}").json()
    assert new["id"] == sent.json()["id"] and new["body"] == "via old"
    assert Message.objects.count() == 1
    thread = bob_client.get(f"/api/messages/with/{sent.json()['sender_id']}").json()["results"]
    assert [m["id"] for m in thread] == [sent.json()["id"]]


def test_a_message_sent_through_the_new_api_is_served_by_the_legacy_api(alice_client, bob_client, alice, bob):
    sent = alice_client.post("/api/messages/send", {"recipient_id": bob.pk, "body": "via new"}, format="json").json()
    old = bob_client.get(f"/api/direct-messages/{sent['id']}").json()
    assert (old["id"], old["content"], old["sender_id"], old["receiver_id"]) == (
        sent["id"],
        "via new",
        alice.pk,
        bob.pk,
    )
    assert bob_client.get("/api/direct-messages/unread-count").json() == {"unread_count": 1}
    bob_client.put(f"/api/direct-messages/{sent['id']}/read")
    assert bob_client.get(f"/api/messages/{sent['id']}").json()["is_read"] is True


def test_messaging_someone_who_blocked_you_is_refused_with_a_detail(alice_client, alice, bob):
    UserBlock.objects.create(blocker=bob, blocked=alice)
    response = alice_client.post("/api/direct-messages/", {"receiver_id": bob.pk, "content": "hi"}, format="json")
    assert response.status_code == 403
    assert set(response.json()) == {"detail"} and isinstance(response.json()["detail"], str)
    assert not Message.objects.exists()
    assert_deprecated(response)


@pytest.mark.parametrize("content_type", ["application/json", ""])
def test_deeply_nested_json_is_a_422_not_a_500(alice_client, content_type):
    raw = b"[" * 100_000 + b"]" * 100_000
    for path in ("/api/direct-messages/", "/api/messaging/conversations"):
        response = alice_client.generic("POST", path, raw, content_type=content_type)
        assert_422(response, ["body"])
