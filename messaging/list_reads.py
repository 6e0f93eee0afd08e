"""The message reads of lists written as literal SQL: a thread's pages, the conversation list's last messages,
and its pages with their last messages. The thread's reads and the last messages' load what
`selectors.visible_messages` loads (every column of the message but the attachment bytes, the listed fields of
its people, the message it replies to) and build the instances a QuerySet builds (what `Model.from_db` makes,
relations cached as `select_related` caches them), but for one instance per person in a read. The conversation
lists' pages give rows instead (`MessageRow`, `QuotedRow`, `users.models.PersonRow`): of each last message
every column but the attachment bytes, its partner's listed fields (the other person is the reader) and what a
quote shows of the message it replies to. `test_reads_sql.py` compares each with its ORM definition.

Why literal SQL: these run on every list request, and building and compiling them in the ORM (the visibility
rule, the pair, three joins) took longer than PostgreSQL takes to run them; measured side by side, the ORM
forms made a thread page and a conversation list 15-30% more costly in CPU per request.
"""

from datetime import datetime
from typing import Any, NamedTuple, TypeVar, cast

from django.contrib.auth import get_user_model
from django.db import router
from django.db.models import DEFERRED, ForeignKey, Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from psycopg import ClientCursor
from psycopg.pq import Format

from config.db import reading
from users.models import Person, PersonRow, User

from .models import Message, MessageRules, QuoteRules

UserModel = get_user_model()
ModelKind = TypeVar("ModelKind", bound=Model)


class _LastMessageValues(NamedTuple):
    # The columns, in the model's order, which `from_db` needs (`test_reads_sql.py` checks them against it).
    id: int
    sender_id: int
    recipient_id: int
    body: str
    reply_to_id: int | None
    attachment_name: str
    attachment_content_type: str
    attachment_size: int | None
    created_at: datetime
    updated_at: datetime | None
    read_at: datetime | None
    sender_deleted_at: datetime | None
    recipient_deleted_at: datetime | None
    unsent_at: datetime | None
    hidden_at: datetime | None
    hidden_by_id: int | None
    hidden_reason: str
    legacy_id: int | None
    legacy_reply_to_id: int | None
    legacy_file_name: str
    edited_at: datetime | None
    # Its people (the reader is the request's user) and the message it replies to.
    sender: Person
    recipient: Person
    reply_to: "QuotedRow | None"


class _QuotedValues(NamedTuple):
    id: int
    sender_id: int
    recipient_id: int
    body: str
    sender_deleted_at: datetime | None
    recipient_deleted_at: datetime | None
    unsent_at: datetime | None
    hidden_at: datetime | None


class QuotedRow(_QuotedValues, QuoteRules):
    """The message a list's last message replies to, as the lists read it (`QUOTED_COLUMNS`): the columns its
    quote is shown by (`QuoteRules`), in a tuple."""

    __slots__ = ()


class MessageRow(_LastMessageValues, MessageRules):
    """A conversation's last message as the conversation lists read it (`LAST_MESSAGE_COLUMNS`): its columns,
    its people and the message it replies to (`QuotedRow`), in a tuple, shown by the rules of a `Message`
    (`MessageRules`).

    The lists render it as they render a `Message` (the renderers, and the inbox's template, read the same
    attributes of both). A tuple costs a tenth of a model instance to make, and each relation is a plain
    attribute where an instance's goes through Django's descriptor: 0.44 M instructions of a request of 4.1 M
    (`bench.instructions`). `test_reads_sql.py` renders every list from rows and from the ORM's instances.
    """

    __slots__ = ()

    @property
    def pk(self) -> int:
        return self.id


MESSAGE_COLUMNS: tuple[str, ...] = MessageRow._fields[:-3]
# A message as the renderers take it: an instance, or a list's row of one.
AnyMessage = Message | MessageRow
PERSON_COLUMNS = PersonRow._fields

