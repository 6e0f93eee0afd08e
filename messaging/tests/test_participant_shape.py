"""`participant_data` renders what DRF renders from `ParticipantSerializer`'s declared fields."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers

from messaging import selectors
from messaging.serializers import ParticipantSerializer, participant_data
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_participant_renders_as_its_declarations():
    """Partners (a last activity) and people without a conversation, with and without a display name; keys in
    the declared order."""
    me = UserFactory()
    partner, unnamed_partner = UserFactory(display_name="Ada L."), UserFactory(display_name="")
    UserFactory(display_name="Grace H."), UserFactory(display_name="")
    MessageFactory(sender=me, recipient=partner)
    MessageFactory(sender=unnamed_partner, recipient=me, created_at=timezone.now() - timedelta(days=400))
    people = list(selectors.participants_for(user=me))
    assert len(people) == 4
    assert sum(person.last_activity_at is not None for person in people) == 2
    for person in people:
        declared = serializers.ModelSerializer.to_representation(ParticipantSerializer(), person)
        rendered = ParticipantSerializer(person).data
        assert participant_data(person) == rendered == dict(declared)
        assert list(rendered) == list(declared)
