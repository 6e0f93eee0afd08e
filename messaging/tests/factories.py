"""Factories for messages."""

import random
from datetime import datetime, timedelta

import factory

from messaging.models import Message
from users.tests.factories import UserFactory


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    sender = factory.SubFactory(UserFactory)
    recipient = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"message number {n}")


class AttachmentMessageFactory(MessageFactory):
    attachment_name = "plan.pdf"
    attachment_content_type = "application/pdf"
    attachment_data = b"%PDF-1.4 a tiny pdf"
    attachment_size = factory.LazyAttribute(lambda message: len(message.attachment_data))


def recipients_of_every_kind(sender) -> list[tuple[str, object]]:
    """(case, person) for every kind of person a send from `sender` may be addressed to: active or not,
    blocking the sender or not (or blocked by them, or blocking someone else), the sender, and nobody (None)."""
    from messaging.models import UserBlock

    other = UserFactory()
    people = {
        "active": UserFactory(),
        "inactive": UserFactory(is_active=False),
        "blocks the sender": UserFactory(),
        "blocked by the sender": UserFactory(),
        "blocks someone else": UserFactory(),
        "inactive and blocks the sender": UserFactory(is_active=False),
    }
    UserBlock.objects.create(blocker=people["blocks the sender"], blocked=sender)
    UserBlock.objects.create(blocker=sender, blocked=people["blocked by the sender"])
    UserBlock.objects.create(blocker=people["blocks someone else"], blocked=other)
    UserBlock.objects.create(blocker=people["inactive and blocks the sender"], blocked=sender)
    return [*people.items(), ("the sender", sender), ("nobody", None)]


def inboxes_of_every_kind() -> list:
    """People whose conversation lists hold every kind of row and last message: muted and blocked partners,
    attachments (new, and a carried name without bytes), unread and read messages (read receipts on and off),
    messages hidden by a moderator, deleted by one side, edited, unsent, replies to each of those and to
    carried ids, display names set, empty, and with characters JSON escapes (a line separator, a quote, a
    control character) or writes as they are (accents, an emoji). The first is in every conversation."""
    from datetime import timedelta

    from django.utils import timezone

    from messaging import services
    from messaging.models import ConversationMute, UserBlock

    reader = UserFactory(display_name='Zoë \u2028 "quoted" \u0007 😀')
    quiet = UserFactory(display_name="", read_receipts=False)
    partners = [quiet, *(UserFactory(display_name=f"Partner {n}" if n % 2 else "") for n in range(6))]
    moderator = UserFactory(is_staff=True)
    start = timezone.now() - timedelta(hours=6)

    def at(minutes: int):
        return start + timedelta(minutes=minutes)

    question = MessageFactory(sender=partners[1], recipient=reader, created_at=at(1), body="a question?")
    hidden = MessageFactory(sender=partners[1], recipient=reader, created_at=at(2), body="hidden later")
    services.hide_messages(moderator=moderator, messages=[hidden], reason="spam")
    deleted = MessageFactory(sender=reader, recipient=partners[2], created_at=at(3), sender_deleted_at=at(4))
    unsent = MessageFactory(sender=reader, recipient=partners[3], created_at=timezone.now())
    services.unsend_message(user=reader, message_id=unsent.pk)
    # The last message of each conversation, one kind each.
    MessageFactory(sender=reader, recipient=quiet, created_at=at(10), read_at=at(11), updated_at=at(11))
    AttachmentMessageFactory(sender=partners[1], recipient=reader, created_at=at(20), reply_to=question)
    MessageFactory(sender=partners[2], recipient=reader, created_at=at(30), reply_to=deleted, body="re: \u2029")
    MessageFactory(sender=partners[3], recipient=reader, created_at=at(40), reply_to=unsent, read_at=at(41))
    MessageFactory(sender=reader, recipient=partners[4], created_at=at(50), reply_to=hidden)
    edited = MessageFactory(sender=reader, recipient=partners[5], created_at=timezone.now(), body="first")
    services.edit_message(user=reader, message_id=edited.pk, body="second, edited")
    MessageFactory(
        sender=partners[6], recipient=reader, created_at=at(60), legacy_id=9, legacy_reply_to_id=999_999,
        legacy_file_name="old.txt", body="",
    )  # fmt: skip
    MessageFactory(sender=partners[6], recipient=reader, created_at=at(60), read_at=at(61), updated_at=at(61))
    ConversationMute.objects.create(user=reader, partner=partners[1])
    ConversationMute.objects.create(user=partners[2], partner=reader)
    UserBlock.objects.create(blocker=reader, blocked=partners[3])
    UserBlock.objects.create(blocker=partners[4], blocked=reader)
    return [reader, *partners]


def random_times(count: int) -> list[datetime]:
    """`count` naive times, the same on every run: any day from 0001-01-02 to 9999-12-30 (a day inside each end
    of the calendar, so that any zone's offset keeps them in range), any second, any microsecond but a tenth
    of them on the second (where `isoformat` writes no fraction)."""
    randomizer = random.Random(27)
    return [
        datetime(1, 1, 2)
        + timedelta(
            days=randomizer.randrange(3_652_056),
            seconds=randomizer.randrange(86_400),
            microseconds=randomizer.randrange(1_000_000) if n % 10 else 0,
        )
        for n in range(count)
    ]
