"""The legacy conversation list's literal SQL (`legacy_dm.conversations`) returns what its ORM definitions
return."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import BigIntegerField, Case, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Greatest, Least
from django.utils import timezone
from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH

from legacy_dm import conversations
from legacy_dm.models import LegacyConversation, OpenedConversation
from messaging import list_reads, selectors
from messaging.models import ConversationMute
from messaging.tests.factories import MessageFactory
from users.models import User
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


def _expected_page(user, *, skip: int, limit: int) -> list[dict]:
    """The ORM definition of `_LISTED_PAGE_SQL`'s rows: the first skip + limit conversation rows (but the pair
    with oneself) with their pair's canonical conversation, and the openings without messages, merged newest
    first, sliced; each with the id of its last message as `attach_last_messages` finds it (None if opened)."""
    user_id = Value(user.pk, output_field=BigIntegerField())
    pair = LegacyConversation.objects.filter(
        user_low=Least(user_id, OuterRef("partner")),
        user_high=Greatest(user_id, OuterRef("partner")),
        alias_of=None,
    )
    rows = [
        {**{key: value for key, value in row.items() if key != "blocked"}, "opened": False}  # the old API has no blocks
        for row in selectors.conversation_rows(user=user)
        .exclude(partner=user)
        .annotate(
            conversation_id=Subquery(pair.values("id")), conversation_created_at=Subquery(pair.values("created_at"))
        )[: skip + limit]
    ]
    partner = Case(
        When(conversation__user_low=user.pk, then=F("conversation__user_high")),
        default=F("conversation__user_low"),
    )
    openings = (
        OpenedConversation.objects.filter(user=user)
        .annotate(partner=partner)
        .exclude(selectors.has_conversation(user_id=user.pk, partner=OuterRef("partner")))
        .values_list("conversation_id", "partner", "opened_at")
    )
    rows += [
        {
            "partner_id": partner_id,
            "last_activity_at": opened_at,
            "unread_count": 0,
            "muted": False,
            "conversation_id": conversation_id,
            "conversation_created_at": None,
            "opened": True,
        }
        for conversation_id, partner_id, opened_at in openings
    ]
    rows.sort(key=lambda row: (row["last_activity_at"], row["partner_id"] or 0), reverse=True)
    page = rows[skip : skip + limit]
    last = {
        conversation.participant.pk: conversation.last_message.pk
        for conversation in selectors.attach_last_messages(user=user, rows=[row for row in page if not row["opened"]])
    }
    return [  # the old API shows no mutes either
        {
            **{key: value for key, value in row.items() if key != "muted"},
            "last_message_id": None if row["opened"] else last.get(row["partner_id"]),
        }
        for row in page
    ]


def test_a_listed_page_is_the_orm_definition(people):
    """`_LISTED_PAGE_SQL`: rows with and without canonical ids, an alias, a mute (not shown), a message to oneself (left
    out), openings with and without messages and one without a pair, at every offset."""
    for user in people:
        for skip, limit in ((0, 1), (0, 3), (1, 2), (2, 100), (0, 100), (5, 5), (50, 5)):
            page = conversations._listed_page(user, skip=skip, limit=limit)
            got = [{**row._asdict(), "last_message_id": None if last is None else last[1].pk} for row, last in page]
            assert got == _expected_page(user, skip=skip, limit=limit), (user, skip, limit)
            # Each last message's partner: the row's, with the listed fields of their user.
            listed = [(row.partner_id, last[0]) for row, last in page if last is not None]
            partners = User.objects.in_bulk([partner_id for partner_id, _ in listed])
            assert [tuple(partner) for _, partner in listed] == [
                tuple(getattr(partners[partner_id], column) for column in list_reads.PERSON_COLUMNS)
                for partner_id, _ in listed
            ]
    page = conversations._listed_page(people[0], skip=0, limit=100)
    assert any(row.conversation_id and not row.opened for row, _ in page)
    assert sum(row.opened for row, _ in page) == 2
    assert all((last is None) == row.opened for row, last in page)


def test_the_listed_page_fits_psycopgs_statement_cache():
    """`_LISTED_PAGE_SQL` is at most the length psycopg keeps its conversion of: a longer one is parsed for its
    placeholders on every call (70 µs of each request of `GET /api/messaging/conversations` when it was
    longer)."""
    assert len(conversations._LISTED_PAGE_SQL) <= MAX_CACHED_STATEMENT_LENGTH


def test_the_listed_pages_rows_in_binary_are_its_rows_in_text(people):
    """`_listed_page` reads its rows in PostgreSQL's binary format (`messaging.list_reads.fetch_rows`): the
    values, types and time zones that Django's text loading gives."""
    read = 0
    for user in people:
        params = {"user": user.pk, "skip": 0, "limit": 100, "head": 100}
        with connection.cursor() as cursor:
            cursor.execute(conversations._LISTED_PAGE_SQL, params)
            text = cursor.fetchall()
        binary = list_reads.fetch_rows(conversations._LISTED_PAGE_SQL, params)
        assert [[(v, type(v), getattr(v, "tzinfo", None)) for v in row] for row in binary] == [
            [(v, type(v), getattr(v, "tzinfo", None)) for v in row] for row in text
        ]
        read += len(text)
    assert read
