"""The visibility rule gives the same answer as a query, on a loaded message and for unread counts."""

import itertools

import pytest
from django.utils import timezone

from messaging.models import Message
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_loaded_message_is_visible_to_exactly_the_users_the_query_shows_it_to():
    """`Message.is_visible_to` (Python) and `MessageQuerySet.visible_to` (SQL) agree on every combination of
    deletes and hiding, for both parties, a stranger, and a carried message to oneself."""
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    now = timezone.now()
    legacy_ids = itertools.count(1)
    for (sender, recipient), sender_deleted, recipient_deleted, hidden in itertools.product(
        ((alice, bob), (alice, alice)), (None, now), (None, now), (None, now)
    ):
        MessageFactory(
            sender=sender,
            recipient=recipient,
            sender_deleted_at=sender_deleted,
            recipient_deleted_at=recipient_deleted,
            hidden_at=hidden,
            hidden_reason="spam" if hidden else "",
            # The old system let people message themselves; only carried rows may.
            legacy_id=next(legacy_ids) if sender == recipient else None,
        )
    for user in (alice, bob, carol):
        shown = set(Message.objects.visible_to(user).values_list("pk", flat=True))
        assert {m.pk for m in Message.objects.all() if m.is_visible_to(user)} == shown
        assert {m.pk for m in Message.objects.all() if m.is_visible_to(user.pk)} == shown


def test_unread_messages_are_the_visible_received_ones_not_read():
    alice, bob = UserFactory(), UserFactory()
    unread = MessageFactory(sender=alice, recipient=bob)
    MessageFactory(sender=alice, recipient=bob, read_at=timezone.now())
    MessageFactory(sender=alice, recipient=bob, recipient_deleted_at=timezone.now())
    MessageFactory(sender=alice, recipient=bob, hidden_at=timezone.now(), hidden_reason="spam")
    MessageFactory(sender=bob, recipient=alice)
    assert list(Message.objects.unread_for(bob)) == [unread]
    for user in (alice, bob):  # the rule for one loaded message (`Message.is_unread_for`) agrees
        assert [m for m in Message.objects.order_by("pk") if m.is_unread_for(user)] == list(
            Message.objects.unread_for(user)
        )
