"""The visibility rule gives the same answer as a query, on a loaded message and for unread counts."""

import itertools

import pytest
from django.utils import timezone

from messaging.models import Message
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_loaded_message_is_visible_to_exactly_the_users_the_query_shows_it_to():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    now = timezone.now()
    for sender_deleted, recipient_deleted, hidden in itertools.product((None, now), repeat=3):
        MessageFactory(
            sender=alice,
            recipient=bob,
            sender_deleted_at=sender_deleted,
            recipient_deleted_at=recipient_deleted,
            hidden_at=hidden,
            hidden_reason="spam" if hidden else "",
        )
    for user in (alice, bob, carol):
        shown = set(Message.objects.visible_to(user).values_list("pk", flat=True))
        assert {m.pk for m in Message.objects.all() if m.is_visible_to(user)} == shown


def test_unread_messages_are_the_visible_received_ones_not_read():
    alice, bob = UserFactory(), UserFactory()
    unread = MessageFactory(sender=alice, recipient=bob)
    MessageFactory(sender=alice, recipient=bob, read_at=timezone.now())
    MessageFactory(sender=alice, recipient=bob, recipient_deleted_at=timezone.now())
    MessageFactory(sender=alice, recipient=bob, hidden_at=timezone.now(), hidden_reason="spam")
    MessageFactory(sender=bob, recipient=alice)
    assert list(Message.objects.unread_for(bob)) == [unread]
