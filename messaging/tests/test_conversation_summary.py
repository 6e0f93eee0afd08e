"""The conversation summary: kept exact by the triggers on every path (services, plain ORM writes, old
servers through the live sync: legacy_dm/tests/test_live_sync.py; concurrent writers), read by the lists in O(page), rebuilt and verified."""

import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from messaging import conversations, services
from messaging.models import ConversationSummary, InboxTotals, Message
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory, client_for


def summary(user, partner):
    return (
        ConversationSummary.objects.filter(user=user, partner=partner)
        .values_list("last_activity_at", "unread_count")
        .first()
    )


@pytest.mark.django_db
def test_every_kind_of_write_keeps_both_sides_rows(alice, bob, moderator):
    first = services.send_message(sender=bob, recipient_id=alice.pk, body="one")
    second = services.send_message(sender=bob, recipient_id=alice.pk, body="two")
    assert summary(alice, bob) == (second.created_at, 2) and summary(bob, alice) == (second.created_at, 0)
    services.edit_message(user=bob, message_id=second.pk, body="two, edited")  # no activity, still unread
    assert summary(alice, bob) == (second.created_at, 2) and summary(bob, alice) == (second.created_at, 0)

    services.mark_message_read(user=alice, message_id=first.pk)
    assert summary(alice, bob) == (second.created_at, 1)
    services.delete_for_user(user=alice, message_id=second.pk)  # her last one: the row goes back to `first`
    assert summary(alice, bob) == (first.created_at, 0) and summary(bob, alice) == (second.created_at, 0)

    services.hide_messages(moderator=moderator, messages=[first], reason="spam")
    assert summary(alice, bob) is None and summary(bob, alice) == (second.created_at, 0)
    services.unhide_messages(moderator=moderator, messages=[first])
    assert summary(alice, bob) == (first.created_at, 0)

    services.delete_conversation_for_user(user=bob, other=alice)
    assert summary(bob, alice) is None and summary(alice, bob) == (first.created_at, 0)
    third = services.send_message(sender=alice, recipient_id=bob.pk, body="three")
    assert summary(bob, alice) == (third.created_at, 1)  # back, holding only the new message

    # Plain ORM writes (a shell, a fixture, the admin's delete) are kept too: the triggers are in the database.
    Message.objects.filter(pk=third.pk).update(read_at=third.created_at)
    assert summary(bob, alice) == (third.created_at, 0)
    Message.objects.filter(pk=third.pk).delete()
    assert summary(bob, alice) is None
    assert conversations.verify() == []


@pytest.mark.django_db
def test_without_its_triggers_the_summary_drifts_and_verify_and_rebuild_say_and_mend_it(alice, bob, capsys):
    MessageFactory(sender=bob, recipient=alice)
    conversations.uninstall()  # switched off; back on when the test's transaction rolls back
    late = MessageFactory(sender=bob, recipient=alice, body="unseen by the summary")
    differences = conversations.verify()
    # Both rows of the pair, and alice's totals (one more unread); bob's totals did not change.
    assert {(d.user_id, d.partner_id) for d in differences} == {
        (alice.pk, bob.pk),
        (bob.pk, alice.pk),
        (alice.pk, None),
    }
    with pytest.raises(CommandError, match="3 conversation rows differ"):
        call_command("rebuild_conversations", "--verify")
    call_command("rebuild_conversations", "--install")
    assert conversations.verify() == []
    assert summary(alice, bob) == (late.created_at, 2)
    assert InboxTotals.objects.values_list("conversations", "unread").get(user=alice) == (1, 2)
    MessageFactory(sender=alice, recipient=bob)  # the triggers are back
    assert conversations.verify() == []
    call_command("rebuild_conversations", "--verify")
    assert "matches the messages" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_conversation_list_reads_one_range_of_the_summary_whatever_the_history(
    alice, django_assert_max_num_queries
):
    partners = UserFactory.create_batch(60)
    for partner in partners:
        for _ in range(3):
            MessageFactory(sender=partner, recipient=alice)
    api = client_for(alice)
    with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(2):
        response = api.get("/api/messages/conversations?page_size=20")
    assert response.status_code == 200
    assert response.json()["count"] == 60
    assert [row["participant"]["id"] for row in response.json()["results"]] == [p.pk for p in reversed(partners)][:20]
    assert all(row["unread_count"] == 3 for row in response.json()["results"])
    listing = [q["sql"] for q in captured.captured_queries if "messaging_conversation_summary" in q["sql"]]
    # One range of 20 rows from the summary; the count is the user's totals row.
    assert len(listing) == 1 and "LIMIT 20" in listing[0]
    assert any("messaging_inbox_totals" in q["sql"] for q in captured.captured_queries)
    assert not any("GROUP BY" in q["sql"] for q in captured.captured_queries)  # no aggregate over messages


def test_concurrent_sends_and_reads_of_one_pair_leave_it_exact(transactional_db):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    start = threading.Barrier(6)
    errors = []

    def send(sender, recipient):
        try:
            start.wait()
            for i in range(8):
                services.send_message(sender=sender, recipient_id=recipient.pk, body=f"{i}")
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    def read(reader, other):
        try:
            start.wait()
            for _ in range(8):
                services.mark_conversation_read(user=reader, other_id=other.pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(bob, alice)) for _ in range(3)]
    threads += [threading.Thread(target=send, args=(alice, bob))]
    threads += [threading.Thread(target=read, args=(alice, bob)), threading.Thread(target=read, args=(bob, alice))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Message.objects.count() == 32
    assert conversations.verify() == []
    unread = Message.objects.unread_for(alice).count()
    assert summary(alice, bob)[1] == unread


@pytest.mark.django_db
def test_the_summary_tables_are_vacuumed_after_a_thousand_dead_rows():
    """Every send updates rows of both tables; PostgreSQL's default waits for a fifth of a table to be dead."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class"
            " WHERE relname IN ('messaging_conversation_summary', 'messaging_inbox_totals') ORDER BY relname"
        )
        options = {name: set(values) for name, values in cursor.fetchall()}
    often = {"autovacuum_vacuum_scale_factor=0", "autovacuum_vacuum_threshold=1000"}
    assert often <= options["messaging_conversation_summary"] and often <= options["messaging_inbox_totals"]
