"""The legacy conversation list's literal SQL (`legacy_dm.conversations`) returns what its ORM definitions
return."""

from datetime import timedelta

import pytest
from django.db.models import BigIntegerField, Case, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from legacy_dm import conversations
from legacy_dm.models import LegacyConversation, OpenedConversation
from messaging import selectors
from messaging.models import ConversationMute
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    """Six people: conversations with and without canonical ids (and an alias), equal times, a mute, a carried
    message to oneself, opened conversations with and without messages, and one without a pair."""
    people = [UserFactory() for _ in range(6)]
    alice = people[0]
    at = timezone.now() - timedelta(hours=1)
    for n, other in enumerate(people[1:5]):
        MessageFactory(sender=alice if n % 2 else other, recipient=other if n % 2 else alice, created_at=at)
        MessageFactory(sender=other, recipient=people[5], created_at=at + timedelta(minutes=n))
    MessageFactory(sender=alice, recipient=alice, created_at=at, legacy_id=1)
    canonical = LegacyConversation.objects.create(
        user_low=min(alice, people[1], key=lambda u: u.pk), user_high=max(alice, people[1], key=lambda u: u.pk)
    )
    LegacyConversation.objects.create(user_low=canonical.user_low, user_high=canonical.user_high, alias_of=canonical)
    ConversationMute.objects.create(user=alice, partner=people[2])
    conversations.open_conversation(user=alice, participant_id=people[3].pk)  # has messages
    conversations.open_conversation(user=alice, participant_id=people[5].pk)  # none that alice sees
    OpenedConversation.objects.create(user=alice, conversation=LegacyConversation.objects.create())  # no pair
    return people


def test_listed_rows_are_the_orm_definition(people):
    for user in people:
        user_id = Value(user.pk, output_field=BigIntegerField())
        pair = LegacyConversation.objects.filter(
            user_low=Least(user_id, OuterRef("partner")),
            user_high=Greatest(user_id, OuterRef("partner")),
            alias_of=None,
        )
        expected = selectors.conversation_rows(user=user).annotate(
            conversation_id=Subquery(pair.values("id")), conversation_created_at=Subquery(pair.values("created_at"))
        )
        for limit in (1, 3, 100):
            assert conversations._listed_rows(user, limit=limit) == list(expected[:limit])
    assert any(row["conversation_id"] for row in conversations._listed_rows(people[0], limit=100))


def test_openings_without_messages_are_the_orm_definition(people):
    for user in people:
        partner = Case(
            When(conversation__user_low=user.pk, then=F("conversation__user_high")),
            default=F("conversation__user_low"),
        )
        expected = (
            OpenedConversation.objects.filter(user=user)
            .annotate(partner=partner)
            .exclude(selectors.has_conversation(user_id=user.pk, partner=OuterRef("partner")))
            .values_list("conversation_id", "partner", "opened_at")
        )
        assert sorted(conversations._openings_without_messages(user)) == sorted(expected)
    assert len(conversations._openings_without_messages(people[0])) == 2
