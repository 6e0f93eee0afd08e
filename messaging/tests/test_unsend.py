"""Unsend (delete for everyone): `DELETE /api/messages/{id}?for=everyone` by the sender, within the window.

The message disappears for both people on every surface of the new API (the message, the thread and its
anchored read, the conversation list, search, the unread counts, the summary), a reply to it says it was
unsent, both parties' event logs get `message.deleted` `{id, for: "everyone"}`, and moderators still see it.
The plain `DELETE` still deletes for the caller only.
"""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from messaging import conversations, selectors, services
from messaging.models import Message
from messaging.tests.factories import MessageFactory
from tests.helpers import delivered, read_all

pytestmark = pytest.mark.django_db


def unsend(client, message_id, **query):
    params = "&".join(f"{key}={value}" for key, value in {"for": "everyone", **query}.items())
    return client.delete(f"/api/messages/{message_id}?{params}")


@pytest.fixture
def sent(alice, bob):
    """alice's message to bob, unread, with bob's earlier one that alice read."""
    MessageFactory(sender=bob, recipient=alice, body="earlier from bob", read_at=timezone.now())
    return MessageFactory(sender=alice, recipient=bob, body="oops, wrong person")


def test_the_sender_unsends_and_it_is_gone_for_both_on_every_api_surface(alice_client, bob_client, alice, bob, sent):
    assert bob_client.get("/api/messages/unread-count").json() == {"unread_count": 1, "badge_count": 1}
    assert unsend(alice_client, sent.pk).status_code == 204

    for client, other in ((alice_client, bob), (bob_client, alice)):
        assert client.get(f"/api/messages/{sent.pk}").status_code == 404
        thread = client.get(f"/api/messages/with/{other.pk}").json()["results"]
        assert sent.pk not in [m["id"] for m in thread]
        window = client.get(f"/api/messages/with/{other.pk}?anchor={sent.pk}").json()
        assert sent.pk not in [m["id"] for m in window["messages"]] and window["found_anchor"] is False
        (conversation,) = client.get("/api/messages/conversations").json()["results"]
        assert conversation["last_message"]["body"] == "earlier from bob"
        assert client.post("/api/messages/search", {"query": "wrong person"}, format="json").json()["count"] == 0
    assert bob_client.get("/api/messages/unread-count").json() == {"unread_count": 0, "badge_count": 0}
    assert bob_client.get("/api/messages/conversations").json()["results"][0]["unread_count"] == 0
    assert conversations.verify() == []  # the summary's triggers followed

    stored = Message.objects.get(pk=sent.pk)  # moderators' view: the row, its body and the marker
    assert stored.body == "oops, wrong person" and stored.unsent_at is not None
    assert stored.sender_deleted_at == stored.recipient_deleted_at == stored.unsent_at == stored.updated_at


def test_a_recipients_earlier_delete_keeps_its_time(bob, alice, sent):
    services.delete_for_user(user=bob, message_id=sent.pk)
    before = Message.objects.get(pk=sent.pk).recipient_deleted_at
    assert services.unsend_message(user=alice, message_id=sent.pk) is True
    stored = Message.objects.get(pk=sent.pk)
    assert stored.recipient_deleted_at == before and stored.sender_deleted_at == stored.unsent_at > before


def test_the_plain_delete_and_for_me_still_delete_for_the_caller_only(alice_client, bob_client, sent):
    assert alice_client.delete(f"/api/messages/{sent.pk}?for=me").status_code == 204
    assert alice_client.get(f"/api/messages/{sent.pk}").status_code == 404
    assert bob_client.get(f"/api/messages/{sent.pk}").status_code == 200
    assert bob_client.delete(f"/api/messages/{sent.pk}").status_code == 204
    stored = Message.objects.get(pk=sent.pk)
    assert stored.unsent_at is None and stored.sender_deleted_at and stored.recipient_deleted_at


@pytest.mark.parametrize("value", ["all", "", "EVERYONE", "me,everyone"])
def test_any_other_for_is_a_400_naming_the_parameter(alice_client, sent, value):
    response = alice_client.delete(f"/api/messages/{sent.pk}?for={value}")
    assert response.status_code == 400
    assert response.json() == {"for": ["Must be `me` or `everyone`."]}
    assert Message.objects.get(pk=sent.pk).sender_deleted_at is None


