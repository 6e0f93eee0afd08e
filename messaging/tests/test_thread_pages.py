"""A thread's page source (`selectors.thread_pages`) reads what `thread_between` reads, page by page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import selectors, services
from messaging.models import Message
from messaging.selectors import ThreadPages
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _shown(message: Message) -> tuple:
    """What a page shows of a message: its columns, its people and the message it replies to."""
    columns = tuple(
        getattr(message, field.attname) for field in Message._meta.concrete_fields if field.name != "attachment_data"
    )
    people = tuple(
        (person.pk, person.username, person.display_name, person.read_receipts)
        for person in (message.sender, message.recipient)
    )
    reply = message.reply_to
    return columns, people, None if reply is None else (reply.pk, reply.body, reply.sender_id, reply.hidden_at)


def _thread(alice, bob, carol):
    """A thread with equal times (cursor offsets), a reply, an attachment, deletes on both sides and a hidden
    message, beside a conversation with someone else."""
    at = timezone.now() - timedelta(days=1)
    messages = []
    for i in range(12):
        sender, recipient = (alice, bob) if i % 3 else (bob, alice)
        message = MessageFactory(sender=sender, recipient=recipient, body=f"m{i}")
        message.created_at = at + timedelta(minutes=i // 3)  # three messages at each time
        Message.objects.filter(pk=message.pk).update(created_at=message.created_at)
        messages.append(message)
    messages.append(MessageFactory(sender=bob, recipient=alice, reply_to=messages[4], body="a reply"))
    messages.append(AttachmentMessageFactory(sender=alice, recipient=bob))
    Message.objects.filter(pk=messages[1].pk).update(sender_deleted_at=timezone.now())  # alice's delete
    Message.objects.filter(pk=messages[3].pk).update(recipient_deleted_at=timezone.now())  # alice's delete
    Message.objects.filter(pk=messages[5].pk).update(recipient_deleted_at=timezone.now())  # bob's delete
    Message.objects.filter(pk=messages[6].pk).update(hidden_at=timezone.now(), hidden_reason="spam")
    MessageFactory(sender=alice, recipient=carol)
    return messages


def test_every_slice_order_and_position_reads_what_the_queryset_reads():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    messages = _thread(alice, bob, carol)
    times = sorted({m.created_at for m in messages})
    for user, other in ((alice, bob), (bob, alice)):
        pages = selectors.thread_pages(user=user, other=other)
        assert isinstance(pages, ThreadPages)
        queryset = selectors.thread_between(user=user, other=other)
        for ordering in (("-created_at", "-id"), ("created_at", "id")):
            positions = [None, *(("created_at__lt", t) for t in times), *(("created_at__gt", t) for t in times)]
            for position in positions:
                for as_text in (False, True):  # DRF's cursor hands the position over as text
                    source, expected = pages.order_by(*ordering), queryset.order_by(*ordering)
                    if position:
                        value = str(position[1]) if as_text else position[1]
                        source, expected = (
                            source.filter(**{position[0]: value}),
                            expected.filter(**{position[0]: value}),
                        )
                    assert isinstance(source, ThreadPages)
                    for start, stop in ((0, 4), (0, 51), (2, 5), (3, 3), (None, 2), (7, 100)):
                        got = source[start:stop]
                        assert [_shown(m) for m in got] == [_shown(m) for m in expected[start:stop]], (
                            user,
                            ordering,
                            position,
                            start,
                            stop,
                        )


def test_the_legacy_reverse_and_other_reads_go_to_the_queryset():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    _thread(alice, bob, carol)
    pages = selectors.thread_pages(user=alice, other=bob)
    queryset = selectors.thread_between(user=alice, other=bob)
    assert [m.pk for m in pages.reverse()[1:6]] == [m.pk for m in queryset.reverse()[1:6]]
    # Not a slice the page source reads, not a position in time: the QuerySet answers, the same.
    assert pages[2].pk == queryset[2].pk
    assert [m.pk for m in pages] == [m.pk for m in queryset]
    naive = timezone.make_naive(timezone.now())
    with pytest.warns(RuntimeWarning):
        assert [m.pk for m in pages.filter(created_at__lt=naive)[:5]] == [
            m.pk for m in queryset.filter(created_at__lt=naive)[:5]
        ]
    assert [m.pk for m in pages.filter(body="m2")] == [m.pk for m in queryset.filter(body="m2")]


def test_a_thread_with_oneself_is_the_plain_queryset():
    """Its own visibility rule (`thread_visible_to`); such threads exist only among carried old rows."""
    alice = UserFactory()
    pages = selectors.thread_pages(user=alice, other=alice)
    assert not isinstance(pages, ThreadPages)
    assert str(pages.query) == str(selectors.thread_between(user=alice, other=alice).query)


def test_a_page_follows_writes_made_after_it_was_first_read():
    alice, bob = UserFactory(), UserFactory()
    first = services.send_message(sender=alice, recipient_id=bob.pk, body="one")
    pages = selectors.thread_pages(user=bob, other=alice)
    assert [m.pk for m in pages[0:10]] == [first.pk]
    second = services.send_message(sender=alice, recipient_id=bob.pk, body="two")
    services.delete_for_user(user=bob, message_id=first.pk)
    assert [m.pk for m in selectors.thread_pages(user=bob, other=alice)[0:10]] == [second.pk]
