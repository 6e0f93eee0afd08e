"""PostgreSQL connections prepare their hot statements; searches are planned for their own parameters."""

import pytest
from django.db import connection

from config.db import planned_per_call, precompiled_rows
from messaging import selectors
from messaging.models import Message
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL")


@postgresql_only
@pytest.mark.django_db
def test_statements_run_five_times_on_a_connection_are_prepared():
    connection.ensure_connection()
    assert connection.connection.prepare_threshold == 5
    with connection.cursor() as cursor:
        for _ in range(6):
            cursor.execute("SELECT count(*) FROM users_user WHERE id > %s", [0])
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%users_user WHERE id >%"]
        )
        assert cursor.fetchone()[0] == 1


@postgresql_only
@pytest.mark.django_db
def test_planned_per_call_prepares_nothing_inside_and_restores_the_threshold():
    connection.ensure_connection()
    with planned_per_call(), connection.cursor() as cursor:
        assert connection.connection.prepare_threshold is None
        for _ in range(6):
            cursor.execute("SELECT count(*) FROM users_user WHERE id >= %s", [0])
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%users_user WHERE id >=%"]
        )
        assert cursor.fetchone()[0] == 0
    assert connection.connection.prepare_threshold == 5


@postgresql_only
@pytest.mark.django_db
def test_the_ranking_of_a_search_is_never_prepared():
    user, other = UserFactory(), UserFactory()
    MessageFactory(sender=user, recipient=other, body="the meeting is at noon")
    for _ in range(6):
        results = selectors.search_messages(user=user, query="meeting", filters={})
        assert results.count() == 1 and [m.body for m in results[0:20]] == ["the meeting is at noon"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%ts_rank%"])
        prepared = [statement for (statement,) in cursor.fetchall()]
    # The page of messages (a lookup of the ranked ids) is prepared; the ranking with its count is not.
    assert prepared and not [statement for statement in prepared if "OVER ()" in statement]


@pytest.mark.django_db
def test_planned_per_call_runs_its_block_on_any_database():
    with planned_per_call():
        assert selectors.unread_count(user=UserFactory()) == 0


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
