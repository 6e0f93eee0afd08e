"""What people ask for first (issue 16): delete a conversation, report from the pages, read-receipt privacy.

Through the API (APIClient) and the pages (Django's test client, session login); the browser flows are in
test_pages_browser.py.
"""

import pytest
from django.urls import reverse

from messaging.models import Message, MessageReport
from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def unread(client) -> int:
    return client.get("/api/messages/unread-count").json()["unread_count"]


def partners(client) -> list[int]:
    return [row["participant"]["id"] for row in client.get("/api/messages/conversations").json()["results"]]


# --- Delete a whole conversation for me ----------------------------------------------------------------------


def test_delete_conversation_leaves_my_inbox_and_comes_back_with_only_the_new_message(
    alice, bob, carol, alice_client, bob_client
):
    MessageFactory(sender=bob, recipient=alice, body="one")
    MessageFactory(sender=bob, recipient=alice, body="two")
    MessageFactory(sender=alice, recipient=bob, body="mine")
    MessageFactory(sender=carol, recipient=alice, body="carol's")
    assert unread(alice_client) == 3 and set(partners(alice_client)) == {bob.pk, carol.pk}

    assert alice_client.delete(f"/api/messages/with/{bob.pk}").status_code == 204
    assert partners(alice_client) == [carol.pk]
    assert unread(alice_client) == 1  # carol's only
    assert alice_client.get(f"/api/messages/with/{bob.pk}").json()["results"] == []
    assert len(bob_client.get(f"/api/messages/with/{alice.pk}").json()["results"]) == 3  # bob's side stays
    assert alice_client.delete(f"/api/messages/with/{bob.pk}/").status_code == 204  # again: nothing left to do

    bob_client.post("/api/messages/send", {"recipient_id": alice.pk, "body": "are you there?"}, format="json")
    assert partners(alice_client)[0] == bob.pk
    assert [m["body"] for m in alice_client.get(f"/api/messages/with/{bob.pk}").json()["results"]] == ["are you there?"]
    assert unread(alice_client) == 2


def test_delete_conversation_answers_404_for_an_unknown_user_and_401_without_a_login(alice_client, client):
    assert alice_client.delete("/api/messages/with/999999").status_code == 404
    assert client.delete("/api/messages/with/1").status_code == 401


def test_the_page_asks_then_deletes_the_conversation(alice, bob, alice_client, client):
    MessageFactory(sender=bob, recipient=alice, body="hello")
    client.force_login(alice)
    url = reverse("messaging-web:delete-conversation", args=[bob.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200 and b"Delete the conversation with" in confirm.content
    assert Message.objects.visible_to(alice).count() == 1  # asking deletes nothing
    done = client.post(url, follow=True)
    assert done.redirect_chain[-1][0] == reverse("messaging-web:inbox")
    assert b"deleted for you" in done.content
    assert Message.objects.visible_to(alice).count() == 0 and Message.objects.visible_to(bob).count() == 1
    assert client.post(reverse("messaging-web:delete-conversation", args=[999999])).status_code == 404


# --- Report from the pages --------------------------------------------------------------------------------------


def test_the_report_page_files_a_report_once(alice, bob, client):
    message = MessageFactory(sender=bob, recipient=alice, body="buy cheap watches")
    client.force_login(alice)
    url = reverse("messaging-web:report", args=[message.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"reason": ""}).status_code == 400
    done = client.post(url, {"reason": "spam"}, follow=True)
    assert b"the moderators will look at it" in done.content
    again = client.post(url, {"reason": "still spam"}, follow=True)
    assert b"You already reported it" in again.content
    report = MessageReport.objects.get()
    assert (report.message_id, report.reporter_id, report.reason) == (message.pk, alice.pk, "spam")


def test_a_message_the_caller_cannot_see_cannot_be_reported_from_the_page(alice, bob, carol, client):
    message = MessageFactory(sender=bob, recipient=carol, body="not for alice")
    client.force_login(alice)
    assert client.get(reverse("messaging-web:report", args=[message.pk])).status_code == 404
    assert client.post(reverse("messaging-web:report", args=[message.pk]), {"reason": "x"}).status_code == 404
    assert not MessageReport.objects.exists()


# --- Read-receipt privacy -------------------------------------------------------------------------------------------


def test_read_receipts_off_hides_reads_from_senders_but_not_from_the_reader(alice, bob, alice_client, bob_client):
    assert alice_client.get("/api/auth/me/").json()["read_receipts"] is True
    sent = bob_client.post("/api/messages/send", {"recipient_id": alice.pk, "body": "did you read it?"}, format="json")
    message_id = sent.json()["id"]
    alice_client.post(f"/api/messages/{message_id}/read")
    assert bob_client.get(f"/api/messages/{message_id}").json()["is_read"] is True

    response = alice_client.patch("/api/auth/me/", {"read_receipts": False}, format="json")
    assert response.status_code == 200 and response.json()["read_receipts"] is False
    seen_by_bob = bob_client.get(f"/api/messages/{message_id}").json()
    assert (seen_by_bob["read_at"], seen_by_bob["is_read"]) == (None, False)
    thread = bob_client.get(f"/api/messages/with/{alice.pk}").json()["results"]
    assert [(m["read_at"], m["is_read"]) for m in thread] == [(None, False)]
    row = bob_client.get("/api/messages/conversations").json()["results"][0]
    assert row["last_message"]["is_read"] is False
    # The reader's own view and counts stay exact.
    mine = alice_client.get(f"/api/messages/{message_id}").json()
    assert mine["is_read"] is True and mine["read_at"] is not None
    bob_client.post("/api/messages/send", {"recipient_id": alice.pk, "body": "hello?"}, format="json")
    assert unread(alice_client) == 1

    assert alice_client.patch("/api/auth/me/", {"read_receipts": True}, format="json").status_code == 200
    assert bob_client.get(f"/api/messages/{message_id}").json()["is_read"] is True


def test_me_rejects_bad_settings_with_a_400(alice_client):
    assert alice_client.patch("/api/auth/me/", {"read_receipts": "perhaps"}, format="json").status_code == 400
    assert alice_client.patch("/api/auth/me/", {"display_name": "x" * 151}, format="json").status_code == 400
    assert alice_client.patch("/api/auth/me/", {"display_name": "  Al  "}, format="json").json()["display_name"] == "Al"


def test_the_settings_page_switches_read_receipts_and_the_thread_page_follows(alice, bob, client):
    message = MessageFactory(sender=bob, recipient=alice, body="seen?")
    message.read_at = message.created_at
    message.save()
    client.force_login(bob)
    thread = reverse("messaging-web:thread", args=[alice.pk])
    assert b'<span class="read">read</span>' in client.get(thread).content

    client.force_login(alice)
    assert client.get(reverse("accounts-settings")).status_code == 200
    saved = client.post(reverse("accounts-settings"), {"display_name": "Alice L."}, follow=True)  # box unticked
    assert b"Settings saved" in saved.content
    alice.refresh_from_db()
    assert (alice.read_receipts, alice.display_name) == (False, "Alice L.")

    client.force_login(bob)
    assert b'<span class="read">read</span>' not in client.get(thread).content
