"""Who gets what, on every surface: the new API, the legacy API and the inbox pages.

A message from A to B (with an attachment) and their conversation, asked for as A, as B, as a third user C,
as an anonymous client, as a moderator (a staff member of the Moderators group) and as a user B blocked.
C, the moderator outside the admin and the blocked user never learn that the object exists: they get exactly
the answer a missing object gets, and never its body.
"""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from legacy_dm.conversations import conversation_for_pair
from messaging.models import Message, UserBlock
from messaging.tests.factories import AttachmentMessageFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRET = "the secret launch code is 0000"
MISSING_ID = 987_654
ROLES = ["A", "B", "C", "anonymous", "moderator", "blocked"]


@pytest.fixture
def world():
    a = UserFactory(username="a_user")
    b = UserFactory(username="b_user")
    c = UserFactory(username="c_user")
    moderator = UserFactory(username="mod_user", is_staff=True)
    moderator.groups.add(Group.objects.get(name="Moderators"))
    blocked = UserFactory(username="blocked_user")
    UserBlock.objects.create(blocker=b, blocked=blocked)
    message = AttachmentMessageFactory(sender=a, recipient=b, body=SECRET)
    conversation, _ = conversation_for_pair(user=a, other=b)
    people = {"A": a, "B": b, "C": c, "moderator": moderator, "blocked": blocked, "anonymous": None}
    return {"people": people, "message": message, "conversation": conversation}


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
        {"A": 200, "B": 200, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "api",
        "get",
        "/api/messages/{m}/attachment",
        None,
        {"A": 200, "B": 200, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "api",
        "post",
        "/api/messages/{m}/read",
        None,
        {"A": 403, "B": 200, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "api",
        "post",
        "/api/messages/{m}/report",
        {"reason": "abuse"},
        {"A": 201, "B": 201, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "api",
        "delete",
        "/api/messages/{m}",
        None,
        {"A": 204, "B": 204, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "legacy",
        "get",
        "/api/direct-messages/{m}",
        None,
        {"A": 200, "B": 200, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "legacy",
        "get",
        "/api/direct-messages/{m}/attachment",
        None,
        {"A": 200, "B": 200, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "legacy",
        "put",
        "/api/direct-messages/{m}/read",
        None,
        {"B": 200, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "legacy",
        "delete",
        "/api/direct-messages/{m}",
        None,
        {"A": 200, "B": 200, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "legacy",
        "get",
        "/api/messaging/conversations/{c}",
        None,
        {"A": 200, "B": 200, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "legacy",
        "get",
        "/api/messaging/conversations/{c}/messages",
        None,
        {"A": 200, "B": 200, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "legacy",
        "post",
        "/api/messaging/conversations/{c}/messages",
        {"content": "hi"},
        {"A": 201, "B": 201, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "legacy",
        "put",
        "/api/messaging/conversations/{c}/read",
        None,
        {"A": 200, "B": 200, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "legacy",
        "delete",
        "/api/messaging/conversations/{c}",
        None,
        {"A": 200, "B": 200, "C": HIDDEN, "anonymous": 401, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "pages",
        "get",
        "/inbox/messages/{m}/attachment/",
        None,
        {"A": 200, "B": 200, "C": HIDDEN, "anonymous": 302, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
    (
        "pages",
        "post",
        "/inbox/messages/{m}/delete/",
        None,
        {"A": 302, "B": 302, "C": HIDDEN, "anonymous": 302, "moderator": HIDDEN, "blocked": HIDDEN},
    ),
]
CASES = [
    pytest.param(surface, method, path, data, role, expected[role], id=f"{surface}-{method}-{path}-{role}")
    for surface, method, path, data, expected in MATRIX
    for role in ROLES
    if role in expected
]


def missing_path(path):
    return path.format(m=MISSING_ID, c=MISSING_ID, b=MISSING_ID)


@pytest.mark.parametrize(("surface", "method", "path", "data", "role", "expected"), CASES)
def test_authorization_matrix(world, surface, method, path, data, role, expected):
    user = world["people"][role]
    client = page_client(user) if surface == "pages" else api_client(user)
    real = path.format(m=world["message"].pk, c=world["conversation"].pk, b=world["people"]["B"].pk)
    response = call(client, method, real, data)
    if expected == HIDDEN:
        missing = call(client, method, missing_path(path), data)
        assert response.status_code == missing.status_code == 404, (response.status_code, missing.status_code)
        if surface != "pages":
            assert response.json() == missing.json()
        assert SECRET.encode() not in response.content
        # Nothing changed for the owners.
        stored = Message.objects.get(pk=world["message"].pk)
        assert stored.read_at is None and stored.sender_deleted_at is None and stored.recipient_deleted_at is None
    else:
        assert response.status_code == expected, response.content[:300]
    if role == "anonymous" and surface == "pages":
        assert response["Location"].startswith("/accounts/login/?next=")
    if role == "anonymous" and surface == "legacy":
        assert response.json() == {"detail": "Not authenticated"}


@pytest.mark.parametrize("role", ["C", "moderator", "blocked"])
def test_outsiders_never_see_the_body_in_lists_threads_or_search(world, role):
    user = world["people"][role]
    a, b = world["people"]["A"], world["people"]["B"]
    client = api_client(user)
    responses = [
        client.get("/api/messages/conversations"),
        client.get(f"/api/messages/with/{a.pk}"),
        client.get(f"/api/messages/with/{b.pk}"),
        client.post("/api/messages/search", {"query": "secret launch"}, format="json"),
        client.get("/api/direct-messages/"),
        client.get("/api/direct-messages/conversations"),
        client.get(f"/api/direct-messages/conversation/{a.pk}"),
        client.get("/api/messaging/conversations"),
    ]
    pages = page_client(user)
    responses += [
        pages.get("/inbox/"),
        pages.get(f"/inbox/with/{b.pk}/"),
        pages.get("/inbox/search/?q=secret"),
    ]
    for response in responses:
        assert response.status_code == 200, response.request["PATH_INFO"]
        assert SECRET.encode() not in response.content, response.request["PATH_INFO"]


@pytest.mark.parametrize("role", ["A", "B"])
def test_the_parties_see_the_body_everywhere(world, role):
    user = world["people"][role]
    other = world["people"]["B" if role == "A" else "A"]
    client = api_client(user)
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


def test_the_blocked_user_cannot_send_to_the_blocker_on_any_surface(world):
    blocked, b = world["people"]["blocked"], world["people"]["B"]
    client = api_client(blocked)
    assert client.post("/api/messages/send", {"recipient_id": b.pk, "body": "hi"}, format="json").status_code == 403
    legacy = client.post("/api/direct-messages/", {"receiver_id": b.pk, "content": "hi"}, format="json")
    assert legacy.status_code in (403, 422)
    pages = page_client(blocked)
    pages.post("/inbox/compose/", {"recipient": b.pk, "body": "hi"})
    pages.post(f"/inbox/with/{b.pk}/", {"body": "hi"})
    assert not Message.objects.filter(sender=blocked).exists()
    participants = api_client(b).get("/api/messages/participants?page_size=100").json()["results"]
    assert blocked.pk not in {row["id"] for row in participants}


def test_the_moderator_reads_the_message_in_the_admin_only_with_an_audit_entry(world):
    moderator, message = world["people"]["moderator"], world["message"]
    response = page_client(moderator).get(f"/admin/messaging/message/{message.pk}/change/")
    assert response.status_code == 200
    assert SECRET.encode() in response.content
    assert message.access_log.filter(moderator=moderator).count() == 1
    for role in ("A", "B", "C", "blocked"):
        assert (
            page_client(world["people"][role]).get(f"/admin/messaging/message/{message.pk}/change/").status_code == 302
        )


def test_a_hidden_message_is_hidden_from_both_parties_everywhere(world):
    from django.utils import timezone

    message = world["message"]
    Message.objects.filter(pk=message.pk).update(hidden_at=timezone.now(), hidden_reason="abuse")
    for role in ("A", "B"):
        client = api_client(world["people"][role])
        assert client.get(f"/api/messages/{message.pk}").status_code == 404
        assert client.get(f"/api/direct-messages/{message.pk}").status_code == 404
        for response in (
            client.get("/api/messages/conversations"),
            client.get("/api/direct-messages/"),
            client.get("/api/messaging/conversations"),
            page_client(world["people"][role]).get("/inbox/"),
        ):
            assert SECRET.encode() not in response.content
