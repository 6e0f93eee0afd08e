"""A JWT publishes nothing derived from the password hash: it carries a version keyed with the signing key
(`users.tokens`), which still revokes every token minted before a password change.

Tokens are read here as any holder reads them: decoded with PyJWT, which needs no key to see the claims.
"""

import hashlib

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from legacy_dm.carry import UNVERIFIABLE_PASSWORD
from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory
from users.tokens import RefreshToken

pytestmark = pytest.mark.django_db

TOKEN, REFRESH, VERIFY, ME = "/api/auth/token/", "/api/auth/token/refresh/", "/api/auth/token/verify/", "/api/auth/me/"


@pytest.fixture
def dora(db):
    return UserFactory(username="dora")


def login(username="dora", password=DEFAULT_PASSWORD) -> dict:
    response = APIClient().post(TOKEN, {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def digests_of(password_hash: str) -> set[str]:
    """MD5 (simplejwt's `hash_password`) and other plain digests of a hash, in either case."""
    values = set()
    for algorithm in ("md5", "sha1", "sha256"):
        digest = hashlib.new(algorithm, password_hash.encode()).hexdigest()
        values |= {digest, digest.upper()}
    return values


def assert_nothing_derived_from(token: str, password_hash: str):
    payload = claims(token)
    assert "hash_password" not in payload
    shown = " ".join(str(value) for value in payload.values())
    for digest in digests_of(password_hash):
        assert digest not in shown, payload
    assert password_hash not in shown


def me(access: str):
    return APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}")


def test_login_and_refresh_tokens_carry_no_digest_of_the_password_hash(dora):
    tokens = login()
    rotated = APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").json()
    dora.refresh_from_db()
    for token in (tokens["access"], tokens["refresh"], rotated["access"], rotated["refresh"]):
        assert_nothing_derived_from(token, dora.password)
        assert claims(token)["pwv"]  # the keyed version that takes its place


def test_a_password_change_still_refuses_every_token_minted_before_it(dora):
    tokens = login()
    assert me(tokens["access"]).status_code == 200
    dora.set_password("a different horse, battery and staple")
    dora.save()
    assert me(tokens["access"]).status_code == 401
    assert APIClient().post(VERIFY, {"token": tokens["access"]}, format="json").status_code == 401
    assert APIClient().post(REFRESH, {"refresh": tokens["refresh"]}, format="json").status_code == 401
    assert me(login(password="a different horse, battery and staple")["access"]).status_code == 200


def test_a_token_of_the_old_md5_kind_is_refused(dora):
    """Tokens minted before this change (simplejwt's MD5 claim) are refused: their holders log in again."""
    payload = claims(login()["access"])
    del payload["pwv"]
    payload["hash_password"] = hashlib.md5(dora.password.encode()).hexdigest().upper()
    old_kind = jwt.encode(payload, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256")
    assert me(old_kind).status_code == 401


def test_carried_accounts_with_the_unusable_marker_get_versions_no_one_can_compute(db):
    """Every carried account whose old hash could not be verified has the same password value (the marker
    in the repository); its token's version is still its own and is not a digest of the marker."""
    carried = [UserFactory(username="carried1"), UserFactory(username="carried2")]
    User.objects.filter(pk__in=[user.pk for user in carried]).update(password=UNVERIFIABLE_PASSWORD)  # as the carry
    versions = set()
    for user in carried:
        user.refresh_from_db()
        assert user.password == UNVERIFIABLE_PASSWORD and not user.has_usable_password()
        token = str(RefreshToken.for_user(user).access_token)
        assert_nothing_derived_from(token, UNVERIFIABLE_PASSWORD)
        versions.add(claims(token)["pwv"])
        assert me(token).status_code == 200
    assert len(versions) == 2
