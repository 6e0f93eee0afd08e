"""The anchored read of a thread (`GET /api/messages/with/{user_id}?anchor=`, `selectors.thread_window`): a
window around the newest message, the first unread one or any message id, oldest first, with where it
settled and whether it reaches the thread's ends; the old cursor pages without `anchor`."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import selectors
from messaging.models import Message
from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

START = timezone.now() - timedelta(days=30)


def thread_of(alice, bob, n, *, same_time_every=0, start=START):
    """`n` messages between alice and bob, alternating, oldest first; `same_time_every`: runs of that many
    messages share a time (the order among them is by id)."""
    made = []
    for i in range(n):
        sender, recipient = (bob, alice) if i % 2 == 0 else (alice, bob)
        at = start + timedelta(minutes=i // same_time_every if same_time_every else i)
        made.append(MessageFactory(sender=sender, recipient=recipient, body=f"m{i}", created_at=at))
    return made


def window(client, other, **query):
    response = client.get(f"/api/messages/with/{other.pk}", query)
    assert response.status_code == 200, response.content
    return response.json()


def ids(body):
    return [message["id"] for message in body["messages"]]


def pks(messages):
    return [message.pk for message in messages]


# --- Each kind of anchor ----------------------------------------------------------------------------------


def test_newest_is_the_last_messages_oldest_first(alice_client, alice, bob):
    made = thread_of(alice, bob, 45)
    body = window(alice_client, bob, anchor="newest", num_before=10)
    assert ids(body) == pks(made[-11:])
    assert body["anchor"] == made[-1].pk
    assert (body["found_anchor"], body["found_oldest"], body["found_newest"]) == (True, False, True)
    # The defaults: 20 before (and 20 after, none here).
    assert ids(window(alice_client, bob, anchor="newest")) == pks(made[-21:])


def test_an_id_anchor_is_the_middle_of_its_window(alice_client, alice, bob):
    made = thread_of(alice, bob, 45)
    body = window(alice_client, bob, anchor=made[20].pk, num_before=3, num_after=4)
    assert ids(body) == pks(made[17:25])
    assert body["anchor"] == made[20].pk
    assert (body["found_anchor"], body["found_oldest"], body["found_newest"]) == (True, False, False)
    # The message shapes are the cursor pages' own.
    page = alice_client.get(f"/api/messages/with/{bob.pk}?page_size=100").json()["results"]
    assert body["messages"] == [m for m in reversed(page) if m["id"] in ids(body)]


def test_anchors_at_the_ends_reach_them(alice_client, alice, bob):
    made = thread_of(alice, bob, 10)
    oldest = window(alice_client, bob, anchor=made[0].pk, num_before=5, num_after=3)
    assert ids(oldest) == pks(made[:4])
    assert (oldest["found_oldest"], oldest["found_newest"]) == (True, False)
    newest = window(alice_client, bob, anchor=made[-1].pk, num_before=3, num_after=5)
    assert ids(newest) == pks(made[-4:])
    assert (newest["found_oldest"], newest["found_newest"]) == (False, True)
    # Exactly as many as there are on a side reaches the end; one fewer does not.
    assert window(alice_client, bob, anchor=made[3].pk, num_before=3, num_after=0)["found_oldest"] is True
    assert window(alice_client, bob, anchor=made[3].pk, num_before=2, num_after=0)["found_oldest"] is False
    assert window(alice_client, bob, anchor=made[6].pk, num_before=0, num_after=3)["found_newest"] is True
    assert window(alice_client, bob, anchor=made[6].pk, num_before=0, num_after=2)["found_newest"] is False
    whole = window(alice_client, bob, anchor=made[5].pk, num_before=100, num_after=100)
    assert ids(whole) == pks(made) and whole["found_oldest"] and whole["found_newest"]


def test_zero_before_and_after_is_the_anchor_alone(alice_client, alice, bob):
    made = thread_of(alice, bob, 5)
    body = window(alice_client, bob, anchor=made[2].pk, num_before=0, num_after=0)
    assert ids(body) == [made[2].pk]
    assert (body["found_anchor"], body["found_oldest"], body["found_newest"]) == (True, False, False)


def test_first_unread_is_the_oldest_unread_from_the_other_person(alice_client, bob_client, alice, bob):
    made = thread_of(alice, bob, 20)
    # Bob's messages (even positions) up to 10 are read; alice's own unread messages to bob do not count.
    Message.objects.filter(sender=bob, pk__in=pks(made[:11])).update(read_at=timezone.now())
    assert Message.objects.filter(sender=alice, read_at=None).exists()
    body = window(alice_client, bob, anchor="first_unread", num_before=2, num_after=2)
    assert body["anchor"] == made[12].pk and body["found_anchor"] is True
    assert ids(body) == pks(made[10:15])
    # Bob, who has read nothing of alice's, lands on her first message.
    assert window(bob_client, alice, anchor="first_unread", num_before=0, num_after=0)["anchor"] == made[1].pk


def test_first_unread_without_unread_messages_is_the_newest(alice_client, alice, bob):
    made = thread_of(alice, bob, 6)
    Message.objects.filter(recipient=alice).update(read_at=timezone.now())
    body = window(alice_client, bob, anchor="first_unread", num_before=2)
    assert body["anchor"] == made[-1].pk and ids(body) == pks(made[-3:])
    assert (body["found_anchor"], body["found_newest"]) == (False, True)


def test_first_unread_skips_what_the_reader_deleted_and_what_is_hidden(alice_client, alice, bob):
    made = thread_of(alice, bob, 8)
    Message.objects.filter(pk=made[0].pk).update(recipient_deleted_at=timezone.now())
    Message.objects.filter(pk=made[2].pk).update(hidden_at=timezone.now(), hidden_reason="spam")
    assert window(alice_client, bob, anchor="first_unread", num_before=0, num_after=0)["anchor"] == made[4].pk


# --- Anchors the thread does not hold -------------------------------------------------------------------


def test_an_id_the_reader_cannot_see_settles_on_the_next_message_by_id(alice_client, alice, bob):
    made = thread_of(alice, bob, 10)
    Message.objects.filter(pk=made[4].pk).update(recipient_deleted_at=timezone.now())  # bob's, deleted by alice
    Message.objects.filter(pk=made[6].pk).update(hidden_at=timezone.now(), hidden_reason="spam")
    deleted = window(alice_client, bob, anchor=made[4].pk, num_before=1, num_after=1)
    assert (deleted["anchor"], deleted["found_anchor"]) == (made[5].pk, False)
    assert ids(deleted) == [made[3].pk, made[5].pk, made[7].pk]  # the hidden one is no message here
    hidden = window(alice_client, bob, anchor=made[6].pk, num_before=0, num_after=0)
    assert (hidden["anchor"], hidden["found_anchor"]) == (made[7].pk, False)


def test_another_conversations_message_leaks_nothing(alice_client, alice, bob, carol):
    """An id of carol's message gives what its number alone gives: the same answer once it is gone."""
    made = thread_of(alice, bob, 6)
    theirs = MessageFactory(sender=carol, recipient=bob, body="secret", created_at=START - timedelta(days=1))
    later = thread_of(alice, bob, 4, start=START + timedelta(days=1))
    asked = window(alice_client, bob, anchor=theirs.pk, num_before=2, num_after=1)
    assert asked["anchor"] == later[0].pk and asked["found_anchor"] is False
    assert "secret" not in str(asked)
    Message.objects.filter(pk=theirs.pk).delete()
    assert window(alice_client, bob, anchor=theirs.pk, num_before=2, num_after=1) == asked
    assert ids(asked) == [*pks(made[-2:]), later[0].pk, later[1].pk]