# What each read loads: the message (every column but the attachment bytes), its people's listed fields and
# the message it replies to, in `Instances.message_from_row`'s order. The conversation lists' reads load one
# person, the partner, in place of the two (`LAST_MESSAGE_COLUMNS`): the other is the reader; and of the
# message it replies to what its quote is shown by (`QUOTED_COLUMNS`).
_MESSAGE_COLUMNS = """
       message.id, message.sender_id, message.recipient_id, message.body, message.reply_to_id,
       message.attachment_name, message.attachment_content_type, message.attachment_size,
       message.created_at, message.updated_at, message.read_at, message.sender_deleted_at,
       message.recipient_deleted_at, message.unsent_at, message.hidden_at, message.hidden_by_id,
       message.hidden_reason, message.legacy_id, message.legacy_reply_to_id, message.legacy_file_name,
       message.edited_at,"""
_REPLY_COLUMNS = """
       reply.id, reply.sender_id, reply.recipient_id, reply.body, reply.reply_to_id,
       reply.attachment_name, reply.attachment_content_type, reply.attachment_size,
       reply.created_at, reply.updated_at, reply.read_at, reply.sender_deleted_at,
       reply.recipient_deleted_at, reply.unsent_at, reply.hidden_at, reply.hidden_by_id, reply.hidden_reason,
       reply.legacy_id, reply.legacy_reply_to_id, reply.legacy_file_name, reply.edited_at
"""
COLUMNS = (
    _MESSAGE_COLUMNS
    + """
       sender.id, sender.username, sender.display_name, sender.read_receipts,
       recipient.id, recipient.username, recipient.display_name, recipient.read_receipts,"""
    + _REPLY_COLUMNS
)
QUOTED_COLUMNS = QuotedRow._fields
LAST_MESSAGE_COLUMNS = (
    _MESSAGE_COLUMNS
    + """
       partner.id, partner.username, partner.display_name, partner.read_receipts,
       """
    + ", ".join(f"reply.{column}" for column in QUOTED_COLUMNS)
    + "\n"
)
_FROM = """FROM messaging_message AS message
JOIN users_user AS sender ON sender.id = message.sender_id
JOIN users_user AS recipient ON recipient.id = message.recipient_id
LEFT JOIN messaging_message AS reply ON reply.id = message.reply_to_id
"""
_SELECT = "SELECT" + COLUMNS + _FROM

# The visible messages of `user` with some partners at some times (the conversation list's last messages).
# Each half is an index lookup per partner and time (`msg_sender_pair_idx`, `msg_recipient_pair_idx`).
_MESSAGES_AT_SQL = (
    _SELECT
    + """
WHERE message.hidden_at IS NULL
  AND message.created_at = ANY(%(times)s::timestamptz[])
  AND ((message.sender_id = %(user)s AND message.sender_deleted_at IS NULL
        AND message.recipient_id = ANY(%(partners)s::bigint[]))
    OR (message.recipient_id = %(user)s AND message.recipient_deleted_at IS NULL
        AND message.sender_id = ANY(%(partners)s::bigint[])))
"""
)

# The columns (`LAST_MESSAGE_COLUMNS`) of the last visible message of each row of a page of conversations: a
# subquery `page` of `user`'s (`%(user)s`) conversation list with its `partner_id` and `last_activity_at`. Each
# row's is its last visible message as `selectors.attach_last_messages` finds it: of the pair, sent at the
# row's `last_activity_at`, visible to `user`, the highest id among equals (an index lookup per row,
# `msg_created_idx`); with the partner and the message it replies to (`user`, the message's other person, is
# not read again: `Instances.last_message` has them). NULL columns where there is none. For the conversation
# lists' literal pages: `_CONVERSATIONS_PAGE_SQL` here, `legacy_dm.conversations`' listing.
LAST_MESSAGE_JOINS = """
LEFT JOIN LATERAL (
    SELECT id, sender_id, recipient_id, body, reply_to_id, attachment_name, attachment_content_type,
           attachment_size, created_at, updated_at, read_at, sender_deleted_at, recipient_deleted_at,
           unsent_at, hidden_at, hidden_by_id, hidden_reason, legacy_id, legacy_reply_to_id, legacy_file_name,
           edited_at
    FROM messaging_message AS message
    WHERE message.created_at = page.last_activity_at
      AND message.hidden_at IS NULL
      AND ((message.sender_id = %(user)s AND message.sender_deleted_at IS NULL
            AND message.recipient_id = page.partner_id)
        OR (message.recipient_id = %(user)s AND message.recipient_deleted_at IS NULL
            AND message.sender_id = page.partner_id))
    ORDER BY message.id DESC
    LIMIT 1
) AS message ON true
LEFT JOIN users_user AS partner ON partner.id = page.partner_id
LEFT JOIN messaging_message AS reply ON reply.id = message.reply_to_id
"""

