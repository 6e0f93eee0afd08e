"""Reads: every message, conversation, count and person that the API, the legacy API and the pages show is
read here, and so are the messages that live events announce.

Every query of what a user sees is built on the visibility rule of `MessageQuerySet` (messaging/models.py).
Outside this module: services read only the rows they check or change, the admin shows moderators every
message, `messaging.conversations` reads messages to keep the summary, and `legacy_dm` reads its own tables
(the conversation-id map, opened conversations, usage counters).
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value, When, Window
from django.db.models.functions import Coalesce, Lower, NullIf
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from config.db import planned_per_call
from users.models import User

from .filters import MessageSearchFilterSet, ranked_matches
from .hot_queries import precompiled_rows
from .models import ConversationMute, ConversationSummary, InboxTotals, Message, UserBlock
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


def access_message(*, user: User, message_id: Any, with_attachment: bool = False) -> Message:
    """The message `message_id` if `user` can see it; else Http404, exactly as for a message that doesn't exist.

    `message_id` is what the client sent (any JSON value or URL segment); anything but an id is a 404.
    """
    queryset = Message.objects.visible_to(user).select_related(*_LIST_RELATED)
    if not with_attachment:
        queryset = queryset.defer(*_DEFERRED)
    try:
        return queryset.get(pk=int(message_id))
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


def thread_between(*, user: User, other: User | int) -> QuerySet[Message]:
    """The conversation of `user` with `other`, as `user` sees it, newest first."""
    return (
        Message.objects.thread_visible_to(user, _pk(other))
        .select_related(*_LIST_RELATED)
        .defer(*_DEFERRED)
        .order_by("-created_at", "-id")
    )


def thread_pages(*, user: User, other: User | int) -> "ThreadPages | QuerySet[Message]":
    """`thread_between` as the thread's pages are read: the API's and the pages' cursor paginators and the
    legacy API's `skip`/`limit` slices. The same messages, loaded the same way; a thread with oneself (its own
    visibility rule, `thread_visible_to`) stays a plain QuerySet."""
    other_id = _pk(other)
    if other_id == user.pk:
        return thread_between(user=user, other=other_id)
    return ThreadPages(user=user, other_id=other_id)


_NEWEST_FIRST = ("-created_at", "-id")
_OLDEST_FIRST = ("created_at", "id")
_POSITION_LOOKUPS = ("created_at__lt", "created_at__gt")


class ThreadPages:
    """A page source for a thread: ordered newest or oldest first, from a position in time, one slice.

    That is all a cursor paginator asks (`order_by`, `filter(created_at__lt=...)`, a slice), and a slice is
    one query whose SQL is precompiled per order, position lookup and slice bounds
    (`hot_queries.precompiled_rows`): compiling it in the ORM costs several times what running it costs
    PostgreSQL (BENCHMARKS.md, "Issue 14's targets"). The rows are the QuerySet's columns, built into
    messages with their people and the message they reply to as `attach_last_messages` builds them; the
    QuerySet is not even built for them, as building it is itself a sizeable part of that cost. Anything else
    (another ordering or filter, a position that is not a time with its offset, an index) goes to the
    QuerySet. Slice bounds are keys as in `ConversationRows`. `test_thread_pages.py` compares the two.
    """

    def __init__(
        self,
        *,
        user: User,
        other_id: int,
        ordering: tuple[str, ...] = _NEWEST_FIRST,
        position: tuple[str, datetime] | None = None,
    ):
        self.user, self.other_id = user, other_id
        self.ordering, self.position = ordering, position

    def _again(self, **changes: Any) -> "ThreadPages":
        state: dict[str, Any] = {"ordering": self.ordering, "position": self.position, **changes}
        return ThreadPages(user=self.user, other_id=self.other_id, **state)

    def queryset(self) -> QuerySet[Message]:
        """The same reads as the QuerySet they are."""
        thread = thread_between(user=self.user, other=self.other_id).order_by(*self.ordering)
        return thread.filter(**{self.position[0]: self.position[1]}) if self.position else thread

    def order_by(self, *fields: str) -> "ThreadPages | QuerySet[Message]":
        if fields in (_NEWEST_FIRST, _OLDEST_FIRST) and self.position is None:
            return self._again(ordering=fields)
        return self.queryset().order_by(*fields)

    def reverse(self) -> "ThreadPages | QuerySet[Message]":
        return self.order_by(*(_OLDEST_FIRST if self.ordering == _NEWEST_FIRST else _NEWEST_FIRST))

    def filter(self, **lookups: Any) -> "ThreadPages | QuerySet[Message]":
        if self.position is None and len(lookups) == 1:
            ((lookup, value),) = lookups.items()
            at = parse_datetime(value) if isinstance(value, str) else value
            if lookup in _POSITION_LOOKUPS and isinstance(at, datetime) and timezone.is_aware(at):
                return self._again(position=(lookup, at))
        return self.queryset().filter(**lookups)

    def __getitem__(self, index: Any) -> Any:
        bounds = _slice_bounds(index)
        if bounds is None:
            return self.queryset()[index]
        start, stop = bounds
        ordering, lookup = self.ordering, self.position[0] if self.position else None

        def build(user_id: int, other_id: int, *at: datetime) -> QuerySet[Message, tuple[Any, ...]]:
            thread = Message.objects.thread_visible_to(UserModel(pk=user_id), other_id).order_by(*ordering)
            if lookup:
                thread = thread.filter(**{lookup: at[0]})
            return thread.values_list(*_ROW_COLUMNS)[start:stop]

        at = (self.position[1],) if self.position else ()
        rows = precompiled_rows(("thread", ordering, lookup, start, stop), build, self.user.pk, self.other_id, *at)
        db = connection.alias
        return [_message_from_row(row, db=db) for row in rows]

    def __iter__(self) -> Iterator[Message]:
        return iter(self.queryset())


def unread_count(*, user: User) -> int:
    """The messages `user` has not read (`unread_counts`)."""
    return unread_counts(user=user).unread


@dataclass(frozen=True)
class UnreadCounts:
    """`unread`: every message `user` has not read (`unread_count`); `badge`: those outside the
    conversations they muted, what their badge shows."""

    unread: int
    badge: int


def unread_counts(*, user: User) -> UnreadCounts:
    """The user's unread count and badge count in one precompiled read: their `InboxTotals` row (kept by the
    summary's triggers), less the unread counts of their muted conversations' summary rows (a lookup per
    muted conversation). Precompiled: it is read on every unread count, event and page, and the ORM's compile
    costs more than the read itself (BENCHMARKS.md, "Issue 14's targets")."""

    def build(user_id: int) -> QuerySet[InboxTotals, tuple[Any, ...]]:
        muted = ConversationSummary.objects.filter(
            user=user_id, partner__in=ConversationMute.objects.filter(user=user_id).values("partner")
        )
        muted_unread = muted.order_by().values("user").annotate(total=Sum("unread_count")).values("total")
        return (
            InboxTotals.objects.filter(user=user_id)
            .annotate(muted_unread=Coalesce(Subquery(muted_unread), 0))
            .values_list("unread", "muted_unread")
        )

    rows = precompiled_rows("unread_counts", build, user.pk)
    unread, muted_unread = rows[0] if rows else (0, 0)
    return UnreadCounts(unread=unread, badge=unread - muted_unread)


@dataclass(frozen=True)
class Relation:
    """What `user` chose about `other`: whether they block them, whether they muted their conversation."""

    blocked: bool
    muted: bool


def relation(*, user: User, other: User) -> Relation:
    """`user`'s block and mute of `other`, in one query (a thread page shows both)."""
    row = UserModel.objects.filter(pk=other.pk).values_list(
        Exists(blocks(blocker=user, blocked=other)),
        Exists(ConversationMute.objects.filter(user=user, partner=other)),
    )
    blocked, muted = row.first() or (False, False)
    return Relation(blocked=blocked, muted=muted)


