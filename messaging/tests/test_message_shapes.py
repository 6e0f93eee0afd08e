"""`message_data` and `conversation_data` render what DRF renders from the declared serializers."""

import itertools

import pytest
from django.utils import timezone
from rest_framework import serializers

from messaging import selectors
from messaging.models import Message
from messaging.serializers import ConversationSerializer, MessageSerializer, conversation_data, message_data
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory, random_times
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _declared(serializer_class, instance, viewer):
    """DRF's own rendering: its loop over the declared fields (the serializer's `to_representation` skipped)."""
    return serializers.Serializer.to_representation(serializer_class(context={"viewer": viewer}), instance)


def test_a_message_renders_as_its_declarations_for_every_viewer():
    """Replies (visible, deleted by a viewer, hidden), attachments, reads with and without read receipts, edits, a
    display name and none, for the sender, the recipient, a stranger and no viewer (the admin)."""
    alice = UserFactory(display_name="Alice A.")
    bob, carol = UserFactory(display_name="", read_receipts=False), UserFactory()
    now = timezone.now()
    question = MessageFactory(sender=bob, recipient=alice, read_at=now)
    deleted = MessageFactory(sender=alice, recipient=bob, sender_deleted_at=now)
    hidden = MessageFactory(sender=alice, recipient=bob, hidden_at=now, hidden_reason="spam")
    for (sender, recipient), reply_to, read_at, factory, edited_at in itertools.product(
        ((alice, bob), (bob, alice)),
        (None, question, deleted, hidden),
        (None, now),
        (MessageFactory, AttachmentMessageFactory),
        (None, now),
    ):
        factory(
            sender=sender,
            recipient=recipient,
            reply_to=reply_to,
            read_at=read_at,
            updated_at=edited_at or read_at,
            edited_at=edited_at,
        )
    checked = 0
    for message in Message.objects.select_related("sender", "recipient", "reply_to"):
        for viewer in (alice, bob, carol, None):
            assert message_data(message, viewer=viewer) == _declared(MessageSerializer, message, viewer)
            checked += 1
    assert checked > 100


def test_a_conversation_renders_as_its_declarations():
    alice, bob = UserFactory(display_name="Alice A."), UserFactory()
    MessageFactory(sender=bob, recipient=alice)
    AttachmentMessageFactory(sender=alice, recipient=bob, read_at=timezone.now())
    for user in (alice, bob):
        conversations = selectors.attach_last_messages(user=user, rows=selectors.conversation_rows(user=user))
        assert conversations
        for conversation in conversations:
            assert conversation_data(conversation, viewer=user) == _declared(ConversationSerializer, conversation, user)


def test_api_time_writes_what_drfs_field_writes_in_utc():
    """With and without microseconds, from UTC and from other zones, at the ends of the calendar."""
    from datetime import UTC, datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from messaging.serializers import api_time

    field = serializers.DateTimeField(default_timezone=UTC)
    zones = [
        UTC,
        ZoneInfo("UTC"),
        ZoneInfo("Asia/Kolkata"),
        ZoneInfo("America/St_Johns"),
        timezone(timedelta(hours=-3)),
    ]
    times = [
        datetime(2026, 12, 6, 21, 5, 3, 120000),
        datetime(2026, 3, 29, 1, 0),
        datetime(1, 1, 2),
        datetime(9999, 12, 30, 23, 59, 59, 999999),
    ]
    times += random_times(2_000)
    for zone, time in itertools.product(zones, times):
        assert api_time(time.replace(tzinfo=zone)) == field.to_representation(time.replace(tzinfo=zone))