# The values of a row of a page of conversations, in `selectors.Conversation`'s order after its partner and
# last message.
CONVERSATION_ROW_FIELDS = ("unread_count", "last_activity_at", "muted", "blocked")

# A page of the conversation list of `user` (`selectors.conversation_rows` sliced: one range of
# `summary_recent_idx`), each row with its last visible message (`LAST_MESSAGE_JOINS`). The page is cut before
# the lookups, so an offset skips summary rows only. Each row also carries the number of the user's
# conversations, which the paginator needs: from the totals row, so that a page past the end is one row of
# NULLs with the number, and a user without a totals row has no row and no conversations. The page is put in
# order before the lookups, in a subquery whose order the joins keep: ordered after them, PostgreSQL sorted
# the wide joined rows (9% of the statement's instructions in its backend, `bench.pg_instructions`).
_CONVERSATIONS_PAGE_SQL = (
    """
SELECT page.conversations, """
    + ", ".join(f"page.{field}" for field in CONVERSATION_ROW_FIELDS)
    + ","
    + LAST_MESSAGE_COLUMNS
    + """FROM (
    SELECT totals.conversations, page.* FROM messaging_inbox_totals AS totals
    LEFT JOIN LATERAL (
        SELECT summary.partner_id, summary.last_activity_at, summary.unread_count,
               EXISTS (
                   SELECT 1 FROM messaging_conversation_mute AS mute
                   WHERE mute.user_id = summary.user_id AND mute.partner_id = summary.partner_id
               ) AS muted,
               EXISTS (
                   SELECT 1 FROM messaging_block AS block
                   WHERE block.blocker_id = summary.user_id AND block.blocked_id = summary.partner_id
               ) AS blocked
        FROM messaging_conversation_summary AS summary
        WHERE summary.user_id = totals.user_id
        ORDER BY summary.last_activity_at DESC, summary.partner_id DESC
        LIMIT %(limit)s OFFSET %(offset)s
    ) AS page ON true
    WHERE totals.user_id = %(user)s
    ORDER BY page.last_activity_at DESC, page.partner_id DESC
) AS page"""
    + LAST_MESSAGE_JOINS
    + """ORDER BY page.last_activity_at DESC, page.partner_id DESC
"""
)

# `message` is in the thread of `user` with `other` as `user` sees it (never `user`: `thread_visible_to`'s form
# of the rule): of the pair, on `msg_pair_time_idx`'s leading columns, not deleted on `user`'s side
# (`_KEPT_IN_THREAD`) and not hidden (`_NOT_HIDDEN`). Every read of a thread's messages below states the rule
# with these fragments; the thread page's read with its placeholders (`with_removed`) leaves out `_NOT_HIDDEN`.
_KEPT_IN_THREAD = """
      LEAST(message.sender_id, message.recipient_id) = LEAST(%(user)s::bigint, %(other)s::bigint)
  AND GREATEST(message.sender_id, message.recipient_id) = GREATEST(%(user)s::bigint, %(other)s::bigint)
  AND NOT (message.sender_id = %(user)s AND message.sender_deleted_at IS NOT NULL)
  AND NOT (message.recipient_id = %(user)s AND message.recipient_deleted_at IS NOT NULL)
"""
_NOT_HIDDEN = "  AND message.hidden_at IS NULL\n"
_IN_THREAD = _KEPT_IN_THREAD + _NOT_HIDDEN

# A page of the thread of `user` with `other`, older than `before` and newer than `after` (NULL: no bound),
# newest or oldest first. One ordered range of `msg_pair_time_idx` (read backwards for the oldest first): the
# bounds are index conditions whatever their values, so a prepared statement's generic plan keeps them.
_THREAD = (
    _SELECT
    + "WHERE"
    + _IN_THREAD
    + """  AND message.created_at < COALESCE(%(before)s::timestamptz, 'infinity')
  AND message.created_at > COALESCE(%(after)s::timestamptz, '-infinity')
"""
)
_THREAD_NEWEST_FIRST_SQL = (
    _THREAD + "ORDER BY message.created_at DESC, message.id DESC\nLIMIT %(limit)s OFFSET %(offset)s\n"
)
_THREAD_OLDEST_FIRST_SQL = _THREAD + "ORDER BY message.created_at, message.id\nLIMIT %(limit)s OFFSET %(offset)s\n"