def _pk(user_or_id: User | int) -> int:
    return user_or_id if isinstance(user_or_id, int) else user_or_id.pk


_ROW_FIELDS = ("partner_id", "last_activity_at", "unread_count", "muted")


def conversation_rows(*, user: User, partners: Iterable[User | int] | None = None) -> "ConversationRows":
    """One row per partner: `{partner_id, last_activity_at, unread_count, muted}`, newest activity first.

    Read from the conversation summary (`ConversationSummary`, kept exact by `messaging.conversations`): a
    page is one range of its `(user, -last_activity_at, -partner)` index, whatever the length of the
    user's history, and the count an index-only count of the user's rows (a window count over the page
    query would read every row of a heavy user's). Pair it with `attach_last_messages` for the page
    shown. `partners` (users or ids) narrows it to those conversations.
    """
    if partners is not None:
        narrowed = _summary_rows(user.pk).filter(partner__in=[_pk(partner) for partner in partners])
        rows = narrowed.values(*_ROW_FIELDS)
        return ConversationRows(rows=rows, count=rows.count)
    return ConversationRows(user_id=user.pk, count=lambda: _conversation_count(user))


def _summary_rows(user_id: int) -> QuerySet[ConversationSummary]:
    """The user's summary rows, newest activity first, each with whether they muted it (`muted`)."""
    muted = Exists(ConversationMute.objects.filter(user=user_id, partner=OuterRef("partner")))
    return (
        ConversationSummary.objects.filter(user=user_id)
        .annotate(muted=muted)
        .order_by("-last_activity_at", "-partner_id")
    )


