"""Who gets what, on every surface: the new API, the legacy API, the inbox pages and the admin.

A message from the sender to the recipient (with an attachment) and their conversation, asked for by each of
the six roles (`tests.helpers.ROLES`): the sender, the recipient, a third user, a moderator (staff of the
Moderators group), a user the recipient blocked, and an anonymous caller. The third user, the moderator
outside the admin and the blocked user never learn that the message exists: they get exactly the answer a
missing object gets, and never a byte of the message. A superuser is checked apart: outside the admin, it is
no party either. The rules behind every surface (`access_message` and the services) are tested directly in
`messaging/tests/test_access_guard.py`.
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from legacy_dm.conversations import conversation_for_pair
from messaging import services
from messaging.models import Message
from tests.helpers import OUTSIDERS, PARTIES, ROLES, SECRET
from users.tokens import RefreshToken

pytestmark = pytest.mark.django_db

MISSING_ID = 987_654


@pytest.fixture
def conversation(roles):
    """The legacy conversation id of the sender and the recipient."""
    return conversation_for_pair(user=roles.sender, other=roles.recipient)[0]


def api_client(user):
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def page_client(user):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def call(client, method, path, data=None):
    if method in ("get", "delete"):
        return getattr(client, method)(path)
    return (
        getattr(client, method)(path, data or {}, format="json")
        if isinstance(client, APIClient)
        else (getattr(client, method)(path, data or {}))
    )


# (surface, method, path template, data, expected status per role). {m} = the message, {c} = the conversation,
# {b} = B's user id. "hidden" means: the same status and body as for a missing object.
HIDDEN = "hidden"
MATRIX = [
    (
        "api",
        "get",
        "/api/messages/{m}",
        None,
        {
            "sender": 200,
            "recipient": 200,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "api",
        "get",
        "/api/messages/{m}/attachment",
        None,
        {
            "sender": 200,
            "recipient": 200,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "api",
        "post",
        "/api/messages/{m}/read",
        None,
        {
            "sender": 403,
            "recipient": 200,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "api",
        "post",
        "/api/messages/{m}/report",
        {"reason": "abuse"},
        {
            "sender": 201,
            "recipient": 201,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "api",
        "patch",
        "/api/messages/{m}",
        {"body": "edited"},
        {
            "sender": 200,
            "recipient": 403,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "api",
        "delete",
        "/api/messages/{m}",
        None,
        {
            "sender": 204,
            "recipient": 204,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "api",
        "delete",
        "/api/messages/{m}?for=everyone",
        None,
        {
            "sender": 204,
            "recipient": 403,  # they see it, but only its sender may unsend it
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "legacy",
        "get",
        "/api/direct-messages/{m}",
        None,
        {
            "sender": 200,
            "recipient": 200,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "legacy",
        "get",
        "/api/direct-messages/{m}/attachment",
        None,
        {
            "sender": 200,
            "recipient": 200,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "legacy",
        "put",
        "/api/direct-messages/{m}/read",
        None,
        {"recipient": 200, "third_user": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked_user": HIDDEN},
    ),
    (
        "legacy",
        "delete",
        "/api/direct-messages/{m}",
        None,
        {
            "sender": 200,
            "recipient": 200,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "legacy",
        "get",
        "/api/messaging/conversations/{c}",
        None,
        {
            "sender": 200,
            "recipient": 200,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "legacy",
        "get",
        "/api/messaging/conversations/{c}/messages",
        None,
        {
            "sender": 200,
            "recipient": 200,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "legacy",
        "post",
        "/api/messaging/conversations/{c}/messages",
        {"content": "hi"},
        {
            "sender": 201,
            "recipient": 201,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "legacy",
        "put",
        "/api/messaging/conversations/{c}/read",
        None,
        {
            "sender": 200,
            "recipient": 200,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "legacy",
        "delete",
        "/api/messaging/conversations/{c}",
        None,
        {
            "sender": 200,
            "recipient": 200,
            "third_user": HIDDEN,
            "anonymous": 401,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "pages",
        "get",
        "/inbox/messages/{m}/attachment/",
        None,
        {
            "sender": 200,
            "recipient": 200,
            "third_user": HIDDEN,
            "anonymous": 302,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "pages",
        "get",
        "/inbox/messages/{m}/edit/",
        None,
        {
            "sender": 200,
            "recipient": 403,
            "third_user": HIDDEN,
            "anonymous": 302,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "pages",
        "get",
        "/inbox/messages/{m}/unsend/",
        None,
        {
            "sender": 200,
            "recipient": 302,  # back to the message, with the reason
            "third_user": HIDDEN,
            "anonymous": 302,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "pages",
        "post",
        "/inbox/messages/{m}/edit/",
        {"body": "edited"},
        {
            "sender": 302,
            "recipient": 403,
            "third_user": HIDDEN,
            "anonymous": 302,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "pages",
        "post",
        "/inbox/messages/{m}/unsend/",
        None,
        {
            "sender": 302,
            "recipient": 302,
            "third_user": HIDDEN,
            "anonymous": 302,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
    (
        "pages",
        "post",
        "/inbox/messages/{m}/delete/",
        None,
        {
            "sender": 302,
            "recipient": 302,
            "third_user": HIDDEN,
            "anonymous": 302,
            "moderator": HIDDEN,
            "blocked_user": HIDDEN,
        },
    ),
]
# The new API's message endpoints, as (method, path, data).
DETAIL_ENDPOINTS = [
    (method, path, data) for surface, method, path, data, _ in MATRIX if path.startswith("/api/messages/")
]
CASES = [
    pytest.param(surface, method, path, data, role, expected[role], id=f"{surface}-{method}-{path}-{role}")
    for surface, method, path, data, expected in MATRIX
    for role in ROLES
    if role in expected
]


def missing_path(path):
    return path.format(m=MISSING_ID, c=MISSING_ID, b=MISSING_ID)


def real_path(path, roles, conversation):
    return path.format(m=roles.message.pk, c=conversation.pk, b=roles.recipient.pk)


def assert_hidden(response, missing, *, surface, message):
    """The same answer as for a missing object, no byte of the message, and nothing changed for its parties."""
    assert response.status_code == missing.status_code == 404, (response.status_code, missing.status_code)
    if surface != "pages":
        assert response.json() == missing.json()
    assert SECRET.encode() not in response.content
    stored = Message.objects.get(pk=message.pk)
    assert stored.read_at is None and stored.sender_deleted_at is None and stored.recipient_deleted_at is None
    assert not stored.reports.exists()
    assert stored.edited_at is None and not stored.edits.exists() and SECRET in stored.body
    assert Message.objects.count() == 1


@pytest.mark.parametrize(("surface", "method", "path", "data", "role", "expected"), CASES)
def test_authorization_matrix(roles, conversation, surface, method, path, data, role, expected):
    """Each role gets the status the matrix says; a non-party gets exactly the answer for a missing object."""
    user = roles.user(role)
    client = page_client(user) if surface == "pages" else api_client(user)
    response = call(client, method, real_path(path, roles, conversation), data)
    if expected == HIDDEN:
        missing = call(client, method, missing_path(path), data)
        assert_hidden(response, missing, surface=surface, message=roles.message)
    else:
        assert response.status_code == expected, response.content[:300]
    if role == "anonymous":
        assert SECRET.encode() not in response.content
        missing = call(client, method, missing_path(path), data)
        assert missing.status_code == response.status_code
        if surface == "pages":
            assert response["Location"].startswith("/accounts/login/?next=")
        else:
            assert response.json() == missing.json()
        if surface == "legacy":
            assert response.json() == {"detail": "Not authenticated"}


@pytest.mark.parametrize(("surface", "method", "path", "data"), [row[:4] for row in MATRIX])
def test_a_superuser_outside_the_admin_is_no_party_either(roles, conversation, surface, method, path, data):
    """Outside the admin a superuser sees no one's messages: the same answer as for a missing object."""
    client = page_client(roles.superuser) if surface == "pages" else api_client(roles.superuser)
    response = call(client, method, real_path(path, roles, conversation), data)
    assert_hidden(response, call(client, method, missing_path(path), data), surface=surface, message=roles.message)