# An anchored read of the thread (`thread_window`): the message it settles on (`anchor`), up to `%(before)s`
# messages before it and up to `%(after)s` after it in the thread's order (`created_at`, `id`). One more than
# asked is read on each side, to tell whether the window reaches the thread's ends. Each row carries which
# side of the anchor it is on (`after_anchor`: the anchor itself and what follows), whether the read found
# what it was asked for (`found`, as `wanted` below) and the oldest unread message from `other` to `user`
# (`first_unread_id`, NULL if none): the thread page marks where the reader stopped. With `with_removed`
# (`in_thread` is `_KEPT_IN_THREAD`), the thread holds the messages a moderator hid too, for the thread page's
# placeholders; its first unread message is still a visible one.
#
# The message ids an anchor may settle on, each a lookup on an index: the newest (`msg_pair_time_idx`); the
# anchor id itself if the thread holds it (the primary key); the first unread (`msg_unread_idx`, whose
# condition the rule implies for a message to `user`, written out for the planner); and, for an id the thread
# does not hold, the smallest id after it (what a link to a message since deleted or hidden lands on). An id
# of a message outside the thread is only a number here: no row of it is read.
def _newest_id(in_thread: str) -> str:
    return (
        "(SELECT message.id FROM messaging_message AS message\nWHERE"
        + in_thread
        + "ORDER BY message.created_at DESC, message.id DESC LIMIT 1)"
    )


def _at_id(in_thread: str) -> str:
    return "(SELECT message.id FROM messaging_message AS message\nWHERE message.id = %(anchor)s AND" + in_thread + ")"


def _after_id(in_thread: str) -> str:
    return (
        "(SELECT message.id FROM messaging_message AS message\nWHERE message.id > %(anchor)s AND"
        + in_thread
        + "ORDER BY message.id LIMIT 1)"
    )


_FIRST_UNREAD_ID = (
    """(SELECT message.id FROM messaging_message AS message
WHERE message.sender_id = %(other)s AND message.recipient_id = %(user)s
  AND message.read_at IS NULL AND message.recipient_deleted_at IS NULL AND"""
    + _IN_THREAD
    + "ORDER BY message.created_at, message.id LIMIT 1)"
)


def _window_sql(kind: str, *, with_removed: bool) -> str:
    in_thread = _KEPT_IN_THREAD if with_removed else _IN_THREAD
    # By kind of anchor: the message asked for (`wanted`, NULL if the thread has none such) and what the read
    # settles on without it, in order (COALESCE evaluates a fallback only when all before it are NULL).
    wanted = {
        "newest": _newest_id(in_thread),
        "id": _at_id(in_thread),
        "first_unread": "(SELECT unread.id FROM unread)",
    }
    fallback = {
        "newest": "NULL",
        "id": f"{_after_id(in_thread)},\n{_newest_id(in_thread)}",
        "first_unread": _newest_id(in_thread),
    }
    # The anchor's position is read into scalars (InitPlans), which are index conditions of each side's
    # ordered scan of `msg_pair_time_idx` (the time; the row comparison settles equal times by id): a join
    # with the anchor's row would filter the whole thread instead.
    side = (
        COLUMNS
        + _FROM
        + "WHERE"
        + in_thread
        + """  AND message.created_at {time} (SELECT anchor.created_at FROM anchor)
  AND (message.created_at, message.id) {row} ((SELECT anchor.created_at FROM anchor), (SELECT anchor.id FROM anchor))
"""
    )
    return (
        f"""WITH unread AS MATERIALIZED (SELECT {_FIRST_UNREAD_ID} AS id),
wanted AS MATERIALIZED (SELECT {wanted[kind]} AS id),
anchor AS MATERIALIZED (
    SELECT message.created_at, message.id, wanted.id IS NOT NULL AS found
    FROM wanted JOIN messaging_message AS message ON message.id = COALESCE(wanted.id, {fallback[kind]})
)
(SELECT false AS after_anchor, (SELECT anchor.found FROM anchor), (SELECT unread.id FROM unread),"""
        + side.format(time="<=", row="<")
        + """ORDER BY message.created_at DESC, message.id DESC
LIMIT %(before)s + 1)
UNION ALL
(SELECT true, (SELECT anchor.found FROM anchor), (SELECT unread.id FROM unread),"""
        + side.format(time=">=", row=">=")
        + """ORDER BY message.created_at, message.id
LIMIT %(after)s + 2)
"""
    )


