"""PostgreSQL connections prepare their hot statements; searches are planned for their own parameters."""

import pytest
from django.db import connection

from config.db import planned_per_call
from messaging import selectors
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory


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