def _listed_rows(user_id: int, columns: dict[str, "RowColumn"]) -> QuerySet[ConversationSummary]:
    """`_summary_rows` with the extra `columns` of `ConversationRows.with_columns`."""
    return _summary_rows(user_id).annotate(**{name: column(user_id) for name, column in columns.items()})


def has_conversation(*, user_id: Any, partner: Any) -> Exists:
    """Whether `user_id` has a conversation with `partner` (ids or expressions, such as an `OuterRef`): a
    summary row, that is a message of the pair that they see. For filters of other apps' queries."""
    return Exists(ConversationSummary.objects.filter(user=user_id, partner=partner))


# An extra column of `ConversationRows.with_columns`: the expression of a summary row's column, given the
# user's id (the partner is `OuterRef("partner")` in a subquery, or `F("partner")`).
RowColumn = Callable[[int], Any]


class ConversationRows:
    """A page source for paginators (`count()` and slices): the summary's rows, counted from `InboxTotals`
    (one row) rather than by counting a heavy user's thousands of rows.

    The slices of a user's whole list are precompiled (`hot_queries`, one SQL per slice bounds): the ORM's
    compile costs more than the page query itself (BENCHMARKS.md, "Issue 14's targets"). Slice bounds are
    part of the key, and `hot_queries` starts its cache over past its size, so bounds a client chooses (the
    legacy `skip`) cost at worst one compile, which is what the ORM pays on every call."""

    ordered = True

    def __init__(
        self,
        *,
        count: Callable[[], int],
        user_id: int | None = None,
        rows: QuerySet[ConversationSummary, dict[str, Any]] | None = None,
        columns: dict[str, RowColumn] | None = None,
    ):
        """The whole list of `user_id`, or the narrowed `rows`."""
        self._count = count
        self.user_id = user_id
        self.rows = rows
        self.columns = columns or {}

    def with_columns(self, **columns: RowColumn) -> "ConversationRows":
        """These rows with more columns, `name=expression(user_id)`, such as another app's id of the pair.

        A name is part of the precompiled query's key: it must name one expression, always the same."""
        if self.rows is not None:
            raise ValueError("extra columns are for a user's whole list")
        return ConversationRows(count=self._count, user_id=self.user_id, columns={**self.columns, **columns})

    @property
    def queryset(self) -> QuerySet[ConversationSummary, dict[str, Any]]:
        """The rows as a QuerySet, built only when asked: building it costs more than the precompiled page
        query, which does not need it."""
        if self.rows is not None:
            return self.rows
        rows: QuerySet[ConversationSummary, dict[str, Any]]
        rows = _listed_rows(cast(int, self.user_id), self.columns).values(*_ROW_FIELDS, *self.columns)
        return rows

    def count(self) -> int:
        return self._count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: Any) -> Any:
        bounds = _slice_bounds(index)
        if self.rows is not None or bounds is None:
            return self.queryset[index]
        start, stop = bounds
        columns = self.columns
        fields = (*_ROW_FIELDS, *columns)

        def build(user_id: int) -> QuerySet[ConversationSummary, tuple[Any, ...]]:
            return _listed_rows(user_id, columns).values_list(*fields)[start:stop]

        rows = precompiled_rows(("conversation_rows", start, stop, *columns), build, self.user_id)
        return [dict(zip(fields, row, strict=True)) for row in rows]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.queryset)


def _slice_bounds(index: Any) -> tuple[int, int] | None:
    """`(start, stop)` of a slice that a precompiled read answers (ints, no step, 0 <= start < stop); None
    for any other index, which the QuerySet answers (an empty slice without a query)."""
    if (
        isinstance(index, slice)
        and index.step is None
        and isinstance(index.start, int | None)
        and isinstance(index.stop, int)
        and 0 <= (index.start or 0) < index.stop
    ):
        return index.start or 0, index.stop
    return None


def _conversation_count(user: User) -> int:
    """How many conversations `user` has: their `InboxTotals` row (zero without one), precompiled as the
    unread counts are (`unread_counts`)."""

    def build(user_id: int) -> QuerySet[InboxTotals, tuple[Any, ...]]:
        return InboxTotals.objects.filter(user=user_id).values_list("conversations")

    rows = precompiled_rows("inbox_conversations", build, user.pk)
    return rows[0][0] if rows else 0


@dataclass
class Conversation:
    participant: User
    last_message: Message
    unread_count: int
    last_activity_at: datetime
    muted: bool


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
    conversations = []
    for row in rows:
        last_message = by_partner.get(row["partner_id"])
        if last_message is None:  # deleted between the two queries
            continue
        conversations.append(
            Conversation(
                participant=last_message.partner_of(user),
                last_message=last_message,
                unread_count=row["unread_count"],
                last_activity_at=row["last_activity_at"],
                muted=row["muted"],
            )
        )
    return conversations


