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