def visible_ids(client, other) -> dict[str, set[int]]:
    """The message ids a caller sees on every list endpoint of the new API (the thread with `other`)."""
    thread = client.get(f"/api/messages/with/{other.pk}").json()["results"]
    search = client.post("/api/messages/search", {"query": "secret launch"}, format="json").json()["results"]
    conversations = client.get("/api/messages/conversations").json()["results"]
    return {
        "thread": {row["id"] for row in thread},
        "search": {row["id"] for row in search},
        "conversations": {row["last_message"]["id"] for row in conversations},
    }


@pytest.mark.parametrize("role", [*OUTSIDERS, "superuser"])
def test_outsiders_never_see_the_message_in_lists_threads_or_search(roles, role):
    """No list, thread or search of any surface shows the message, its body or an unread count to a non-party."""
    user = getattr(roles, role)
    sender, recipient = roles.sender, roles.recipient
    client = api_client(user)
    responses = [
        client.get("/api/messages/conversations"),
        client.get(f"/api/messages/with/{sender.pk}"),
        client.get(f"/api/messages/with/{recipient.pk}"),
        client.post("/api/messages/search", {"query": "secret launch"}, format="json"),
        client.get("/api/direct-messages/"),
        client.get("/api/direct-messages/conversations"),
        client.get(f"/api/direct-messages/conversation/{sender.pk}"),
        client.get("/api/messaging/conversations"),
    ]
    pages = page_client(user)
    responses += [
        pages.get("/inbox/"),
        pages.get(f"/inbox/with/{recipient.pk}/"),
        pages.get("/inbox/search/?q=secret"),
    ]
    for response in responses:
        assert response.status_code == 200, response.request["PATH_INFO"]
        assert SECRET.encode() not in response.content, response.request["PATH_INFO"]
    for other in (sender, recipient):
        for endpoint, ids in visible_ids(client, other).items():
            assert roles.message.pk not in ids, (endpoint, other)
    assert client.get("/api/messages/unread-count").json() == {"unread_count": 0, "badge_count": 0}


