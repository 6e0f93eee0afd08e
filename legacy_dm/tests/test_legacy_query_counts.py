"""Query counts of the legacy list endpoints stay flat with 30 partners and 200 messages (no N+1).

Every count includes the JWT user lookup and the usage counter's UPDATE (its row exists after the first call
of an endpoint, which alone also inserts it).
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from legacy_dm.models import LegacyConversation, LegacyEndpointUsage
from legacy_dm.views import endpoints
from messaging.models import Message
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PARTNERS = 30
MESSAGES = 200


@pytest.fixture(autouse=True)
def _endpoints_already_called(db):
    LegacyEndpointUsage.objects.bulk_create([LegacyEndpointUsage(endpoint=name, calls=1) for name, _ in endpoints()])


@pytest.fixture
def busy_alice(alice):
    """Alice with 30 partners and 200 messages, some with attachments and replies, some read."""
    partners = [UserFactory(display_name=f"Partner {i}" if i % 2 else "") for i in range(PARTNERS)]
    now = timezone.now()
    messages = []
    for i in range(MESSAGES):
        partner = partners[i % PARTNERS]
        sender, recipient = (alice, partner) if i % 3 else (partner, alice)
        message = Message(sender=sender, recipient=recipient, body=f"m{i}", created_at=now - timedelta(minutes=i))
        if i % 7 == 0:
            message.attachment_name, message.attachment_content_type = f"f{i}.txt", "text/plain"
            message.attachment_data, message.attachment_size = b"data", 4
        if i % 5 == 0:
            message.read_at = now
        messages.append(message)
    Message.objects.bulk_create(messages)
    # Replies, so that a list that followed reply_to would show it.
    for message in Message.objects.filter(pk__in=[m.pk for m in messages[::10]]):
        message.reply_to = Message.objects.filter(sender=message.sender, recipient=message.recipient).last()
        message.save(update_fields=["reply_to"])
    alice.partners = partners
    return alice


def test_dm_list(alice_client, busy_alice, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = alice_client.get("/api/direct-messages/?limit=100")
    assert len(response.json()) == 100


def test_dm_conversations(alice_client, busy_alice, django_assert_max_num_queries):
    # User, the page with its last messages, the usage counter.
    with django_assert_max_num_queries(3):
        response = alice_client.get("/api/direct-messages/conversations?limit=100")
    rows = response.json()
    assert len(rows) == PARTNERS
    assert sum(row["unread_count"] for row in rows) == Message.objects.unread_for(busy_alice).count()


def test_dm_thread(alice_client, busy_alice, django_assert_max_num_queries):
    partner = busy_alice.partners[0]
    with django_assert_max_num_queries(4):
        response = alice_client.get(f"/api/direct-messages/conversation/{partner.pk}?limit=100")
    assert len(response.json()) == Message.objects.between(busy_alice, partner).count()


def test_messaging_conversations_first_listing_gives_30_ids_in_constant_queries(
    alice_client, busy_alice, django_assert_max_num_queries
):
    # A few conversations opened without messages, with other people.
    for _ in range(3):
        alice_client.post("/api/messaging/conversations", {"participant_ids": [UserFactory().pk]}, format="json")
    # User, the page (with its conversations, openings and last messages), the missing ids (insert, read
    # back), the opened conversations' people, the usage counter.
    with django_assert_max_num_queries(6):
        response = alice_client.get("/api/messaging/conversations?limit=100")
    assert len(response.json()) == PARTNERS + 3
    assert LegacyConversation.objects.count() == PARTNERS + 3
    # User, the page, the opened conversations' people, the usage counter.
    with django_assert_max_num_queries(4):
        again = alice_client.get("/api/messaging/conversations?limit=100")
    assert [row["id"] for row in again.json()] == [row["id"] for row in response.json()]


def test_messaging_conversations_of_a_user_who_opened_none(alice_client, busy_alice, django_assert_num_queries):
    alice_client.get("/api/messaging/conversations?limit=100")  # gives the pairs their ids
    # User, the page with its conversations and last messages (no openings), the usage counter.
    with django_assert_num_queries(3):
        response = alice_client.get("/api/messaging/conversations?limit=100")
    rows = response.json()
    assert len(rows) == PARTNERS
    assert len({row["id"] for row in rows}) == PARTNERS
    assert sum(row["unread_count"] for row in rows) == Message.objects.unread_for(busy_alice).count()


def test_messaging_conversation_messages(alice_client, busy_alice, django_assert_max_num_queries):
    partner = busy_alice.partners[0]
    conversation_id = alice_client.post(
        "/api/messaging/conversations", {"participant_ids": [partner.pk]}, format="json"
    ).json()["id"]
    with django_assert_max_num_queries(4):
        response = alice_client.get(f"/api/messaging/conversations/{conversation_id}/messages?limit=100")
    assert len(response.json()) == Message.objects.between(busy_alice, partner).count()


def test_messaging_conversation_read_looks_the_partner_up_once(alice_client, busy_alice, django_assert_num_queries):
    """The conversation names the partner; the service does not look them up again (it did: 5 queries)."""
    partner = busy_alice.partners[1]  # partner 1 writes to alice: every third message of theirs
    conversation_id = alice_client.post(
        "/api/messaging/conversations", {"participant_ids": [partner.pk]}, format="json"
    ).json()["id"]
    # The token's user, the conversation with both people, the UPDATE, the usage counter.
    with django_assert_num_queries(4):
        response = alice_client.put(f"/api/messaging/conversations/{conversation_id}/read")
    assert response.status_code == 200 and response.json()["status"] == "ok"
    assert not Message.objects.unread_for(busy_alice).filter(sender=partner).exists()
