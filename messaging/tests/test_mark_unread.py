""" "Mark as unread" (Slack's and Zulip's "mark unread from here"): a received message and every later one from
the same person go back to unread, for the caller only, through the service, the API, the thread page's form
and the legacy API's view of them; the conversation's counts, the live events and the sender's read marks
follow. Also: a thread page reads only what a person looked at (live.js's refresh marks nothing read) and
writes nothing when nothing is unread.
"""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.test import Client
from django.test.utils import CaptureQueriesContext

from messaging import conversations, selectors, services
from messaging.models import Message
from messaging.tests.factories import MessageFactory
from tests.helpers import delivered, read_all

pytestmark = pytest.mark.django_db

REFRESH = {"X-Relay-Refresh": "1"}  # what live.js sends when it fetches a live region again


@pytest.fixture
def thread(alice, bob, carol):
    """bob and alice talk; alice has read everything bob wrote. carol wrote to alice too (read)."""
    made = [
        MessageFactory(sender=bob, recipient=alice, body="one"),
        MessageFactory(sender=alice, recipient=bob, body="two"),
        MessageFactory(sender=bob, recipient=alice, body="three"),
        MessageFactory(sender=bob, recipient=alice, body="four"),
        MessageFactory(sender=carol, recipient=alice, body="from carol"),
    ]
    services.mark_conversation_read(user=alice, other=bob)
    services.mark_conversation_read(user=alice, other=carol)
    services.mark_conversation_read(user=bob, other=alice)
    return made


def unread_ids(user):
    return set(Message.objects.unread_for(user).values_list("pk", flat=True))


def summary_unread(user, partner):
    return {row["partner_id"]: row["unread_count"] for row in selectors.conversation_rows(user=user)}.get(partner.pk)


@pytest.fixture
def alice_web(alice):
    client = Client()
    client.force_login(alice)
    return client


# --- The service --------------------------------------------------------------------------------------------


def test_mark_unread_puts_the_message_and_every_later_one_from_that_person_back(alice, bob, carol, thread):
    one, two, three, four, from_carol = thread
    assert services.mark_unread(user=alice, message_id=three.pk) == 2
    assert unread_ids(alice) == {three.pk, four.pk}
    assert Message.objects.get(pk=one.pk).read_at is not None  # earlier: still read
    assert Message.objects.get(pk=two.pk).read_at is not None  # alice's own message: bob's read stays
    assert Message.objects.get(pk=from_carol.pk).read_at is not None  # another conversation
    # The conversation summary and the counts follow (its triggers on messaging_message updates).
    assert summary_unread(alice, bob) == 2 and summary_unread(alice, carol) == 0
    assert selectors.unread_counts(user=alice).unread == 2
    assert conversations.verify() == []


def test_mark_unread_is_idempotent_and_from_an_earlier_message_takes_the_rest(alice, bob, thread):
    one, _, three, four, _ = thread
    services.mark_unread(user=alice, message_id=three.pk)
    assert services.mark_unread(user=alice, message_id=three.pk) == 0
    assert services.mark_unread(user=alice, message_id=one.pk) == 1  # three and four were unread already
    assert unread_ids(alice) == {one.pk, three.pk, four.pk}
    assert summary_unread(alice, bob) == 3
    assert services.mark_conversation_read(user=alice, other=bob) == 3


def test_mark_unread_is_scoped_to_what_the_caller_received_and_sees(alice, bob, carol, thread):
    one, two, _, four, _ = thread
    with pytest.raises(ValidationError) as refused:
        services.mark_unread(user=alice, message_id=two.pk)  # alice sent it
    assert "you sent this one" in " ".join(refused.value.messages)
    for stranger_id in (one.pk, "x", None, 10**30):
        with pytest.raises(Http404):
            services.mark_unread(user=carol, message_id=stranger_id)
    services.delete_for_user(user=alice, message_id=four.pk)
    with pytest.raises(Http404):
        services.mark_unread(user=alice, message_id=four.pk)
    assert services.mark_unread(user=alice, message_id=one.pk) == 2  # one and three: not the deleted four
    assert unread_ids(alice) == {one.pk, thread[2].pk}
    assert Message.objects.get(pk=four.pk).read_at is not None
    assert unread_ids(bob) == set()


