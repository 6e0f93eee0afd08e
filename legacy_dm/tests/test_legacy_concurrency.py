"""Concurrent first requests for a pair's conversation get one id (PostgreSQL: real concurrent transactions)."""

import pytest

from legacy_dm import conversations
from legacy_dm.models import LegacyConversation, OpenedConversation
from tests.helpers import run_at_once
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def test_concurrent_opens_of_one_pair_yield_one_id():
    alice, bob = UserFactory(), UserFactory()
    results, errors = run_at_once(
        lambda i: conversations.open_conversation(
            user=alice if i % 2 else bob, participant_id=(bob if i % 2 else alice).pk
        ),
        THREADS,
    )
    assert errors == []
    assert len({conversation.pk for conversation, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert LegacyConversation.objects.count() == 1
    assert OpenedConversation.objects.count() == 2


def test_concurrent_listings_give_each_pair_one_id():
    alice = UserFactory()
    partners = [UserFactory() for _ in range(20)]
    results, errors = run_at_once(
        lambda i: {
            pk: c.pk for pk, c in conversations.give_ids(user=alice, partner_ids=[p.pk for p in partners]).items()
        },
        THREADS,
    )
    assert errors == []
    assert all(result == results[0] for result in results)
    assert len(results[0]) == 20
    assert LegacyConversation.objects.count() == 20
