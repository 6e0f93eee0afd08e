"""Concurrent first requests for a pair's conversation get one id (PostgreSQL: real concurrent transactions)."""

import threading

import pytest
from django.db import connection, connections

from legacy_dm import conversations
from legacy_dm.models import LegacyConversation, OpenedConversation
from users.tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers; needs PostgreSQL"),
]

THREADS = 8


def run_concurrently(target, count=THREADS):
    """Run `target(i)` in `count` threads released together; their results and errors."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def worker(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def test_concurrent_opens_of_one_pair_yield_one_id():
    alice, bob = UserFactory(), UserFactory()
    results, errors = run_concurrently(
        lambda i: conversations.open_conversation(
            user=alice if i % 2 else bob, participant_id=(bob if i % 2 else alice).pk
        )
    )
    assert errors == []
    assert len({conversation.pk for conversation, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert LegacyConversation.objects.count() == 1
    assert OpenedConversation.objects.count() == 2


def test_concurrent_listings_give_each_pair_one_id():
    alice = UserFactory()
    partners = [UserFactory() for _ in range(20)]
    results, errors = run_concurrently(
        lambda i: {
            pk: c.pk
            for pk, c in conversations.conversations_with(user=alice, partner_ids=[p.pk for p in partners]).items()
        }
    )
    assert errors == []
    assert all(result == results[0] for result in results)
    assert len(results[0]) == 20
    assert LegacyConversation.objects.count() == 20
