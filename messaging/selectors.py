"""Reads: every message, conversation, count and person that the API, the legacy API and the pages show is
read here, and so are the messages that live events announce.

Every query of what a user sees is built on the visibility rule of `MessageQuerySet` (messaging/models.py).
Outside this module: services read only the rows they check or change, the admin shows moderators every
message, `messaging.conversations` reads messages to keep the summary, and `legacy_dm` reads its own tables
(the conversation-id map, opened conversations, usage counters).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When, Window
from django.db.models.functions import Coalesce, Lower, NullIf
from django.http import Http404

from config.db import planned_per_call, reading
from users.models import Person, User
from users.selectors import USER_COLUMNS

from . import list_reads
from .filters import MessageSearchFilterSet, ranked_matches
from .list_reads import AnyMessage
from .models import ConversationMute, ConversationSummary, Message, UserBlock
from .sequences import PrefetchedSequence

# Queries go to the configured user model (AUTH_USER_MODEL); `User` is its type.
UserModel = get_user_model()

# Lists show a message with its people and the preview of what it replies to, never attachment bytes, and
# of each person only what the API, the legacy API and the pages show (not the password hash, the email...).
_LIST_RELATED = ("sender", "recipient", "reply_to")
# `read_receipts`: whether a listed recipient lets the sender see a read (`Message.read_at_for`).
_LISTED_USER_FIELDS = ("id", "username", "display_name", "read_receipts")
_DEFERRED = (
    "attachment_data",
    "reply_to__attachment_data",
    *(
        f"{person}__{field.name}"
        for person in ("sender", "recipient")
        for field in UserModel._meta.concrete_fields
        if field.name not in _LISTED_USER_FIELDS
    ),
)


def visible_messages(*, user: User) -> QuerySet[Message]:
    """Messages `user` can see, with what a list shows, without attachment bytes."""
    return Message.objects.visible_to(user).select_related(*_LIST_RELATED).defer(*_DEFERRED)


def message_of_thread(*, user: User, other: User, message_id: Any) -> Message | None:
    """The message `message_id` of the thread of `user` with `other` as `user` sees it, or None: what a reply
    may quote (`services.send_message`, the thread page's composer)."""
    if not isinstance(message_id, int):
        try:
            message_id = int(message_id)
        except (TypeError, ValueError, OverflowError):
            return None
    if not 0 < message_id <= LARGEST_ID:
        return None
    return Message.objects.visible_to(user).between(user, other).select_related("sender").filter(pk=message_id).first()


def access_message(*, user: User, message_id: Any, with_attachment: bool = False, for_update: bool = False) -> Message:
    """The message `message_id` if `user` can see it; else Http404, exactly as for a message that doesn't exist.

    `message_id` is what the client sent (any JSON value or URL segment); anything but an id is a 404.
    `for_update`: its row locked until the caller's transaction ends (a service about to change it).
    """
    queryset = Message.objects.visible_to(user).select_related(*_LIST_RELATED)
    if not with_attachment:
        queryset = queryset.defer(*_DEFERRED)
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    try:
        return queryset.get(pk=int(message_id))
    except (Message.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No message matches the given query.") from None


def message_to_unsend(*, user: User, message_id: Any) -> Message:
    """The message `message_id` for `services.unsend_message`: one `user` sees (`access_message`'s rule), or one
    they sent and unsent already (unsending it again is answered as done: a client's retry after a lost answer);
    else Http404, exactly as for a message that doesn't exist."""
    unsent_by_user = Message.objects.filter(sender=user, unsent_at__isnull=False)
    try:
        return (Message.objects.visible_to(user) | unsent_by_user).without_attachment_bytes().get(pk=int(message_id))
    except (Message.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No message matches the given query.") from None


def messages_to_announce(*, ids: Iterable[int], using: str) -> dict[int, Message]:
    """The messages `ids` as they are now, by id, whoever may see them: with their people and the message they
    reply to, without attachment bytes. For announcing writes that ran no Relay code (`legacy_dm.sync.events`):
    `messaging.events` decides what each viewer is told, so this read applies no visibility rule.
    """
    return (
        Message.objects.using(using)
        .select_related("sender", "recipient", "reply_to")
        .without_attachment_bytes()
        .defer("reply_to__attachment_data")
        .in_bulk(ids)
    )


def get_user_or_404(*, user_id: Any) -> User:
    """Any existing user (active or not: old threads with deactivated people stay readable).

    `user_id` is what the client sent; anything but an id is a 404.
    """
    try:
        return UserModel.objects.get(pk=int(user_id))
    except (UserModel.DoesNotExist, TypeError, ValueError, OverflowError):
        raise Http404("No user matches the given query.") from None


def thread_between(*, user: User, other: User | int, with_removed: bool = False) -> QuerySet[Message]:
    """The conversation of `user` with `other`, as `user` sees it, newest first; `with_removed`: with the
    messages a moderator hid (`thread_window`'s placeholders)."""
    return (
        Message.objects.thread_visible_to(user, _pk(other), with_removed=with_removed)
        .select_related(*_LIST_RELATED)
        .defer(*_DEFERRED)
        .order_by("-created_at", "-id")
    )


def thread_page(
    *,
    user: User,
    other: User | int,
    newest_first: bool,
    offset: int,
    limit: int,
    before: datetime | None = None,
    after: datetime | None = None,
) -> list[Message]:
    """A page of `thread_between(user, other)`: `limit` messages from `offset`, newest or oldest first, sent
    before `before` and after `after` (None: no bound). The cursor paginators' and the legacy slices' read:
    one literal query (`list_reads.thread_page`); a thread with oneself (carried old rows only, its own rule)
    is read from the QuerySet."""
    other_id = _pk(other)
    if other_id != user.pk:
        return list_reads.thread_page(
            user_id=user.pk,
            other_id=other_id,
            newest_first=newest_first,
            offset=offset,
            limit=limit,
            before=before,
            after=after,
        )
    thread = thread_between(user=user, other=other_id)
    if not newest_first:
        thread = thread.reverse()
    if before is not None:
        thread = thread.filter(created_at__lt=before)
    if after is not None:
        thread = thread.filter(created_at__gt=after)
    return list(thread[offset : offset + limit])


# The anchors of `thread_window` that are not a message id.
ANCHOR_NEWEST = "newest"
ANCHOR_FIRST_UNREAD = "first_unread"
# An anchor id above this (bigint) is no message's: it settles as one past every message does.
LARGEST_ID = 2**63 - 1
MAX_WINDOW_SIDE = 100  # the most messages an anchored read gives on each side of its anchor


@dataclass(frozen=True)
class ThreadWindow:
    """An anchored read of a thread (Zulip's model): `messages` oldest first around `anchor`, the id of the
    message it settled on (None: the thread is empty); whether that is the message asked for
    (`found_anchor`); whether the window reaches the thread's oldest and newest messages; and the oldest
    unread message from the other person (`first_unread_id`, None if none), wherever it is."""

    messages: list[Message]
    anchor: int | None
    found_anchor: bool
    found_oldest: bool
    found_newest: bool
    first_unread_id: int | None


def thread_window(
    *, user: User, other: User | int, anchor: int | str, num_before: int, num_after: int, with_removed: bool = False
) -> ThreadWindow:
    """The messages of `thread_between(user, other)` around an anchor, oldest first: the anchor message, up
    to `num_before` messages before it and up to `num_after` after it, in the thread's order.

    `anchor` is `ANCHOR_NEWEST` (the newest message), `ANCHOR_FIRST_UNREAD` (the oldest unread message from
    the other person to `user`; the newest if none is unread) or a message id. An id the thread does not hold
    as `user` sees it (deleted for them, hidden, another conversation's, no message's) settles on the thread's
    first message by id after it, else on the newest, with `found_anchor` false: what `user` may not see
    decides nothing, only the number does. One literal query (`list_reads.thread_window`); a thread with
    oneself (carried old rows only, its own rule) is read from the QuerySet.

    `with_removed`: the thread holds the messages a moderator hid too (`hidden_at` set), which the thread page
    shows as placeholders; the first unread message is still a visible one. Only the pages ask for them.
    """
    other_id = _pk(other)
    kind = anchor if anchor in (ANCHOR_NEWEST, ANCHOR_FIRST_UNREAD) else "id"
    anchor_id = min(int(anchor), LARGEST_ID) if kind == "id" else 0
    if other_id != user.pk:
        rows = list_reads.thread_window(
            user_id=user.pk,
            other_id=other_id,
            kind=kind,
            anchor=anchor_id,
            before=num_before,
            after=num_after,
            with_removed=with_removed,
        )
    else:
        rows = _own_thread_window(
            user=user, kind=kind, anchor=anchor_id, before=num_before, after=num_after, with_removed=with_removed
        )
    before, from_anchor = rows.before[:num_before], rows.from_anchor[: num_after + 1]
    return ThreadWindow(
        messages=[*reversed(before), *from_anchor],
        anchor=from_anchor[0].pk if from_anchor else None,
        found_anchor=rows.found,
        found_oldest=len(rows.before) <= num_before,
        found_newest=len(rows.from_anchor) <= num_after + 1,
        first_unread_id=rows.first_unread_id,
    )


def _own_thread_window(
    *, user: User, kind: str, anchor: int, before: int, after: int, with_removed: bool
) -> list_reads.WindowRows:
    """`list_reads.thread_window` for the thread of `user` with themselves, from the QuerySet: carried rows
    only (no new message to oneself can be written), so the whole thread is read."""
    thread = list(thread_between(user=user, other=user, with_removed=with_removed).reverse())
    unread = [m.pk for m in thread if m.recipient_id == user.pk and m.read_at is None and m.hidden_at is None]
    first_unread_id = unread[0] if unread else None
    by_id = sorted((m.pk, position) for position, m in enumerate(thread))
    wanted = {
        ANCHOR_NEWEST: len(thread) - 1 if thread else None,
        ANCHOR_FIRST_UNREAD: next((i for i, m in enumerate(thread) if m.pk == first_unread_id), None),
        "id": next((i for pk, i in by_id if pk == anchor), None),
    }[kind]
    at = wanted
    if at is None and kind == "id":
        at = next((i for pk, i in by_id if pk > anchor), None)
    if at is None and thread:
        at = len(thread) - 1
    if at is None:
        return list_reads.WindowRows(before=[], from_anchor=[], found=False, first_unread_id=None)
    return list_reads.WindowRows(
        before=thread[max(at - before - 1, 0) : at][::-1],
        from_anchor=thread[at : at + after + 2],
        found=wanted is not None,
        first_unread_id=first_unread_id,
    )


def unread_count(*, user: User) -> int:
    """The messages `user` has not read (`unread_counts`)."""
    return unread_counts(user=user).unread


@dataclass(frozen=True)
class UnreadCounts:
    """`unread`: every message `user` has not read (`unread_count`); `badge`: those outside the
    conversations they muted, what their badge shows."""

    unread: int
    badge: int


# The unread count less what the muted conversations hold. Literal SQL: it runs on every unread count, live
# event and page, and building and compiling it in the ORM costs several times what PostgreSQL takes to run it.
# `test_reads_sql.py` compares it with its ORM definition.
_UNREAD_COUNTS_SQL = """
SELECT totals.unread,
       totals.unread - COALESCE((
           SELECT sum(summary.unread_count)
           FROM messaging_conversation_summary AS summary
           JOIN messaging_conversation_mute AS mute
             ON mute.user_id = summary.user_id AND mute.partner_id = summary.partner_id
           WHERE summary.user_id = totals.user_id
       ), 0)
FROM messaging_inbox_totals AS totals
WHERE totals.user_id = %s
"""


def unread_counts(*, user: User) -> UnreadCounts:
    """The user's unread count and badge count in one read: their `InboxTotals` row (kept by the summary's
    triggers), less the unread counts of their muted conversations' summary rows (a lookup per muted
    conversation). No totals row: zeros."""
    with reading(ConversationSummary).cursor() as cursor:
        cursor.execute(_UNREAD_COUNTS_SQL, [user.pk])
        row = cursor.fetchone()
    unread, badge = row or (0, 0)
    return UnreadCounts(unread=unread, badge=badge)


@dataclass(frozen=True)
class Relation:
    """What `user` chose about `other` (whether they block them, whether they muted their conversation), and
    whether `other` blocks `user` (`blocked_by`: then `user` may not write to them, nor edit what they sent)."""

    blocked: bool
    muted: bool
    blocked_by: bool


def relation(*, user: User, other: User) -> Relation:
    """`user`'s block and mute of `other`, and `other`'s block of `user`, in one query (a thread page shows the
    first two and offers Edit by the third)."""
    row = UserModel.objects.filter(pk=other.pk).values_list(
        Exists(blocks(blocker=user, blocked=other)),
        Exists(ConversationMute.objects.filter(user=user, partner=other)),
        Exists(blocks(blocker=other, blocked=user)),
    )
    blocked, muted, blocked_by = row.first() or (False, False, False)
    return Relation(blocked=blocked, muted=muted, blocked_by=blocked_by)


def _pk(user_or_id: User | int) -> int:
    return user_or_id if isinstance(user_or_id, int) else user_or_id.pk


_ROW_FIELDS = ("partner_id", "last_activity_at", "unread_count", "muted", "blocked")


def conversation_rows(
    *, user: User, partners: Iterable[User | int] | None = None
) -> QuerySet[ConversationSummary, dict[str, Any]]:
    """One row per partner: `{partner_id, last_activity_at, unread_count, muted, blocked}` (`blocked`: `user`
    blocked the partner), newest activity first.

    Read from the conversation summary (`ConversationSummary`, kept exact by `messaging.conversations`): a
    page is one range of its `(user, -last_activity_at, -partner)` index, whatever the length of the
    user's history; their number is the user's totals row. Pair it with `attach_last_messages` for the page
    shown (`conversations_page` reads both, and the number, in one query). `partners` (users or ids) narrows
    it to those conversations.
    """
    muted = Exists(ConversationMute.objects.filter(user=user.pk, partner=OuterRef("partner")))
    rows = ConversationSummary.objects.filter(user=user.pk)
    if partners is not None:
        rows = rows.filter(partner__in=[_pk(partner) for partner in partners])
    listed: QuerySet[ConversationSummary, dict[str, Any]]
    blocked = Exists(blocks(blocker=user.pk, blocked=OuterRef("partner")))
    listed = (
        rows.annotate(muted=muted, blocked=blocked).order_by("-last_activity_at", "-partner_id").values(*_ROW_FIELDS)
    )
    return listed


def has_conversation(*, user_id: Any, partner: Any) -> Exists:
    """Whether `user_id` has a conversation with `partner` (ids or expressions, such as an `OuterRef`): a
    summary row, that is a message of the pair that they see. For filters of other apps' queries."""
    return Exists(ConversationSummary.objects.filter(user=user_id, partner=partner))


class Conversation(NamedTuple):
    """A conversation as the lists show it to a user."""

    participant: Person
    last_message: AnyMessage  # a list's read gives rows, which render as messages do
    unread_count: int
    last_activity_at: datetime
    muted: bool
    blocked: bool  # the user blocked the participant


def attach_last_messages(*, user: User, rows: Iterable[dict[str, Any]]) -> list[Conversation]:
    """The conversations of a page of `conversation_rows`, with their last visible message: one query.

    A row's `last_activity_at` is the time of its last visible message, so the query asks for the visible
    messages of the page's partners sent at those times (an index lookup per partner, whatever the length
    of the conversations) and keeps, per partner, the one at its row's time with the highest id.
    """
    rows = list(rows)
    if not rows:
        return []
    last_at = {row["partner_id"]: row["last_activity_at"] for row in rows}
    by_partner: dict[int, Message] = {}
    for message in _messages_at(user=user, partner_ids=list(last_at), times=list(dict.fromkeys(last_at.values()))):
        partner_id = message.partner_of(user).pk
        if message.created_at != last_at.get(partner_id):
            continue  # another partner's last time
        if partner_id not in by_partner or message.pk > by_partner[partner_id].pk:
            by_partner[partner_id] = message
    # A row whose last message is gone was deleted between the two queries.
    return [_conversation(user, row, by_partner[row["partner_id"]]) for row in rows if row["partner_id"] in by_partner]


def _conversation(user: User, row: dict[str, Any], last_message: Message) -> Conversation:
    """A row of `conversation_rows` with its last message, as the lists show it to `user`."""
    return Conversation(
        participant=last_message.partner_of(user),
        last_message=last_message,
        unread_count=row["unread_count"],
        last_activity_at=row["last_activity_at"],
        muted=row["muted"],
        blocked=row.get("blocked", False),  # rows of a read that carries no blocks (the old API's) are unmarked
    )


class ConversationPage(NamedTuple):
    """A page of a user's conversations, and how many they have in all: the `(rows, count)` that a
    `messaging.pagination.CountedPaginator` pages with."""

    conversations: list[Conversation]
    total: int  # (a tuple's `count` is its method)


def conversations_page(*, user: User, offset: int, limit: int) -> ConversationPage:
    """`attach_last_messages(user=user, rows=conversation_rows(user=user)[offset : offset + limit])` and the
    number of `conversation_rows` (their totals row), in one literal query (`list_reads.conversations_page`):
    the lists read them on every request, and three round trips, the rows passed back as arrays, cost more
    than the joins. Its partners and last messages are the read's rows (`PersonRow`, `MessageRow`), which
    render as the instances of `attach_last_messages` do (`test_reads_sql.py`)."""
    rows, count = list_reads.conversations_page(user=user, offset=offset, limit=limit)
    # No last message only if the summary disagreed with the messages.
    conversations = [Conversation(*last, *values) for values, last in rows if last is not None]
    return ConversationPage(conversations=conversations, total=count)


def _messages_at(*, user: User, partner_ids: list[int], times: list[datetime]) -> list[Message]:
    """The messages visible to `user`, exchanged with one of `partner_ids`, sent at one of `times`: what
    `visible_messages` gives for that filter, loaded the same (`list_reads.messages_at`, literal SQL)."""
    return list_reads.messages_at(user_id=user.pk, partner_ids=partner_ids, times=times)


def participants_for(*, user: User, search: str = "") -> QuerySet[User]:
    """People `user` can message: partners first (most recent first), then everyone else by name.

    Excludes `user` and inactive users, and staff accounts (moderators, admins) that have never written to
    `user`: those are for the moderation console, not people to look up, though one who wrote is answered.
    People `user` blocked are listed (they may still write to them, `services.active_recipient`), annotated
    `blocked`. Each row is annotated with `last_activity_at` (None without a conversation).
    """
    last_activity = (
        Message.objects.thread_visible_to(user, OuterRef("pk"))  # never `user`: excluded below
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    # The per-person lookup runs only for partners (a hashed set, built once from index-only scans), not
    # for every user in the directory.
    partners = Q(pk__in=Message.objects.sent_visible_to(user).values("recipient_id")) | Q(
        pk__in=Message.objects.received_visible_to(user).values("sender_id")
    )
    # Any message a staff account sent `user`, whatever became of it since: one index lookup per staff
    # account (`msg_sender_pair_idx`), never one per person.
    wrote_to_user = Exists(Message.objects.filter(sender=OuterRef("pk"), recipient=user.pk))
    queryset = (
        UserModel.objects.filter(Q(is_staff=False) | wrote_to_user, is_active=True)
        .exclude(pk=user.pk)
        .annotate(
            last_activity_at=Case(When(partners, then=Subquery(last_activity)), default=None),
            sort_name=Lower(Coalesce(NullIf("display_name", Value("")), "username")),
            blocked=Exists(blocks(blocker=user.pk, blocked=OuterRef("pk"))),
        )
    )
    search = (search or "").strip()
    if search:
        queryset = queryset.filter(Q(username__icontains=search) | Q(display_name__icontains=search))
    return queryset.order_by(F("last_activity_at").desc(nulls_last=True), "sort_name", "id")


def blocked_people(*, user: User) -> QuerySet[User]:
    """The people `user` blocked, by name (Settings lists them, each with an Unblock button)."""
    return (
        UserModel.objects.filter(pk__in=UserBlock.objects.filter(blocker=user.pk).values("blocked_id"))
        .annotate(sort_name=Lower(Coalesce(NullIf("display_name", Value("")), "username")))
        .order_by("sort_name", "id")
        .only("id", "username", "display_name")
    )


class RankedResults(PrefetchedSequence[Message]):
    """The messages of an ordered QuerySet, read as ids first: a `PrefetchedSequence` of messages.

    A search of a common word matches thousands of messages, and a paginator asks for their number and then
    for a page, which would find and rank every match twice. Here `count()` reads the ids of the first
    `prefetch` matches in order with the number of all of them (`COUNT(*) OVER ()`), one pass over the
    matches that carries no message columns; a page then loads its messages by id (with what lists show)
    and keeps the order of the ids. Pages past the ids read with the count read their own ids.
    """

    out_of_range = "search result index out of range"

    def __init__(self, queryset: QuerySet[Message]):
        self.queryset = queryset

    def count(self) -> int:
        if self._count is None:
            with planned_per_call(self.queryset.db):  # a common word and a rare one need different plans
                rows = list(
                    self.queryset.annotate(total=Window(Count("*"))).values_list("pk", "total")[: self.prefetch]
                )
            self._head = [pk for pk, _ in rows]
            self._count = rows[0][1] if rows else 0
        return self._count

    def _ids(self, offset: int, stop: int | None) -> list[int]:
        cached = self._from_head(offset, stop)  # the head holds ids
        if cached is not None:
            return cached
        with planned_per_call(self.queryset.db):
            return list(self.queryset.values_list("pk", flat=True)[offset:stop])

    def _messages(self, ids: list[int]) -> list[Message]:
        if not ids:
            return []
        by_id = {message.pk: message for message in self.queryset.order_by().filter(pk__in=ids)}
        return [by_id[pk] for pk in ids if pk in by_id]  # one deleted in between is left out

    def _items(self, offset: int, stop: int | None) -> list[Message]:
        return self._messages(self._ids(offset, stop))


def search_messages(*, user: User, query: str, filters: dict[str, Any]) -> RankedResults:
    """Messages visible to `user` matching `query`, best match first, narrowed by `filters`.

    A lazy sequence of messages (`count()`, slices, iteration) that paginators take as a QuerySet.
    """
    queryset = visible_messages(user=user)
    if filters:  # without any, the FilterSet leaves the messages as they are and only costs time
        filterset = MessageSearchFilterSet(data=filters, queryset=queryset, user=user)
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        queryset = filterset.qs
    return RankedResults(ranked_matches(queryset, query, user=user))


# The person a send goes to, if active, and whether they block the sender. Literal SQL: it runs on every send
# (`services.send_message` reads it in the send's own statement), and the ORM's form of it
# (`recipient_with_block`) cost several times its run in building and compiling.
RECIPIENT_SQL = """
SELECT person.id, person.last_login, person.is_superuser, person.username, person.first_name,
       person.last_name, person.email, person.is_staff, person.is_active, person.date_joined,
       person.password, person.display_name, person.read_receipts, person.time_zone, person.email_notifications,
       person.legacy_password,
       EXISTS (SELECT 1 FROM messaging_block AS block
               WHERE block.blocker_id = person.id AND block.blocked_id = %(sender)s) AS blocks_sender
FROM users_user AS person
WHERE person.id = %(recipient)s AND person.is_active
"""


def recipient_with_block(*, sender_id: int, recipient_id: int) -> QuerySet[User]:
    """The ORM definition of `recipient_for_send`: the active user `recipient_id`, annotated `blocks_sender`."""
    return UserModel.objects.filter(is_active=True, pk=recipient_id).annotate(
        blocks_sender=Exists(blocks(blocker=OuterRef("pk"), blocked=sender_id))
    )


def recipient_for_send(*, sender_id: int, recipient_id: int) -> tuple[User, bool] | None:
    """The active user `recipient_id` and whether they block `sender_id`; None if no such active user."""
    with connection.cursor() as cursor:
        cursor.execute(RECIPIENT_SQL, {"sender": sender_id, "recipient": recipient_id})
        row = cursor.fetchone()
    return recipient_from_row(row)


def recipient_from_row(row: tuple[Any, ...] | None) -> tuple[User, bool] | None:
    """`recipient_for_send`'s answer from a row of `RECIPIENT_SQL` (the person's columns, then the flag)."""
    if row is None:
        return None
    return User.from_db(connection.alias, USER_COLUMNS, row[:-1]), bool(row[-1])  # users.selectors' columns


def blocks(*, blocker: User | int | OuterRef, blocked: User | int | OuterRef) -> QuerySet[UserBlock]:
    """The block of `blocked` by `blocker` (either may be an expression such as `OuterRef("pk")`)."""
    return UserBlock.objects.filter(blocker=blocker, blocked=blocked)


def blocked_users(*, user: User) -> QuerySet[User]:
    return UserModel.objects.filter(blocked_by__blocker=user).order_by("username")