def test_an_id_past_every_message_is_the_newest(alice_client, alice, bob):
    made = thread_of(alice, bob, 5)
    for anchor in (made[-1].pk + 1000, 10**30, 2**63 - 1):
        body = window(alice_client, bob, anchor=anchor, num_before=1)
        assert (body["anchor"], body["found_anchor"], ids(body)) == (made[-1].pk, False, pks(made[-2:]))
    # 0 is before every id: the oldest message, by id.
    body = window(alice_client, bob, anchor=0, num_before=5, num_after=1)
    assert (body["anchor"], body["found_anchor"], ids(body)) == (made[0].pk, False, pks(made[:2]))


def test_an_empty_thread_has_no_anchor(alice_client, alice, bob, carol):
    MessageFactory(sender=carol, recipient=alice)
    for anchor in ("newest", "first_unread", "1"):
        body = window(alice_client, bob, anchor=anchor)
        assert body == {
            "messages": [],
            "anchor": None,
            "found_anchor": False,
            "found_oldest": True,
            "found_newest": True,
        }


def test_hidden_and_deleted_messages_do_not_count_in_the_window(alice_client, bob_client, alice, bob):
    made = thread_of(alice, bob, 12)
    Message.objects.filter(pk=made[9].pk).update(sender_deleted_at=timezone.now())  # alice's own, deleted
    Message.objects.filter(pk=made[8].pk).update(hidden_at=timezone.now(), hidden_reason="spam")
    Message.objects.filter(pk=made[3].pk).update(recipient_deleted_at=timezone.now())  # bob's, deleted by alice
    body = window(alice_client, bob, anchor=made[10].pk, num_before=3, num_after=0)
    assert ids(body) == pks([made[5], made[6], made[7], made[10]])
    # Bob deleted nothing: he sees alice's message 9 and 3, not the hidden one.
    bob_view = window(bob_client, alice, anchor=made[10].pk, num_before=3, num_after=0)
    assert ids(bob_view) == pks([made[6], made[7], made[9], made[10]])


