"""Editing on the pages without JavaScript: the message menu's Edit opens a page whose form posts the new body
and goes back to the thread; the thread says "edited", with the edit's exact time on hover. edit.js opens the
same form inline (`test_edit_browser.py`)."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from messaging import services
from messaging.models import Message, MessageEdit
from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def edit_link(message) -> str:
    return f'href="/inbox/messages/{message.pk}/edit/" data-edit'


def test_the_menu_offers_edit_on_own_messages_within_the_window_only(alice, bob, settings):
    settings.MESSAGING_EDIT_WINDOW_SECONDS = 3600
    mine = services.send_message(sender=alice, recipient_id=bob.pk, body="mine, new")
    theirs = services.send_message(sender=bob, recipient_id=alice.pk, body="theirs")
    old = MessageFactory(sender=alice, recipient=bob, created_at=timezone.now() - timedelta(hours=2))
    page = page_client(alice).get(f"/inbox/with/{bob.pk}/").content.decode()
    assert edit_link(mine) in page
    assert edit_link(theirs) not in page and edit_link(old) not in page
    settings.MESSAGING_EDIT_WINDOW_SECONDS = 0  # no limit: the old one too
    assert edit_link(old) in page_client(alice).get(f"/inbox/with/{bob.pk}/").content.decode()


def test_the_edit_page_saves_and_goes_back_to_the_thread_which_says_edited(alice, bob):
    sent = services.send_message(sender=alice, recipient_id=bob.pk, body="Lunch at noon?")
    client = page_client(alice)
    form = client.get(f"/inbox/messages/{sent.pk}/edit/")
    assert form.status_code == 200
    html = form.content.decode()
    assert "data-edit-form" in html and "Lunch at noon?</textarea>" in html
    assert 'id="id_edit_body"' in html  # not the composer's id: with the script it opens beside the composer
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token

    response = client.post(f"/inbox/messages/{sent.pk}/edit/", {"body": "Lunch at one?\r\nSame place."})
    assert response.status_code == 302 and response["Location"] == f"/inbox/with/{bob.pk}/#message-{sent.pk}"
    stored = Message.objects.get(pk=sent.pk)
    assert stored.body == "Lunch at one?\nSame place." and stored.edited_at is not None  # the API's line breaks
    assert list(MessageEdit.objects.values_list("body", flat=True)) == ["Lunch at noon?"]

    for reader in (alice, bob):
        thread = page_client(reader).get(f"/inbox/with/{alice.pk if reader == bob else bob.pk}/").content.decode()
        assert "Lunch at one?<br>Same place." in thread and "Lunch at noon?" not in thread
        mark = re.search(r'<time class="edited" datetime="([^"]+)" title="Edited ([^"]+)">edited</time>', thread)
        assert mark, thread
        assert mark.group(2).endswith("(UTC)") and str(stored.edited_at.year) in mark.group(2)


def test_a_refused_edit_shows_the_form_again_with_the_reason(alice, bob):
    sent = services.send_message(sender=alice, recipient_id=bob.pk, body="keep me")
    response = page_client(alice).post(f"/inbox/messages/{sent.pk}/edit/", {"body": "   "})
    assert response.status_code == 400
    assert services.EMPTY_MESSAGE_ERROR in response.content.decode()
    assert Message.objects.get(pk=sent.pk).body == "keep me"


def test_after_the_window_the_edit_page_sends_back_to_the_thread_saying_so(alice, bob):
    old = MessageFactory(sender=alice, recipient=bob, body="old", created_at=timezone.now() - timedelta(hours=2))
    client = page_client(alice)
    response = client.get(f"/inbox/messages/{old.pk}/edit/", follow=True)
    assert response.redirect_chain[0][0] == f"/inbox/with/{bob.pk}/#message-{old.pk}"
    assert "can no longer be edited" in response.content.decode()
    refused = client.post(f"/inbox/messages/{old.pk}/edit/", {"body": "late"})
    assert refused.status_code == 400 and "can no longer be edited" in refused.content.decode()
    assert Message.objects.get(pk=old.pk).body == "old"


def test_another_persons_message_is_403_and_one_not_seen_404(alice, bob, carol):
    sent = services.send_message(sender=alice, recipient_id=bob.pk, body="alice's")
    assert page_client(bob).get(f"/inbox/messages/{sent.pk}/edit/").status_code == 403
    assert page_client(bob).post(f"/inbox/messages/{sent.pk}/edit/", {"body": "bob's now"}).status_code == 403
    assert page_client(carol).get(f"/inbox/messages/{sent.pk}/edit/").status_code == 404
    assert page_client(carol).post(f"/inbox/messages/{sent.pk}/edit/", {"body": "carol's"}).status_code == 404
    assert Message.objects.get(pk=sent.pk).body == "alice's"
