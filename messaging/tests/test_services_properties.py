"""Random sequences of sends, reads, unreads, deletes, unsends, hides, unhides, edits and blocks keep the
invariants of what each user sees, and the conversation summary equal to its recomputation from the messages.

A Hypothesis state machine drives the real services against the real database and keeps a plain model of
every message next to them; after each step the selectors must agree with the model: what each user sees,
the threads, the unread count and each conversation's unread count.
"""

from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from messaging import conversations, selectors, services
from messaging.models import Message
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PEOPLE = 3
person = st.integers(min_value=0, max_value=PEOPLE - 1)
# Who acts on a message: one of its two people (most steps) or the third person, who must get a 404.
side = st.sampled_from(["sender", "recipient", "sender", "recipient", "stranger"])
# Who tries to unsend a message: mostly its sender, who alone may.
unsender = st.sampled_from(["sender", "sender", "sender", "recipient", "stranger"])
# Bodies as people type them, never blank after stripping (blank bodies are refused, tested elsewhere).
body = st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)


@dataclass
class Expected:
    """What the model knows about one message."""

    sender: int
    recipient: int
    body: str = ""
    read: bool = False
    sender_deleted: bool = False
    recipient_deleted: bool = False
    hidden: bool = False
    unsent: bool = False

    def visible_to(self, user: int) -> bool:
        if self.hidden:
            return False
        return (user == self.sender and not self.sender_deleted) or (
            user == self.recipient and not self.recipient_deleted
        )

    def unread_for(self, user: int) -> bool:
        return user == self.recipient and not self.read and self.visible_to(user)


