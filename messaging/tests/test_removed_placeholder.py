"""A message a moderator hid shows on the thread page as a placeholder, "Removed by a moderator", in its place:
its time and side, never its body or attachment name, no actions. Everything else keeps hiding it: the API's
thread and anchored read, the message itself (404), search, the counts, the first unread message."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import selectors, services
from messaging.models import Message
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from messaging.tests.test_thread_anchor import expected_window, pks, thread_of

pytestmark = pytest.mark.django_db

SECRET = "the body nobody may read again"


@pytest.fixture
def alice_web(client, alice):
    client.force_login(alice)
    return client


def message_items(response) -> dict[int, str]:
    """Each message `<li>` of a thread page by id, its HTML."""
    html = response.content.decode()
    return {
        int(pk): item
        for item, pk in re.findall(r'(<li id="message-\d+" data-message-id="(\d+)".*?</li>)', html, flags=re.S)
    }


@pytest.fixture
def thread(alice, bob, moderator):
    """alice and bob, a minute apart: bob's message, bob's message with an attachment that a moderator hid
    (unread by alice), alice's message that a moderator hid, bob's reply to the hidden one, alice's last."""
    start = timezone.now() - timedelta(hours=1)
    made = [
        MessageFactory(sender=bob, recipient=alice, body="hello alice", read_at=start),
        AttachmentMessageFactory(
            sender=bob, recipient=alice, body=SECRET, attachment_name="secret-plan.pdf", read_at=None
        ),
        MessageFactory(sender=alice, recipient=bob, body=f"mine: {SECRET}"),
    ]
    made.append(MessageFactory(sender=bob, recipient=alice, body="about that", reply_to=made[1], read_at=start))
    made.append(MessageFactory(sender=alice, recipient=bob, body="bye"))
    for minutes, message in enumerate(made):
        Message.objects.filter(pk=message.pk).update(created_at=start + timedelta(minutes=minutes))
    services.hide_messages(moderator=moderator, messages=made[1:3], reason="abuse")
    return made


def test_a_hidden_message_shows_as_a_placeholder_in_its_place(alice_web, bob, thread):
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    assert response.status_code == 200
    items = message_items(response)
    assert list(items) == [message.pk for message in thread]
    html = response.content.decode()
    # Never the body or the attachment's name, anywhere in the page.
    assert SECRET not in html
    assert "secret-plan" not in html
    for hidden, side in ((thread[1], "theirs"), (thread[2], "mine")):
        item = items[hidden.pk]
        assert "Removed by a moderator" in item
        assert re.search(rf'class="message {side}( continued)? removed"', item)
        assert "<time datetime=" in item
        # No actions: no reply, delete, report or download.
        assert "reply_to=" not in item and "<form" not in item and "/report" not in item and "attachment" not in item
    # The others are as they were; the reply to a hidden message does not quote it.
    assert "Removed by a moderator" not in items[thread[0].pk] + items[thread[3].pk] + items[thread[4].pk]
    assert "Original message not available." in items[thread[3].pk]
    assert "hello alice" in items[thread[0].pk]


def test_a_hidden_unread_message_is_not_the_first_unread(alice_web, alice, bob, thread):
    # bob's hidden message is alice's only unread one: nothing is new, nothing to jump to.
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    assert b"New messages" not in response.content
    assert b"Jump to first unread" not in response.content
    assert Message.objects.get(pk=thread[1].pk).read_at is None  # opening the page does not read it either
    # An unread message after it is the first unread.
    later = MessageFactory(sender=bob, recipient=alice, body="are you there?")
    response = alice_web.get(f"/inbox/with/{bob.pk}/?anchor=first_unread")
    html = response.content.decode()
    assert html.index('id="first-unread"') < html.index(f'id="message-{later.pk}"')
    assert html.index(f'id="message-{thread[1].pk}"') < html.index('id="first-unread"')


