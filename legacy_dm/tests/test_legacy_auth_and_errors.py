"""Auth on the legacy endpoints (JWT from /api/auth/token/) and the old service's 401/404/405 shapes."""

from datetime import timedelta

import pytest

from legacy_dm.views import LEGACY_VIEWS
from messaging.tests.factories import MessageFactory
from tests.openapi import SchemaCheckedClient
from users.tests.factories import DEFAULT_PASSWORD
from users.tokens import AccessToken, RefreshToken

from .conftest import assert_deprecated

pytestmark = pytest.mark.django_db

# Every legacy endpoint, with a method it answers.
ENDPOINTS = [
    ("get", "/api/direct-messages/"),
    ("post", "/api/direct-messages/"),
    ("get", "/api/direct-messages/conversations"),
    ("get", "/api/direct-messages/conversation/1"),
    ("put", "/api/direct-messages/conversation/1/read"),
    ("get", "/api/direct-messages/unread-count"),
    ("get", "/api/direct-messages/1"),
    ("delete", "/api/direct-messages/1"),
    ("put", "/api/direct-messages/1/read"),
    ("get", "/api/direct-messages/1/attachment"),
    ("get", "/api/messaging/conversations"),
    ("post", "/api/messaging/conversations"),
    ("get", "/api/messaging/conversations/1"),
    ("delete", "/api/messaging/conversations/1"),
    ("get", "/api/messaging/conversations/1/messages"),
    ("post", "/api/messaging/conversations/1/messages"),
    ("put", "/api/messaging/conversations/1/read"),
]


def with_token(token) -> SchemaCheckedClient:
    client = SchemaCheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_no_token_is_401_not_authenticated(method, path):
    response = getattr(SchemaCheckedClient(), method)(path, {}, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}
    assert response["WWW-Authenticate"] == "Bearer"
    assert_deprecated(response)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_bad_token_is_401_could_not_validate_credentials(method, path):
    response = getattr(with_token("not.a.jwt"), method)(path, {}, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Could not validate credentials"}
    assert response["WWW-Authenticate"] == "Bearer"
    assert_deprecated(response)


def _expired(user):
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(minutes=1))
    return str(token)


def _of_deactivated_user(user):
    token = str(AccessToken.for_user(user))
    user.is_active = False
    user.save()
    return token


def _of_deleted_user(user):
    token = str(AccessToken.for_user(user))
    user.delete()
    return token


def _refresh_token_as_access(user):
    return str(RefreshToken.for_user(user))


@pytest.mark.parametrize("make_token", [_expired, _of_deactivated_user, _of_deleted_user, _refresh_token_as_access])
def test_expired_or_revoked_token_is_401_could_not_validate_credentials(alice, make_token):
    response = with_token(make_token(alice)).get("/api/direct-messages/unread-count")
    assert response.status_code == 401
    assert response.json() == {"detail": "Could not validate credentials"}
    assert response["WWW-Authenticate"] == "Bearer"


def test_bearer_without_a_token_is_not_authenticated():
    client = SchemaCheckedClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer")
    response = client.get("/api/direct-messages/unread-count")
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}


