"""`manage.py flush` empties every table whatever order the tables come in: the summary's tables, kept by
triggers on the messages, end empty with them."""

import itertools

import pytest
from django.core.management.color import no_style
from django.db import connection

from messaging.models import ConversationSummary, InboxTotals, Message
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory

THREE = ["messaging_message", "messaging_conversation_summary", "messaging_inbox_totals"]
ORDERS = [[THREE[a], THREE[b], THREE[c]] for a, b, c in itertools.permutations(range(3))]


def _flush(tables: list[str]) -> None:
    connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), tables, reset_sequences=True))


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(name.split("_")[-1] for name in o) for o in ORDERS])
def test_flush_in_any_order_empties_the_messages_and_their_summary(transactional_db, order):
    people = [UserFactory() for _ in range(3)]
    for n in range(12):  # unread messages in several conversations of each person
        MessageFactory(sender=people[n % 3], recipient=people[(n + 1 + n % 2) % 3])
    assert InboxTotals.objects.filter(unread__gt=0).exists()
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    # Django gives the tables in a set's order, a different one in each process: each order of these three.
    ordered = order + [table for table in tables if table not in order]
    _flush(ordered)
    assert not Message.objects.exists()
    assert not ConversationSummary.objects.exists() and not InboxTotals.objects.exists()
