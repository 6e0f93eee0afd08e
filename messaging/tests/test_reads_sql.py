"""The reads written as literal SQL (`messaging.selectors`) return what their ORM definitions return."""

import random
from datetime import datetime, timedelta

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import DEFERRED, Q, Subquery, Sum
from django.db.models.functions import Coalesce
from django.db.models.signals import post_init
from django.template.loader import render_to_string
from django.utils import timezone
from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH

from legacy_dm import conversations
from legacy_dm.models import LegacyConversation
from legacy_dm.serializers import ConversationPartnerSerializer, conversation_partners_data, legacy_conversation_data
from messaging import list_reads, selectors
from messaging.models import ConversationMute, ConversationSummary, InboxTotals, Message, UserBlock
from messaging.pagination import CountedPaginator
from messaging.serializers import ConversationSerializer, conversations_data
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory, recipients_of_every_kind
from users.tests.factories import UserFactory, client_for

pytestmark = pytest.mark.django_db
UserModel = get_user_model()


@pytest.fixture
def people():
    """Five people, 200 messages between them with deletes on both sides, hidden ones, unread ones, replies,
    attachments, edited ones, equal times, carried messages to oneself, some muted conversations, display names
    and read receipts not shared, and last messages quoting a hidden, a deleted and an unsent one."""
    people = [UserFactory() for _ in range(5)]
    # A display name and one shown by its rule, and someone who shares no read receipts.
    people[1].display_name, people[1].read_receipts = "Bea B.", False
    people[2].display_name = "Cy\u202e C.\n"
    for person in people[1:3]:
        person.save()
    randomizer = random.Random(26)
    start = timezone.now() - timedelta(days=3)
    messages: list[Message] = []
    for n in range(200):
        sender, recipient = randomizer.sample(people, 2)
        created_at = start + timedelta(minutes=randomizer.randrange(0, 300) // 5 * 5)
        roll = randomizer.random()
        factory = AttachmentMessageFactory if n % 9 == 0 else MessageFactory
        messages.append(
            factory(
                sender=sender,
                recipient=recipient,
                created_at=created_at,
                read_at=None if roll < 0.4 else created_at,
                sender_deleted_at=created_at if 0.4 <= roll < 0.5 else None,
                recipient_deleted_at=created_at if 0.5 <= roll < 0.6 else None,
                hidden_at=created_at if 0.6 <= roll < 0.65 else None,
                hidden_reason="spam" if 0.6 <= roll < 0.65 else "",
                reply_to=randomizer.choice(messages) if messages and n % 4 == 0 else None,
                edited_at=created_at + timedelta(minutes=1) if n % 3 == 0 else None,
            )
        )
        if n % 40 == 0:
            MessageFactory(sender=sender, recipient=sender, created_at=created_at, legacy_id=50_000 + n)
    # Last messages (the newest of their pairs) that quote a hidden message, one deleted by its sender, one
    # deleted by its recipient and an unsent one.
    latest = start + timedelta(minutes=400)
    quoted_kinds = (
        {"hidden_at": start, "hidden_reason": "spam"},
        {"sender_deleted_at": start},
        {"recipient_deleted_at": start},
        {"unsent_at": start, "sender_deleted_at": start, "recipient_deleted_at": start},
    )
    for n, marks in enumerate(quoted_kinds):
        sender, recipient = people[n], people[n + 1]
        quoted = MessageFactory(sender=sender, recipient=recipient, created_at=start, **marks)
        MessageFactory(sender=recipient, recipient=sender, created_at=latest, reply_to=quoted)
    for user, partner in ((people[0], people[1]), (people[0], people[2]), (people[3], people[0])):
        ConversationMute.objects.create(user=user, partner=partner)
    for user, partner in ((people[0], people[2]), (people[0], people[3]), (people[1], people[0])):
        UserBlock.objects.create(blocker=user, blocked=partner)
    return people


def test_unread_counts_are_the_orm_definitions(people):
    """`_UNREAD_COUNTS_SQL`: the totals row's unread count, less the unread counts of muted conversations."""
    for user in [*people, UserFactory()]:  # the last has no totals row
        muted = ConversationSummary.objects.filter(
            user=user, partner__in=ConversationMute.objects.filter(user=user).values("partner")
        )
        muted_unread = muted.order_by().values("user").annotate(total=Sum("unread_count")).values("total")
        row = (
            InboxTotals.objects.filter(user=user)
            .annotate(muted_unread=Coalesce(Subquery(muted_unread), 0))
            .values_list("unread", "muted_unread")
            .first()
        )
        unread, muted_unread = row or (0, 0)
        assert selectors.unread_counts(user=user) == selectors.UnreadCounts(unread=unread, badge=unread - muted_unread)


def _loaded(message) -> tuple:
    """What a list loaded of a message (an instance, or a list's row of one): its columns, its people's listed
    fields and what a quote shows of the message it replies to."""
    columns = tuple(getattr(message, column) for column in list_reads.MESSAGE_COLUMNS)
    people = tuple(
        (person.pk, person.username, person.display_name, person.read_receipts)
        for person in (message.sender, message.recipient)
    )
    reply = message.reply_to
    quoted = None if reply is None else tuple(getattr(reply, column) for column in list_reads.QUOTED_COLUMNS)
    return columns, people, quoted


def _instance_loaded(message: Message) -> tuple:
    """`_loaded` of an instance, with the fields it, its people and the message it replies to left deferred,
    and every column of the latter."""
    people = (message.sender, message.recipient)
    reply = message.reply_to
    replied = None
    if reply is not None:
        replied = (reply.get_deferred_fields(), tuple(getattr(reply, column) for column in list_reads.MESSAGE_COLUMNS))
    return message.get_deferred_fields(), tuple(p.get_deferred_fields() for p in people), replied, _loaded(message)


def test_messages_at_are_the_orm_definitions(people):
    """`_MESSAGES_AT_SQL`: the messages `visible_messages` gives for partners and times, loaded the same."""
    times = sorted(set(Message.objects.values_list("created_at", flat=True)))
    for user in people:
        for partners, at in (
            ([p.pk for p in people if p != user], times),
            ([people[1].pk, user.pk], times[::3]),
            ([people[2].pk], times[:1]),
        ):
            expected = (
                selectors.visible_messages(user=user)
                .filter(Q(sender=user, recipient__in=partners) | Q(sender__in=partners, recipient=user))
                .filter(created_at__in=at)
                .order_by("pk")
            )
            got = sorted(selectors._messages_at(user=user, partner_ids=partners, times=at), key=lambda m: m.pk)
            assert [_instance_loaded(m) for m in got] == [_instance_loaded(m) for m in expected]
            assert got or not expected


def test_a_page_of_conversations_is_the_page_of_rows_with_their_last_messages(people):
    """`_CONVERSATIONS_PAGE_SQL`: `attach_last_messages` of `conversation_rows` (the ORM definitions) sliced, each
    last message loaded as `visible_messages` loads it, and the number of the rows; past the end, and for a user
    without conversations, no rows and that number."""
    for user in [*people, UserFactory()]:
        rows = list(selectors.conversation_rows(user=user))
        for offset, limit in ((0, 0), (0, 1), (0, 20), (1, 2), (3, 100), (len(rows), 5), (len(rows) + 7, 5)):
            expected = selectors.attach_last_messages(user=user, rows=rows[offset : offset + limit])
            page = selectors.conversations_page(user=user, offset=offset, limit=limit)
            assert page.total == len(rows)
            got = page.conversations
            assert [(c.participant.pk, c.unread_count, c.last_activity_at, c.muted, c.blocked) for c in got] == [
                (c.participant.pk, c.unread_count, c.last_activity_at, c.muted, c.blocked) for c in expected
            ]
            assert [_loaded(c.last_message) for c in got] == [
                _loaded(selectors.visible_messages(user=user).get(pk=c.last_message.pk)) for c in expected
            ]
            assert [_loaded(c.last_message) for c in got] == [_loaded(c.last_message) for c in expected]
    assert any(c.muted for c in selectors.conversations_page(user=people[0], offset=0, limit=100).conversations)
    blocked = {
        c.participant.pk
        for c in selectors.conversations_page(user=people[0], offset=0, limit=100).conversations
        if c.blocked
    }
    assert blocked and blocked <= {people[2].pk, people[3].pk}  # the ones people[0] blocked, not who blocked them
    assert any(
        c.last_message.reply_to
        for user in people
        for c in selectors.conversations_page(user=user, offset=0, limit=100).conversations
    )


def test_the_lists_rows_render_as_the_instances_they_stand_for(people):
    """A list's rows (`MessageRow`, `QuotedRow`, `PersonRow`) render, in every list's shape and on the inbox's
    page, what the instances of the ORM's reads render (through the declared serializers for the API's): the
    rules (`MessageRules`, `QuoteRules`, `PersonRules`) and the values."""
    checked = 0
    for user in people:
        rows = selectors.conversations_page(user=user, offset=0, limit=100).conversations
        instances = selectors.attach_last_messages(user=user, rows=selectors.conversation_rows(user=user))
        assert rows and all(isinstance(c.last_message, list_reads.MessageRow) for c in rows)
        assert all(isinstance(c.last_message, Message) for c in instances)
        context = {"viewer": user}
        assert (
            conversations_data(rows, viewer=user) == ConversationSerializer(instances, many=True, context=context).data
        )
        assert conversation_partners_data(rows, viewer=user) == [
            dict(data) for data in ConversationPartnerSerializer(instances, many=True, context=context).data
        ]
        for view in conversations.conversation_list(user=user, skip=0, limit=100):
            assert isinstance(view.last_message, list_reads.MessageRow)
            pair = LegacyConversation.objects.get(pk=view.id)
            from_instances = conversations.conversation_view(user=user, conversation=pair)
            assert isinstance(from_instances.last_message, Message)
            assert legacy_conversation_data(view, viewer=user) == legacy_conversation_data(from_instances, viewer=user)
            checked += 1
        # The inbox's page, whose template renders an attribute it does not find as nothing.
        assert _inbox(user, rows) == _inbox(user, instances)
    assert checked


def _inbox(user, conversations) -> str:
    """The inbox page's list of `conversations` for `user`."""
    page = CountedPaginator(lambda offset, limit: (conversations, len(conversations)), 100).get_page(1)
    context = {"conversations": conversations, "user": user, "nav": "inbox", "page_obj": page}
    return render_to_string("messaging/inbox.html", context)


def test_the_literal_column_lists_are_the_models():
    """A field added to a model is added to the literal SQL too (in the models' order, which `from_db` needs);
    a conversation's values are read in the order of `Conversation`'s fields."""
    assert selectors.Conversation._fields[2:] == list_reads.CONVERSATION_ROW_FIELDS
    assert (
        tuple(field.attname for field in Message._meta.concrete_fields if field.name != "attachment_data")
        == list_reads.MESSAGE_COLUMNS
    )
    assert (
        tuple(field.attname for field in UserModel._meta.concrete_fields if field.name in selectors._LISTED_USER_FIELDS)
        == list_reads.PERSON_COLUMNS
    )


def test_the_recipient_of_a_send_is_read_as_its_orm_definition_reads_it():
    """Active or not, blocking the sender or not (or blocked by them, or blocking someone else), every
    column of the person and the block flag are what `recipient_with_block` answers."""
    sender = UserFactory()
    for case, person in recipients_of_every_kind(sender):
        recipient_id = person.pk if person else 10**12
        expected = selectors.recipient_with_block(sender_id=sender.pk, recipient_id=recipient_id).first()
        got = selectors.recipient_for_send(sender_id=sender.pk, recipient_id=recipient_id)
        if expected is None:
            assert got is None, case
            continue
        assert got is not None, case
        user, blocks_sender = got
        assert blocks_sender == expected.blocks_sender, case
        columns = [field.attname for field in UserModel._meta.concrete_fields]
        assert [getattr(user, c) for c in columns] == [getattr(expected, c) for c in columns], case


def _made(instance) -> tuple:
    """What making an instance leaves on it: its class, its fields' values and its state."""
    values = {name: value for name, value in vars(instance).items() if name != "_state"}
    return type(instance), values, instance._state.adding, instance._state.db


def _threads(people) -> dict:
    """Each person's threads with the others, as the thread pages read them (instances)."""
    return {
        (user, other): list_reads.thread_page(
            user_id=user.pk, other_id=other.pk, newest_first=True, offset=0, limit=100
        )
        for user in people
        for other in people
        if other != user
    }


def test_a_lists_instances_are_what_from_db_makes(people):
    """The instances of a list's read (made without `Model.__init__`) hold what `from_db` makes of the same
    values: the same fields (the deferred ones absent), their values and the instance's state; and while
    anything listens to `post_init` (or `pre_init`), they are made by `from_db`, which sends it."""
    threads = _threads(people)
    messages = [message for thread in threads.values() for message in thread]
    replies = [m.reply_to for m in messages if m.reply_to is not None]
    assert messages and replies
    for message in [*messages, *replies]:
        values = [vars(message).get(field.attname, DEFERRED) for field in Message._meta.concrete_fields]
        assert _made(message) == _made(Message.from_db("default", list_reads._MESSAGE_FIELDS, values))
        assert message.get_deferred_fields() == {"attachment_data"}
    for person in {id(p): p for m in messages for p in (m.sender, m.recipient)}.values():
        values = [vars(person).get(field.attname, DEFERRED) for field in UserModel._meta.concrete_fields]
        assert _made(person) == _made(UserModel.from_db("default", list_reads._PERSON_FIELDS, values))
        assert person.get_deferred_fields() == {
            field.attname for field in UserModel._meta.concrete_fields if field.attname not in list_reads.PERSON_COLUMNS
        }

    for (user, _), thread in threads.items():
        orm = selectors.visible_messages(user=user).in_bulk([message.pk for message in thread])
        for ours in thread:
            theirs = orm[ours.pk]
            assert _cached(ours) == _cached(theirs)
            assert (ours.reply_to is None) == (theirs.reply_to is None)
            if ours.reply_to is not None:
                assert _cached(ours.reply_to) == _cached(theirs.reply_to)

    heard: list[object] = []

    def listener(sender, instance, **kwargs):
        heard.append(instance)

    post_init.connect(listener, sender=Message)
    try:
        again = _threads(people)
    finally:
        post_init.disconnect(listener, sender=Message)
    assert {id(m) for thread in again.values() for m in thread} <= {id(m) for m in heard}
    for pair, thread in again.items():
        assert [_instance_loaded(m) for m in thread] == [_instance_loaded(m) for m in threads[pair]]
        assert [_cached(m) for m in thread] == [_cached(m) for m in threads[pair]]


def _cached(instance) -> list:
    """What an instance's state caches of its relations (`select_related`'s, `fields_cache`), in order: each
    one's name, class and primary key."""
    return [
        (name, type(value), None if value is None else value.pk) for name, value in instance._state.fields_cache.items()
    ]


def test_the_lists_statements_fit_psycopgs_statement_cache():
    """Each list's literal statement is at most the length psycopg keeps its conversion of: a longer one is
    parsed for its placeholders on every call (70 µs of a request of the legacy list, whose statement was
    longer)."""
    for sql in (list_reads._CONVERSATIONS_PAGE_SQL, list_reads._MESSAGES_AT_SQL):
        assert len(sql) <= MAX_CACHED_STATEMENT_LENGTH


def _text_rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _typed(rows: list[tuple]) -> list[tuple]:
    """Each value with its type, and a time with its zone: what a read hands on."""
    return [tuple((value, type(value), getattr(value, "tzinfo", None)) for value in row) for row in rows]


def test_a_reads_rows_in_binary_are_its_rows_in_text(people):
    """`fetch_rows` (PostgreSQL's binary format) gives every statement of the lists the values, types and time
    zones (UTC) that Django's text loading gives: ids, texts, flags, counts, NULLs and times."""
    times = sorted(set(Message.objects.values_list("created_at", flat=True)))
    statements = []
    for user in people:
        other = people[1] if user != people[1] else people[0]
        thread = {"user": user.pk, "other": other.pk, "before": None, "after": None, "limit": 100, "offset": 0}
        statements += [
            (list_reads._CONVERSATIONS_PAGE_SQL, {"user": user.pk, "offset": 0, "limit": 100}),
            (list_reads._MESSAGES_AT_SQL, {"user": user.pk, "partners": [p.pk for p in people], "times": times}),
            (list_reads._THREAD_NEWEST_FIRST_SQL, thread),
            (list_reads._THREAD_OLDEST_FIRST_SQL, {**thread, "after": times[len(times) // 2]}),
            *(
                (sql, {"user": user.pk, "other": other.pk, "anchor": 0, "before": 20, "after": 20})
                for sql in list_reads._THREAD_WINDOW_SQL.values()
            ),
        ]
    times_read = 0
    for sql, params in statements:
        text = _text_rows(sql, params)
        assert _typed(list_reads.fetch_rows(sql, params)) == _typed(text)
        times_read += sum(isinstance(value, datetime) for row in text for value in row)
    assert times_read


@pytest.mark.django_db(transaction=True)
def test_the_lists_answer_on_connections_that_bind_on_the_client():
    """With `DB_PREPARED_STATEMENTS=0` (behind PgBouncer in transaction mode) a connection has no server-side
    binding and Django's cursors are client-side, which take no binary results: the lists read text there.
    Fails on a4aa6ca, where every list answered 500 (`client-side cursors don't support binary results`)."""
    alice, bob = UserFactory(), UserFactory()
    MessageFactory(sender=alice, recipient=bob, body="through the pooler")
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    options.pop("server_side_binding", None)  # what config/settings.py leaves out with DB_PREPARED_STATEMENTS=0
    options.pop("prepare_threshold", None)
    connection.close()
    try:
        with connection.cursor() as cursor:
            assert isinstance(cursor.cursor, psycopg.ClientCursor)
        client = client_for(bob)
        conversations = client.get("/api/messages/conversations")
        thread = client.get(f"/api/messages/with/{alice.pk}")
        window = client.get(f"/api/messages/with/{alice.pk}", {"anchor": "newest"})
    finally:
        options.clear()
        options.update(saved)
        connection.close()
    assert conversations.status_code == 200, conversations.content
    assert [row["last_message"]["body"] for row in conversations.json()["results"]] == ["through the pooler"]
    assert [m["body"] for m in thread.json()["results"]] == ["through the pooler"]
    assert [m["body"] for m in window.json()["messages"]] == ["through the pooler"]
