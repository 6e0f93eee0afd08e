"""Precompiled queries give what their QuerySets give, and refuse what they cannot bind."""

import pytest

from messaging import hot_queries
from messaging.hot_queries import precompiled_rows
from messaging.models import Message
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory


@pytest.mark.django_db
def test_precompiled_rows_are_the_querysets_rows_for_every_value():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    messages = [MessageFactory(sender=alice, recipient=bob), MessageFactory(sender=carol, recipient=alice)]
    messages.append(MessageFactory(sender=bob, recipient=carol, created_at=messages[0].created_at))

    def build(sender_id, at):
        return Message.objects.filter(sender=sender_id, created_at=at).order_by("pk").values_list("pk", "created_at")

    for message in messages:
        for at in {m.created_at for m in messages}:
            expected = list(build(message.sender_id, at))
            assert precompiled_rows("test", build, message.sender_id, at) == expected
    # Times come back as the QuerySet gives them: aware datetimes, on SQLite too.
    assert precompiled_rows("test", build, alice.pk, messages[0].created_at) == [
        (messages[0].pk, messages[0].created_at)
    ]


@pytest.mark.django_db
def test_precompiled_rows_keep_one_sql_per_key():
    alice, bob = UserFactory(), UserFactory()
    first, second = MessageFactory(sender=alice, recipient=bob), MessageFactory(sender=bob, recipient=alice)

    def build(*ids):
        return Message.objects.filter(pk__in=ids).order_by("pk").values_list("pk", flat=False)

    assert precompiled_rows(("test-in", 1), build, first.pk) == [(first.pk,)]
    assert precompiled_rows(("test-in", 2), build, first.pk, second.pk) == [(first.pk,), (second.pk,)]
    assert precompiled_rows(("test-in", 1), build, second.pk) == [(second.pk,)]


def test_precompiled_rows_take_only_ids_and_times():
    with pytest.raises(TypeError, match="ids and times"):
        precompiled_rows("test-text", lambda name: Message.objects.filter(body=name).values_list("pk"), "hello")


@pytest.mark.django_db
def test_precompiled_queries_are_cached_per_database_alias():
    user = UserFactory()

    def build(user_id):
        return Message.objects.filter(sender=user_id).values_list("pk")

    precompiled_rows("test-alias", build, user.pk)
    assert ("default", "test-alias") in hot_queries._COMPILED


def test_a_value_written_into_the_sql_is_refused():
    """A slice's LIMIT is written into the SQL by the ORM, so its stand-in could never be replaced: an error."""
    with pytest.raises(ValueError):
        precompiled_rows(
            "test-limit", lambda user_id, limit: Message.objects.filter(sender=user_id).values_list("pk")[:limit], 1, 5
        )
    assert ("default", "test-limit") not in hot_queries._COMPILED


def test_a_value_the_query_does_not_use_is_refused():
    with pytest.raises(ValueError, match=r"positions \[1\]"):
        precompiled_rows(
            "test-unused", lambda user_id, other_id: Message.objects.filter(sender=user_id).values_list("pk"), 1, 2
        )