def test_the_recipient_gets_403_and_a_stranger_404(bob_client, carol_client, sent):
    refused = unsend(bob_client, sent.pk)
    assert refused.status_code == 403 and "Only the sender" in refused.json()["detail"]
    assert unsend(carol_client, sent.pk).status_code == 404
    assert unsend(carol_client, 999_999_999).status_code == 404
    assert Message.objects.get(pk=sent.pk).unsent_at is None


def test_past_the_window_it_is_a_400_saying_so(alice_client, alice, bob, settings):
    settings.MESSAGING_UNSEND_WINDOW_SECONDS = 3600
    old = MessageFactory(sender=alice, recipient=bob, created_at=timezone.now() - timedelta(seconds=3601))
    recent = MessageFactory(sender=alice, recipient=bob, created_at=timezone.now() - timedelta(seconds=3500))
    response = unsend(alice_client, old.pk)
    assert response.status_code == 400
    assert response.json() == {
        "id": ["This message was sent more than 1 hour ago: it can no longer be unsent, only deleted for you."]
    }
    assert unsend(alice_client, recent.pk).status_code == 204
    settings.MESSAGING_UNSEND_WINDOW_SECONDS = 0  # no limit
    assert unsend(alice_client, old.pk).status_code == 204


def test_unsending_again_is_204_for_the_sender_and_changes_nothing(alice_client, bob_client, alice, sent):
    """A client that retries after a lost answer is told it is done (DELETE's state is reached); the marks keep
    the first time. Anyone else still gets the 404 of a message they do not see."""
    assert unsend(alice_client, sent.pk).status_code == 204
    first = Message.objects.get(pk=sent.pk).unsent_at
    assert unsend(alice_client, sent.pk).status_code == 204
    assert services.unsend_message(user=alice, message_id=sent.pk) is False
    assert Message.objects.get(pk=sent.pk).unsent_at == first
    assert unsend(bob_client, sent.pk).status_code == 404
    assert alice_client.delete(f"/api/messages/{sent.pk}").status_code == 404  # deleting it for oneself: gone


def test_a_message_the_sender_deleted_for_themselves_cannot_be_unsent(alice, sent):
    services.delete_for_user(user=alice, message_id=sent.pk)
    with pytest.raises(Http404):
        services.unsend_message(user=alice, message_id=sent.pk)


def test_a_hidden_message_cannot_be_unsent(alice, sent, moderator):
    services.hide_messages(moderator=moderator, messages=[sent], reason="spam")
    with pytest.raises(Http404):
        services.unsend_message(user=alice, message_id=sent.pk)


def test_the_services_errors(alice, bob, sent, settings):
    with pytest.raises(PermissionDenied):
        services.unsend_message(user=bob, message_id=sent.pk)
    settings.MESSAGING_UNSEND_WINDOW_SECONDS = 90
    Message.objects.filter(pk=sent.pk).update(created_at=timezone.now() - timedelta(minutes=2))
    with pytest.raises(ValidationError, match="more than 90 seconds ago"):
        services.unsend_message(user=alice, message_id=sent.pk)


def test_a_reply_to_an_unsent_message_says_so(alice_client, bob_client, alice, bob, sent):
    reply = MessageFactory(sender=bob, recipient=alice, body="what?", reply_to=sent)
    quoted = bob_client.get(f"/api/messages/{reply.pk}").json()["reply_to"]
    assert quoted == {"id": sent.pk, "sender_id": alice.pk, "body_preview": "oops, wrong person", "unsent": False}
    assert unsend(alice_client, sent.pk).status_code == 204
    for client in (alice_client, bob_client):
        quoted = client.get(f"/api/messages/{reply.pk}").json()["reply_to"]
        assert quoted == {"id": sent.pk, "sender_id": alice.pk, "body_preview": None, "unsent": True}
        thread = client.get(f"/api/messages/with/{bob.pk if client is alice_client else alice.pk}").json()
        assert [m["reply_to"] for m in thread["results"] if m["id"] == reply.pk][0]["unsent"] is True


