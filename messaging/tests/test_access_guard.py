"""The access guard and the services behind every surface, called directly, for each role around one message.

`selectors.access_message` gives a message to its two parties only; for anyone else it raises exactly the
`Http404` of a message that does not exist, and the services that act on one message (read, delete, report,
reply) go through it. The same rules over HTTP, on every surface, are in `tests/test_authorization_matrix.py`.
"""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from messaging import selectors, services
from messaging.models import Message
from tests.helpers import OUTSIDERS, PARTIES

pytestmark = pytest.mark.django_db

# The signed-in non-parties, and a superuser: outside the admin it is no party either.
NON_PARTIES = [*OUTSIDERS, "superuser"]


def not_found(call) -> str:
    with pytest.raises(Http404) as raised:
        call()
    return str(raised.value)


def assert_untouched(message: Message):
    message.refresh_from_db()
    assert message.read_at is None
    assert message.sender_deleted_at is None and message.recipient_deleted_at is None
    assert not message.reports.exists()


@pytest.mark.parametrize("role", PARTIES)
def test_access_message_gives_the_message_to_its_parties(roles, role):
    message = selectors.access_message(user=roles.user(role), message_id=roles.message.pk, with_attachment=True)
    assert message == roles.message
    assert bytes(message.attachment_data) == bytes(roles.message.attachment_data)


@pytest.mark.parametrize("role", NON_PARTIES)
def test_access_message_refuses_a_non_party_as_if_the_message_did_not_exist(roles, role):
    user = getattr(roles, role)
    existing = not_found(lambda: selectors.access_message(user=user, message_id=roles.message.pk))
    missing = not_found(lambda: selectors.access_message(user=user, message_id=roles.missing_id))
    assert existing == missing


@pytest.mark.parametrize("message_id", ["abc", None, "", 2**70, "1.5"])
def test_access_message_answers_an_id_that_is_no_id_with_http404(roles, message_id):
    not_found(lambda: selectors.access_message(user=roles.sender, message_id=message_id))


@pytest.mark.parametrize("role", NON_PARTIES)
def test_the_services_on_one_message_refuse_a_non_party_and_change_nothing(roles, role):
    user, message_id = getattr(roles, role), roles.message.pk
    for act in (
        lambda: services.mark_message_read(user=user, message_id=message_id),
        lambda: services.delete_for_user(user=user, message_id=message_id),
        lambda: services.report_message(user=user, message_id=message_id, reason="spam"),
    ):
        not_found(act)
    assert services.mark_conversation_read(user=user, other_id=roles.sender.pk) == 0
    assert_untouched(roles.message)


@pytest.mark.parametrize("role", NON_PARTIES)
def test_a_reply_to_a_message_one_cannot_see_is_the_error_for_a_missing_one(roles, role):
    user = getattr(roles, role)

    def reply_to(message_id):
        with pytest.raises(ValidationError) as raised:
            services.send_message(sender=user, recipient_id=roles.sender.pk, body="hi", reply_to_id=message_id)
        return raised.value.message_dict

    assert reply_to(roles.message.pk) == reply_to(roles.missing_id)
    assert not Message.objects.filter(reply_to=roles.message).exists()


def test_only_the_recipient_marks_a_message_read(roles):
    with pytest.raises(PermissionDenied):
        services.mark_message_read(user=roles.sender, message_id=roles.message.pk)
    assert_untouched(roles.message)
    assert services.mark_message_read(user=roles.recipient, message_id=roles.message.pk).read_at is not None


def visible_everywhere(roles, user, message) -> bool:
    """Whether `user` sees `message` in each selector; asserts they all agree."""
    seen = {
        "visible": selectors.visible_messages(user=user).filter(pk=message.pk).exists(),
        "search": message in list(selectors.search_messages(user=user, query="secret launch", filters={})),
        **{
            f"thread with {other.username}": selectors.thread_between(user=user, other=other)
            .filter(pk=message.pk)
            .exists()
            for other in (roles.sender, roles.recipient)
            if other != user
        },
    }
    assert len(set(seen.values())) == 1, seen
    return next(iter(seen.values()))


@pytest.mark.parametrize("role", [*PARTIES, *NON_PARTIES])
def test_the_selectors_show_the_message_to_its_parties_only(roles, role):
    user, message = getattr(roles, role), roles.message
    party = role in PARTIES
    assert visible_everywhere(roles, user, message) is party
    assert selectors.unread_count(user=user) == (1 if role == "recipient" else 0)


def test_a_hidden_message_is_gone_for_both_parties(roles):
    services.hide_messages(moderator=roles.moderator, messages=[roles.message], reason="abuse")
    for user in (roles.sender, roles.recipient):
        not_found(lambda user=user: selectors.access_message(user=user, message_id=roles.message.pk))
        assert visible_everywhere(roles, user, roles.message) is False
        assert selectors.unread_count(user=user) == 0


@pytest.mark.parametrize(("deleter", "still_sees"), [("recipient", "sender"), ("sender", "recipient")])
def test_delete_for_user_hides_the_message_from_the_deleter_only(roles, deleter, still_sees):
    services.delete_for_user(user=roles.user(deleter), message_id=roles.message.pk)
    not_found(lambda: selectors.access_message(user=roles.user(deleter), message_id=roles.message.pk))
    assert visible_everywhere(roles, roles.user(deleter), roles.message) is False
    assert selectors.access_message(user=roles.user(still_sees), message_id=roles.message.pk) == roles.message


def test_the_blocked_user_cannot_send_to_the_blocker_who_still_sees_them_marked_blocked(roles):
    """The blocker may still write to the person they blocked (README), so the person stays among the blocker's
    participants, marked `blocked`."""
    with pytest.raises(PermissionDenied):
        services.send_message(sender=roles.blocked_user, recipient_id=roles.recipient.pk, body="hi")
    assert selectors.relation(user=roles.recipient, other=roles.blocked_user).blocked
    participants = {person: person.blocked for person in selectors.participants_for(user=roles.recipient)}
    assert participants[roles.blocked_user] is True and participants[roles.sender] is False


def test_a_blocked_sender_keeps_the_old_message_but_cannot_send(roles):
    services.block_user(user=roles.recipient, blocked_id=roles.sender.pk)
    assert selectors.access_message(user=roles.sender, message_id=roles.message.pk) == roles.message
    with pytest.raises(PermissionDenied):
        services.send_message(sender=roles.sender, recipient_id=roles.recipient.pk, body="hello?")
    assert Message.objects.count() == 1