def test_the_api_still_leaves_hidden_messages_out(alice_client, bob, thread):
    shown = [m["id"] for m in alice_client.get(f"/api/messages/with/{bob.pk}").json()["results"]]
    assert sorted(shown) == sorted(m.pk for m in (thread[0], thread[3], thread[4]))
    window = alice_client.get(f"/api/messages/with/{bob.pk}?anchor=newest&num_before=10&num_after=0").json()
    assert [m["id"] for m in window["messages"]] == [thread[0].pk, thread[3].pk, thread[4].pk]
    assert alice_client.get(f"/api/messages/{thread[1].pk}").status_code == 404
    assert alice_client.post("/api/messages/search", {"query": "nobody"}, format="json").json()["results"] == []


def test_unhiding_brings_the_message_back(alice_web, bob, moderator, thread):
    services.unhide_messages(moderator=moderator, messages=thread[1:3])
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    assert b"Removed by a moderator" not in response.content
    assert SECRET in message_items(response)[thread[1].pk]
    assert "secret-plan.pdf" in message_items(response)[thread[1].pk]


def test_the_readers_own_deletes_stay_out(alice_web, alice, bob, thread):
    # alice deleted her hidden message for herself: neither it nor a placeholder shows for her.
    Message.objects.filter(pk=thread[2].pk).update(sender_deleted_at=timezone.now())
    items = message_items(alice_web.get(f"/inbox/with/{bob.pk}/"))
    assert thread[2].pk not in items
    assert thread[1].pk in items


def test_placeholders_cost_no_query(alice_web, bob, thread, django_assert_num_queries):
    # The session, its user, bob, the page, the relation, the nav's counts (as without them); no write: the one
    # unread message is a hidden one, which opening the page does not read.
    with django_assert_num_queries(6):
        response = alice_web.get(f"/inbox/with/{bob.pk}/")
    assert len(message_items(response)) == 5


def test_the_literal_read_with_removed_reads_what_the_definition_reads(alice, bob, carol):
    """`thread_window(with_removed=True)` (literal SQL) against `thread_between(with_removed=True)`: hidden
    messages in, each person's own deletes out, the first unread a visible one, for every anchor."""
    made = thread_of(alice, bob, 16, same_time_every=3)
    now = timezone.now()
    Message.objects.filter(pk=made[1].pk).update(sender_deleted_at=now)
    Message.objects.filter(pk=made[4].pk).update(recipient_deleted_at=now)
    Message.objects.filter(pk__in=pks(made[:6])).update(read_at=now)
    # Hidden: one read, the two oldest unread (one each way), one deleted by its recipient, the newest.
    hidden = [made[5], made[6], made[7], made[4], made[-1]]
    Message.objects.filter(pk__in=pks(hidden)).update(hidden_at=now, hidden_reason="spam")
    MessageFactory(sender=carol, recipient=alice)
    anchors = ["newest", "first_unread", *range(made[0].pk - 2, made[-1].pk + 3)]
    for user, other in ((alice, bob), (bob, alice)):
        expected_unread = expected_window(user, other, "first_unread", 0, 0, with_removed=True)
        for anchor in anchors:
            for before, after in ((0, 0), (1, 2), (4, 0), (0, 5), (100, 100)):
                got = selectors.thread_window(
                    user=user, other=other, anchor=anchor, num_before=before, num_after=after, with_removed=True
                )
                assert (
                    pks(got.messages),
                    got.anchor,
                    got.found_anchor,
                    got.found_oldest,
                    got.found_newest,
                ) == expected_window(user, other, anchor, before, after, with_removed=True), (user, anchor)
                assert got.first_unread_id == (expected_unread[1] if expected_unread[2] else None)
        assert all(m.hidden_at is None for m in selectors.thread_between(user=user, other=other))
    shown = pks(selectors.thread_window(user=alice, other=bob, anchor="newest", num_before=100, num_after=0).messages)
    assert made[6].pk not in shown  # without `with_removed`, as before