_ANCHOR_KINDS = ("newest", "id", "first_unread")
_THREAD_WINDOW_SQL = {
    (kind, with_removed): _window_sql(kind, with_removed=with_removed)
    for kind in _ANCHOR_KINDS
    for with_removed in (False, True)
}


def fetch_rows(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The rows of a read, sent by PostgreSQL in its binary format.

    The same values as in text (`test_reads_sql.py`), without text to parse: Django's loader of a `timestamptz`
    in text is Python (a regular expression and a `replace` per time, 25 times in a page of 11 conversations),
    where psycopg's binary loaders are C, and PostgreSQL writes binary values with less work than their text.
    A time comes in the session's time zone, which Django sets to the connection's (UTC). With
    `DB_PREPARED_STATEMENTS=0` (behind PgBouncer) the cursors bind parameters on the client, and psycopg's
    client-side cursors take results in text only.
    """
    with reading(Message).cursor() as cursor:
        if not isinstance(cursor.cursor, ClientCursor):
            cursor.cursor.format = Format.BINARY  # this cursor's results (a cursor per read)
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _messages(sql: str, params: dict[str, Any]) -> list[Message]:
    rows = fetch_rows(sql, params)
    instances = Instances()
    return [instances.message_from_row(row) for row in rows]


# The instances of a read are made as `Model.from_db` makes them, less its cost: `Model.__init__` takes a value
# for every field (`DEFERRED` for those a read leaves out) and sets each through `setattr`, a descriptor's
# `__set__` for a foreign key, between a `pre_init` and a `post_init` signal; for 24 instances of a page of 11
# conversations that was a tenth of the request's Python. What it leaves behind is the instance's `__dict__`:
# each field read under its attname (a deferred field is absent) and its state (`_state`: `adding` False and
# `db` set, as `from_db` sets them). So a read's instances are that `__dict__` on a new instance, which
# `Model.__init__` of these models (neither defines its own) would make too; while anything listens to
# `pre_init` or `post_init`, they are made by `from_db` (`test_reads_sql.py` holds both ways to a QuerySet's).
_MESSAGE_FIELDS = tuple(field.attname for field in Message._meta.concrete_fields)
_ATTACHMENT_DATA = _MESSAGE_FIELDS.index("attachment_data")  # the one field of a message a list does not read
_PERSON_FIELDS = tuple(field.attname for field in UserModel._meta.concrete_fields)
_PERSON_POSITIONS = tuple(_PERSON_FIELDS.index(column) for column in PERSON_COLUMNS)
# A row's parts (`COLUMNS`): the message, its sender from `_SENDER_AT`, its recipient from `_RECIPIENT_AT`, the
# message it replies to from `_REPLY_AT`. In a row of `LAST_MESSAGE_COLUMNS`, the partner from `_SENDER_AT` and the
# message it replies to from `_LAST_REPLY_AT`.
_SENDER_AT = len(MESSAGE_COLUMNS)
_RECIPIENT_AT = _SENDER_AT + len(PERSON_COLUMNS)
_REPLY_AT = _RECIPIENT_AT + len(PERSON_COLUMNS)
_LAST_REPLY_AT = _RECIPIENT_AT
_SENDER_ID = MESSAGE_COLUMNS.index("sender_id")
# Where a QuerySet's `select_related` caches a message's relations (each field's `set_cached_value`).
_SENDER, _RECIPIENT, _REPLY_TO = (
    cast("ForeignKey[Any, Any]", Message._meta.get_field(name)).cache_name
    for name in ("sender", "recipient", "reply_to")
)


def _loaded(model: type[ModelKind], columns: tuple[str, ...], values: tuple[Any, ...], db: str) -> ModelKind:
    """An instance of `model` from `db` with `values` of the fields `columns` (attnames), the others deferred:
    what `model.from_db` makes of them."""
    instance = model.__new__(model)
    state = ModelState()
    state.adding = False
    state.db = db
    # `zip` without a keyword: any (`strict=`) costs it 1,500 instructions (28 instances in a page of 11
    # conversations); `test_reads_sql.py` holds the columns to the statements' values.
    instance.__dict__.update(zip(columns, values))  # noqa: B905
    instance._state = state
    return instance


def _init_signals_heard() -> bool:
    """Whether anything listens to `Model.__init__`'s signals, which `_loaded` does not send."""
    return bool(pre_init.receivers or post_init.receivers)


class Instances:
    """Makes the instances of one read, from rows of the statements above.

    What the instances of a read share is read once, when it starts: the database they are from (`fetch_rows`
    reads through `reading`, the router's choice: the replica or the primary), and whether anything listens to
    `Model.__init__`'s signals (then each is made by `from_db`). One instance per person in a read (`people`,
    by id). A read of `LAST_MESSAGE_COLUMNS` gives rows (`MessageRow`, `PersonRow`) and names the `reader`,
    whose listed fields it does not load: they are the request's user (read from the database by this
    request's authentication), the last messages' other person.
    """

    def __init__(self, *, reader: User | None = None) -> None:
        self.db = router.db_for_read(Message)
        self.by_from_db = _init_signals_heard()
        self.people: dict[int, User] = {}
        self.reader = reader

    def message(self, values: tuple[Any, ...]) -> Message:
        """A message from the values of `MESSAGE_COLUMNS`, its attachment bytes deferred."""
        if self.by_from_db:
            return Message.from_db(
                self.db, _MESSAGE_FIELDS, (*values[:_ATTACHMENT_DATA], DEFERRED, *values[_ATTACHMENT_DATA:])
            )
        return _loaded(Message, MESSAGE_COLUMNS, values, self.db)

    def person(self, values: tuple[Any, ...]) -> User:
        """A person from the values of `PERSON_COLUMNS`, the other fields deferred; the read's one instance of
        them."""
        person = self.people.get(values[0])
        if person is None:
            if self.by_from_db:
                full: list[Any] = [DEFERRED] * len(_PERSON_FIELDS)
                for position, value in zip(_PERSON_POSITIONS, values, strict=True):
                    full[position] = value
                person = UserModel.from_db(self.db, _PERSON_FIELDS, full)
            else:
                person = _loaded(UserModel, PERSON_COLUMNS, values, self.db)
            self.people[values[0]] = person
        return person

    def _related(self, message: Message, sender: User, recipient: User, reply: tuple[Any, ...]) -> Message:
        """`message` with its people and the message it replies to (the values of `MESSAGE_COLUMNS`, NULLs for
        none) cached as a QuerySet's `select_related` caches them: each in the message's state's `fields_cache`
        under the field's `cache_name`, in the fields' order (what `set_cached_value` of each does, put there
        at once)."""
        message._state.fields_cache.update(
            {_SENDER: sender, _RECIPIENT: recipient, _REPLY_TO: None if reply[0] is None else self.message(reply)}
        )
        return message

    def message_from_row(self, row: tuple[Any, ...]) -> Message:
        """A message with its people and the message it replies to, from a row of `COLUMNS`."""
        return self._related(
            self.message(row[:_SENDER_AT]),
            self.person(row[_SENDER_AT:_RECIPIENT_AT]),
            self.person(row[_RECIPIENT_AT:_REPLY_AT]),
            row[_REPLY_AT:],
        )

    def last_message(self, columns: tuple[Any, ...]) -> tuple[Person, MessageRow] | None:
        """The partner and the message of `LAST_MESSAGE_COLUMNS` as `LAST_MESSAGE_JOINS` gives them (the end of
        a row), or None where there is no message; its people the partner and the reader."""
        if columns[0] is None:
            return None
        reader = self.reader
        if reader is None:
            raise ValueError("a read of last messages names its reader (`Instances(reader=...)`)")
        partner_values = columns[_SENDER_AT:_LAST_REPLY_AT]
        # In a conversation with themselves, the reader as everywhere else: the request's user.
        partner = reader if partner_values[0] == reader.id else PersonRow._make(partner_values)
        reply = columns[_LAST_REPLY_AT:]
        # The partner sent it, or the reader did (both, to themselves).
        people = (partner, reader) if columns[_SENDER_ID] == partner.id else (reader, partner)
        replied = None if reply[0] is None else QuotedRow._make(reply)
        return partner, MessageRow._make(columns[:_SENDER_AT] + people + (replied,))


def messages_at(*, user_id: int, partner_ids: list[int], times: list[datetime]) -> list[Message]:
    """The messages visible to `user_id`, exchanged with one of `partner_ids`, sent at one of `times`."""
    return _messages(_MESSAGES_AT_SQL, {"user": user_id, "partners": partner_ids, "times": times})


def thread_page(
    *,
    user_id: int,
    other_id: int,
    newest_first: bool,
    offset: int,
    limit: int,
    before: datetime | None = None,
    after: datetime | None = None,
) -> list[Message]:
    """`limit` messages from `offset` of the thread of `user_id` with `other_id` (another user) as
    `user_id` sees it, sent before `before` and after `after`, newest or oldest first."""
    if other_id == user_id:
        raise ValueError("a thread with oneself has its own rule (`MessageQuerySet.thread_visible_to`)")
    params = {"user": user_id, "other": other_id, "before": before, "after": after, "limit": limit, "offset": offset}
    return _messages(_THREAD_NEWEST_FIRST_SQL if newest_first else _THREAD_OLDEST_FIRST_SQL, params)


class WindowRows(NamedTuple):
    """What `thread_window` reads: the messages before the anchor (newest first) and from it on (oldest first,
    the anchor first), each side one longer than asked where the thread goes on; whether the anchor is what was
    asked for; the oldest unread message from the other person."""

    before: list[Message]
    from_anchor: list[Message]
    found: bool
    first_unread_id: int | None


def _thread_order(message: Message) -> tuple[datetime, int]:
    return message.created_at, message.pk


def thread_window(
    *, user_id: int, other_id: int, kind: str, anchor: int, before: int, after: int, with_removed: bool = False
) -> WindowRows:
    """The anchored read of the thread of `user_id` with `other_id` (another user) as `user_id` sees it:
    `kind` is `newest`, `first_unread` or `id` (`anchor`: the id), `before` and `after` how many messages each
    side (`_THREAD_WINDOW_SQL`); `with_removed`: with the messages a moderator hid."""
    if other_id == user_id:
        raise ValueError("a thread with oneself has its own rule (`MessageQuerySet.thread_visible_to`)")
    params = {"user": user_id, "other": other_id, "anchor": anchor, "before": before, "after": after}
    rows = fetch_rows(_THREAD_WINDOW_SQL[kind, with_removed], params)
    instances = Instances()
    sides: tuple[list[Message], list[Message]] = ([], [])
    for row in rows:
        sides[row[0]].append(instances.message_from_row(row[3:]))
    sides[0].sort(key=_thread_order, reverse=True)  # each side's order, whatever order UNION ALL gives them in
    sides[1].sort(key=_thread_order)
    found, first_unread_id = (rows[0][1], rows[0][2]) if rows else (False, None)
    return WindowRows(before=sides[0], from_anchor=sides[1], found=found, first_unread_id=first_unread_id)


def conversations_page(
    *, user: User, offset: int, limit: int
) -> tuple[list[tuple[tuple[Any, ...], tuple[Person, MessageRow] | None]], int]:
    """`limit` rows from `offset` of the conversation list of `user` (the values of `CONVERSATION_ROW_FIELDS`),
    each with its partner and its last visible message (None if there is none), and the number of all their
    conversations."""
    rows = fetch_rows(_CONVERSATIONS_PAGE_SQL, {"user": user.pk, "offset": offset, "limit": limit})
    count = rows[0][0] if rows else 0
    cut = 1 + len(CONVERSATION_ROW_FIELDS)
    instances = Instances(reader=user)
    page = [
        (row[1:cut], instances.last_message(row[cut:]))
        for row in rows
        if row[1] is not None  # the one row of a page past the end
    ]
    return page, count
