"""Mute a conversation (issue 16): its messages still arrive and count as unread, but not toward the badge.

Through the API (APIClient), the services, the live events and the pages (Django's test client); the browser
flow is in test_pages_browser.py.
"""

import pytest
from django.urls import reverse

from messaging import selectors, services
from messaging.models import ConversationMute
from messaging.tests.factories import MessageFactory
from tests.helpers import delivered, read_all

pytestmark = pytest.mark.django_db


def counts(client) -> dict:
    return client.get("/api/messages/unread-count").json()


def muted_rows(client) -> dict[int, bool]:
    rows = client.get("/api/messages/conversations").json()["results"]
    return {row["participant"]["id"]: row["muted"] for row in rows}


def test_a_muted_conversation_counts_as_unread_but_not_in_the_badge(alice, bob, carol, alice_client, bob_client):
    MessageFactory.create_batch(2, sender=bob, recipient=alice)
    MessageFactory(sender=carol, recipient=alice)
    assert counts(alice_client) == {"unread_count": 3, "badge_count": 3}

    response = alice_client.put(f"/api/messages/with/{bob.pk}/mute")
    assert response.status_code == 200 and response.json() == {"user_id": bob.pk, "muted": True}
    assert counts(alice_client) == {"unread_count": 3, "badge_count": 1}
    assert muted_rows(alice_client) == {bob.pk: True, carol.pk: False}

    # Bob's messages still arrive, listed and unread; only the badge leaves them out.
    bob_client.post("/api/messages/send", {"recipient_id": alice.pk, "body": "still here"}, format="json")
    assert counts(alice_client) == {"unread_count": 4, "badge_count": 1}
    rows = alice_client.get("/api/messages/conversations").json()["results"]
    assert rows[0]["participant"]["id"] == bob.pk and rows[0]["unread_count"] == 3
    # A mute is the muting user's own: bob's counts and list are untouched.
    assert muted_rows(bob_client) == {alice.pk: False}

    # Reading the muted conversation changes the unread count only; unmuting brings the rest back.
    alice_client.put(f"/api/messages/mark-conversation-read/{bob.pk}")
    assert counts(alice_client) == {"unread_count": 1, "badge_count": 1}
    bob_client.post("/api/messages/send", {"recipient_id": alice.pk, "body": "again"}, format="json")
    assert alice_client.delete(f"/api/messages/with/{bob.pk}/mute").status_code == 204
    assert counts(alice_client) == {"unread_count": 2, "badge_count": 2}
    assert muted_rows(alice_client)[bob.pk] is False


def test_mute_and_unmute_are_idempotent_and_need_no_message_yet(alice, bob, alice_client):
    for _ in range(2):
        assert alice_client.put(f"/api/messages/with/{bob.pk}/mute/").status_code == 200
    assert ConversationMute.objects.filter(user=alice, partner=bob).count() == 1
    for _ in range(2):
        assert alice_client.delete(f"/api/messages/with/{bob.pk}/mute").status_code == 204
    assert not ConversationMute.objects.exists()


def test_mute_refuses_oneself_an_unknown_user_and_anonymous_callers(alice, alice_client, client):
    response = alice_client.put(f"/api/messages/with/{alice.pk}/mute")
    assert response.status_code == 400 and "yourself" in response.content.decode()
    assert alice_client.put("/api/messages/with/999999/mute").status_code == 404
    assert alice_client.delete("/api/messages/with/999999/mute").status_code == 404
    assert client.put("/api/messages/with/1/mute").status_code == 401
    assert not ConversationMute.objects.exists()


def test_a_conversation_deleted_while_muted_stays_muted_when_it_comes_back(alice, bob, alice_client, bob_client):
    MessageFactory(sender=bob, recipient=alice)
    alice_client.put(f"/api/messages/with/{bob.pk}/mute")
    alice_client.delete(f"/api/messages/with/{bob.pk}")
    assert counts(alice_client) == {"unread_count": 0, "badge_count": 0}
    bob_client.post("/api/messages/send", {"recipient_id": alice.pk, "body": "back"}, format="json")
    assert counts(alice_client) == {"unread_count": 1, "badge_count": 0}
    assert muted_rows(alice_client) == {bob.pk: True}


