"""End to end: the old tables, `migrate`, then the legacy API serves every carried row as the old service did.

Uses the old database of the data-migration tests (the `old_database` fixture of `conftest.py`: raw SQL old
tables with every messy case, from `old_data.py`). What the old service showed is computed from the old row
itself; the only differences are the ones data-migration.md decides: NULL content becomes "", a read row
without `read_at` gets one, a file without a name gets one.
"""

from datetime import datetime

import pytest
from django.core.management import call_command

from users.tests.factories import client_for

from .conftest import assert_dm_shape, assert_row_shape
from .old_data import OLD_CONVERSATIONS, OLD_MESSAGES, OLD_USERS

pytestmark = pytest.mark.django_db(transaction=True)

ACTIVE_USERS = {row[0] for row in OLD_USERS if row[5]}  # the others cannot log in any more


def old_time(text):
    """What the old service printed for a naive timestamp: `datetime.isoformat()`."""
    return None if text is None else datetime.fromisoformat(text).isoformat()


def test_every_carried_message_is_served_in_the_old_shape(old_database):
    from users.models import User

    call_command("migrate", fake_initial=True, verbosity=0)
    served = 0
    for row in OLD_MESSAGES:
        (id_, sender, receiver, _, content, data, name, type_, reply_to, is_read, read_at, by_sender, by_receiver) = (
            row[:13]
        )
        created_at, updated_at = row[13], row[14]
        viewer = receiver if receiver in ACTIVE_USERS and not by_receiver else sender
        if viewer not in ACTIVE_USERS or (viewer == sender and by_sender):
            continue
        response = client_for(User.objects.get(pk=viewer)).get(f"/api/direct-messages/{id_}")
        assert response.status_code == 200, (id_, response.content)
        dm = response.json()
        assert_dm_shape(dm)
        assert (dm["id"], dm["sender_id"], dm["receiver_id"]) == (id_, sender, receiver)
        assert dm["content"] == (content or "")
        assert dm["reply_to_id"] == reply_to
        assert dm["is_read"] is is_read
        if read_at is not None:
            assert dm["read_at"] == old_time(read_at)
        assert dm["created_at"] == old_time(created_at)
        if not (by_sender or by_receiver):
            assert dm["updated_at"] == old_time(updated_at)
        assert dm["has_attachment"] is (data is not None)
        if data is not None:
            if name:
                assert dm["file_name"] == name
            download = client_for(User.objects.get(pk=viewer)).get(f"/api/direct-messages/{id_}/attachment")
            assert download.status_code == 200 and download.content == bytes(data)
        else:
            assert dm["file_name"] == name and dm["file_type"] is None
        served += 1
    assert served == len(OLD_MESSAGES) - 1  # all but the note to self of carol, who can no longer log in


def test_old_conversation_ids_still_name_their_pair(old_database):
    from users.models import User

    call_command("migrate", fake_initial=True, verbosity=0)
    alice, dave = User.objects.get(pk=1), User.objects.get(pk=4)
    conversation = client_for(alice).get("/api/messaging/conversations/1")
    assert conversation.status_code == 200
    assert [p["id"] for p in conversation.json()["participants"]] == sorted(OLD_CONVERSATIONS[1])
    messages = client_for(alice).get("/api/messaging/conversations/1/messages").json()
    for row in messages:
        assert_row_shape(row)
        assert row["conversation_id"] == 1
    between = [
        r[0]
        for r in OLD_MESSAGES
        if {r[1], r[2]} == {1, 2} and ((r[1] == 1 and not r[11]) or (r[2] == 1 and not r[12]))
    ]
    assert [row["id"] for row in messages] == sorted(between)
    # The old conversation of carol and dave is theirs; the one- and three-participant ones answer 404.
    assert client_for(dave).get("/api/messaging/conversations/5").status_code == 200
    assert client_for(alice).get("/api/messaging/conversations/5").status_code == 404
    assert client_for(alice).get("/api/messaging/conversations/2").status_code == 404
    assert client_for(alice).get("/api/messaging/conversations/3").status_code == 404
    # Old conversation 4 was a second conversation of alice and bob: its id names their pair too.
    assert sorted(OLD_CONVERSATIONS[4]) == sorted(OLD_CONVERSATIONS[1])
    for viewer in (alice, User.objects.get(pk=2)):
        duplicate = client_for(viewer).get("/api/messaging/conversations/4")
        assert duplicate.status_code == 200
        assert duplicate.json()["id"] == 4
        assert [p["id"] for p in duplicate.json()["participants"]] == sorted(OLD_CONVERSATIONS[4])
    through_4 = client_for(alice).get("/api/messaging/conversations/4/messages").json()
    assert [row["id"] for row in through_4] == [row["id"] for row in messages]
    assert {row["conversation_id"] for row in through_4} == {4}
    # Listing uses the pair's lowest old id, once, never the later one nor a new one.
    listed = [row["id"] for row in client_for(alice).get("/api/messaging/conversations").json()]
    assert listed.count(1) == 1 and 4 not in listed
    opened = client_for(alice).post("/api/messaging/conversations", {"participant_ids": [2]}, format="json")
    assert opened.status_code == 200 and opened.json()["id"] == 1
