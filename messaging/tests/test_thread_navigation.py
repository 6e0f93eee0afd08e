"""The thread page around an anchor, through the test client: it opens at the newest message, `?anchor=` opens
it at any message or at the first unread one, its links load older and newer messages without JavaScript,
search hits and deletes come back to the right place, and a refused send shows its error in the composer."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Message
from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

START = timezone.now() - timedelta(days=400)


@pytest.fixture
def alice_web(client, alice):
    client.force_login(alice)
    return client


def thread_of(alice, bob, n, **fields):
    """`n` messages between alice and bob, oldest first, a minute apart, bob's at even positions."""
    return [
        MessageFactory(
            sender=bob if i % 2 == 0 else alice,
            recipient=alice if i % 2 == 0 else bob,
            body=f"message {i}",
            created_at=START + timedelta(minutes=i),
            **fields,
        )
        for i in range(n)
    ]


def message_ids(response):
    return [int(pk) for pk in re.findall(r'data-message-id="(\d+)"', response.content.decode())]


def pks(messages):
    return [message.pk for message in messages]


def links(response):
    """The page's links by their text (the query's `&amp;` read as `&`)."""
    found = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', response.content.decode())
    return {text: href.replace("&amp;", "&") for href, text in found}


def live_url(response):
    return re.search(r'data-live-url="([^"]+)"', response.content.decode()).group(1).replace("&amp;", "&")


def test_the_page_opens_with_the_newest_messages_and_a_link_to_older_ones(alice_web, alice, bob, carol):
    made = thread_of(alice, bob, 45)
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    assert message_ids(response) == pks(made[-31:])
    found = links(response)
    assert (
        found["Load older messages"] == f"/inbox/with/{bob.pk}/?anchor={made[14].pk}&num_after=0#message-{made[14].pk}"
    )
    assert "Load newer messages" not in found and "Jump to the newest" not in found
    # A live refresh shows the same messages and what arrives after them.
    assert live_url(response) == f"/inbox/with/{bob.pk}/?anchor={made[14].pk}&num_before=0&num_after=100"
    # Past room for 40 arrivals after what is shown: the newest and 100 before them.
    thread_of(alice, carol, 90)
    long = alice_web.get(f"/inbox/with/{carol.pk}/?num_before=80")
    assert live_url(long) == f"/inbox/with/{carol.pk}/?anchor=newest&num_before=100"
    assert live_url(alice_web.get(f"/inbox/with/{alice.pk}/")) == f"/inbox/with/{alice.pk}/?anchor=newest"
    assert "data-focus" not in response.content.decode()
    # The composer follows the messages (the stylesheet pins it to the bottom of the screen).
    content = response.content.decode()
    assert content.index(f'id="message-{made[-1].pk}"') < content.index('id="reply"')


def test_older_and_newer_links_walk_the_whole_thread_without_javascript(alice_web, alice, bob):
    made = thread_of(alice, bob, 70)
    seen, url = [], f"/inbox/with/{bob.pk}/"
    while url:
        response = alice_web.get(url)
        assert response.status_code == 200
        seen[:0] = [pk for pk in message_ids(response) if pk not in seen]
        url = links(response).get("Load older messages")
    assert seen == pks(made)
    # From the oldest, newer pages lead back to the newest.
    seen, url = [], links(response)["Load newer messages"]
    while url:
        response = alice_web.get(url)
        seen += [pk for pk in message_ids(response) if pk not in seen]
        url = links(response).get("Load newer messages")
    assert seen[-1] == made[-1].pk and set(pks(made[31:])) <= set(seen)


def test_an_anchor_opens_the_page_at_that_message(alice_web, alice, bob):
    made = thread_of(alice, bob, 100)
    response = alice_web.get(f"/inbox/with/{bob.pk}/?anchor={made[50].pk}")
    assert message_ids(response) == pks(made[20:81])
    assert f'data-focus="{made[50].pk}"' in response.content.decode()
    found = links(response)
    assert (
        found["Load newer messages"] == f"/inbox/with/{bob.pk}/?anchor={made[80].pk}&num_before=0#message-{made[80].pk}"
    )
    assert found["Jump to the newest"] == f"/inbox/with/{bob.pk}/"
    # Short of the newest, a live refresh shows the same messages.
    assert live_url(response) == f"/inbox/with/{bob.pk}/?anchor={made[20].pk}&num_before=0&num_after=60"
    narrow = alice_web.get(f"/inbox/with/{bob.pk}/?anchor={made[50].pk}&num_before=2&num_after=1")
    assert message_ids(narrow) == pks(made[48:52])


def test_the_new_messages_line_marks_where_the_reader_stopped(alice_web, alice, bob):
    made = thread_of(alice, bob, 20)
    Message.objects.filter(pk__in=pks(made[:14])).update(read_at=timezone.now())
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    content = response.content.decode()
    # Before bob's first unread message (14), read before the page marked it read.
    assert re.search(r'class="new-messages"[^>]*>.*?</li>\s*<li id="message-(\d+)"', content, re.S).group(1) == str(
        made[14].pk
    )
    assert content.count('class="new-messages"') == 1
    assert (
        links(response)["Jump to first unread"] == f"/inbox/with/{bob.pk}/?anchor={made[14].pk}#message-{made[14].pk}"
    )
    assert not Message.objects.unread_for(alice).exists()
    # Read now: no line, no jump.
    again = alice_web.get(f"/inbox/with/{bob.pk}/").content.decode()
    assert "New messages" not in again and "Jump to first unread" not in again


