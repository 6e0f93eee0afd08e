"""The /api/auth/* endpoints: JWT pair, rotation with blacklist, verify, logout, register, me."""

import pytest

from tests.openapi import SchemaCheckedClient
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    return SchemaCheckedClient()


@pytest.fixture
def alice():
    return UserFactory(username="alice", display_name="Alice Liddell")


def obtain(client, username="alice", password=DEFAULT_PASSWORD, path="/api/auth/token/"):
    return client.post(path, {"username": username, "password": password}, format="json")


def test_token_pair_for_valid_credentials_works_on_me(client, alice):
    """A token pair is issued for good credentials and the access token authenticates."""
    response = obtain(client)
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    me = client.get("/api/auth/me/")
    assert me.status_code == 200
    assert me.json() == {
        "id": alice.pk,
        "username": "alice",
        "display_name": "Alice Liddell",
        "read_receipts": True,
        "email_notifications": True,
    }


@pytest.mark.parametrize("path", ["/api/auth/token/", "/api/auth/token"])
def test_paths_answer_with_and_without_trailing_slash(client, alice, path):
    assert obtain(client, path=path).status_code == 200


def test_bad_credentials_are_401(client, alice):
    assert obtain(client, password="wrong").status_code == 401
    assert obtain(client, username="nobody").status_code == 401


def test_inactive_user_cannot_log_in(client, alice):
    alice.is_active = False
    alice.save()
    assert obtain(client).status_code == 401


def test_display_name_falls_back_to_username(client):
    bob = UserFactory(username="bob")
    client.force_authenticate(bob)
    assert client.get("/api/auth/me").json()["display_name"] == "bob"


def test_me_requires_authentication(client):
    assert client.get("/api/auth/me/").status_code == 401


def test_refresh_rotates_and_blacklists_the_old_token(client, alice):
    """Each refresh returns a new refresh token; the one used is dead afterwards."""
    first = obtain(client).json()["refresh"]
    response = client.post("/api/auth/token/refresh/", {"refresh": first}, format="json")
    assert response.status_code == 200
    second = response.json()["refresh"]
    assert second != first and response.json()["access"]
    assert client.post("/api/auth/token/refresh/", {"refresh": first}, format="json").status_code == 401
    assert client.post("/api/auth/token/refresh/", {"refresh": second}, format="json").status_code == 200


def test_verify_accepts_valid_and_rejects_garbage(client, alice):
    access = obtain(client).json()["access"]
    assert client.post("/api/auth/token/verify/", {"token": access}, format="json").json() == {}
    assert client.post("/api/auth/token/verify/", {"token": "not.a.jwt"}, format="json").status_code == 401


def test_logout_kills_the_refresh_token(client, alice):
    tokens = obtain(client).json()
    refresh = tokens["refresh"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.post("/api/auth/logout/", {"refresh": refresh}, format="json").status_code == 205
    assert client.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json").status_code == 401
    assert client.post("/api/auth/logout/", {"refresh": refresh}, format="json").status_code == 401


def test_logout_without_token_is_400(client, alice):
    client.force_authenticate(alice)
    assert client.post("/api/auth/logout/", {}, format="json").status_code == 400


def test_logout_needs_authentication(client, alice):
    """Not in the contract's list of public endpoints."""
    refresh = obtain(client).json()["refresh"]
    assert client.post("/api/auth/logout/", {"refresh": refresh}, format="json").status_code == 401
    assert client.post("/api/auth/token/refresh/", {"refresh": refresh}, format="json").status_code == 200


def test_register_creates_an_active_user_who_can_log_in(client):
    response = client.post(
        "/api/auth/register/",
        {"username": "zoe", "email": "zoe@example.com", "password": "a-long-enough-passphrase", "display_name": "Zoe"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["username"] == "zoe" and response.json()["display_name"] == "Zoe"
    assert "password" not in response.json()
    assert obtain(client, username="zoe", password="a-long-enough-passphrase").status_code == 200


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"username": "zoe", "email": "zoe@example.com", "password": "123"}, "password"),
        ({"username": "zoe", "email": "zoe@example.com", "password": "password"}, "password"),
        ({"username": "zoe", "email": "not-an-email", "password": "a-long-enough-passphrase"}, "email"),
        ({"username": "zo e!", "email": "zoe@example.com", "password": "a-long-enough-passphrase"}, "username"),
        ({"username": "ALICE", "email": "zoe@example.com", "password": "a-long-enough-passphrase"}, "username"),
        ({"username": "zoe", "email": "alice@example.com", "password": "a-long-enough-passphrase"}, "email"),
        ({"email": "zoe@example.com", "password": "a-long-enough-passphrase"}, "username"),
    ],
)
def test_register_rejects_bad_input_with_a_field_error(client, alice, payload, field):
    response = client.post("/api/auth/register/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_schema_and_docs_are_public(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/messages/conversations" in schema.content
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"cdn." not in docs.content


def test_changing_the_password_revokes_access_tokens(client, alice):
    access = obtain(client).json()["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get("/api/auth/me/").status_code == 200
    alice.set_password("a-brand-new-passphrase")
    alice.save()
    assert client.get("/api/auth/me/").status_code == 401


def test_a_bcrypt_hash_is_upgraded_at_login_and_the_new_token_works(client, alice, settings):
    """Carried users log in with their old bcrypt hash; the upgrade on that login does not revoke the token."""
    import bcrypt

    alice.password = "bcrypt$" + bcrypt.hashpw(b"old-password", bcrypt.gensalt(rounds=4)).decode()
    alice.save()
    access = obtain(client, password="old-password").json()["access"]
    alice.refresh_from_db()
    assert not alice.password.startswith("bcrypt$")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get("/api/auth/me/").status_code == 200


def test_a_carried_bcrypt_password_longer_than_72_bytes_logs_in_and_a_wrong_one_is_401(client, alice):
    """The old service cut passwords at bcrypt's 72 bytes; bcrypt 5 would raise (a 500) instead."""
    import bcrypt

    long_password = "correct horse battery staple " * 4  # 116 bytes
    alice.password = "bcrypt$" + bcrypt.hashpw(long_password.encode()[:72], bcrypt.gensalt(rounds=4)).decode()
    alice.save()
    assert obtain(client, password="x" * 200).status_code == 401
    assert obtain(client, password=long_password).status_code == 200


def test_registration_that_loses_a_race_for_the_username_is_a_400(alice):
    """The check before the insert can pass for two requests at once; the database decides, as a 400."""
    from django.core.exceptions import ValidationError

    from users.services import register_user

    with pytest.raises(ValidationError) as error:
        register_user(username="alice", email="other@example.com", password="a-long-enough-passphrase")
    assert "username" in error.value.message_dict