def test_messages_sent_in_the_same_instant_follow_the_threads_order(alice, bob):
    """ "Later" is the thread's order: the time, then the id."""
    first = MessageFactory(sender=bob, recipient=alice, body="a")
    same = [MessageFactory(sender=bob, recipient=alice, body=b, created_at=first.created_at) for b in "bc"]
    services.mark_conversation_read(user=alice, other=bob)
    assert services.mark_unread(user=alice, message_id=same[0].pk) == 2
    assert unread_ids(alice) == {same[0].pk, same[1].pk}


# --- The sender's view: read receipts go, and nothing private shows -----------------------------------------


def test_the_sender_no_longer_sees_the_messages_read(alice, bob, alice_client, bob_client, thread):
    _, _, three, four, _ = thread
    assert bob_client.get(f"/api/messages/{four.pk}").json()["is_read"] is True
    assert alice_client.post(f"/api/messages/{three.pk}/unread").json() == {"marked_unread": 2}
    for message in (three, four):
        shown = bob_client.get(f"/api/messages/{message.pk}").json()
        assert (shown["is_read"], shown["read_at"]) == (False, None)
        old_shape = bob_client.get(f"/api/direct-messages/{message.pk}").json()  # the one with `updated_at`
        assert (old_shape["is_read"], old_shape["read_at"], old_shape["updated_at"]) == (False, None, None)


def test_a_sender_who_never_saw_the_read_learns_nothing_from_the_unread(alice, bob, bob_client, thread):
    """With read receipts off, the read was never shown to the sender, nor the `updated_at` it set: after the
    unread, `updated_at` shows no change either, rather than the unread's time."""
    alice.read_receipts = False
    alice.save(update_fields=["read_receipts"])
    four = thread[3]
    paths = (f"/api/messages/{four.pk}", f"/api/direct-messages/{four.pk}")
    before = [bob_client.get(path).json() for path in paths]
    services.mark_unread(user=alice, message_id=four.pk)
    after = [bob_client.get(path).json() for path in paths]
    assert before == after
    assert (after[1]["is_read"], after[1]["updated_at"]) == (False, None)


# --- The API -------------------------------------------------------------------------------------------------


def test_api_marks_unread_and_the_counts_follow(alice, bob, alice_client, thread):
    three = thread[2]
    response = alice_client.post(f"/api/messages/{three.pk}/unread")
    assert response.status_code == 200 and response.json() == {"marked_unread": 2}
    assert alice_client.post(f"/api/messages/{three.pk}/unread/").json() == {"marked_unread": 0}
    assert alice_client.get("/api/messages/unread-count").json() == {"unread_count": 2, "badge_count": 2}
    rows = {row["participant"]["id"]: row for row in alice_client.get("/api/messages/conversations").json()["results"]}
    assert rows[bob.pk]["unread_count"] == 2
    thread_page = alice_client.get(f"/api/messages/with/{bob.pk}").json()["results"]
    assert [m["is_read"] for m in thread_page if m["sender"]["id"] == bob.pk] == [False, False, True]


def test_api_refuses_a_sent_message_with_a_reason_and_hides_other_peoples(alice_client, carol_client, thread):
    one, two = thread[0], thread[1]
    response = alice_client.post(f"/api/messages/{two.pk}/unread")
    assert response.status_code == 400
    assert response.json() == {"id": ["Only a message you received can be marked unread; you sent this one."]}
    assert carol_client.post(f"/api/messages/{one.pk}/unread").status_code == 404
    assert alice_client.post("/api/messages/999999999/unread").status_code == 404
    assert alice_client.get(f"/api/messages/{one.pk}/unread").status_code == 405
    assert Client().post(f"/api/messages/{one.pk}/unread").status_code == 401