class MessagingMachine(RuleBasedStateMachine):
    """Each example runs in its own savepoint, rolled back at teardown, inside the test's transaction."""

    sent = Bundle("sent")

    def __init__(self):
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.users = [UserFactory() for _ in range(PEOPLE)]
        self.moderator = UserFactory(is_staff=True)
        self.expected: dict[int, Expected] = {}
        self.blocks: set[tuple[int, int]] = set()

    def teardown(self):
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # --- steps ---------------------------------------------------------------------------------------------

    def _actor(self, known: Expected, side: str) -> int:
        if side == "sender":
            return known.sender
        if side == "recipient":
            return known.recipient
        return (set(range(PEOPLE)) - {known.sender, known.recipient}).pop()

    @rule(target=sent, sender=person, recipient=person, text=body)
    def send(self, sender, recipient, text):
        if sender == recipient:
            with pytest.raises(ValidationError):
                services.send_message(sender=self.users[sender], recipient_id=self.users[recipient].pk, body=text)
            return multiple()
        if (recipient, sender) in self.blocks:
            with pytest.raises(PermissionDenied):
                services.send_message(sender=self.users[sender], recipient_id=self.users[recipient].pk, body=text)
            return multiple()
        message = services.send_message(sender=self.users[sender], recipient_id=self.users[recipient].pk, body=text)
        assert message.body == text.strip()
        self.expected[message.pk] = Expected(sender=sender, recipient=recipient, body=message.body)
        return message.pk

    @rule(target=sent, original=sent, replier=st.sampled_from(["sender", "recipient"]), text=body)
    def reply(self, original, replier, text):
        """A reply is accepted only to a message of the same conversation that the replier can see."""
        known = self.expected[original]
        replier = self._actor(known, replier)
        partner = known.recipient if replier == known.sender else known.sender
        if (partner, replier) in self.blocks:
            return multiple()
        if not known.visible_to(replier):
            with pytest.raises(ValidationError):
                services.send_message(
                    sender=self.users[replier], recipient_id=self.users[partner].pk, body=text, reply_to_id=original
                )
            return multiple()
        message = services.send_message(
            sender=self.users[replier], recipient_id=self.users[partner].pk, body=text, reply_to_id=original
        )
        assert message.reply_to_id == original
        self.expected[message.pk] = Expected(sender=replier, recipient=partner, body=message.body)
        return message.pk

    @rule(message_id=sent, reader=side)
    def mark_message_read(self, message_id, reader):
        known = self.expected[message_id]
        reader = self._actor(known, reader)
        if not known.visible_to(reader):
            with pytest.raises(Http404):
                services.mark_message_read(user=self.users[reader], message_id=message_id)
        elif reader != known.recipient:
            with pytest.raises(PermissionDenied):
                services.mark_message_read(user=self.users[reader], message_id=message_id)
        else:
            message = services.mark_message_read(user=self.users[reader], message_id=message_id)
            assert message.read_at is not None
            known.read = True

    @rule(reader=person, other=person)
    def mark_conversation_read(self, reader, other):
        marked = services.mark_conversation_read(user=self.users[reader], other_id=self.users[other].pk)
        expected = [known for known in self.expected.values() if known.sender == other and known.unread_for(reader)]
        assert marked == len(expected)
        for known in expected:
            known.read = True

    @rule(message_id=sent, reader=side)
    def mark_unread(self, message_id, reader):
        """The message and every later one from its sender to the reader (ids grow with time here) go back to
        unread, where the reader still sees them."""
        known = self.expected[message_id]
        reader = self._actor(known, reader)
        if not known.visible_to(reader):
            with pytest.raises(Http404):
                services.mark_unread(user=self.users[reader], message_id=message_id)
            return
        if reader != known.recipient:
            with pytest.raises(ValidationError):
                services.mark_unread(user=self.users[reader], message_id=message_id)
            return
        marked = services.mark_unread(user=self.users[reader], message_id=message_id)
        expected = [
            later
            for pk, later in self.expected.items()
            if pk >= message_id
            and (later.sender, later.recipient) == (known.sender, reader)
            and later.read
            and later.visible_to(reader)
        ]
        assert marked == len(expected)
        for later in expected:
            later.read = False

    @rule(message_id=sent, user=side)
    def delete_for_user(self, message_id, user):
        known = self.expected[message_id]
        user = self._actor(known, user)
        if not known.visible_to(user):
            with pytest.raises(Http404):
                services.delete_for_user(user=self.users[user], message_id=message_id)
            return
        services.delete_for_user(user=self.users[user], message_id=message_id)
        if user == known.sender:
            known.sender_deleted = True
        if user == known.recipient:
            known.recipient_deleted = True
        assert not selectors.visible_messages(user=self.users[user]).filter(pk=message_id).exists()

    @rule(message_id=sent, editor=side, text=body)
    def edit_message(self, message_id, editor, text):
        """Only its sender edits a message, while they see it; an edit changes no one's view, count or summary
        row (the invariants), only the body both read."""
        known = self.expected[message_id]
        editor = self._actor(known, editor)
        if not known.visible_to(editor):
            with pytest.raises(Http404):
                services.edit_message(user=self.users[editor], message_id=message_id, body=text)
            return
        if editor != known.sender:
            with pytest.raises(PermissionDenied):
                services.edit_message(user=self.users[editor], message_id=message_id, body=text)
            return
        message = services.edit_message(user=self.users[editor], message_id=message_id, body=text)
        assert message.body == text.strip()
        known.body = message.body

    @rule(message_id=sent, user=unsender)
    def unsend(self, message_id, user):
        """Only the sender, only what they see (or unsent already: done again, changing nothing); then it is
        deleted for both people."""
        known = self.expected[message_id]
        user = self._actor(known, user)
        if known.unsent and user == known.sender:
            assert services.unsend_message(user=self.users[user], message_id=message_id) is False
            return
        if not known.visible_to(user):
            with pytest.raises(Http404):
                services.unsend_message(user=self.users[user], message_id=message_id)
            return
        if user != known.sender:
            with pytest.raises(PermissionDenied):
                services.unsend_message(user=self.users[user], message_id=message_id)
            return
        assert services.unsend_message(user=self.users[user], message_id=message_id) is True
        known.unsent = known.sender_deleted = known.recipient_deleted = True

    @rule(message_ids=st.lists(sent, max_size=3))
    def hide_messages(self, message_ids):
        newly_hidden = {pk for pk in message_ids if not self.expected[pk].hidden}
        hidden = services.hide_messages(
            moderator=self.moderator, messages=Message.objects.filter(pk__in=message_ids), reason="abuse"
        )
        assert hidden == len(newly_hidden)
        for pk in message_ids:
            self.expected[pk].hidden = True

    @rule(message_ids=st.lists(sent, max_size=3))
    def unhide_messages(self, message_ids):
        services.unhide_messages(moderator=self.moderator, messages=Message.objects.filter(pk__in=message_ids))
        for pk in message_ids:
            self.expected[pk].hidden = False

    @rule(user=person, other=person)
    def delete_conversation_for_user(self, user, other):
        if user == other:
            return
        services.delete_conversation_for_user(user=self.users[user], other=self.users[other])
        for known in self.expected.values():
            if (known.sender, known.recipient) == (user, other):
                known.sender_deleted = True
            if (known.sender, known.recipient) == (other, user):
                known.recipient_deleted = True

    @rule(blocker=person, blocked=person)
    def block(self, blocker, blocked):
        if blocker == blocked:
            return
        services.block_user(user=self.users[blocker], blocked_id=self.users[blocked].pk)
        self.blocks.add((blocker, blocked))

    # --- invariants ----------------------------------------------------------------------------------------

    @invariant()
    def each_user_sees_exactly_what_the_model_says(self):
        for index, user in enumerate(self.users):
            seen = set(selectors.visible_messages(user=user).values_list("pk", flat=True))
            assert seen == {pk for pk, known in self.expected.items() if known.visible_to(index)}

    @invariant()
    def each_user_reads_the_last_body_its_sender_gave(self):
        for user in self.users:
            bodies = dict(selectors.visible_messages(user=user).values_list("pk", "body"))
            assert bodies == {pk: self.expected[pk].body for pk in bodies}

    @invariant()
    def unread_counts_equal_the_visible_unread_rows(self):
        for index, user in enumerate(self.users):
            unread = {pk for pk, known in self.expected.items() if known.unread_for(index)}
            assert selectors.unread_count(user=user) == len(unread)
            assert Message.objects.visible_to(user).filter(recipient=user, read_at__isnull=True).count() == len(unread)

    @invariant()
    def conversations_list_visible_partners_with_their_unread_counts(self):
        for index, user in enumerate(self.users):
            rows = {row["partner_id"]: row["unread_count"] for row in selectors.conversation_rows(user=user)}
            expected = {}
            for known in self.expected.values():
                if known.visible_to(index):
                    partner = self.users[known.recipient if known.sender == index else known.sender].pk
                    expected[partner] = expected.get(partner, 0) + known.unread_for(index)
            assert rows == expected

    @invariant()
    def the_conversation_summary_equals_its_recomputation(self):
        """The summary the lists read (kept by the triggers) is what the messages say, times included."""
        assert conversations.verify() == []

    @invariant()
    def threads_hold_what_both_sides_see(self):
        for index, user in enumerate(self.users):
            for other_index, other in enumerate(self.users):
                if other_index == index:
                    continue
                thread = set(selectors.thread_between(user=user, other=other).values_list("pk", flat=True))
                assert thread == {
                    pk
                    for pk, known in self.expected.items()
                    if known.visible_to(index) and {known.sender, known.recipient} == {index, other_index}
                }


def test_random_sequences_of_service_calls_keep_visibility_and_unread_invariants(db):
    """Whatever order people send, read, delete, get hidden or block in, every user's view stays exact."""
    run_state_machine_as_test(
        MessagingMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