# What `visible_messages` loads of a listed message, its people and the message it replies to.
_MESSAGE_COLUMNS = [f.attname for f in Message._meta.concrete_fields if f.name != "attachment_data"]
_PERSON_COLUMNS = [f.attname for f in UserModel._meta.concrete_fields if f.name in _LISTED_USER_FIELDS]
_ROW_LAYOUT: tuple[tuple[str, type[Message] | type[User], list[str]], ...] = (
    ("message", Message, _MESSAGE_COLUMNS),
    ("sender", UserModel, _PERSON_COLUMNS),
    ("recipient", UserModel, _PERSON_COLUMNS),
    ("reply_to", Message, _MESSAGE_COLUMNS),
)
_ROW_COLUMNS = [
    column if part == "message" else f"{part}__{column}"
    for part, _, part_columns in _ROW_LAYOUT
    for column in part_columns
]


def _messages_at(*, user: User, partner_ids: list[int], times: list[datetime]) -> list[Message]:
    """The messages visible to `user`, exchanged with one of `partner_ids`, sent at one of `times`.

    The messages `visible_messages` would give for that filter, with the same columns loaded (their people
    and the message they reply to joined in). A conversation list asks this on every request, and compiling
    the query (the visibility rule, the pairs, three joins) takes the ORM about four times as long as
    PostgreSQL takes to run it: it is precompiled per number of partners and times
    (`hot_queries.precompiled_rows`), and `Model.from_db` builds the instances as a QuerySet does.
    `test_last_messages_are_loaded_as_the_lists_load_messages` compares them with `visible_messages`.
    """

    def build(user_id: int, *values: Any) -> QuerySet[Message, tuple[Any, ...]]:
        partners, at = values[: len(partner_ids)], values[len(partner_ids) :]
        return (
            Message.objects.visible_to(user_id)
            .filter(
                Q(sender=user_id, recipient__in=partners) | Q(sender__in=partners, recipient=user_id), created_at__in=at
            )
            .order_by()  # picked per partner by the caller: no ORDER BY to compile or sort
            .values_list(*_ROW_COLUMNS)
        )

    rows = precompiled_rows(("messages_at", len(partner_ids), len(times)), build, user.pk, *partner_ids, *times)
    db = connection.alias
    return [_message_from_row(row, db=db) for row in rows]


def _message_from_row(row: Sequence[Any], *, db: str) -> Message:
    """A message with its people and the message it replies to, from a row of `_ROW_COLUMNS` (`_messages_at`,
    `ThreadPages`)."""
    objects: dict[str, Message | User] = {}
    start = 0
    for part, model, columns in _ROW_LAYOUT:
        values = row[start : start + len(columns)]
        start += len(columns)
        if values[0] is not None:  # the primary key; None: no message replied to
            objects[part] = model.from_db(db, columns, values)
    # The parts' models are those of `_ROW_LAYOUT`: messages for "message" and "reply_to", users for the people.
    message = cast(Message, objects["message"])
    message.sender, message.recipient = cast(User, objects["sender"]), cast(User, objects["recipient"])
    message.reply_to = cast(Message | None, objects.get("reply_to"))
    return message


def participants_for(*, user: User, search: str = "") -> QuerySet[User]:
    """People `user` can message: partners first (most recent first), then everyone else by name.

    Excludes `user`, inactive users and people `user` blocked. Each row is annotated with
    `last_activity_at` (None without a conversation).
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
    queryset = (
        UserModel.objects.filter(is_active=True)
        .exclude(pk=user.pk)
        .exclude(pk__in=UserBlock.objects.filter(blocker=user).values("blocked_id"))
        .annotate(
            last_activity_at=Case(When(partners, then=Subquery(last_activity)), default=None),
            sort_name=Lower(Coalesce(NullIf("display_name", Value("")), "username")),
        )
    )
    search = (search or "").strip()
    if search:
        queryset = queryset.filter(Q(username__icontains=search) | Q(display_name__icontains=search))
    return queryset.order_by(F("last_activity_at").desc(nulls_last=True), "sort_name", "id")


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
            with planned_per_call():  # a common word and a rare one need different plans
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
        with planned_per_call():
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


def blocks(*, blocker: User | int | OuterRef, blocked: User | int | OuterRef) -> QuerySet[UserBlock]:
    """The block of `blocked` by `blocker` (either may be an expression such as `OuterRef("pk")`)."""
    return UserBlock.objects.filter(blocker=blocker, blocked=blocked)


def blocked_users(*, user: User) -> QuerySet[User]:
    return UserModel.objects.filter(blocked_by__blocker=user).order_by("username")