def test_messages_at_the_same_time_are_ordered_by_id(alice_client, alice, bob):
    made = thread_of(alice, bob, 12, same_time_every=4)
    for position in range(12):
        body = window(alice_client, bob, anchor=made[position].pk, num_before=2, num_after=2)
        assert ids(body) == pks(made[max(position - 2, 0) : position + 3]), position


# --- Bad input and the old pages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"anchor": "oldest"}, "anchor"),
        ({"anchor": "-1"}, "anchor"),
        ({"anchor": "1.5"}, "anchor"),
        ({"anchor": "٣"}, "anchor"),  # an Arabic-Indic digit: a digit, not an id
        ({"anchor": "newest", "num_before": "101"}, "num_before"),
        ({"anchor": "newest", "num_before": "-1"}, "num_before"),
        ({"anchor": "newest", "num_after": "many"}, "num_after"),
        ({"anchor": "newest", "cursor": "abc"}, "cursor"),
        ({"anchor": "newest", "page_size": "5"}, "page_size"),
        ({"num_before": "5"}, "num_before"),
        ({"num_after": "5"}, "num_after"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(alice_client, alice, bob, query, field):
    thread_of(alice, bob, 3)
    response = alice_client.get(f"/api/messages/with/{bob.pk}", query)
    assert response.status_code == 400
    assert list(response.json()) == [field] and response.json()[field][0]


def test_unknown_user_is_a_404_with_or_without_anchor(alice_client):
    assert alice_client.get("/api/messages/with/424242?anchor=newest").status_code == 404
    assert alice_client.get("/api/messages/with/424242").status_code == 404


def test_without_anchor_the_thread_pages_by_cursor_as_before(alice_client, alice, bob):
    made = thread_of(alice, bob, 5)
    body = alice_client.get(f"/api/messages/with/{bob.pk}?page_size=2").json()
    assert set(body) == {"next", "previous", "results"}
    assert [m["id"] for m in body["results"]] == [made[4].pk, made[3].pk]
    # An empty value is no value, as for the other parameters.
    assert set(alice_client.get(f"/api/messages/with/{bob.pk}?anchor=").json()) == {"next", "previous", "results"}


def test_the_anchored_read_is_one_query(alice_client, alice, bob, django_assert_num_queries):
    made = thread_of(alice, bob, 60)
    Message.objects.filter(pk__in=pks(made[::3])).update(reply_to=made[0])
    for anchor in ("newest", "first_unread", made[30].pk, made[31].pk + 10**6):
        # The caller (the token's user), the other person, the window.
        with django_assert_num_queries(3):
            body = window(alice_client, bob, anchor=anchor, num_before=50, num_after=50)
        assert body["messages"]


# --- The literal query reads what the QuerySet definition reads -------------------------------------------


def expected_window(user, other, anchor, before, after, *, with_removed=False):
    """`thread_window` from its definition: `thread_between`, oldest first, sliced in Python."""
    thread = list(selectors.thread_between(user=user, other=other, with_removed=with_removed).reverse())
    unread = [
        m
        for m in thread
        if m.recipient_id == user.pk and m.sender_id == other.pk and m.read_at is None and m.hidden_at is None
    ]
    if anchor == "newest":
        wanted = thread[-1] if thread else None
    elif anchor == "first_unread":
        wanted = unread[0] if unread else None
    else:
        wanted = next((m for m in thread if m.pk == anchor), None)
    at = wanted
    if at is None and anchor not in ("newest", "first_unread"):
        at = min((m for m in thread if m.pk > anchor), key=lambda m: m.pk, default=None)
    if at is None and thread:
        at = thread[-1]
    if at is None:
        return [], None, False, True, True
    i = thread.index(at)
    shown = thread[max(i - before, 0) : i + after + 1]
    return pks(shown), at.pk, wanted is not None, i - before <= 0, i + after >= len(thread) - 1


def test_every_anchor_and_width_reads_what_the_definition_reads(alice, bob, carol):
    made = thread_of(alice, bob, 16, same_time_every=3)
    now = timezone.now()
    Message.objects.filter(pk=made[1].pk).update(sender_deleted_at=now)
    Message.objects.filter(pk=made[4].pk).update(recipient_deleted_at=now)
    Message.objects.filter(pk=made[7].pk).update(hidden_at=now, hidden_reason="spam")
    Message.objects.filter(pk__in=pks(made[:6])).update(read_at=now)
    MessageFactory(sender=carol, recipient=alice)
    anchors = ["newest", "first_unread", *range(made[0].pk - 2, made[-1].pk + 3)]
    for user, other in ((alice, bob), (bob, alice)):
        for anchor in anchors:
            for before, after in ((0, 0), (1, 2), (4, 0), (0, 5), (100, 100)):
                got = selectors.thread_window(user=user, other=other, anchor=anchor, num_before=before, num_after=after)
                assert (
                    pks(got.messages),
                    got.anchor,
                    got.found_anchor,
                    got.found_oldest,
                    got.found_newest,
                ) == expected_window(user, other, anchor, before, after), (user, anchor, before, after)


def test_a_thread_with_oneself_keeps_its_own_rule(alice):
    """Carried messages to oneself: read from the QuerySet, with the same window."""
    now = timezone.now()
    made = [
        MessageFactory(sender=alice, recipient=alice, legacy_id=i, body=f"note {i}", created_at=START + timedelta(i))
        for i in range(6)
    ]
    Message.objects.filter(pk=made[2].pk).update(sender_deleted_at=now, recipient_deleted_at=now)
    Message.objects.filter(pk__in=pks(made[:4])).update(read_at=now)
    for anchor in ("newest", "first_unread", *range(made[0].pk - 1, made[-1].pk + 2)):
        for before, after in ((0, 0), (1, 1), (10, 10)):
            got = selectors.thread_window(user=alice, other=alice, anchor=anchor, num_before=before, num_after=after)
            expected = expected_window(alice, alice, anchor, before, after)
            assert (pks(got.messages), got.anchor, got.found_anchor, got.found_oldest, got.found_newest) == expected
    assert selectors.thread_window(
        user=alice, other=alice, anchor="first_unread", num_before=0, num_after=0
    ).anchor == (made[4].pk)