def test_both_parties_are_told_and_the_recipients_count_changes(
    events_broker, alice, bob, carol, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.unsend_message(user=alice, message_id=sent.pk)
    assert delivered(events_broker, bob) == [
        ("message.deleted", {"id": sent.pk, "for": "everyone"}),
        ("unread_count", {"unread_count": 0, "badge_count": 0}),
    ]
    assert delivered(events_broker, alice) == [("message.deleted", {"id": sent.pk, "for": "everyone"})]
    assert read_all(events_broker, carol.pk) == []
    with django_capture_on_commit_callbacks(execute=True):  # again: nothing changes, nobody is told
        services.unsend_message(user=alice, message_id=sent.pk)
    assert len(read_all(events_broker, alice.pk)) == 1 and len(read_all(events_broker, bob.pk)) == 2


def test_a_recipient_who_had_deleted_it_is_not_told(
    events_broker, alice, bob, sent, django_capture_on_commit_callbacks
):
    services.delete_for_user(user=bob, message_id=sent.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.unsend_message(user=alice, message_id=sent.pk)
    assert [e.type for e in read_all(events_broker, bob.pk)] == ["unread_count"]
    assert [e.data for e in read_all(events_broker, alice.pk)] == [{"id": sent.pk, "for": "everyone"}]


def test_an_unsent_message_announced_before_is_never_delivered(
    events_broker, alice, bob, django_capture_on_commit_callbacks
):
    """A stream that reads the log after the unsend never shows the message it announced."""
    with django_capture_on_commit_callbacks(execute=True):
        message = services.send_message(sender=alice, recipient_id=bob.pk, body="gone before you look")
        services.unsend_message(user=alice, message_id=message.pk)
    shown = delivered(events_broker, bob)
    assert ("message.deleted", {"id": message.pk, "for": "everyone"}) in shown
    assert all(kind != "message.created" for kind, _ in shown)
    assert not selectors.visible_messages(user=bob).filter(pk=message.pk).exists()


def test_moderators_still_see_it_marked_unsent_with_its_body(mod_client, alice, bob, sent):
    """So abuse cannot be erased: the list's `unsent` column and filter, the page's marker and body."""
    kept = MessageFactory(sender=bob, recipient=alice, body="still here")
    services.unsend_message(user=alice, message_id=sent.pk)
    listed = mod_client.get("/admin/messaging/message/?unsent=yes")
    assert listed.status_code == 200
    assert [m.pk for m in listed.context["cl"].result_list] == [sent.pk]
    html = listed.content.decode()
    assert "oops, wrong person" in html and '<td class="field-unsent">unsent</td>' in html
    not_unsent = mod_client.get("/admin/messaging/message/?unsent=no").context["cl"].result_list
    assert sent.pk not in [m.pk for m in not_unsent] and kept.pk in [m.pk for m in not_unsent]
    page = mod_client.get(f"/admin/messaging/message/{sent.pk}/change/").content.decode()
    assert "oops, wrong person" in page
    assert re.search(r"Deleted by:</label>\s*<div class=\"readonly\">both: the sender unsent it</div>", page)
    assert re.search(r"Unsent at:</label>\s*<div class=\"readonly\">\w+", page)


# --- The pages ---------------------------------------------------------------------------------------------


@pytest.fixture
def alice_web(client, alice):
    client.force_login(alice)
    return client


def menu_of(html: str, message_id: int) -> str:
    item = re.search(rf'<li id="message-{message_id}".*?</details>', html, flags=re.S)
    assert item, html
    return item.group()


def test_the_menu_offers_unsend_for_own_messages_within_the_window(alice_web, alice, bob, sent, settings):
    settings.MESSAGING_UNSEND_WINDOW_SECONDS = 3600
    old = MessageFactory(sender=alice, recipient=bob, body="long ago", created_at=timezone.now() - timedelta(hours=2))
    theirs = Message.objects.get(sender=bob)
    html = alice_web.get(f"/inbox/with/{bob.pk}/").content.decode()
    assert f'href="/inbox/messages/{sent.pk}/unsend/"' in menu_of(html, sent.pk)
    assert "/unsend/" not in menu_of(html, old.pk) and "/unsend/" not in menu_of(html, theirs.pk)


def test_unsend_on_the_pages_asks_first_then_removes_it_for_both(alice_web, client, alice, bob, sent):
    confirm = alice_web.get(f"/inbox/messages/{sent.pk}/unsend/")
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Unsend this message to bob?" in html and "oops, wrong person" in html
    assert f'<form method="post" action="/inbox/messages/{sent.pk}/unsend/"' in html
    assert Message.objects.get(pk=sent.pk).unsent_at is None  # asking changes nothing

    done = alice_web.post(f"/inbox/messages/{sent.pk}/unsend/")
    assert done.status_code == 302 and done.url.startswith(f"/inbox/with/{bob.pk}/")
    assert Message.objects.get(pk=sent.pk).unsent_at is not None
    page = alice_web.get(done.url).content.decode()
    assert "Message unsent: it is gone for you and for bob." in page and "oops, wrong person" not in page
    client.force_login(bob)
    assert "oops, wrong person" not in client.get(f"/inbox/with/{alice.pk}/").content.decode()
    assert client.get(f"/inbox/messages/{sent.pk}/unsend/").status_code == 404


def test_a_refused_unsend_goes_back_to_the_message_saying_why(client, alice, bob, sent, settings):
    client.force_login(bob)
    for response in (
        client.get(f"/inbox/messages/{sent.pk}/unsend/"),
        client.post(f"/inbox/messages/{sent.pk}/unsend/"),
    ):
        assert response.status_code == 302 and response.url == f"/inbox/with/{alice.pk}/#message-{sent.pk}"
    assert "Only the sender can unsend" in client.get(f"/inbox/with/{alice.pk}/").content.decode()
    settings.MESSAGING_UNSEND_WINDOW_SECONDS = 60
    Message.objects.filter(pk=sent.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    client.force_login(alice)
    response = client.post(f"/inbox/messages/{sent.pk}/unsend/")
    assert response.status_code == 302
    assert "more than 1 minute ago" in client.get(response.url).content.decode()
    assert Message.objects.get(pk=sent.pk).unsent_at is None


def test_a_reply_on_the_page_says_the_original_was_unsent(client, alice, bob, sent):
    reply = MessageFactory(sender=bob, recipient=alice, body="what?", reply_to=sent)
    services.unsend_message(user=alice, message_id=sent.pk)
    for viewer, other in ((alice, bob), (bob, alice)):
        client.force_login(viewer)
        item = menu_of(client.get(f"/inbox/with/{other.pk}/").content.decode(), reply.pk)
        assert "Original message removed: its sender unsent it." in item and "oops" not in item


@pytest.mark.django_db(transaction=True)
def test_concurrent_unsends_of_one_message_unsend_it_once(settings):
    """A client's retries racing each other, and the recipient deleting it for themselves meanwhile: one unsend
    changes the row (and tells both people), the others are answered as done; the summary stays exact."""
    from messaging import broker as broker_module
    from tests.helpers import run_at_once
    from users.tests.factories import UserFactory

    settings.REDIS_URL = ""
    broker_module.reset_broker()
    alice, bob = UserFactory(), UserFactory()
    message = services.send_message(sender=alice, recipient_id=bob.pk, body="twice, three times")

    def work(index):
        if index == 0:
            return services.delete_for_user(user=bob, message_id=message.pk)
        return services.unsend_message(user=alice, message_id=message.pk)

    results, errors = run_at_once(work, 5)
    assert errors == [] or all(isinstance(error, Http404) for error in errors)  # bob's delete may come too late
    assert sorted(result for result in results[1:] if result is not None) == [False, False, False, True]
    stored = Message.objects.get(pk=message.pk)
    assert stored.unsent_at is not None and stored.sender_deleted_at and stored.recipient_deleted_at
    unsent_events = [e for e in read_all(broker_module.broker(), alice.pk) if e.type == "message.deleted"]
    assert [e.data for e in unsent_events] == [{"id": message.pk, "for": "everyone"}]
    assert conversations.verify() == []
    broker_module.reset_broker()
