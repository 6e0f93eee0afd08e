"""Many clients at once against PostgreSQL: no message lost, every unread count exact, nothing read twice.

Threads are real concurrent clients (each its own database connection, committing for real) going through
the whole HTTP stack.
"""

from collections import Counter

import pytest

from messaging import selectors
from messaging.models import Message
from tests.helpers import run_at_once
from users.tests.factories import UserFactory, client_for

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
SENDS_PER_THREAD = 25
PEOPLE = 4
TIME_LIMIT_SECONDS = 120


def run_concurrently(work, count: int) -> list:
    """Run `work(index)` in `count` threads started together; their results, or the first error raised."""
    results, errors = run_at_once(work, count, timeout=TIME_LIMIT_SECONDS)
    if errors:
        raise errors[0]
    return results


def test_concurrent_sends_and_reads_lose_no_message_and_keep_exact_unread_counts():
    people = [UserFactory() for _ in range(PEOPLE)]

    def client_work(index):
        """Two threads per person: send to the others in turn, and now and then read a conversation."""
        me = people[index % PEOPLE]
        client = client_for(me)
        sent, marked = [], 0
        for n in range(SENDS_PER_THREAD):
            partner = people[(index + 1 + n % (PEOPLE - 1)) % PEOPLE]
            body = f"thread {index} message {n}"
            response = client.post("/api/messages/send", {"recipient_id": partner.pk, "body": body}, format="json")
            assert response.status_code == 201, response.content
            sent.append(body)
            if n % 4 == 3:
                reader_of = people[(index + 2) % PEOPLE]
                response = client.put(f"/api/messages/mark-conversation-read/{reader_of.pk}")
                assert response.status_code == 200, response.content
                marked += response.json()["marked_read"]
            if n % 5 == 4:
                assert client.get("/api/messages/unread-count").status_code == 200
        return sent, marked

    results = run_concurrently(client_work, THREADS)

    sent_bodies = [body for sent, _ in results for body in sent]
    assert len(sent_bodies) == THREADS * SENDS_PER_THREAD
    stored = Counter(Message.objects.values_list("body", flat=True))
    assert stored == Counter(sent_bodies), "a message was lost or duplicated"

    # Every message marked read was counted exactly once by the endpoint that marked it.
    assert sum(marked for _, marked in results) == Message.objects.filter(read_at__isnull=False).count()

    for person in people:
        truth = Message.objects.filter(recipient=person, read_at__isnull=True).count()
        response = client_for(person).get("/api/messages/unread-count")
        assert response.json() == {"unread_count": truth, "badge_count": truth}
        rows = selectors.conversation_rows(user=person)
        assert sum(row["unread_count"] for row in rows) == truth


def test_concurrent_mark_conversation_read_marks_each_message_exactly_once():
    """Eight devices of one person open the same conversation at once: the marked counts add up exactly."""
    reader, writer = UserFactory(), UserFactory()
    writer_client = client_for(writer)
    for n in range(60):
        writer_client.post("/api/messages/send", {"recipient_id": reader.pk, "body": f"note {n}"}, format="json")

    def mark(_index):
        return client_for(reader).put(f"/api/messages/mark-conversation-read/{writer.pk}").json()["marked_read"]

    marked = run_concurrently(mark, THREADS)

    assert sum(marked) == 60
    assert selectors.unread_count(user=reader) == 0


def test_concurrent_reads_and_deletes_of_the_same_messages_keep_the_unread_count_exact():
    """Reading a message while another device deletes it: whatever the order, the count matches the rows."""
    reader, writer = UserFactory(), UserFactory()
    writer_client = client_for(writer)
    ids = [
        writer_client.post("/api/messages/send", {"recipient_id": reader.pk, "body": f"x{n}"}, format="json").json()[
            "id"
        ]
        for n in range(40)
    ]

    def work(index):
        client = client_for(reader)
        statuses = []
        for message_id in ids[index % 2 :: 2]:
            if index % 4 < 2:
                statuses.append(client.post(f"/api/messages/{message_id}/read").status_code)
            else:
                statuses.append(client.delete(f"/api/messages/{message_id}").status_code)
        return statuses

    results = run_concurrently(work, THREADS)

    # A read after the delete is a 404 (no longer visible), a second delete too; nothing else.
    assert {status for statuses in results for status in statuses} <= {200, 204, 404}
    assert Message.objects.filter(recipient=reader, recipient_deleted_at__isnull=True).count() == 0
    assert selectors.unread_count(user=reader) == 0
    assert Message.objects.count() == 40


def test_one_busy_conversation_written_from_every_side_at_once_keeps_its_summary_exact():
    """Both people of one pair send, read and delete at once: the summary's additions and recomputations
    interleave on the pair's lock, and the summary still agrees with the messages."""
    from messaging import conversations

    alice, bob = UserFactory(), UserFactory()

    def client_work(index):
        me, other = (alice, bob) if index % 2 == 0 else (bob, alice)
        client = client_for(me)
        for n in range(SENDS_PER_THREAD):
            response = client.post(
                "/api/messages/send", {"recipient_id": other.pk, "body": f"{index}.{n}"}, format="json"
            )
            assert response.status_code == 201, response.content
            if n % 5 == index % 5:
                assert client.put(f"/api/messages/mark-conversation-read/{other.pk}").status_code == 200
            if n % 7 == index % 7:
                assert client.delete(f"/api/messages/{response.json()['id']}").status_code == 204
        return n

    run_concurrently(client_work, THREADS)

    assert Message.objects.count() == THREADS * SENDS_PER_THREAD
    assert conversations.verify() == []
