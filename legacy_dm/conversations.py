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

Messages, unread counts and last messages come from `messaging.selectors`, the same queries as the new API.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404

from messaging import selectors, services

from .models import LegacyConversation, OpenedConversation

if TYPE_CHECKING:
    from messaging.models import Message
    from users.models import User

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


def conversations_with(*, user: User, partner_ids: Iterable[int]) -> dict[int, LegacyConversation]:
    """The canonical conversations of `user` with each of `partner_ids`, by partner id; missing ones are created.

    A constant number of queries for any number of partners: one read, and for pairs without an id yet one
    insert that ignores pairs a concurrent request inserted first, then one read of those rows.
    """
    partners = {pk for pk in partner_ids if pk != user.pk}  # nobody has a conversation with themselves
    if not partners:
        return {}

    def lookup(ids: set[int]) -> QuerySet[LegacyConversation]:
        return LegacyConversation.objects.filter(
            Q(user_low_id=user.pk, user_high_id__in=[pk for pk in ids if pk > user.pk])
            | Q(user_high_id=user.pk, user_low_id__in=[pk for pk in ids if pk < user.pk]),
            alias_of__isnull=True,
        )

    found = {_partner_id(c, user): c for c in lookup(partners)}
    missing = partners - found.keys()
    if missing:
        LegacyConversation.objects.bulk_create(
            [LegacyConversation(**_pair(user.pk, pk)) for pk in sorted(missing)], ignore_conflicts=True
        )
        found.update({_partner_id(c, user): c for c in lookup(missing)})
    return found


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


@dataclass
class ConversationView:
    """A conversation as `user` sees it."""

    conversation: LegacyConversation
    participants: list[User]
    last_message: Message | None
    unread_count: int
    updated_at: datetime | None


def _pair_users(conversation: LegacyConversation) -> list[User]:
    """The pair of `conversation`, lower id first."""
    if conversation.user_low is None or conversation.user_high is None:  # see `_partner_id`
        raise ValueError(f"conversation {conversation.pk} maps to no pair")
    return [conversation.user_low, conversation.user_high]


def _participants(user: User, other: User) -> list[User]:
    return sorted((user, other), key=lambda person: person.pk)


def _views(
    *, user: User, rows: Iterable[ConversationRow], conversations: dict[int, LegacyConversation]
) -> list[ConversationView]:
    """Views of the conversations of `rows` (from `conversation_rows`), with their last visible message."""
    views = []
    for row in selectors.attach_last_messages(user=user, rows=rows):
        participant: User = row.participant
        if participant.pk in conversations:
            views.append(
                ConversationView(
                    conversation=conversations[participant.pk],
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
    rows = selectors.conversation_rows(user=user, partners=[other.pk])
    views = _views(user=user, rows=rows, conversations={other.pk: conversation})
    if views:
        return views[0]
    return ConversationView(
        conversation=conversation,
        participants=_participants(user, other),
        last_message=None,
        unread_count=0,
        updated_at=conversation.updated_at,
    )


def conversation_list(*, user: User, skip: int, limit: int) -> list[ConversationView]:
    """`GET /api/messaging/conversations`: the pairs in which `user` sees a message, and those they opened.

    Newest activity first (a conversation opened without messages counts from its opening). Every row gets
    its conversation id. A constant number of queries, whatever the number of conversations.
    """
    openings = {
        _partner_id(opening.conversation, user): opening
        for opening in OpenedConversation.objects.filter(user=user).select_related(
            "conversation__user_low", "conversation__user_high"
        )
    }
    if openings:
        partners_with_messages = {
            row["partner_id"] for row in selectors.conversation_rows(user=user, partners=list(openings))
        }
        openings = {pk: opening for pk, opening in openings.items() if pk not in partners_with_messages}

    # The page is among the first skip + limit rows of each kind. One more row is read in case the user's own
    # self-pair (carried messages to oneself) is among them: it has no conversation id and is left out.
    head = selectors.conversation_rows(user=user)[: skip + limit + 1]
    rows = [row for row in head if row["partner_id"] != user.pk][: skip + limit]
    entries: list[tuple[datetime, int, dict[str, Any] | OpenedConversation]]
    entries = [(row["last_activity_at"], row["partner_id"], row) for row in rows]
    entries += [(opening.opened_at, pk, opening) for pk, opening in openings.items()]
    entries.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
    page = entries[skip : skip + limit]

    page_rows = [entry[2] for entry in page if isinstance(entry[2], dict)]
    conversations = conversations_with(user=user, partner_ids=[row["partner_id"] for row in page_rows])
    with_messages = {
        view.conversation.pk: view for view in _views(user=user, rows=page_rows, conversations=conversations)
    }

    views = []
    for _, partner_id, entry in page:
        if isinstance(entry, OpenedConversation):
            conversation = entry.conversation
            views.append(
                ConversationView(
                    conversation=conversation,
                    participants=_pair_users(conversation),
                    last_message=None,
                    unread_count=0,
                    updated_at=conversation.updated_at,
                )
            )
        elif partner_id in conversations and conversations[partner_id].pk in with_messages:
            views.append(with_messages[conversations[partner_id].pk])
    return views
