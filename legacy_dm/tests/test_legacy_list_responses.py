"""The old lists' answers are, byte for byte, what DRF writes of their declared serializers over the lists'
definitions: the written-out renderings and the lists' JSON renderer together."""

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from legacy_dm import conversations
from legacy_dm.serializers import ConversationPartnerSerializer, LegacyConversationSerializer
from messaging import selectors
from messaging.tests.factories import inboxes_of_every_kind
from users.tests.factories import UserFactory, client_for

pytestmark = pytest.mark.django_db


def _declared(serializer_class, instances, viewer) -> bytes:
    """DRF's JSON of its rendering of the declarations (its loop over the fields) of `instances`."""
    serializer = serializer_class(context={"viewer": viewer})
    return JSONRenderer().render([serializers.Serializer.to_representation(serializer, item) for item in instances])


@pytest.mark.parametrize(("skip", "limit"), [(0, 100), (2, 3)])
def test_the_direct_messages_list_answers_the_bytes_of_its_declared_rendering(skip, limit):
    """Against the ORM definition of the page (`conversation_rows` with `attach_last_messages`)."""
    for user in inboxes_of_every_kind():
        response = client_for(user).get("/api/direct-messages/conversations", {"skip": skip, "limit": limit})
        assert response.status_code == 200
        rows = selectors.conversation_rows(user=user)[skip : skip + limit]
        listed = selectors.attach_last_messages(user=user, rows=rows)
        assert response.content == _declared(ConversationPartnerSerializer, listed, user)


def test_the_messaging_list_answers_the_bytes_of_its_declared_rendering():
    """With a conversation opened and none written in: no last message."""
    people = inboxes_of_every_kind()
    conversations.open_conversation(user=people[0], participant_id=UserFactory().pk)
    for user in people:
        response = client_for(user).get("/api/messaging/conversations")
        assert response.status_code == 200
        views = conversations.conversation_list(user=user, skip=0, limit=100)
        assert response.content == _declared(LegacyConversationSerializer, views, user)
    assert b'"last_message":null' in client_for(people[0]).get("/api/messaging/conversations").content
