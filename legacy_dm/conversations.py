"""Conversation ids of `/api/messaging/*`: a stable id per pair of users, and what a conversation shows.

A conversation of the old conversation-based API is a pair of users; it holds every message between them,
whichever API sent it. `LegacyConversation` gives each pair one canonical id: old ids keep naming their pair
(the data migration fills them), a pair without one gets one the first time it is listed or asked for. Getting
that id is safe under concurrent requests: the unique constraint on the pair's canonical id decides, and a
request that loses the race reads the winner's row (`get_or_create` retries the read after an `IntegrityError`).

When the old system had several conversations of the same two people, the later old ids are aliases of the
canonical one (`alias_of`). An alias carries the pair too, so asking for it (`access_conversation`) serves the
pair's conversation as the canonical id does, under the id the client asked for; lists and get-or-create only
ever give out the canonical id.

Messages, unread counts and last messages come from `messaging.selectors`, the same queries as the new API; the
list's page joins its last messages as the new API's list does (`messaging.list_reads.LAST_MESSAGE_JOINS`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import transaction
from django.db.models import Q
from django.http import Http404

from messaging import list_reads, selectors, services

from .models import LegacyConversation, OpenedConversation

if TYPE_CHECKING:
    from messaging.list_reads import AnyMessage, MessageRow
    from users.models import Person, User

# A row of `messaging.selectors.conversation_rows`: a partner's id and counts, by column name.
ConversationRow = dict[str, Any]


def _pair(user_id: int, other_id: int) -> dict[str, int]:
    low, high = sorted((user_id, other_id))
    return {"user_low_id": low, "user_high_id": high}


def _partner_id(conversation: LegacyConversation, user: User) -> int:
    partner_id = conversation.user_high_id if conversation.user_low_id == user.pk else conversation.user_low_id
    if partner_id is None:  # only an old conversation without two participants lacks a pair; none gets here
        raise ValueError(f"conversation {conversation.pk} maps to no pair")
    return partner_id


def conversation_for_pair(*, user: User, other: User, opened_by: User | None = None) -> tuple[LegacyConversation, bool]:
    """The canonical conversation of `user` and `other`, created on first use: (it, whether it is new)."""
    return LegacyConversation.objects.get_or_create(
        **_pair(user.pk, other.pk), alias_of=None, defaults={"created_by": opened_by}
    )


def give_ids(*, user: User, partner_ids: Iterable[int]) -> dict[int, LegacyConversation]:
    """The canonical conversations of `user` with each of `partner_ids`, by partner id, created for pairs that
    had none (the caller read that they had none; any that had one keep it).

    Two queries for any number of partners: one insert that ignores pairs a concurrent request (or an earlier
    one) inserted first, and one read of all those rows.
    """
    partners = {pk for pk in partner_ids if pk != user.pk}  # nobody has a conversation with themselves
    if not partners:
        return {}
    LegacyConversation.objects.bulk_create(
        [LegacyConversation(**_pair(user.pk, pk)) for pk in sorted(partners)], ignore_conflicts=True
    )
    pairs = LegacyConversation.objects.filter(
        Q(user_low_id=user.pk, user_high_id__in=[pk for pk in partners if pk > user.pk])
        | Q(user_high_id=user.pk, user_low_id__in=[pk for pk in partners if pk < user.pk]),
        alias_of__isnull=True,
    )
    return {_partner_id(c, user): c for c in pairs}


def access_conversation(*, user: User, conversation_id: int | str) -> LegacyConversation:
    """The conversation `conversation_id` if `user` is in it; else Http404, as for one that doesn't exist.

    An alias (a later old id of a pair) is returned as itself: it has the pair, and its id is the one the
    answers name. An old conversation that did not have exactly two participants maps to no pair: 404 for
    everyone.
    """
    try:
        return (
            LegacyConversation.objects.select_related("user_low", "user_high")
            .filter(Q(user_low=user) | Q(user_high=user))
            .get(pk=int(conversation_id))
        )
    except (LegacyConversation.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("Conversation not found") from None


def canonical_id(conversation: LegacyConversation) -> int:
    """The id the pair of `conversation` is listed under: its own, or for an alias the canonical one's."""
    return conversation.alias_of_id or conversation.pk


def partner_in(conversation: LegacyConversation, *, user: User) -> User:
    """The other participant of `conversation`, seen from `user`."""
    partner = conversation.user_high if conversation.user_low_id == user.pk else conversation.user_low
    if partner is None:  # only an old conversation without two participants lacks a pair; none gets here
        raise ValueError(f"conversation {conversation.pk} maps to no pair")
    return partner


