"""Guessing passwords is limited on every way to log in: the login page, the admin's and the token endpoint.

Failed logins are counted per (username, address) pair and per address, across all three; at either limit,
the right password is refused too (429, Retry-After, a message saying why) until the cool-off has passed.
No one can lock a person out from everywhere: failures with their username lock the addresses they come
from, not the person.
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.openapi import SchemaCheckedClient
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LIMIT = 4  # per (username, address)
ADDRESS_LIMIT = 6  # per address, whatever the usernames
COOL_OFF = timedelta(minutes=15)
PAGE, ADMIN, API = "/accounts/login/", "/admin/login/", "/api/auth/token/"
SURFACES = [PAGE, ADMIN, API]


@pytest.fixture(autouse=True)
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = ADDRESS_LIMIT
    settings.AXES_COOLOFF_TIME = COOL_OFF


@pytest.fixture
def dora(db):
    return UserFactory(username="dora", is_staff=True)


def log_in(surface: str, username="dora", password=DEFAULT_PASSWORD, address="198.51.100.1", **headers):
    """One login attempt through `surface`; the response and whether it logged in."""
    credentials = {"username": username, "password": password}
    if surface == API:
        response = SchemaCheckedClient().post(API, credentials, format="json", REMOTE_ADDR=address, **headers)
        return response, response.status_code == 200 and "access" in response.json()
    browser = Client()
    response = browser.post(surface, credentials, REMOTE_ADDR=address, **headers)
    return response, "_auth_user_id" in browser.session


def fail(surface: str, times: int, **kwargs):
    for _ in range(times):
        response, logged_in = log_in(surface, password="wrong", **kwargs)
        assert not logged_in
        assert response.status_code in (200, 401, 429), response.status_code


def assert_locked_out(response, logged_in):
    assert not logged_in
    assert response.status_code == 429, (response.status_code, response.content[:500])
    assert int(response["Retry-After"]) == COOL_OFF.total_seconds()
    text = response.json()["detail"] if response["Content-Type"].startswith("application/json") else response.text
    assert "Too many failed login attempts" in text and "15 minutes" in text


@pytest.mark.parametrize("surface", SURFACES)
def test_after_the_limit_the_right_password_is_refused_with_retry_after(dora, surface):
    fail(surface, LIMIT - 1)
    assert log_in(surface, password="wrong")[0].status_code == 429  # the failure that reaches the limit
    assert_locked_out(*log_in(surface))


@pytest.mark.parametrize("surface", SURFACES)
def test_below_the_limit_the_right_password_logs_in(dora, surface):
    fail(surface, LIMIT - 1)
    assert log_in(surface)[1]


def test_failures_count_across_the_three_ways_to_log_in(dora):
    fail(PAGE, 2)
    fail(ADMIN, 1)
    fail(API, 1)
    for surface in SURFACES:
        assert_locked_out(*log_in(surface))


@pytest.mark.parametrize("surface", SURFACES)
def test_a_username_is_locked_from_the_address_that_guessed_it(dora, surface):
    UserFactory(username="bob", is_staff=True)
    fail(surface, LIMIT, address="203.0.113.9")
    assert_locked_out(*log_in(surface, address="203.0.113.9"))
    # Another account from that address is not affected (the address itself is below its limit)...
    assert log_in(surface, username="bob", address="203.0.113.9")[1]
    # ...nor the same account from its owner's own address.
    assert log_in(surface, address="192.0.2.50")[1]


@pytest.mark.parametrize("surface", SURFACES)
def test_failures_with_someones_username_from_many_addresses_do_not_lock_them_out(dora, surface):
    """An attacker cannot lock a person out from everywhere by failing logins with their username."""
    for n in range(3 * LIMIT):
        log_in(surface, password="wrong", address=f"203.0.113.{n}")
    assert log_in(surface, address="192.0.2.50")[1]


@pytest.mark.parametrize("surface", SURFACES)
def test_an_address_is_locked_whatever_usernames_it_tries(dora, surface):
    for n in range(ADDRESS_LIMIT - 1):
        log_in(surface, username=f"someone{n}", password="wrong")
    assert log_in(surface)[1]  # below the address's limit
    log_in(surface, username="someone-else", password="wrong")
    assert_locked_out(*log_in(surface))
    # The same account from another address is not affected.
    assert log_in(surface, address="192.0.2.60")[1]


@pytest.mark.parametrize("surface", SURFACES)
def test_the_lockout_ends_after_the_cool_off(dora, surface):
    fail(surface, LIMIT)
    assert_locked_out(*log_in(surface))
    from axes.models import AccessAttempt  # here, so that the other tests of this file also run on main

    AccessAttempt.objects.update(attempt_time=timezone.now() - COOL_OFF - timedelta(seconds=1))
    assert log_in(surface)[1]


@pytest.mark.parametrize("surface", SURFACES)
def test_a_forged_x_forwarded_for_does_not_escape_the_lockout(dora, surface):
    """Without a proxy in front (NUM_PROXIES=0) the client's own X-Forwarded-For is not believed."""
    for n in range(ADDRESS_LIMIT):
        log_in(surface, username=f"someone{n}", password="wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    assert_locked_out(*log_in(surface, username="dora", HTTP_X_FORWARDED_FOR="10.0.0.99"))


@pytest.mark.parametrize("surface", SURFACES)
def test_behind_a_proxy_the_address_the_proxy_saw_is_locked(dora, surface, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = {"address": "10.1.1.1"}
    for n in range(ADDRESS_LIMIT):
        log_in(surface, f"someone{n}", "wrong", **proxy, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 198.51.100.7")
    assert_locked_out(*log_in(surface, **proxy, HTTP_X_FORWARDED_FOR="198.51.100.7"))
    assert log_in(surface, **proxy, HTTP_X_FORWARDED_FOR="198.51.100.8")[1]


@pytest.mark.parametrize("surface", SURFACES)
def test_odd_usernames_and_forwarded_addresses_are_plain_failures(dora, surface, settings):
    """A 300-character username (longer than axes stores) and a forwarded entry that is not an address."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    response, logged_in = log_in(surface, username="x" * 300, password="wrong", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert not logged_in
    assert response.status_code in (200, 400, 401)
