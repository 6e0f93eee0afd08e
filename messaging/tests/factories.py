"""Factories for messages."""

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
