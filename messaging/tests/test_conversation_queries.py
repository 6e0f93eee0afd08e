"""The fast conversation queries (UNION of the visibility halves, pair index, per-partner top-1) answer exactly
what the plain visibility rule answers, on messages with every kind of deletion, hiding and carried self-message."""

import random
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db.models import BigIntegerField, OuterRef, Subquery, Value
from django.utils import timezone

from messaging import selectors
from messaging.models import Message, UserBlock
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from users.tests.factories import UserFactory, client_for

pytestmark = pytest.mark.django_db
UserModel = get_user_model()


def _visible(message, user) -> bool:
    if message.hidden_at is not None:
        return False
    return (message.sender_id == user.pk and message.sender_deleted_at is None) or (
        message.recipient_id == user.pk and message.recipient_deleted_at is None
    )


def _expected_rows(user):
    """Conversation rows computed in Python from every message, with the documented rule."""
    rows = {}
    for message in Message.objects.all():
        if not _visible(message, user):
            continue
        partner = message.recipient_id if message.sender_id == user.pk else message.sender_id
        row = rows.setdefault(partner, {"partner_id": partner, "last": None, "unread_count": 0, "last_id": None})
        key = (message.created_at, message.pk)
        if row["last"] is None or key > row["last"]:
            row["last"], row["last_id"] = key, message.pk
        if message.recipient_id == user.pk and message.read_at is None:
            row["unread_count"] += 1
    return sorted(rows.values(), key=lambda row: (row["last"][0], row["partner_id"]), reverse=True)


