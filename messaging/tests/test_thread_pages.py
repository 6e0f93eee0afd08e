"""A thread's pages (`selectors.thread_page`, literal SQL) are what `thread_between`, its ORM definition, reads
page by page; the API's cursors walk a thread both ways."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from messaging import selectors
from messaging.models import Message
from messaging.pagination import NewestFirstCursorPagination
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from users.tests.factories import UserFactory, client_for

pytestmark = pytest.mark.django_db


def _shown(message: Message) -> tuple:
    """What a page shows of a message: its loaded fields, its people and the message it replies to."""
    columns = tuple(
        getattr(message, field.attname) for field in Message._meta.concrete_fields if field.name != "attachment_data"
    )
    people = tuple(
        (person.get_deferred_fields(), person.pk, person.username, person.display_name, person.read_receipts)
        for person in (message.sender, message.recipient)
    )
    reply = message.reply_to
    replied = None if reply is None else (reply.get_deferred_fields(), reply.pk, reply.body, reply.hidden_at)
    return message.get_deferred_fields(), columns, people, replied


def _thread(alice, bob, carol):
    """A thread with equal times (cursor offsets), a reply, an attachment, deletes on both sides and a hidden
    message, beside a conversation with someone else."""
    at = timezone.now() - timedelta(days=1)
    messages = []
    for i in range(12):
        sender, recipient = (alice, bob) if i % 3 else (bob, alice)
        messages.append(
            MessageFactory(sender=sender, recipient=recipient, body=f"m{i}", created_at=at + timedelta(minutes=i // 3))
        )
    messages.append(MessageFactory(sender=bob, recipient=alice, reply_to=messages[4], body="a reply"))
    messages.append(AttachmentMessageFactory(sender=alice, recipient=bob))
    Message.objects.filter(pk=messages[1].pk).update(sender_deleted_at=timezone.now())  # alice's delete
    Message.objects.filter(pk=messages[3].pk).update(recipient_deleted_at=timezone.now())  # alice's delete
    Message.objects.filter(pk=messages[5].pk).update(recipient_deleted_at=timezone.now())  # bob's delete
    Message.objects.filter(pk=messages[6].pk).update(hidden_at=timezone.now(), hidden_reason="spam")
    MessageFactory(sender=alice, recipient=carol)
    return messages


def test_every_order_bound_and_slice_reads_what_the_queryset_reads():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    messages = _thread(alice, bob, carol)
    times = sorted({m.created_at for m in messages})
    for user, other in ((alice, bob), (bob, alice)):
        for newest_first in (True, False):
            for before, after in [(None, None), *((t, None) for t in times), *((None, t) for t in times)]:
                expected = selectors.thread_between(user=user, other=other)
                if not newest_first:
                    expected = expected.reverse()
                if before is not None:
                    expected = expected.filter(created_at__lt=before)
                if after is not None:
                    expected = expected.filter(created_at__gt=after)
                for offset, limit in ((0, 4), (0, 51), (2, 3), (7, 100)):
                    got = selectors.thread_page(
                        user=user,
                        other=other,
                        newest_first=newest_first,
                        before=before,
                        after=after,
                        offset=offset,
                        limit=limit,
                    )
                    wanted = expected[offset : offset + limit]
                    assert [_shown(m) for m in got] == [_shown(m) for m in wanted], (user, newest_first, before, after)


def test_a_thread_with_oneself_keeps_its_own_rule():
    """Carried messages to oneself: visible while either side of them is kept."""
    alice = UserFactory()
    now = timezone.now()
    kept = MessageFactory(sender=alice, recipient=alice, legacy_id=1, sender_deleted_at=now)
    MessageFactory(sender=alice, recipient=alice, legacy_id=2, sender_deleted_at=now, recipient_deleted_at=now)
    page = selectors.thread_page(user=alice, other=alice, newest_first=True, offset=0, limit=10)
    assert [m.pk for m in page] == [kept.pk]


def test_the_api_pages_and_links_are_drfs_over_the_queryset():
    """Following every next and previous link: each page and its links are what DRF's cursor pagination gives
    over `thread_between`, through runs of equal times (DRF's offsets)."""
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    _thread(alice, bob, carol)
    api = client_for(alice)
    factory = APIRequestFactory()
    seen, todo = set(), [f"http://testserver/api/messages/with/{bob.pk}?page_size=2"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        body = api.get(url).json()
        paginator = NewestFirstCursorPagination()
        request = Request(factory.get(url))
        page = paginator.paginate_queryset(selectors.thread_between(user=alice, other=bob), request)
        assert [row["id"] for row in body["results"]] == [m.pk for m in page]
        assert (body["next"], body["previous"]) == (paginator.get_next_link(), paginator.get_previous_link())
        todo += [link for link in (body["next"], body["previous"]) if link]
    assert len(seen) > 10
