"""A password change ends every session the old password opened: refresh tokens are blacklisted, and verify
answers as the API does (401) for the access tokens the change revoked."""

import pytest
from django.test import Client
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from tests.openapi import SchemaCheckedClient
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"
REFRESH = "/api/auth/token/refresh/"
VERIFY = "/api/auth/token/verify/"
ME = "/api/auth/me/"
NEW_PASSWORD = "a different horse, battery and staple"


@pytest.fixture
def dora(db):
    return UserFactory(username="dora")


def login(username="dora", password=DEFAULT_PASSWORD) -> dict:
    response = SchemaCheckedClient().post(TOKEN, {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token: str):
    return SchemaCheckedClient().post(REFRESH, {"refresh": token}, format="json")


def verify(token: str):
    return SchemaCheckedClient().post(VERIFY, {"token": token}, format="json")


def me(access: str):
    return SchemaCheckedClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}")


def assert_every_old_token_is_refused(sessions: list[dict]):
    for tokens in sessions:
        assert me(tokens["access"]).status_code == 401
        assert verify(tokens["access"]).status_code == 401, verify(tokens["access"]).content
        assert verify(tokens["refresh"]).status_code == 401, verify(tokens["refresh"]).content
        assert refresh(tokens["refresh"]).status_code == 401, refresh(tokens["refresh"]).content


def test_set_password_and_save_blacklists_every_refresh_token_of_the_user(dora):
    phone, laptop = login(), login()
    rotated = refresh(laptop["refresh"]).json()  # a chain that has moved on since its login
    other = UserFactory(username="other")
    others = login("other")

    dora.set_password(NEW_PASSWORD)
    dora.save()

    assert_every_old_token_is_refused([phone, rotated])
    assert not OutstandingToken.objects.filter(user=dora, blacklistedtoken__isnull=True).exists()
    # Another user's sessions are untouched, and the new password logs in with working tokens.
    assert refresh(others["refresh"]).status_code == 200
    assert other.pk
    fresh = login(password=NEW_PASSWORD)
    assert me(fresh["access"]).status_code == 200
    assert verify(fresh["access"]).status_code == 200
    assert refresh(fresh["refresh"]).status_code == 200


def test_a_password_changed_in_the_admin_ends_the_users_sessions(dora):
    sessions = [login(), login()]
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(admin)

    response = browser.post(
        f"/admin/users/user/{dora.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    assert_every_old_token_is_refused(sessions)
    assert login(password=NEW_PASSWORD)["access"]


def test_saving_other_fields_keeps_the_sessions(dora):
    tokens = login()
    dora.display_name = "Dora"
    dora.save()
    dora.refresh_from_db()
    dora.save(update_fields=["last_login"])

    assert verify(tokens["access"]).status_code == 200
    assert refresh(tokens["refresh"]).status_code == 200


def test_verify_refuses_an_access_token_the_api_refuses_as_revoked(dora):
    """Even without the blacklist (a token whose refresh was never recorded), verify agrees with the API."""
    tokens = login()
    OutstandingToken.objects.filter(user=dora).delete()
    dora.set_password(NEW_PASSWORD)
    dora.save()

    assert me(tokens["access"]).status_code == 401
    assert verify(tokens["access"]).status_code == 401
    assert refresh(tokens["refresh"]).status_code == 401
