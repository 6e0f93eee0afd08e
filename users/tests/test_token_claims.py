"""A token signed with the server's own key is still refused (401, never a 500) when its user id is not an id.

The signature only proves the server issued the claims it holds; a claim that is not a user's id (a leaked key,
or a token minted by hand for a test) must be a bad credential on every surface that reads it.
"""

import jwt
import pytest
from django.conf import settings

from tests.openapi import SchemaCheckedClient
from users.tests.factories import UserFactory
from users.tokens import AccessToken, RefreshToken

pytestmark = pytest.mark.django_db

NOT_AN_ID = [
    "1e0",
    [5],
    {"id": 5},
    True,
    1.0,
    "",
    " 5",
    "5 ",
    "+5",
    "-5",
    -5,
    0,
    "\u0665",  # ARABIC-INDIC DIGIT FIVE: int() reads it, an id is ASCII digits
    "9" * 30,
    10**30,
    "5; DROP TABLE users_user",
    None,
]


@pytest.fixture
def dora(db):
    return UserFactory(username="dora")


def signed_with_server_key(token, user_id) -> str:
    """`token`'s claims with `user_id` in place of the real one, signed with the server's key."""
    claims = dict(token.payload) | {settings.SIMPLE_JWT.get("USER_ID_CLAIM", "user_id"): user_id}
    return jwt.encode(claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")


def assert_401(response):
    assert response.status_code == 401, (response.status_code, response.content)


@pytest.mark.parametrize("user_id", NOT_AN_ID, ids=repr)
def test_an_access_token_whose_user_id_is_not_an_id_is_a_401_everywhere(dora, user_id):
    forged = signed_with_server_key(AccessToken.for_user(dora), user_id)
    client = SchemaCheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")

    assert_401(client.get("/api/auth/me/"))
    assert_401(client.get("/api/messages/unread-count"))
    assert_401(client.get("/api/direct-messages/unread-count"))
    assert_401(client.get("/api/messaging/conversations"))
    assert_401(SchemaCheckedClient().post("/api/auth/token/verify/", {"token": forged}, format="json"))


@pytest.mark.parametrize("user_id", NOT_AN_ID, ids=repr)
def test_a_refresh_token_whose_user_id_is_not_an_id_is_a_401(dora, user_id):
    forged = signed_with_server_key(RefreshToken.for_user(dora), user_id)
    assert_401(SchemaCheckedClient().post("/api/auth/token/refresh/", {"refresh": forged}, format="json"))
    assert_401(SchemaCheckedClient().post("/api/auth/token/verify/", {"token": forged}, format="json"))


def test_a_token_without_a_user_id_is_a_401(dora):
    payload = dict(AccessToken.for_user(dora).payload)
    del payload["user_id"]
    forged = jwt.encode(payload, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    client = SchemaCheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert_401(client.get("/api/auth/me/"))
    assert_401(client.get("/api/direct-messages/unread-count"))
    assert_401(SchemaCheckedClient().post("/api/auth/token/verify/", {"token": forged}, format="json"))


@pytest.mark.parametrize("as_int", [False, True], ids=["string id", "integer id"])
def test_a_well_formed_id_still_authenticates(dora, as_int):
    """The baseline: the id as simplejwt writes it (a string of digits), or as a JSON integer."""
    token = signed_with_server_key(AccessToken.for_user(dora), dora.pk if as_int else str(dora.pk))
    client = SchemaCheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/auth/me/").json()["username"] == "dora"
    assert client.get("/api/direct-messages/unread-count").status_code == 200
    assert SchemaCheckedClient().post("/api/auth/token/verify/", {"token": token}, format="json").status_code == 200
