"""The send's one statement (`services._SEND_SQL`) stores what the model's save stores, and sends exactly when
`services._may_receive` lets the message go."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from messaging import selectors, services
from messaging.models import Message
from messaging.tests.factories import MessageFactory, recipients_of_every_kind
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# What a save computes or assigns itself, not what the send is given.
_OWN = {"id", "created_at"}


def _stored(message_id: int) -> dict[str, object]:
    """Every column of the stored row (the generated search vector too), as PostgreSQL holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM messaging_message WHERE id = %s", [message_id])
        assert cursor.description is not None
        names = [column.name for column in cursor.description]
        row = cursor.fetchone()
    assert row is not None
    return {name: value for name, value in zip(names, row, strict=True) if name not in _OWN}


@pytest.mark.parametrize("kind", ["text", "reply", "attachment", "attachment only"])
def test_a_sent_message_is_stored_as_the_models_save_stores_it(kind):
    sender, recipient = UserFactory(), UserFactory()
    quoted = MessageFactory(sender=recipient, recipient=sender) if kind == "reply" else None
    attachment = (
        services.AttachmentInput(name="plan.pdf", content_type="application/pdf", data=b"%PDF-1.4 a plan")
        if kind.startswith("attachment")
        else None
    )
    body = "" if kind == "attachment only" else "  the plan, as promised  "
    sent = services.send_message(
        sender=sender,
        recipient_id=recipient.pk,
        body=body,
        reply_to_id=quoted.pk if quoted else None,
        attachment=attachment,
    )

    saved = Message(
        sender=sender,
        recipient=recipient,
        body=body.strip(),
        reply_to=quoted,
        created_at=sent.created_at,
    )
    if attachment is not None:
        saved.attachment_name = attachment.name
        saved.attachment_content_type = attachment.content_type
        saved.attachment_size = len(attachment.data)
        saved.attachment_data = attachment.data
    saved.save()

    assert _stored(sent.pk) == _stored(saved.pk)
    # The returned instance is the stored message, as a read of it builds it.
    read = Message.objects.get(pk=sent.pk)
    assert not sent._state.adding and sent._state.db == read._state.db
    for field in Message._meta.concrete_fields:
        assert getattr(sent, field.attname) == getattr(read, field.attname), field.attname


def test_the_statement_sends_exactly_when_may_receive_lets_it():
    """For every kind of person (and none), the send inserts a message iff `_may_receive` accepts the person
    `recipient_for_send` reads, and refuses with `_may_receive`'s error otherwise."""
    sender = UserFactory()
    outcomes = set()
    for case, person in recipients_of_every_kind(sender):
        recipient_id = person.pk if person else 10**12
        found = selectors.recipient_for_send(sender_id=sender.pk, recipient_id=recipient_id)
        try:
            services._may_receive(sender=sender, found=found)
            expected: type[Exception] | None = None
        except (ValidationError, PermissionDenied) as refusal:
            expected = type(refusal)
        before = Message.objects.count()
        try:
            services.send_message(sender=sender, recipient_id=recipient_id, body=f"to {case}")
            got: type[Exception] | None = None
        except (ValidationError, PermissionDenied) as refusal:
            got = type(refusal)
        assert got == expected, case
        assert Message.objects.count() == before + (1 if expected is None else 0), case
        outcomes.add(expected)
    assert outcomes == {None, ValidationError, PermissionDenied}  # every branch was taken