def test_the_counts_are_one_query_with_or_without_mutes(alice, bob, carol, django_assert_num_queries):
    MessageFactory.create_batch(3, sender=bob, recipient=alice)
    MessageFactory(sender=carol, recipient=alice)
    with django_assert_num_queries(1):
        assert selectors.unread_counts(user=alice) == selectors.UnreadCounts(unread=4, badge=4)
    services.mute_conversation(user=alice, other_id=bob.pk)
    services.mute_conversation(user=alice, other_id=carol.pk)
    with django_assert_num_queries(1):
        assert selectors.unread_counts(user=alice) == selectors.UnreadCounts(unread=4, badge=0)
    with django_assert_num_queries(1):
        assert selectors.unread_counts(user=bob) == selectors.UnreadCounts(unread=0, badge=0)  # no totals row


def test_muting_tells_the_users_streams_the_new_badge(events_broker, alice, bob, django_capture_on_commit_callbacks):
    MessageFactory.create_batch(2, sender=bob, recipient=alice)
    with django_capture_on_commit_callbacks(execute=True):
        services.mute_conversation(user=alice, other_id=bob.pk)
        services.mute_conversation(user=alice, other_id=bob.pk)  # no change: no event
    assert delivered(events_broker, alice) == [("unread_count", {"unread_count": 2, "badge_count": 0})]
    with django_capture_on_commit_callbacks(execute=True):
        services.send_message(sender=bob, recipient_id=alice.pk, body="muted, still delivered")
    assert delivered(events_broker, alice)[-1] == ("unread_count", {"unread_count": 3, "badge_count": 0})
    with django_capture_on_commit_callbacks(execute=True):
        services.unmute_conversation(user=alice, other_id=bob.pk)
    logged = [e.type for e in read_all(events_broker, alice.pk)][1:]
    assert logged == ["message.created", "unread_count", "unread_count"]
    assert delivered(events_broker, alice)[-1] == ("unread_count", {"unread_count": 3, "badge_count": 3})
    assert read_all(events_broker, bob.pk)[-1].type == "message.created"  # bob hears nothing of the mute


# --- The pages -------------------------------------------------------------------------------------------------


def test_the_thread_page_mutes_and_unmutes_and_the_nav_badge_follows(alice, bob, carol, client):
    MessageFactory.create_batch(2, sender=bob, recipient=alice)
    MessageFactory(sender=carol, recipient=alice)
    client.force_login(alice)
    inbox = client.get("/inbox/").content.decode()
    assert "<title>(3) Inbox" in inbox and "data-muted" not in inbox

    response = client.post(reverse("messaging-web:mute", args=[bob.pk]), {"action": "mute"}, follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == f"/inbox/with/{bob.pk}/"
    assert "their messages still arrive, but not in your badge" in page
    assert 'name="action" value="unmute"' in page
    # The thread marked bob's messages read; a new one counts in the list, not in the nav.
    services.send_message(sender=bob, recipient_id=alice.pk, body="hello?")
    inbox = client.get("/inbox/").content.decode()
    assert "<title>(1) Inbox" in inbox  # carol's only
    assert f'href="/inbox/with/{bob.pk}/"\n             data-unread="1" data-muted' in inbox
    assert "Muted</span>" in inbox

    response = client.post(reverse("messaging-web:mute", args=[bob.pk]), {"action": "unmute"}, follow=True)
    page = response.content.decode()
    assert "no longer muted" in page and 'name="action" value="mute"' in page
    assert not ConversationMute.objects.exists()
    services.send_message(sender=bob, recipient_id=alice.pk, body="and now?")
    assert "<title>(2) Inbox" in client.get("/inbox/").content.decode()  # bob's counts again


def test_the_mute_page_takes_posts_only_and_refuses_oneself(alice, client):
    client.force_login(alice)
    url = reverse("messaging-web:mute", args=[alice.pk])
    assert client.get(url).status_code == 405
    response = client.post(url, {"action": "mute"}, follow=True)
    assert "yourself" in response.content.decode()
    assert client.post(reverse("messaging-web:mute", args=[999999]), {"action": "mute"}).status_code == 404
    assert not ConversationMute.objects.exists()
