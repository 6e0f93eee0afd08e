"""Lists: conversations, threads, unread counts, search and participants, with their query counts pinned."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Message, UserBlock
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def at(minutes_ago: int):
    return timezone.now() - timedelta(minutes=minutes_ago)


# --- conversations -------------------------------------------------------------------------------------------


def test_conversations_newest_activity_first_with_last_message_and_unread(alice_client, alice, bob, carol):
    MessageFactory(sender=bob, recipient=alice, body="old from bob", created_at=at(30))
    MessageFactory(sender=alice, recipient=bob, body="reply to bob", created_at=at(20))
    MessageFactory(sender=carol, recipient=alice, body="carol 1", created_at=at(10))
    MessageFactory(sender=carol, recipient=alice, body="carol 2", created_at=at(5))
    response = alice_client.get("/api/messages/conversations")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["participant"]["username"] for row in rows] == ["carol", "bob"]
    assert [row["last_message"]["body"] for row in rows] == ["carol 2", "reply to bob"]
    assert [row["unread_count"] for row in rows] == [2, 1]
    assert rows[0]["last_activity_at"] == rows[0]["last_message"]["created_at"]
    assert set(rows[0]) == {"participant", "last_message", "unread_count", "last_activity_at", "muted"}
    assert response.json()["count"] == 2


def test_last_message_skips_deleted_and_hidden_ones(alice_client, alice, bob):
    MessageFactory(sender=bob, recipient=alice, body="visible", created_at=at(30))
    MessageFactory(sender=alice, recipient=bob, body="deleted by alice", created_at=at(20), sender_deleted_at=at(1))
    MessageFactory(sender=bob, recipient=alice, body="hidden", created_at=at(10), hidden_at=at(1), hidden_reason="x")
    row = alice_client.get("/api/messages/conversations").json()["results"][0]
    assert row["last_message"]["body"] == "visible"
    assert row["unread_count"] == 1


def test_conversations_are_paginated(alice_client, alice):
    for i in range(5):
        MessageFactory(sender=UserFactory(), recipient=alice, created_at=at(i))
    page = alice_client.get("/api/messages/conversations?page_size=2&page=2").json()
    assert page["count"] == 5 and len(page["results"]) == 2
    assert page["next"] and page["previous"]


def test_conversation_pages_count_and_end_as_a_querysets_pages_do(alice_client, alice):
    """The number of conversations comes with the page: `page=last` is the last page, a page past the end a 404,
    and without any conversation the first page is empty."""
    assert alice_client.get("/api/messages/conversations").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    partners = UserFactory.create_batch(5)
    for n, partner in enumerate(partners):
        MessageFactory(sender=partner, recipient=alice, created_at=at(10 - n))
    last = alice_client.get("/api/messages/conversations?page_size=2&page=last").json()
    assert last["count"] == 5 and last["next"] is None
    assert [row["participant"]["id"] for row in last["results"]] == [partners[0].pk]
    second = alice_client.get("/api/messages/conversations?page_size=2&page=2").json()
    assert [row["participant"]["id"] for row in second["results"]] == [partners[2].pk, partners[1].pk]
    assert alice_client.get("/api/messages/conversations?page_size=2&page=4").status_code == 404


@pytest.mark.parametrize("query", ["page_size=0", "page_size=-1", "page_size=abc", "page_size=101", "page=0", "page=x"])
def test_bad_paging_is_a_clear_4xx(alice_client, alice, bob, query):
    MessageFactory(sender=bob, recipient=alice)
    response = alice_client.get(f"/api/messages/conversations?{query}")
    assert response.status_code in (400, 404)
    assert response.json()


def test_conversations_query_count_does_not_grow(alice_client, alice, django_assert_max_num_queries):
    """30 partners and 200 messages: still one query of the page with its last messages and the count (+ auth)."""
    partners = [UserFactory() for _ in range(30)]
    messages = []
    for i in range(200):
        partner = partners[i % 30]
        sender, recipient = (alice, partner) if i % 3 else (partner, alice)
        messages.append(Message(sender=sender, recipient=recipient, body=f"m{i}", created_at=at(i)))
    Message.objects.bulk_create(messages)
    with django_assert_max_num_queries(2):
        response = alice_client.get("/api/messages/conversations?page_size=100")
    assert len(response.json()["results"]) == 30
    total_unread = sum(row["unread_count"] for row in response.json()["results"])
    assert total_unread == Message.objects.filter(recipient=alice).count()


# --- thread ---------------------------------------------------------------------------------------------------


def test_thread_is_newest_first_and_cursor_paginated(alice_client, alice, bob, carol):
    ids = [MessageFactory(sender=bob, recipient=alice, created_at=at(100 - i)).pk for i in range(7)]
    MessageFactory(sender=carol, recipient=alice)  # another conversation
    first = alice_client.get(f"/api/messages/with/{bob.pk}?page_size=3").json()
    assert [m["id"] for m in first["results"]] == ids[::-1][:3]
    second = alice_client.get(first["next"]).json()
    assert [m["id"] for m in second["results"]] == ids[::-1][3:6]
    third = alice_client.get(second["next"]).json()
    assert [m["id"] for m in third["results"]] == ids[::-1][6:]
    assert third["next"] is None


def test_thread_cursor_is_stable_for_equal_timestamps(alice_client, alice, bob):
    same_time = at(5)
    ids = {MessageFactory(sender=bob, recipient=alice, created_at=same_time).pk for _ in range(5)}
    seen, url = [], f"/api/messages/with/{bob.pk}?page_size=2"
    while url:
        page = alice_client.get(url).json()
        seen += [m["id"] for m in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(ids)


def test_thread_with_unknown_user_is_404(alice_client):
    assert alice_client.get("/api/messages/with/424242").status_code == 404


@pytest.mark.parametrize("query", ["cursor=forged", "cursor=cD0yMDI2", "page_size=1000", "page_size=nope"])
def test_thread_rejects_forged_cursors_and_bad_page_sizes(alice_client, alice, bob, query):
    MessageFactory(sender=bob, recipient=alice)
    response = alice_client.get(f"/api/messages/with/{bob.pk}?{query}")
    assert 400 <= response.status_code < 500


def test_thread_query_count_does_not_grow(alice_client, alice, bob, django_assert_max_num_queries):
    originals = [MessageFactory(sender=bob, recipient=alice, created_at=at(500 + i)) for i in range(20)]
    Message.objects.bulk_create(
        Message(sender=alice, recipient=bob, body=f"r{i}", reply_to=originals[i % 20], created_at=at(i))
        for i in range(200)
    )
    with django_assert_max_num_queries(3):
        response = alice_client.get(f"/api/messages/with/{bob.pk}?page_size=100")
    assert len(response.json()["results"]) == 100
    assert all(m["reply_to"]["body_preview"] for m in response.json()["results"])


def test_read_messages_cost_no_query_each_for_the_readers_receipt_setting(
    alice_client, alice, bob, django_assert_max_num_queries
):
    """Regression: whether a read may be shown (`read_at_for`) looked up the reader's `read_receipts` once per
    message of a page (a deferred field of the listed people): 22 queries for a 20-message thread."""
    Message.objects.bulk_create(
        Message(sender=alice, recipient=bob, body=f"m{i}", created_at=at(i), read_at=at(i + 1)) for i in range(30)
    )
    with django_assert_max_num_queries(3):
        thread = alice_client.get(f"/api/messages/with/{bob.pk}?page_size=30")
    assert [m["is_read"] for m in thread.json()["results"]] == [True] * 30
    with django_assert_max_num_queries(4):  # the token's user, the summary's count and page, last messages
        conversations = alice_client.get("/api/messages/conversations")
    assert conversations.json()["results"][0]["last_message"]["is_read"] is True


# --- unread ---------------------------------------------------------------------------------------------------


def test_unread_count_and_mark_conversation_read(alice_client, alice, bob, carol, django_assert_max_num_queries):
    MessageFactory.create_batch(3, sender=bob, recipient=alice)
    MessageFactory(sender=carol, recipient=alice)
    MessageFactory(sender=bob, recipient=alice, recipient_deleted_at=at(1))  # deleted: never unread
    MessageFactory(sender=alice, recipient=bob)  # sent: not unread for alice
    with django_assert_max_num_queries(2):
        assert alice_client.get("/api/messages/unread-count").json() == {"unread_count": 4, "badge_count": 4}
    response = alice_client.put(f"/api/messages/mark-conversation-read/{bob.pk}")
    assert response.json() == {"marked_read": 3}
    assert alice_client.put(f"/api/messages/mark-conversation-read/{bob.pk}/").json() == {"marked_read": 0}
    assert alice_client.get("/api/messages/unread-count/").json() == {"unread_count": 1, "badge_count": 1}
    assert Message.objects.filter(sender=alice, recipient=bob, read_at__isnull=True).count() == 1


def test_mark_conversation_read_for_unknown_user_is_404(alice_client):
    assert alice_client.put("/api/messages/mark-conversation-read/777777").status_code == 404


# --- search ---------------------------------------------------------------------------------------------------


def search(client, **payload):
    return client.post("/api/messages/search", payload, format="json")


def test_search_finds_visible_messages_only(alice_client, alice, bob, carol):
    mine = MessageFactory(sender=bob, recipient=alice, body="The launch plan is ready")
    MessageFactory(sender=bob, recipient=carol, body="The launch plan for carol")  # not alice's
    MessageFactory(sender=alice, recipient=bob, body="launch plan deleted", sender_deleted_at=at(1))
    response = search(alice_client, query="launch plan")
    assert response.status_code == 200
    assert [m["id"] for m in response.json()["results"]] == [mine.pk]


def test_search_filters(alice_client, alice, bob, carol):
    old = MessageFactory(sender=bob, recipient=alice, body="budget report", created_at=at(600), read_at=at(500))
    new_unread = MessageFactory(sender=bob, recipient=alice, body="budget update", created_at=at(60))
    with_file = AttachmentMessageFactory(sender=alice, recipient=carol, body="budget sheet", created_at=at(30))
    ids = lambda **f: {m["id"] for m in search(alice_client, query="budget", **f).json()["results"]}  # noqa: E731
    assert ids() == {old.pk, new_unread.pk, with_file.pk}
    assert ids(with_user_id=bob.pk) == {old.pk, new_unread.pk}
    assert ids(has_attachment=True) == {with_file.pk}
    assert ids(has_attachment=False) == {old.pk, new_unread.pk}
    assert ids(unread=True) == {new_unread.pk}
    assert ids(since=new_unread.created_at.isoformat()) == {new_unread.pk, with_file.pk}
    assert ids(until=new_unread.created_at.isoformat()) == {old.pk, new_unread.pk}  # inclusive
    assert ids(since=old.created_at.isoformat(), until=old.created_at.isoformat()) == {old.pk}


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"query": ""},
        {"query": "x" * 201},
        {"query": "a", "since": "yesterday"},
        {"query": "a", "with_user_id": "b"},
    ],
)
def test_search_rejects_bad_input(alice_client, payload):
    assert search(alice_client, **payload).status_code == 400


def test_search_query_count(alice_client, alice, bob, django_assert_max_num_queries):
    Message.objects.bulk_create(Message(sender=bob, recipient=alice, body=f"needle {i}") for i in range(200))
    with django_assert_max_num_queries(3):  # the token's user, the first ids with their count, the page
        response = search(alice_client, query="needle")
    assert response.json()["count"] == 200


def test_search_pages_cover_every_match_once_in_order(alice_client, alice, bob):
    """Pages past the matches read with the count are read on their own, in the same order."""
    Message.objects.bulk_create(
        Message(sender=bob, recipient=alice, body=f"needle {i}", created_at=at(i)) for i in range(250)
    )
    pages = [search_page(alice_client, page, query="needle") for page in (1, 2, 3)]
    assert [page["count"] for page in pages] == [250, 250, 250]
    ids = [m["id"] for page in pages for m in page["results"]]
    expected = list(
        Message.objects.filter(body__startswith="needle").order_by("-created_at", "-id").values_list("id", flat=True)
    )
    assert ids == expected  # equal ranks: newest first
    assert search_page(alice_client, 4, query="needle") is None  # past the end: 404


def search_page(client, page, **payload):
    response = client.post(f"/api/messages/search?page={page}&page_size=100", payload, format="json")
    return response.json() if response.status_code == 200 else None


def test_search_ranks_better_matches_first_then_newest(alice_client, alice, bob):
    once_new = MessageFactory(sender=bob, recipient=alice, body="the budget is fine", created_at=at(1))
    twice_old = MessageFactory(sender=bob, recipient=alice, body="budget, budget and more budgets", created_at=at(90))
    once_old = MessageFactory(sender=alice, recipient=bob, body="a budget", created_at=at(60))
    results = search(alice_client, query="budget").json()["results"]
    assert [m["id"] for m in results] == [twice_old.pk, once_new.pk, once_old.pk]


def test_search_follows_a_changed_body(alice_client, alice, bob):
    """The stored search vector is kept by the database: a changed body is found by its new words only."""
    message = MessageFactory(sender=bob, recipient=alice, body="lunch on friday")
    Message.objects.filter(pk=message.pk).update(body="dinner on saturday")
    assert search(alice_client, query="lunch").json()["count"] == 0
    assert [m["id"] for m in search(alice_client, query="dinner").json()["results"]] == [message.pk]


def test_search_follows_deletes_hides_and_unhides_for_each_side(alice, bob, carol, moderator_for_search):
    """Search finds exactly the matching messages the visibility rule lets each user see, as rows change.

    On PostgreSQL the stored vector names who may see a message (migration 0001): it must follow deletes
    and hides on either side, and a query naming its lexeme's words must not reach other users' messages.
    """
    from messaging import selectors, services

    messages = [
        MessageFactory(sender=alice, recipient=bob, body="budget review one"),
        MessageFactory(sender=bob, recipient=alice, body="budget review two"),
        MessageFactory(sender=carol, recipient=bob, body="budget review three"),
        MessageFactory(sender=alice, recipient=carol, body=f"vis {bob.pk} budget review four"),
    ]

    def expected(user, query_words):
        return {
            m.pk for m in Message.objects.all() if m.is_visible_to(user) and all(word in m.body for word in query_words)
        }

    def found(user, query):
        return {m.pk for m in selectors.search_messages(user=user, query=query, filters={})}

    def check():
        for user in (alice, bob, carol):
            assert found(user, "budget review") == expected(user, ["budget", "review"]), user.username
            assert found(user, f"vis {bob.pk}") == expected(user, ["vis", str(bob.pk)]), user.username

    check()
    services.delete_for_user(user=bob, message_id=messages[0].pk)
    services.delete_for_user(user=alice, message_id=messages[1].pk)
    check()
    services.hide_messages(moderator=moderator_for_search, messages=[messages[2]], reason="spam")
    check()
    services.unhide_messages(moderator=moderator_for_search, messages=[messages[2]])
    check()
    services.delete_conversation_for_user(user=carol, other=alice)
    check()


@pytest.mark.parametrize("query", ["the", "!", "-", "the and of", "-the", '"the"', "OR", "!!! ... ???"])
def test_search_made_only_of_stop_words_or_punctuation_matches_nothing(client, alice_client, alice, bob, query):
    """Such a query has no word to look for, so it finds nothing (it parses to an empty query).

    It must not fall back to the stored vector's visibility lexeme alone, which names every message the
    caller can see.
    """
    MessageFactory(sender=alice, recipient=bob, body="budget review")
    MessageFactory(sender=bob, recipient=alice, body="lunch plans")
    assert len(search(alice_client, query="budget").json()["results"]) == 1  # the search itself works

    response = search(alice_client, query=query)
    assert response.status_code == 200
    assert response.json()["count"] == 0 and response.json()["results"] == []
    narrowed = search(alice_client, query=query, with_user_id=bob.pk)
    assert narrowed.status_code == 200 and narrowed.json()["results"] == []

    client.force_login(alice)
    page = client.get("/inbox/search/", {"q": query}).content.decode()
    assert "budget review" not in page and "lunch plans" not in page


@pytest.fixture
def moderator_for_search(db):
    return UserFactory(username="mod", is_staff=True)


# --- participants ---------------------------------------------------------------------------------------------


def test_participants_partners_first_then_alphabetical(alice_client, alice, bob, carol):
    zed = UserFactory(username="zed", display_name="Aaron Zed")
    UserFactory(username="mia")
    UserFactory(username="inactive", is_active=False)
    blocked = UserFactory(username="blocked")
    UserBlock.objects.create(blocker=alice, blocked=blocked)
    MessageFactory(sender=alice, recipient=carol, created_at=at(50))
    MessageFactory(sender=bob, recipient=alice, created_at=at(10))
    rows = alice_client.get("/api/messages/participants").json()["results"]
    # The person Alice blocked is listed: she may still write to them.
    assert [row["username"] for row in rows] == ["bob", "carol", "zed", "blocked", "mia"]
    assert [row["has_conversation"] for row in rows] == [True, True, False, False, False]
    assert rows[2] == {
        "id": zed.pk,
        "username": "zed",
        "display_name": "Aaron Zed",
        "has_conversation": False,
        "last_activity_at": None,
    }


def test_participants_search_by_username_or_display_name(alice_client, carol):
    UserFactory(username="danvers_fan")
    found = alice_client.get("/api/messages/participants?search=danvers").json()["results"]
    assert {row["username"] for row in found} == {"danvers_fan"}
    carol.display_name = "Carol Danvers"
    carol.save()
    found = alice_client.get("/api/messages/participants?search=DANVERS").json()["results"]
    assert {row["username"] for row in found} == {"carol", "danvers_fan"}


def test_participants_query_count(alice_client, alice, django_assert_max_num_queries):
    partners = [UserFactory() for _ in range(30)]
    Message.objects.bulk_create(
        Message(sender=partners[i % 30], recipient=alice, body=f"m{i}", created_at=at(i)) for i in range(200)
    )
    UserFactory.create_batch(20)
    with django_assert_max_num_queries(3):
        response = alice_client.get("/api/messages/participants?page_size=100")
    assert response.json()["count"] == 50
    assert sum(row["has_conversation"] for row in response.json()["results"]) == 30