@pytest.fixture
def people_and_messages():
    """Six people, 300 messages between them with deletions, hiding, unread ones and carried self-messages."""
    people = [UserFactory() for _ in range(6)]
    moderator = UserFactory(is_staff=True)
    randomizer = random.Random(6)
    start = timezone.now() - timedelta(days=30)
    for n in range(300):
        sender, recipient = randomizer.sample(people, 2)
        # A few identical timestamps: the id must break ties exactly like the rule's (created_at, id).
        created_at = start + timedelta(minutes=randomizer.randrange(0, 2000) // 7 * 7)
        roll = randomizer.random()
        MessageFactory(
            sender=sender,
            recipient=recipient,
            created_at=created_at,
            read_at=None if roll < 0.3 else created_at,
            sender_deleted_at=created_at if 0.3 <= roll < 0.4 else None,
            recipient_deleted_at=created_at if 0.4 <= roll < 0.5 else None,
            hidden_at=created_at if 0.5 <= roll < 0.55 else None,
            hidden_by=moderator if 0.5 <= roll < 0.55 else None,
            hidden_reason="spam" if 0.5 <= roll < 0.55 else "",
        )
        if n % 50 == 0:  # the old system let people message themselves; carried rows keep that
            MessageFactory(sender=sender, recipient=sender, created_at=created_at, legacy_id=10_000 + n)
    return people


def test_conversation_rows_match_the_visibility_rule(people_and_messages):
    """Every partner, last activity and unread count is what the visibility rule gives, in the same order."""
    for user in people_and_messages:
        expected = _expected_rows(user)
        wanted = [(r["partner_id"], r["last"][0], r["unread_count"]) for r in expected]

        def triples(rows):
            return [(r["partner_id"], r["last_activity_at"], r["unread_count"]) for r in rows]

        # Read without a count, and after one.
        assert triples(selectors.conversation_rows(user=user)) == wanted
        assert triples(selectors.conversation_rows(user=user)[1:3]) == wanted[1:3]
        rows = selectors.conversation_rows(user=user)
        assert rows.count() == len(expected) == len(rows)
        assert triples(rows) == wanted
        assert triples(rows[1:3]) == wanted[1:3]
        assert triples([rows[0]]) == wanted[:1]
        rows = selectors.conversation_rows(user=user)
        assert rows.count() == len(expected)
        assert triples(rows[:2]) == wanted[:2]
        assert triples(rows[1:4]) == wanted[1:4]
        assert triples(rows[3:]) == wanted[3:]
        assert triples(rows) == wanted
        size = len(expected)
        for start, stop in ((0, 1), (0, 20), (2, 2), (1, size + 5), (size, size + 3), (None, 3)):
            assert triples(selectors.conversation_rows(user=user)[start:stop]) == wanted[start:stop]
        # The count and the unread count come from the totals row.
        assert selectors.conversations_page(user=user, offset=0, limit=1).total == size
        assert selectors.unread_count(user=user) == sum(row["unread_count"] for row in expected)


def test_conversation_rows_narrowed_to_partners(people_and_messages):
    user, *others = people_and_messages
    wanted = {others[0].pk, others[2].pk}
    expected = [row for row in _expected_rows(user) if row["partner_id"] in wanted]
    rows = list(selectors.conversation_rows(user=user, partners=[others[0], others[2].pk]))
    assert [row["partner_id"] for row in rows] == [row["partner_id"] for row in expected]


def test_conversation_rows_with_columns(people_and_messages):
    """Extra columns (annotations, as the legacy list reads its conversation ids) come with the rows, and never
    with the plain list's."""
    user = people_and_messages[0]
    names = {person.pk: person.username for person in people_and_messages}

    def username(user_id):
        return Subquery(UserModel.objects.filter(pk=OuterRef("partner")).values("username"))

    def mark(user_id):
        return Value(user_id, output_field=BigIntegerField())  # the user's id, bound at every call

    wanted = [(r["partner_id"], names[r["partner_id"]], user.pk) for r in _expected_rows(user)]

    def triples(rows):
        return [(r["partner_id"], r["partner_name"], r["me"]) for r in rows]

    def rows_of(person):
        return selectors.conversation_rows(user=person).annotate(partner_name=username(person.pk), me=mark(person.pk))

    assert triples(rows_of(user)[:20]) == wanted[:20]
    assert triples(rows_of(user)) == wanted
    assert triples(rows_of(user)[2:2]) == []
    assert triples([rows_of(user)[0]]) == wanted[:1]
    other = people_and_messages[1]
    assert triples(rows_of(other)[:20])[0][2] == other.pk
    assert set(selectors.conversation_rows(user=user)[:20][0]) == {
        "partner_id",
        "last_activity_at",
        "unread_count",
        "muted",
        "blocked",
    }


def test_last_message_of_each_conversation_is_the_newest_visible_one(people_and_messages):
    for user in people_and_messages:
        expected = {row["partner_id"]: row["last_id"] for row in _expected_rows(user)}
        conversations = selectors.attach_last_messages(user=user, rows=selectors.conversation_rows(user=user))
        assert {c.participant.pk: c.last_message.pk for c in conversations} == expected


def test_last_messages_are_loaded_as_the_lists_load_messages(people_and_messages):
    """`attach_last_messages` builds its messages from a literal query: the same values, the same deferred
    fields (no attachment bytes, only the listed fields of people) as `visible_messages` gives."""
    user, other = people_and_messages[:2]
    replied = MessageFactory(sender=other, recipient=user, body="the question")
    AttachmentMessageFactory(sender=user, recipient=other, body="the answer", reply_to=replied)
    checked = 0
    for person in people_and_messages:
        for conversation in selectors.attach_last_messages(user=person, rows=selectors.conversation_rows(user=person)):
            built = conversation.last_message
            loaded = selectors.visible_messages(user=person).get(pk=built.pk)
            assert built.get_deferred_fields() == loaded.get_deferred_fields() == {"attachment_data"}
            for field in Message._meta.concrete_fields:
                if field.name != "attachment_data":
                    assert getattr(built, field.attname) == getattr(loaded, field.attname), field.name
            for role in ("sender", "recipient"):
                built_person, loaded_person = getattr(built, role), getattr(loaded, role)
                assert built_person.get_deferred_fields() == loaded_person.get_deferred_fields()
                assert (built_person.pk, built_person.username, built_person.display_name) == (
                    loaded_person.pk,
                    loaded_person.username,
                    loaded_person.display_name,
                )
            if loaded.reply_to is None:
                assert built.reply_to is None
            else:
                assert built.reply_to.preview_for(person) == loaded.reply_to.preview_for(person)
                assert built.reply_to.get_deferred_fields() == loaded.reply_to.get_deferred_fields()
            checked += 1
    assert checked >= len(people_and_messages)


def test_thread_is_every_visible_message_of_the_pair_newest_first(people_and_messages):
    user, other = people_and_messages[:2]
    expected = [
        m.pk
        for m in sorted(Message.objects.all(), key=lambda m: (m.created_at, m.pk), reverse=True)
        if {m.sender_id, m.recipient_id} == {user.pk, other.pk} and _visible(m, user)
    ]
    assert list(selectors.thread_between(user=user, other=other).values_list("pk", flat=True)) == expected
    own = [
        m.pk
        for m in sorted(Message.objects.all(), key=lambda m: (m.created_at, m.pk), reverse=True)
        if m.sender_id == m.recipient_id == user.pk and _visible(m, user)
    ]
    assert list(selectors.thread_between(user=user, other=user).values_list("pk", flat=True)) == own


def test_participants_are_partners_by_last_activity_then_everyone_by_name(people_and_messages):
    user = people_and_messages[0]
    stranger = UserFactory(username="zz-stranger")
    UserFactory(username="inactive", is_active=False)
    blocked = people_and_messages[1]
    UserBlock.objects.create(blocker=user, blocked=blocked)
    last = {row["partner_id"]: row["last"][0] for row in _expected_rows(user)}
    people = list(selectors.participants_for(user=user))
    # The people `user` blocked are listed, marked: they may still write to them.
    assert user not in people and blocked in people and stranger in people
    assert [person for person in people if person.blocked] == [blocked]
    assert all(person.is_active for person in people)
    for person in people:
        assert person.last_activity_at == last.get(person.pk)
    with_activity = [p.last_activity_at for p in people if p.last_activity_at is not None]
    assert with_activity == sorted(with_activity, reverse=True)
    assert people[len(with_activity) :] == sorted(
        people[len(with_activity) :], key=lambda p: ((p.display_name or p.username).lower(), p.pk)
    )


def test_conversation_list_query_count_does_not_grow_with_partners(django_assert_max_num_queries):
    """Conversations and participants: the same few queries for 3 partners or 40."""
    user = UserFactory()
    for n in range(40):
        partner = UserFactory()
        MessageFactory(sender=user if n % 2 else partner, recipient=partner if n % 2 else user)
        MessageFactory(sender=partner, recipient=user, reply_to=Message.objects.latest("id"))
    client = client_for(user)
    # JWT user lookup + the page of the summary with its last messages and the count (the totals row: a window
    # count over the page would read every row of a heavy user's summary).
    with django_assert_max_num_queries(2):
        response = client.get("/api/messages/conversations?page_size=100")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 40
    with django_assert_max_num_queries(3):
        response = client.get("/api/messages/participants?page_size=100")
    assert response.status_code == 200
    assert sum(1 for person in response.json()["results"] if person["has_conversation"]) == 40