@pytest.mark.parametrize("role", PARTIES)
def test_the_parties_see_the_message_everywhere(roles, role):
    """Both parties see the body on every list, thread and search; the recipient counts it unread."""
    user = roles.user(role)
    other = roles.recipient if role == "sender" else roles.sender
    client = api_client(user)
    # Counted first: opening the thread page below reads it.
    unread = client.get("/api/messages/unread-count").json()["unread_count"]
    assert unread == (1 if role == "recipient" else 0)
    for response in [
        client.get("/api/messages/conversations"),
        client.get(f"/api/messages/with/{other.pk}"),
        client.post("/api/messages/search", {"query": "secret launch"}, format="json"),
        client.get("/api/direct-messages/"),
        client.get(f"/api/direct-messages/conversation/{other.pk}"),
        client.get("/api/messaging/conversations"),
        page_client(user).get(f"/inbox/with/{other.pk}/"),
    ]:
        assert response.status_code == 200
        assert SECRET.encode() in response.content, response.request["PATH_INFO"]
    for endpoint, ids in visible_ids(client, other).items():
        assert roles.message.pk in ids, endpoint


def test_anonymous_lists_answer_401_or_the_login_page_without_the_body(roles):
    """An anonymous caller gets no list of any surface: 401 on the APIs, the login page from the inbox."""
    client = api_client(None)
    for response in (
        client.get(f"/api/messages/with/{roles.recipient.pk}"),
        client.post("/api/messages/search", {"query": "secret launch"}, format="json"),
        client.get("/api/messages/conversations"),
        client.get("/api/messages/unread-count"),
        client.get("/api/messages/participants"),
        client.get("/api/direct-messages/"),
        client.get("/api/direct-messages/conversations"),
        client.get(f"/api/direct-messages/conversation/{roles.sender.pk}"),
        client.get("/api/messaging/conversations"),
    ):
        assert response.status_code == 401, response.request["PATH_INFO"]
        assert SECRET.encode() not in response.content
    for path in ("/inbox/", f"/inbox/with/{roles.recipient.pk}/", "/inbox/search/?q=secret"):
        response = page_client(None).get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("role", [*OUTSIDERS, "superuser"])
def test_mark_conversation_read_by_a_non_party_reads_nothing(roles, role):
    response = api_client(getattr(roles, role)).put(f"/api/messages/mark-conversation-read/{roles.sender.pk}")
    assert response.json() == {"marked_read": 0}
    roles.message.refresh_from_db()
    assert roles.message.read_at is None


