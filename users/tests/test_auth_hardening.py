"""Tokens that must not work don't: forged, expired, revoked, or of an account that is gone; logins are throttled."""

import base64
import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone

from tests.openapi import SchemaCheckedClient
from users.tests.factories import DEFAULT_PASSWORD, UserFactory
from users.tokens import AccessToken, RefreshToken

pytestmark = pytest.mark.django_db

ME = "/api/auth/me/"
TOKEN = "/api/auth/token/"
REFRESH = "/api/auth/token/refresh/"
VERIFY = "/api/auth/token/verify/"
LOGOUT = "/api/auth/logout/"


@pytest.fixture
def dora(db):
    return UserFactory(username="dora")


@pytest.fixture
def api():
    return SchemaCheckedClient()


def me_with(api, token: str):
    return api.get(ME, HTTP_AUTHORIZATION=f"Bearer {token}")


def login(api, username="dora", password=DEFAULT_PASSWORD, **extra):
    return api.post(TOKEN, {"username": username, "password": password}, format="json", **extra)


def b64url(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_for(user) -> dict:
    return dict(AccessToken.for_user(user).payload)


def assert_refused(response):
    assert response.status_code == 401, response.content
    assert "detail" in response.json()


def test_a_real_access_token_works(api, dora):
    """The baseline for every refusal below."""
    response = me_with(api, str(AccessToken.for_user(dora)))
    assert response.status_code == 200
    assert response.json()["username"] == "dora"


def test_a_token_with_alg_none_is_refused(api, dora):
    unsigned = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims_for(dora))}."
    assert_refused(me_with(api, unsigned))
    assert_refused(api.post(VERIFY, {"token": unsigned}, format="json"))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize(
    ("key", "algorithm"),
    [("not-the-signing-key-but-long-enough-for-hs256", "HS256"), (None, "HS512")],
    ids=["wrong key", "right key, other algorithm"],
)
def test_a_token_with_a_wrong_signature_or_algorithm_is_refused(api, dora, key, algorithm):
    forged = jwt.encode(claims_for(dora), key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)
    assert_refused(me_with(api, forged))
    assert_refused(api.post(VERIFY, {"token": forged}, format="json"))


def test_a_token_with_tampered_claims_is_refused(api, dora):
    other = UserFactory(username="other")
    header, _, signature = str(AccessToken.for_user(dora)).split(".")
    tampered = f"{header}.{b64url(claims_for(dora) | {'user_id': str(other.pk)})}.{signature}"
    assert_refused(me_with(api, tampered))


def test_an_expired_access_token_is_refused(api, dora):
    token = AccessToken.for_user(dora)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1), lifetime=timedelta(minutes=15))
    assert_refused(me_with(api, str(token)))
    assert_refused(api.post(VERIFY, {"token": str(token)}, format="json"))


def test_an_expired_refresh_token_is_refused(api, dora):
    token = RefreshToken.for_user(dora)
    token.set_exp(from_time=timezone.now() - timedelta(days=30), lifetime=timedelta(days=7))
    assert_refused(api.post(REFRESH, {"refresh": str(token)}, format="json"))


def test_a_refresh_token_used_as_an_access_token_is_refused(api, dora):
    assert_refused(me_with(api, str(RefreshToken.for_user(dora))))


def test_a_rotated_refresh_token_is_dead(api, dora):
    tokens = login(api).json()
    rotated = api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert rotated.status_code == 200

    assert_refused(api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"))
    assert_refused(api.post(VERIFY, {"token": tokens["refresh"]}, format="json"))
    # The new one works.
    assert api.post(REFRESH, {"refresh": rotated.json()["refresh"]}, format="json").status_code == 200


def test_a_logged_out_refresh_token_is_dead(api, dora):
    tokens = login(api).json()
    api.force_authenticate(dora)
    assert api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json").status_code == 205

    assert_refused(api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"))
    assert_refused(api.post(VERIFY, {"token": tokens["refresh"]}, format="json"))
    assert_refused(api.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json"))


def test_logout_with_an_access_token_is_refused(api, dora):
    api.force_authenticate(dora)
    assert_refused(api.post(LOGOUT, {"refresh": str(AccessToken.for_user(dora))}, format="json"))


def test_a_deactivated_users_tokens_are_all_refused(api, dora):
    tokens = login(api).json()
    dora.is_active = False
    dora.save(update_fields=["is_active"])

    assert_refused(me_with(api, tokens["access"]))
    assert_refused(api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"))
    assert_refused(api.post(VERIFY, {"token": tokens["access"]}, format="json"))
    assert_refused(api.post(VERIFY, {"token": tokens["refresh"]}, format="json"))
    assert_refused(login(api))
    assert_refused(api.get("/api/messages/unread-count", HTTP_AUTHORIZATION=f"Bearer {tokens['access']}"))


def test_a_deleted_users_tokens_are_refused(api, dora):
    tokens = login(api).json()
    dora.delete()

    assert_refused(me_with(api, tokens["access"]))
    assert_refused(api.post(REFRESH, {"refresh": tokens["refresh"]}, format="json"))
    assert_refused(api.post(VERIFY, {"token": tokens["access"]}, format="json"))


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer ", "Bearer a.b", "Bearer a.b.c", "Token abc", "Bearer \u00e9.x.y"]
)
def test_malformed_authorization_headers_are_refused(api, dora, header):
    response = api.get(ME, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


@pytest.fixture
def login_rate(settings):
    """Three token requests a minute per client address, read by the throttle at request time."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "3/min"},
    }
    return 3


def test_login_is_rate_limited_per_client_address_with_retry_after(api, dora, login_rate):
    for _ in range(login_rate):
        assert_refused(login(api, password="wrong"))

    throttled = login(api)  # even the right password
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert "access" not in throttled.json()

    # Another address is not affected.
    assert login(api, REMOTE_ADDR="203.0.113.9").status_code == 200


def test_a_forged_x_forwarded_for_does_not_escape_the_login_throttle(api, dora, login_rate):
    """Without a proxy in front (NUM_PROXIES=0) the client's own X-Forwarded-For is not believed."""
    for n in range(login_rate):
        login(api, password="wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert login(api, HTTP_X_FORWARDED_FOR="198.51.100.200").status_code == 429


def test_behind_a_proxy_the_address_the_proxy_saw_is_throttled(api, dora, login_rate, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    for _ in range(login_rate):
        login(api, password="wrong", HTTP_X_FORWARDED_FOR="198.51.100.7, 192.0.2.1")
    # A client that prepends its own entry still ends in the address the proxy appended.
    assert login(api, HTTP_X_FORWARDED_FOR="10.9.9.9, 198.51.100.7, 192.0.2.1").status_code == 429
    assert login(api, HTTP_X_FORWARDED_FOR="192.0.2.2").status_code == 200