@transaction.atomic
def open_conversation(*, user: User, participant_id: int) -> tuple[LegacyConversation, bool]:
    """`POST /api/messaging/conversations`: get or create the conversation with the one person named.

    Whom a conversation can be opened with is the messaging rule of whom one can message. The conversation
    is listed for `user` from now on, even before a message is sent, until they delete it.
    """
    other = services.active_recipient(sender=user, recipient_id=participant_id)
    conversation, created = conversation_for_pair(user=user, other=other, opened_by=user)
    OpenedConversation.objects.get_or_create(user=user, conversation=conversation)
    return conversation, created


@transaction.atomic
def delete_conversation(*, user: User, conversation: LegacyConversation) -> int:
    """Delete the whole conversation for `user` only: their copy of every message, and their opening of it.

    Through an alias too: the opening belongs to the pair's canonical id, the one `open_conversation` gives.
    """
    deleted = services.delete_conversation_for_user(user=user, other=partner_in(conversation, user=user))
    OpenedConversation.objects.filter(user=user, conversation_id=canonical_id(conversation)).delete()
    return deleted


class ConversationView(NamedTuple):
    """A conversation as `user` sees it: its id and creation, the pair, and what they see of it."""

    id: int
    created_at: datetime
    participants: Sequence[Person]
    last_message: AnyMessage | None
    unread_count: int
    updated_at: datetime | None


def _pair_users(conversation: LegacyConversation) -> list[User]:
    """The pair of `conversation`, lower id first."""
    if conversation.user_low is None or conversation.user_high is None:  # see `_partner_id`
        raise ValueError(f"conversation {conversation.pk} maps to no pair")
    return [conversation.user_low, conversation.user_high]


def _participants(user: User, other: Person) -> list[Person]:
    """The pair, lower id first."""
    return [user, other] if user.id <= other.id else [other, user]


def _empty_view(conversation: LegacyConversation, participants: Sequence[Person]) -> ConversationView:
    """A conversation in which its user sees no message (opened, or every message deleted for them)."""
    return ConversationView(
        id=conversation.pk,
        created_at=conversation.created_at,
        participants=participants,
        last_message=None,
        unread_count=0,
        updated_at=conversation.updated_at,
    )


def _views(*, user: User, rows: Iterable[ConversationRow]) -> list[ConversationView]:
    """Views of the conversations of `rows` (of `conversation_rows`, with `conversation_id` and
    `conversation_created_at`), with their last visible message."""
    conversations = {row["partner_id"]: row for row in rows}
    views = []
    for row in selectors.attach_last_messages(user=user, rows=conversations.values()):
        participant = row.participant
        views.append(
            ConversationView(
                id=conversations[participant.pk]["conversation_id"],
                created_at=conversations[participant.pk]["conversation_created_at"],
                participants=_participants(user, participant),
                last_message=row.last_message,
                unread_count=row.unread_count,
                updated_at=row.last_activity_at,
            )
        )
    return views


def conversation_view(*, user: User, conversation: LegacyConversation) -> ConversationView:
    """One conversation of `user`; `last_message` is None when they see no message in it."""
    other = partner_in(conversation, user=user)
    ids = {"conversation_id": conversation.pk, "conversation_created_at": conversation.created_at}
    rows = [{**row, **ids} for row in selectors.conversation_rows(user=user, partners=[other.pk])]
    views = _views(user=user, rows=rows)
    return views[0] if views else _empty_view(conversation, _participants(user, other))


class ListedRow(NamedTuple):
    """A row of `_LISTED_PAGE_SQL` before its last message: a partner's conversation with its counts, its pair's
    canonical conversation (None while the pair has none) and whether it is an opening without messages."""

    partner_id: int
    last_activity_at: datetime
    unread_count: int
    conversation_id: int | None
    conversation_created_at: datetime | None
    opened: bool