def test_access_token_from_the_token_endpoint_works(alice, bob):
    MessageFactory(sender=bob, recipient=alice)
    tokens = SchemaCheckedClient().post(
        "/api/auth/token/", {"username": "alice", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert tokens.status_code == 200
    response = with_token(tokens.json()["access"]).get("/api/direct-messages/unread-count")
    assert response.status_code == 200
    assert response.json() == {"unread_count": 1}


def test_a_session_login_is_not_a_legacy_credential(alice):
    """Old clients only ever sent bearer tokens; a browser session does not open the legacy API (no CSRF surface)."""
    client = SchemaCheckedClient()
    client.force_login(alice)
    assert client.get("/api/direct-messages/unread-count").status_code == 401


@pytest.mark.parametrize(
    "path",
    ["/api/direct-messages/1/nothing", "/api/messaging/nothing", "/api/messaging/conversations/1/what/ever"],
)
def test_unknown_legacy_path_is_a_json_404(alice_client, path):
    response = alice_client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert_deprecated(response)


def test_method_not_allowed_is_a_405_detail(alice_client):
    response = alice_client.patch("/api/direct-messages/1", {}, format="json")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert_deprecated(response)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_every_endpoint_answers_without_and_with_trailing_slash_no_redirect(alice_client, method, path):
    for variant in (path.rstrip("/"), path.rstrip("/") + "/"):
        response = getattr(alice_client, method)(variant, {}, format="json")
        assert response.status_code not in (301, 302, 307, 308, 500), (variant, response.status_code)
        assert response["Content-Type"].startswith("application/json") or response.status_code == 200
        assert_deprecated(response)


@pytest.mark.parametrize("number", [2**31, 2**63, 10**30])
def test_out_of_range_numbers_are_a_clear_4xx_never_a_500(alice_client, alice, bob, number):
    """pydantic took any integer; ids past every table are unknown (404), a skip past every row is empty."""
    MessageFactory(sender=bob, recipient=alice)
    for path in [
        f"/api/direct-messages/{number}",
        f"/api/direct-messages/conversation/{number}",
        f"/api/messaging/conversations/{number}",
        f"/api/messaging/conversations/{number}/messages",
    ]:
        assert alice_client.get(path).status_code == 404, path
    assert alice_client.put(f"/api/direct-messages/conversation/{number}/read").status_code == 404
    for path in [
        "/api/direct-messages/",
        "/api/direct-messages/conversations",
        f"/api/direct-messages/conversation/{bob.pk}",
        "/api/messaging/conversations",
    ]:
        response = alice_client.get(f"{path}?skip={number}")
        assert (response.status_code, response.json()) == (200, []), path
    for path, body in [
        ("/api/direct-messages/", {"receiver_id": number, "content": "x"}),
        ("/api/direct-messages/", {"receiver_id": bob.pk, "content": "x", "reply_to_id": number}),
        ("/api/messaging/conversations", {"participant_ids": [number]}),
    ]:
        assert alice_client.post(path, body, format="json").status_code == 422, body


def test_the_schema_lists_every_legacy_operation_as_deprecated(alice_client):
    schema = alice_client.get("/api/schema/?format=json").json()
    documented = {
        (method.upper(), path.rstrip("/"), bool(operation.get("deprecated")))
        for path, operations in schema["paths"].items()
        if path.startswith(("/api/direct-messages", "/api/messaging"))
        for method, operation in operations.items()
    }
    expected = {(method, view.path.rstrip("/"), True) for view in LEGACY_VIEWS for method in view.successors}
    assert documented == expected
    assert len(expected) == len(ENDPOINTS)


def test_a_body_without_content_type_is_read_as_json_like_fastapi_did(alice_client, bob):
    body = f'{{"receiver_id": {bob.pk}, "content": "no content type"}}'
    response = alice_client.generic("POST", "/api/direct-messages/", body, content_type="")
    assert response.status_code == 201, response.content
    assert response.json()["content"] == "no content type"


def test_a_form_body_is_a_422_not_a_415(alice_client, bob):
    response = alice_client.post("/api/direct-messages/", {"receiver_id": bob.pk, "content": "x"}, format="multipart")
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], list)


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "text/html,application/xhtml+xml,*/*;q=0.8"])
def test_answers_are_json_whatever_the_accept_header(alice_client, accept):
    for path in ["/api/direct-messages/unread-count", "/api/direct-messages/abc", "/api/direct-messages/999999"]:
        response = alice_client.get(path, HTTP_ACCEPT=accept)
        assert response["Content-Type"] == "application/json", (path, accept)
        assert response.json()
    assert SchemaCheckedClient().get("/api/direct-messages/", HTTP_ACCEPT=accept).json() == {
        "detail": "Not authenticated"
    }