def test_api_schema_documents_the_unread_action(alice_client):
    operation = alice_client.get("/api/schema/?format=json").json()["paths"]["/api/messages/{id}/unread/"]["post"]
    assert operation["summary"] == "Mark a message unread, and every later one"
    assert set(operation["responses"]) >= {"200", "400", "404"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/MarkedUnread")


# --- Live events -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shares", [True, False])
def test_mark_unread_tells_the_readers_devices_and_the_sender_only_if_receipts_are_shared(
    events_broker, alice, bob, thread, shares, django_capture_on_commit_callbacks
):
    alice.read_receipts = shares
    alice.save(update_fields=["read_receipts"])
    three = thread[2]
    seen_by_bob = len(read_all(events_broker, bob.pk))
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_unread(user=alice, message_id=three.pk)
    assert delivered(events_broker, alice)[-2:] == [
        ("conversation.unread", {"user_id": bob.pk, "marked_unread": 2, "from_id": three.pk}),
        ("unread_count", {"unread_count": 2, "badge_count": 2}),
    ]
    to_bob = read_all(events_broker, bob.pk)[seen_by_bob:]
    if shares:
        assert [(e.type, e.data) for e in to_bob] == [
            ("conversation.unread", {"user_id": alice.pk, "from_id": three.pk})
        ]
    else:
        assert to_bob == []

    # Nothing changed, nothing published.
    before = len(read_all(events_broker, alice.pk))
    with django_capture_on_commit_callbacks(execute=True):
        services.mark_unread(user=alice, message_id=three.pk)
    assert len(read_all(events_broker, alice.pk)) == before


def test_a_replay_shows_no_unread_whose_reader_has_since_stopped_sharing_receipts(
    events_broker, alice, bob, thread, django_capture_on_commit_callbacks
):
    from messaging.events import as_delivered

    with django_capture_on_commit_callbacks(execute=True):
        services.mark_unread(user=alice, message_id=thread[3].pk)
    logged = [e for e in read_all(events_broker, bob.pk) if e.type == "conversation.unread"]
    assert [t for _, t, _ in as_delivered(user=bob, events=logged)] == ["conversation.unread"]
    alice.read_receipts = False
    alice.save(update_fields=["read_receipts"])
    assert [t for _, t, _ in as_delivered(user=bob, events=logged)] == [None]
    # Alice's own devices are told whatever her setting.
    own = [e for e in read_all(events_broker, alice.pk) if e.type == "conversation.unread"]
    assert [t for _, t, _ in as_delivered(user=alice, events=own)] == ["conversation.unread"]


# --- The pages ---------------------------------------------------------------------------------------------


def test_thread_offers_mark_as_unread_on_the_other_persons_messages_only(alice_web, bob, thread):
    one, two, three, four, _ = thread
    content = alice_web.get(f"/inbox/with/{bob.pk}/").content.decode()
    forms = set(map(int, re.findall(r'action="/inbox/messages/(\d+)/unread/"', content)))
    assert forms == {one.pk, three.pk, four.pk}
    assert "Mark as unread" in content


def test_mark_as_unread_page_goes_to_the_inbox_where_the_conversation_counts_again(alice, alice_web, bob, thread):
    three = thread[2]
    response = alice_web.post(f"/inbox/messages/{three.pk}/unread/")
    assert response.status_code == 302 and response["Location"] == "/inbox/"
    inbox = alice_web.get("/inbox/").content.decode()
    assert re.search(rf'href="/inbox/with/{bob.pk}/"\s+data-unread="2"', inbox)
    assert "<title>(2) Inbox · Relay</title>" in inbox
    assert "Marked unread" in inbox
    assert unread_ids(alice) == {three.pk, thread[3].pk}


def test_mark_as_unread_page_refuses_a_sent_message_and_hides_other_peoples(alice_web, bob, carol, thread):
    two = thread[1]
    response = alice_web.post(f"/inbox/messages/{two.pk}/unread/", follow=True)
    assert response.redirect_chain[0] == (f"/inbox/with/{bob.pk}/#message-{two.pk}", 302)
    assert b"you sent this one" in response.content
    carol_web = Client()
    carol_web.force_login(carol)
    assert carol_web.post(f"/inbox/messages/{thread[0].pk}/unread/").status_code == 404
    assert alice_web.get(f"/inbox/messages/{thread[0].pk}/unread/").status_code == 405


def test_mark_as_unread_page_needs_the_csrf_token(alice, bob, thread):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(f"/inbox/messages/{thread[3].pk}/unread/").status_code == 403
    assert unread_ids(alice) == set()


def test_a_live_refresh_of_the_thread_reads_nothing(alice, alice_web, bob):
    """Regression: live.js fetches the open thread again on every event, from a tab nobody may be looking at;
    that fetch marked every new message read within half a second."""
    message = MessageFactory(sender=bob, recipient=alice, body="are you there?")
    response = alice_web.get(f"/inbox/with/{bob.pk}/", headers=REFRESH)
    assert response.status_code == 200
    assert Message.objects.get(pk=message.pk).read_at is None
    assert re.search(rf'id="message-{message.pk}"[^>]*data-unread-message', response.content.decode())
    # A page the reader opened reads it, as it always did.
    alice_web.get(f"/inbox/with/{bob.pk}/")
    assert Message.objects.get(pk=message.pk).read_at is not None


def test_after_mark_as_unread_a_live_refresh_keeps_it_unread(alice, alice_web, bob, thread):
    alice_web.post(f"/inbox/messages/{thread[3].pk}/unread/")
    alice_web.get(f"/inbox/with/{bob.pk}/", headers=REFRESH)
    assert unread_ids(alice) == {thread[3].pk}


def _writes(queries):
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]


