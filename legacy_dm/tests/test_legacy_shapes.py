"""`direct_message_data`, `message_row_data`, `legacy_conversation_data` and `conversation_partner_data` render
what DRF renders from the declared old shapes."""

import itertools

import pytest
from django.utils import timezone
from rest_framework import serializers

from legacy_dm import conversations
from legacy_dm.serializers import (
    ConversationPartnerSerializer,
    DirectMessageSerializer,
    LegacyConversationSerializer,
    MessageRowSerializer,
    conversation_partner_data,
    direct_message_data,
    legacy_conversation_data,
    message_row_data,
)
from messaging import selectors
from messaging.models import Message
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory, random_times
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _declared(serializer_class, instance, **context):
    """DRF's own rendering: its loop over the declared fields (the serializer's `to_representation` skipped)."""
    return serializers.Serializer.to_representation(serializer_class(context=context), instance)


def test_a_message_renders_as_its_declarations_for_each_party():
    """Replies (new and carried), attachments (new, and a carried name without bytes), reads with and without
    read receipts, deletes by the other party, display names set or not."""
    alice = UserFactory(display_name="Alice A.")
    bob = UserFactory(display_name="", read_receipts=False)
    now = timezone.now()
    question = MessageFactory(sender=bob, recipient=alice)
    for (sender, recipient), reply, read_at, factory in itertools.product(
        ((alice, bob), (bob, alice)),
        ("none", "new", "carried"),
        (None, now),
        (MessageFactory, AttachmentMessageFactory),
    ):
        factory(
            sender=sender,
            recipient=recipient,
            reply_to=question if reply == "new" else None,
            legacy_reply_to_id=999_999 if reply == "carried" else None,
            read_at=read_at,
            updated_at=read_at,
        )
    MessageFactory(sender=alice, recipient=bob, legacy_id=7, legacy_file_name="old.txt", body="")
    MessageFactory(sender=bob, recipient=alice, recipient_deleted_at=now, updated_at=now)
    checked = 0
    for message in Message.objects.select_related("sender", "recipient"):
        for viewer in (alice, bob):
            assert direct_message_data(message, viewer=viewer) == _declared(
                DirectMessageSerializer, message, viewer=viewer
            )
            assert message_row_data(message, conversation_id=5, viewer=viewer) == _declared(
                MessageRowSerializer, message, viewer=viewer, conversation_id=5
            )
            checked += 1
    assert checked > 50


def test_a_conversation_renders_as_its_declarations():
    """With messages, and opened without any (no last message, no activity)."""
    alice, bob, carol = UserFactory(display_name="Alice A."), UserFactory(), UserFactory()
    MessageFactory(sender=bob, recipient=alice)
    conversations.open_conversation(user=alice, participant_id=carol.pk)
    views = conversations.conversation_list(user=alice, skip=0, limit=10)
    assert {view.last_message is None for view in views} == {True, False}
    for view in views:
        assert legacy_conversation_data(view, viewer=alice) == _declared(
            LegacyConversationSerializer, view, viewer=alice
        )


def test_a_conversation_of_the_direct_messages_list_renders_as_its_declarations():
    """Partners with and without a display name, a last message sent and one received, unread or not."""
    alice, bob, carol = UserFactory(display_name="Alice A."), UserFactory(display_name="Bob B."), UserFactory()
    MessageFactory(sender=bob, recipient=alice)
    AttachmentMessageFactory(sender=alice, recipient=carol, reply_to=MessageFactory(sender=carol, recipient=alice))
    for viewer in (alice, bob, carol):
        listed = selectors.conversations_page(user=viewer, offset=0, limit=10).conversations
        assert listed
        for conversation in listed:
            assert conversation_partner_data(conversation, viewer=viewer) == _declared(
                ConversationPartnerSerializer, conversation, viewer=viewer
            )


def test_old_time_is_the_naive_utc_time_in_isoformat():
    """What the old service wrote (`datetime.isoformat()` of the naive UTC time), from any zone."""
    from datetime import UTC, datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from legacy_dm.serializers import old_time

    assert old_time(None) is None
    times = [datetime(2026, 12, 6, 21, 5, 3, 120000), datetime(2026, 3, 29, 1, 0), datetime(1, 1, 2, 6)]
    times += random_times(500)
    for zone in (UTC, ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata"), timezone(timedelta(hours=-3))):
        for time in times:
            aware = time.replace(tzinfo=zone)
            assert old_time(aware) == aware.astimezone(UTC).replace(tzinfo=None).isoformat()
