"""Reads: every query that shows messages to a user goes through `visible_messages` (the one visibility rule)."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, F, Max, OuterRef, Q, QuerySet, Subquery, Value, When, Window
from django.db.models.functions import Coalesce, Lower, NullIf, RowNumber
from django.http import Http404

from .models import Message, UserBlock

User = get_user_model()

# Lists show a message with its people and the preview of what it replies to, never attachment bytes.
_LIST_RELATED = ("sender", "recipient", "reply_to")
_DEFERRED = ("attachment_data", "reply_to__attachment_data")


def visible_messages(*, user) -> QuerySet[Message]:
    """Messages `user` can see, with what a list shows, without attachment bytes."""
    return Message.objects.visible_to(user).select_related(*_LIST_RELATED).defer(*_DEFERRED)


def access_message(*, user, message_id, with_attachment: bool = False) -> Message:
    """The message `message_id` if `user` can see it; else Http404, exactly as for a message that doesn't exist."""
    queryset = Message.objects.visible_to(user).select_related(*_LIST_RELATED)
    if not with_attachment:
        queryset = queryset.defer(*_DEFERRED)
    try:
        return queryset.get(pk=int(message_id))
    except (Message.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No message matches the given query.") from None


def get_user_or_404(*, user_id) -> User:
    """Any existing user (active or not: old threads with deactivated people stay readable)."""
    try:
        return User.objects.get(pk=int(user_id))
    except (User.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No user matches the given query.") from None


def thread_between(*, user, other) -> QuerySet[Message]:
    """The conversation of `user` with `other`, as `user` sees it, newest first."""
    return visible_messages(user=user).between(user, other).order_by("-created_at", "-id")


def unread_count(*, user) -> int:
    return Message.objects.unread_for(user).count()


def _partner_expression(user):
    return Case(When(sender=user, then=F("recipient_id")), default=F("sender_id"))


def conversation_rows(*, user, partners=None) -> QuerySet:
    """One row per partner: `{partner_id, last_activity_at, unread_count}`, newest activity first.

    A single grouped query; pair it with `attach_last_messages` for the page being shown. `partners` (user
    ids) narrows it to those conversations, through the pair indexes.
    """
    messages = Message.objects.visible_to(user)
    if partners is not None:
        messages = messages.filter(Q(sender=user, recipient__in=partners) | Q(sender__in=partners, recipient=user))
    return (
        messages.annotate(partner_id=_partner_expression(user))
        .values("partner_id")
        .annotate(
            last_activity_at=Max("created_at"),
            unread_count=Count("id", filter=Q(recipient=user, read_at__isnull=True)),
        )
        .order_by("-last_activity_at", "-partner_id")
    )


@dataclass
class Conversation:
    participant: User
    last_message: Message
    unread_count: int
    last_activity_at: datetime


def attach_last_messages(*, user, rows) -> list[Conversation]:
    """The conversations of a page of `conversation_rows`, with their last visible message: one query."""
    rows = list(rows)
    if not rows:
        return []
    last_messages = (
        visible_messages(user=user)
        .annotate(partner_id=_partner_expression(user))
        .filter(partner_id__in=[row["partner_id"] for row in rows])
        .annotate(
            position=Window(
                RowNumber(), partition_by=[F("partner_id")], order_by=[F("created_at").desc(), F("id").desc()]
            )
        )
        .filter(position=1)
    )
    by_partner = {message.partner_id: message for message in last_messages}
    conversations = []
    for row in rows:
        message = by_partner.get(row["partner_id"])
        if message is None:  # deleted between the two queries
            continue
        conversations.append(
            Conversation(
                participant=message.partner_of(user),
                last_message=message,
                unread_count=row["unread_count"],
                last_activity_at=row["last_activity_at"],
            )
        )
    return conversations


def participants_for(*, user, search: str = "") -> QuerySet[User]:
    """People `user` can message: partners first (most recent first), then everyone else by name.

    Excludes `user`, inactive users and people `user` blocked. Each row is annotated with
    `last_activity_at` (None without a conversation).
    """
    last_activity = (
        Message.objects.visible_to(user)
        .filter(Q(sender=user, recipient=OuterRef("pk")) | Q(sender=OuterRef("pk"), recipient=user))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    queryset = (
        User.objects.filter(is_active=True)
        .exclude(pk=user.pk)
        .exclude(pk__in=UserBlock.objects.filter(blocker=user).values("blocked_id"))
        .annotate(
            last_activity_at=Subquery(last_activity),
            sort_name=Lower(Coalesce(NullIf("display_name", Value("")), "username")),
        )
    )
    search = (search or "").strip()
    if search:
        queryset = queryset.filter(Q(username__icontains=search) | Q(display_name__icontains=search))
    return queryset.order_by(F("last_activity_at").desc(nulls_last=True), "sort_name", "id")


def search_messages(*, user, query: str, filters: dict) -> QuerySet[Message]:
    """Messages visible to `user` matching `query`, best match first, narrowed by `filters`."""
    from .filters import MessageSearchFilterSet  # filters depend on this module's queries

    filterset = MessageSearchFilterSet(data=filters, queryset=visible_messages(user=user), user=user)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset.search(query)


def is_blocked(*, blocker, blocked) -> bool:
    return UserBlock.objects.filter(blocker=blocker, blocked=blocked).exists()


def blocked_users(*, user) -> QuerySet[User]:
    return User.objects.filter(blocked_by__blocker=user).order_by("username")