def test_a_first_unread_message_older_than_the_page_is_a_jump_away(alice_web, alice, bob):
    made = thread_of(alice, bob, 80)
    Message.objects.filter(pk__in=pks(made[:4])).update(read_at=timezone.now())
    response = alice_web.get(f"/inbox/with/{bob.pk}/")
    assert made[4].pk not in message_ids(response) and "new-messages" not in response.content.decode()
    assert links(response)["Jump to first unread"] == f"/inbox/with/{bob.pk}/?anchor={made[4].pk}#message-{made[4].pk}"


def test_first_unread_as_the_anchor(alice_web, alice, bob):
    made = thread_of(alice, bob, 80)
    Message.objects.filter(pk__in=pks(made[:40])).update(read_at=timezone.now())
    response = alice_web.get(f"/inbox/with/{bob.pk}/?anchor=first_unread")
    assert made[40].pk in message_ids(response) and f'data-focus="{made[40].pk}"' in response.content.decode()
    assert message_ids(response).index(made[40].pk) == 30


def test_a_search_hit_far_older_than_the_newest_page_opens_at_it(alice_web, alice, bob):
    """Regression: search linked to `#message-<id>` on the thread's newest page, which did not hold it."""
    made = thread_of(alice, bob, 45)
    Message.objects.filter(pk=made[2].pk).update(body="the zeppelin budget")
    search = alice_web.get("/inbox/search/?q=zeppelin").content.decode()
    (href,) = re.findall(r'href="(/inbox/with/[^"]+)"', search)
    assert href.endswith(f"#message-{made[2].pk}")
    page = alice_web.get(href.split("#")[0])
    assert made[2].pk in message_ids(page)
    assert f'id="message-{made[2].pk}"' in page.content.decode()


def test_another_persons_message_as_the_anchor_shows_nothing_of_it(alice_web, alice, bob, carol):
    made = thread_of(alice, bob, 10)
    theirs = MessageFactory(sender=carol, recipient=bob, body="carol's secret")
    response = alice_web.get(f"/inbox/with/{bob.pk}/?anchor={theirs.pk}")
    assert response.status_code == 200
    assert "carol's secret" not in response.content.decode()
    assert message_ids(response) == pks(made)  # past every id of the thread: the newest


@pytest.mark.parametrize("query", ["anchor=oldest", "anchor=-3", "num_before=101", "num_after=x", "anchor=" + "9" * 50])
def test_bad_anchors_are_a_400_page(alice_web, alice, bob, query):
    thread_of(alice, bob, 3)
    response = alice_web.get(f"/inbox/with/{bob.pk}/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.content.decode()


def test_a_send_comes_back_to_the_newest_at_the_new_message(alice_web, alice, bob):
    thread_of(alice, bob, 45)
    response = alice_web.post(f"/inbox/with/{bob.pk}/?anchor=first_unread", {"body": "on the way"})
    sent = Message.objects.get(body="on the way")
    assert response["Location"] == f"/inbox/with/{bob.pk}/#message-{sent.pk}"
    assert message_ids(alice_web.get(response["Location"]))[-1] == sent.pk


def test_a_refused_send_shows_the_error_in_the_composer(alice_web, alice, bob):
    made = thread_of(alice, bob, 45)
    response = alice_web.post(f"/inbox/with/{bob.pk}/", {"body": "   "})
    assert response.status_code == 400
    content = response.content.decode()
    composer = content[content.index('<section id="reply"') :]
    assert "A message needs a body or an attachment." in composer[: composer.index("</section>")]
    assert message_ids(response) == pks(made[-31:])  # the newest messages above it


def test_delete_for_me_comes_back_around_the_neighbour(alice_web, alice, bob, carol):
    made = thread_of(alice, bob, 45)
    response = alice_web.post(f"/inbox/messages/{made[5].pk}/delete/")
    assert response["Location"] == f"/inbox/with/{bob.pk}/?anchor={made[6].pk}#message-{made[6].pk}"
    page = alice_web.get(response["Location"])
    assert made[6].pk in message_ids(page) and made[5].pk not in message_ids(page)
    # The newest: back to the one before it, now the newest.
    response = alice_web.post(f"/inbox/messages/{made[-1].pk}/delete/")
    assert response["Location"] == f"/inbox/with/{bob.pk}/?anchor={made[-2].pk}#message-{made[-2].pk}"
    # The last one left: back to the (empty) thread.
    lone = MessageFactory(sender=alice, recipient=carol)
    assert alice_web.post(f"/inbox/messages/{lone.pk}/delete/")["Location"] == f"/inbox/with/{carol.pk}/"


@pytest.mark.parametrize("query", ["", "?anchor=first_unread", "?anchor={mid}&num_before=10&num_after=10"])
def test_the_page_is_seven_queries_whatever_its_anchor(alice_web, alice, bob, django_assert_num_queries, query):
    made = thread_of(alice, bob, 60)
    Message.objects.filter(pk__in=pks(made[::4])).update(reply_to=made[0])
    # The session, its user, bob, the window (with the first unread), marking read, the relation (blocks,
    # mute), the nav's counts.
    with django_assert_num_queries(7):
        response = alice_web.get(f"/inbox/with/{bob.pk}/" + query.format(mid=made[30].pk))
    assert response.status_code == 200 and message_ids(response)