def test_opening_a_thread_with_nothing_unread_writes_nothing(alice_web, alice, bob, thread, django_assert_num_queries):
    # The session, its user, bob, the page, the relation (blocks, mute), the nav's counts.
    with django_assert_num_queries(6) as queries:
        response = alice_web.get(f"/inbox/with/{bob.pk}/")
    assert response.status_code == 200
    assert _writes(queries.captured_queries) == []


def test_opening_a_thread_with_unread_messages_marks_them_read_in_one_statement(
    alice_web, alice, bob, thread, django_assert_num_queries
):
    services.mark_unread(user=alice, message_id=thread[2].pk)
    # The same, and the one UPDATE that marks the conversation read.
    with django_assert_num_queries(7) as queries:
        alice_web.get(f"/inbox/with/{bob.pk}/")
    assert len(_writes(queries.captured_queries)) == 1
    assert unread_ids(alice) == set()


def test_a_live_refresh_writes_nothing_either(alice_web, alice, bob, thread):
    services.mark_unread(user=alice, message_id=thread[2].pk)
    with CaptureQueriesContext(connection) as queries:
        alice_web.get(f"/inbox/with/{bob.pk}/", headers=REFRESH)
    assert _writes(queries.captured_queries) == []


# --- The legacy API -----------------------------------------------------------------------------------------


def test_old_clients_see_the_message_unread_again(alice, bob, alice_client, bob_client, thread):
    four = thread[3]
    assert alice_client.get(f"/api/direct-messages/{four.pk}").json()["is_read"] is True
    assert alice_client.get("/api/direct-messages/unread-count").json() == {"unread_count": 0}
    alice_client.post(f"/api/messages/{four.pk}/unread")
    mine = alice_client.get(f"/api/direct-messages/{four.pk}").json()
    assert (mine["is_read"], mine["read_at"]) == (False, None)
    assert alice_client.get("/api/direct-messages/unread-count").json() == {"unread_count": 1}
    rows = alice_client.get(f"/api/direct-messages/conversation/{bob.pk}").json()
    assert [m["is_read"] for m in rows if m["id"] == four.pk] == [False]
    theirs = bob_client.get(f"/api/direct-messages/{four.pk}").json()
    assert (theirs["is_read"], theirs["read_at"]) == (False, None)


def test_opening_a_thread_reads_only_up_to_the_last_message_it_shows(alice, alice_web, bob):
    """A page around the first unread of 60 shows 31 of them: those are read, the 29 beyond it stay unread
    (read only what is seen)."""
    made = [MessageFactory(sender=bob, recipient=alice, body=f"news {i}") for i in range(60)]
    page = alice_web.get(f"/inbox/with/{bob.pk}/", {"anchor": made[0].pk, "num_before": 0, "num_after": 30})
    assert page.status_code == 200
    assert unread_ids(alice) == {message.pk for message in made[31:]}
