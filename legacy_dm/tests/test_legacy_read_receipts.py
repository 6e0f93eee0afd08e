"""The legacy API honours read receipts as the new API does (`Message.read_at_for`, `Message.updated_at_for`):
a sender whose recipient has read receipts off never learns of a read, through `is_read`, `read_at` or an
`updated_at` the read moved; and no one learns from `updated_at` when the other party deleted their copy.
"""

import pytest

from messaging.tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def every_view_of(client, message, partner) -> list[dict]:
    """The message as each legacy endpoint shows it to `client`'s user."""
    conversation = client.post("/api/messaging/conversations", {"participant_ids": [partner.pk]}, format="json")
    conversation_id = conversation.json()["id"]
    views = [
        client.get(f"/api/direct-messages/{message.pk}").json(),
        *[m for m in client.get("/api/direct-messages/").json() if m["id"] == message.pk],
        *[m for m in client.get(f"/api/direct-messages/conversation/{partner.pk}").json() if m["id"] == message.pk],
        next(c["last_message"] for c in client.get("/api/direct-messages/conversations").json()),
        *[
            row
            for row in client.get(f"/api/messaging/conversations/{conversation_id}/messages").json()
            if row["id"] == message.pk
        ],
        client.get(f"/api/messaging/conversations/{conversation_id}").json()["last_message"],
        next(c["last_message"] for c in client.get("/api/messaging/conversations").json()),
    ]
    assert len(views) == 7 and all(view["id"] == message.pk for view in views), views
    return views


@pytest.fixture
def private_bob(bob):
    bob.read_receipts = False
    bob.save(update_fields=["read_receipts"])
    return bob


def test_a_sender_never_sees_the_read_of_a_recipient_with_read_receipts_off(
    alice_client, bob_client, alice, private_bob
):
    message = MessageFactory(sender=alice, recipient=private_bob)
    assert bob_client.put(f"/api/direct-messages/{message.pk}/read").json()["is_read"] is True
    for view in every_view_of(alice_client, message, private_bob):
        assert view["is_read"] is False, view
        if "read_at" in view:  # the direct-messages shape; conversation rows have is_read only
            assert view["read_at"] is None, view
            assert view["updated_at"] is None, view  # the read was the only change
    # The recipient sees their own read.
    for view in every_view_of(bob_client, message, alice):
        assert view["is_read"] is True, view
        if "read_at" in view:
            assert view["read_at"] is not None and view["updated_at"] == view["read_at"]


def test_a_sender_sees_the_read_of_a_recipient_who_shares_it(alice_client, bob_client, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob)
    bob_client.put(f"/api/direct-messages/{message.pk}/read")
    for view in every_view_of(alice_client, message, bob):
        assert view["is_read"] is True, view
        if "read_at" in view:
            assert view["read_at"] is not None and view["updated_at"] == view["read_at"]


@pytest.mark.parametrize("receipts", [True, False])
def test_the_recipients_delete_of_their_copy_does_not_show_in_updated_at(
    alice_client, bob_client, alice, bob, receipts
):
    bob.read_receipts = receipts
    bob.save(update_fields=["read_receipts"])
    unread = MessageFactory(sender=alice, recipient=bob)
    read = MessageFactory(sender=alice, recipient=bob)
    read_at = bob_client.put(f"/api/direct-messages/{read.pk}/read").json()["read_at"]
    for message in (unread, read):
        assert bob_client.delete(f"/api/direct-messages/{message.pk}").status_code == 200
    assert alice_client.get(f"/api/direct-messages/{unread.pk}").json()["updated_at"] is None
    after_delete = alice_client.get(f"/api/direct-messages/{read.pk}").json()
    assert after_delete["updated_at"] == (read_at if receipts else None)
    assert after_delete["read_at"] == (read_at if receipts else None)


def test_the_conversation_read_endpoints_follow_the_setting_too(alice_client, bob_client, alice, private_bob):
    message = MessageFactory(sender=alice, recipient=private_bob)
    assert bob_client.put(f"/api/direct-messages/conversation/{alice.pk}/read").json() == {"marked_read": 1}
    shown = alice_client.get(f"/api/direct-messages/{message.pk}").json()
    assert (shown["is_read"], shown["read_at"], shown["updated_at"]) == (False, None, None)


def test_the_settings_page_names_the_one_exception(client, bob):
    """Old servers during a live sync show reads as they always did: the setting's page says so."""
    client.force_login(bob)
    page = client.get("/accounts/settings/").content.decode()
    assert "old API alike" in page and "old messaging servers" in page


@pytest.mark.parametrize("receipts", [True, False])
def test_an_edit_shows_in_updated_at_whatever_private_change_came_after(alice_client, bob_client, alice, bob, receipts):
    """An edit is its sender's change, known to both: it stays the `updated_at` they see when the last change is
    one the viewer may not know of (the recipient's private read, their delete of their copy)."""
    bob.read_receipts = receipts
    bob.save(update_fields=["read_receipts"])
    message = MessageFactory(sender=alice, recipient=bob, body="draft")
    edited_at = alice_client.patch(f"/api/messages/{message.pk}", {"body": "final"}, format="json").json()["edited_at"]
    for client, partner in ((alice_client, bob), (bob_client, alice)):
        for view in every_view_of(client, message, partner):
            assert view["content"] == "final", view
            if "updated_at" in view:  # the direct-messages shape
                assert view["updated_at"] == edited_at.removesuffix("Z"), view
    read_at = bob_client.put(f"/api/direct-messages/{message.pk}/read").json()["read_at"]
    assert alice_client.get(f"/api/direct-messages/{message.pk}").json()["updated_at"] == (
        read_at if receipts else edited_at.removesuffix("Z")
    )
    assert bob_client.delete(f"/api/direct-messages/{message.pk}").status_code == 200
    assert alice_client.get(f"/api/direct-messages/{message.pk}").json()["updated_at"] == (
        read_at if receipts else edited_at.removesuffix("Z")
    )