# A page of `user`'s legacy conversation list (`%(user)s`, `%(limit)s` rows from `%(skip)s`), newest activity
# first: the first rows of their `messaging.selectors.conversation_rows` (but the pair with themselves, which
# has no conversation id), each with its pair's canonical conversation (id and creation; NULL while the pair
# has none), merged with the conversations they opened and see no message in (`opened`, no summary row of
# the pair: their opening's time as the activity), each row with its last visible message
# (`messaging.list_reads.LAST_MESSAGE_JOINS`; none for an opened one). The page is among the first
# skip + limit (`%(head)s`) rows of each kind; the last messages are looked up for the page's rows only. Literal SQL, as
# the list's other reads: it runs on every listing, where the ORM's form of its parts (the rows, the
# pair's lookup, the openings) cost about as much as the rest of the list's Python, and three round trips
# more than the one. `test_legacy_reads_sql.py` compares it with its ORM definition.
_LISTED_PAGE_SQL = (
    """
SELECT """
    + ", ".join(f"page.{field}" for field in ListedRow._fields)
    + ","
    + list_reads.LAST_MESSAGE_COLUMNS
    + """FROM (
    SELECT listed.* FROM (
    (
        SELECT summary.partner_id, summary.last_activity_at, summary.unread_count,
               pair.id AS conversation_id, pair.created_at AS conversation_created_at, false AS opened
        FROM messaging_conversation_summary AS summary
        LEFT JOIN legacy_dm_conversation AS pair
          ON pair.user_low_id = LEAST(summary.user_id, summary.partner_id)
         AND pair.user_high_id = GREATEST(summary.user_id, summary.partner_id)
         AND pair.alias_of_id IS NULL
        WHERE summary.user_id = %(user)s AND summary.partner_id <> %(user)s
        ORDER BY summary.last_activity_at DESC, summary.partner_id DESC
        LIMIT %(head)s
    )
    UNION ALL
    (
        SELECT partner.id, opened.opened_at, 0, opened.conversation_id, NULL, true
        FROM legacy_dm_opened_conversation AS opened
        JOIN legacy_dm_conversation AS pair ON pair.id = opened.conversation_id
        CROSS JOIN LATERAL (
            SELECT CASE WHEN pair.user_low_id = %(user)s THEN pair.user_high_id ELSE pair.user_low_id END AS id
        ) AS partner
        WHERE opened.user_id = %(user)s
          AND NOT EXISTS (
              SELECT 1 FROM messaging_conversation_summary AS summary
              WHERE summary.user_id = %(user)s AND summary.partner_id = partner.id
          )
    )
    ) AS listed
    ORDER BY listed.last_activity_at DESC, listed.partner_id DESC
    LIMIT %(limit)s OFFSET %(skip)s
) AS page"""
    + list_reads.LAST_MESSAGE_JOINS
    + """ORDER BY page.last_activity_at DESC, page.partner_id DESC
"""
)


def _listed_page(user: User, *, skip: int, limit: int) -> list[tuple[ListedRow, tuple[Person, MessageRow] | None]]:
    """`limit` rows from `skip` of `user`'s legacy conversation list, each with its partner and its last visible
    message (None for an opened conversation)."""
    rows = list_reads.fetch_rows(
        _LISTED_PAGE_SQL, {"user": user.pk, "skip": skip, "limit": limit, "head": skip + limit}
    )
    cut = len(ListedRow._fields)
    instances = list_reads.Instances(reader=user)
    return [(ListedRow._make(row[:cut]), instances.last_message(row[cut:])) for row in rows]


def conversation_list(*, user: User, skip: int, limit: int) -> list[ConversationView]:
    """`GET /api/messaging/conversations`: the pairs in which `user` sees a message, and those they opened.

    Newest activity first (a conversation opened without messages counts from its opening). Every row gets
    its conversation id. A constant number of queries, whatever the number of conversations: the page with
    its conversations and last messages, and only when the page needs them the pairs' first ids and the
    opened conversations' people.
    """
    page = _listed_page(user, skip=skip, limit=limit)
    without_id = [row.partner_id for row, _ in page if not row.opened and row.conversation_id is None]
    created = give_ids(user=user, partner_ids=without_id) if without_id else {}
    opened_ids = [row.conversation_id for row, _ in page if row.opened]
    opened = (
        LegacyConversation.objects.select_related("user_low", "user_high").in_bulk(opened_ids) if opened_ids else {}
    )

    views = []
    for row, last in page:
        if row.opened:
            if row.conversation_id in opened:
                views.append(_empty_view(opened[row.conversation_id], _pair_users(opened[row.conversation_id])))
        elif last is not None:  # None only if the summary disagreed with the messages
            partner, last_message = last
            if row.conversation_id is None or row.conversation_created_at is None:  # its id given just now
                given = created[row.partner_id]
                conversation_id, created_at = given.pk, given.created_at
            else:
                conversation_id, created_at = row.conversation_id, row.conversation_created_at
            views.append(
                ConversationView(
                    id=conversation_id,
                    created_at=created_at,
                    participants=_participants(user, partner),
                    last_message=last_message,
                    unread_count=row.unread_count,
                    updated_at=row.last_activity_at,
                )
            )
    return views