@pytest.mark.parametrize("role", [*OUTSIDERS, "superuser"])
def test_replying_to_a_message_one_cannot_see_is_the_same_error_as_to_a_missing_one(roles, role):
    client = api_client(getattr(roles, role))

    def reply_to(message_id):
        return client.post(
            "/api/messages/send",
            {"recipient_id": roles.sender.pk, "body": "hi", "reply_to_id": message_id},
            format="json",
        )

    existing, missing = reply_to(roles.message.pk), reply_to(roles.missing_id)
    assert existing.status_code == missing.status_code == 400
    assert existing.json() == missing.json()
    assert not Message.objects.filter(reply_to=roles.message).exists()


def test_a_hidden_message_is_hidden_from_both_parties_everywhere(roles):
    """Once a moderator hides it, the message is gone for both parties on every surface but the admin."""
    message = roles.message
    services.hide_messages(moderator=roles.moderator, messages=[message], reason="abuse")
    for role in PARTIES:
        user = roles.user(role)
        other = roles.recipient if role == "sender" else roles.sender
        client = api_client(user)
        for method, path, data in DETAIL_ENDPOINTS:
            response = call(client, method, path.format(m=message.pk), data)
            assert response.status_code == 404, (role, path)
        assert client.get(f"/api/direct-messages/{message.pk}").status_code == 404
        for response in (
            client.get("/api/messages/conversations"),
            client.get("/api/direct-messages/"),
            client.get("/api/messaging/conversations"),
            page_client(user).get("/inbox/"),
        ):
            assert SECRET.encode() not in response.content
        assert all(message.pk not in ids for ids in visible_ids(client, other).values())
        assert client.get("/api/messages/unread-count").json() == {"unread_count": 0, "badge_count": 0}


@pytest.mark.parametrize(("deleter", "still_sees"), [("recipient", "sender"), ("sender", "recipient")])
def test_a_delete_hides_the_message_from_the_deleter_only(roles, deleter, still_sees):
    message = roles.message
    deleting = api_client(roles.user(deleter))
    assert deleting.delete(f"/api/messages/{message.pk}").status_code == 204

    assert deleting.get(f"/api/messages/{message.pk}").status_code == 404
    assert deleting.get(f"/api/messages/{message.pk}/attachment").status_code == 404
    assert api_client(roles.user(still_sees)).get(f"/api/messages/{message.pk}").status_code == 200
    other = roles.user(still_sees)
    assert all(message.pk not in ids for ids in visible_ids(deleting, other).values())


def test_a_blocked_sender_keeps_seeing_the_old_thread_but_cannot_send(roles):
    services.block_user(user=roles.recipient, blocked_id=roles.sender.pk)
    client = api_client(roles.sender)

    assert client.get(f"/api/messages/{roles.message.pk}").status_code == 200
    response = client.post("/api/messages/send", {"recipient_id": roles.recipient.pk, "body": "hello?"}, format="json")
    assert response.status_code == 403
    assert Message.objects.count() == 1


def test_the_blocked_user_cannot_send_to_the_blocker_on_any_surface(roles):
    """Refused on the new API, the legacy API and the pages. The blocker may still write to them, so their
    participants list them."""
    blocked, recipient = roles.blocked_user, roles.recipient
    client = api_client(blocked)
    response = client.post("/api/messages/send", {"recipient_id": recipient.pk, "body": "hi"}, format="json")
    assert response.status_code == 403
    legacy = client.post("/api/direct-messages/", {"receiver_id": recipient.pk, "content": "hi"}, format="json")
    assert legacy.status_code in (403, 422)
    pages = page_client(blocked)
    pages.post("/inbox/compose/", {"recipient": recipient.pk, "body": "hi"})
    pages.post(f"/inbox/with/{recipient.pk}/", {"body": "hi"})
    assert not Message.objects.filter(sender=blocked).exists()
    participants = api_client(recipient).get("/api/messages/participants?page_size=100").json()["results"]
    assert blocked.pk in {row["id"] for row in participants}
    assert roles.sender.pk in {row["id"] for row in participants}


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_shows_the_message_to_the_moderator_only_with_an_audit_entry(roles, role):
    """The moderator reads the message in the admin, and the read is logged; everyone else is sent to log in."""
    message = roles.message
    response = page_client(roles.user(role)).get(f"/admin/messaging/message/{message.pk}/change/")
    if role == "moderator":
        assert response.status_code == 200
        assert SECRET.encode() in response.content
        assert message.access_log.filter(moderator=roles.moderator).count() == 1
    else:
        assert response.status_code == 302
        assert SECRET.encode() not in response.content
        assert not message.access_log.exists()
