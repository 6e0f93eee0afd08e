"""The conversation list's answer is, byte for byte, what DRF writes of its declared serializer over the ORM
definition of the list: the literal read, the written-out rendering and the lists' JSON renderer together."""

import json

import pytest
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from messaging import selectors
from messaging.serializers import ConversationSerializer
from messaging.tests.factories import inboxes_of_every_kind
from users.tests.factories import client_for

pytestmark = pytest.mark.django_db


def _declared_page(user, *, offset: int, limit: int) -> list[dict]:
    """DRF's rendering of the declarations (its loop over the fields) of the ORM-defined page."""
    rows = selectors.conversation_rows(user=user)[offset : offset + limit]
    conversations = selectors.attach_last_messages(user=user, rows=rows)
    serializer = ConversationSerializer(context={"viewer": user})
    return [serializers.Serializer.to_representation(serializer, conversation) for conversation in conversations]


def test_every_inbox_answers_the_bytes_of_its_declared_rendering():
    people = inboxes_of_every_kind()
    checked = 0
    for user in people:
        count = selectors.conversation_rows(user=user).count()
        response = client_for(user).get("/api/messages/conversations")
        assert response.status_code == 200
        results = _declared_page(user, offset=0, limit=20)
        expected = {"count": count, "next": None, "previous": None, "results": results}
        assert response.content == JSONRenderer().render(expected)
        checked += len(expected["results"])
    assert checked >= 14
    first = json.loads(client_for(people[0]).get("/api/messages/conversations").content)["results"]
    # The reader's list holds what the data set is for: muted, blocked, replies, attachments, edits, escapes.
    assert {row["muted"] for row in first} == {True, False}
    assert any(row["last_message"]["attachment"] for row in first)
    assert any(row["last_message"]["edited_at"] for row in first)
    assert any((row["last_message"]["reply_to"] or {}).get("unsent") for row in first)
    assert any((row["last_message"]["reply_to"] or {"body_preview": ""})["body_preview"] is None for row in first)
    assert b"\\u2029" in client_for(people[0]).get("/api/messages/conversations").content  # a body's, escaped


def test_a_later_page_answers_the_bytes_of_its_declared_rendering():
    reader = inboxes_of_every_kind()[0]
    response = client_for(reader).get("/api/messages/conversations", {"page": 2, "page_size": 3})
    assert response.status_code == 200
    page = json.loads(response.content)
    expected = {**page, "results": _declared_page(reader, offset=3, limit=3)}  # the links are DRF's own
    assert response.content == JSONRenderer().render(expected)


def test_an_error_of_the_list_is_written_by_drf():
    """A refused page size: DRF's error detail, which the lists' renderer hands to DRF's."""
    reader = inboxes_of_every_kind()[0]
    response = client_for(reader).get("/api/messages/conversations", {"page_size": 0})
    assert response.status_code == 400
    assert response.content == JSONRenderer().render(response.data)
