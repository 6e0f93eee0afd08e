"""Every way in shares one limit per kind: the sign-up page counts against the API's registration limit,
password-reset mails are limited per email address and per client, and guesses of the current password on
the password-change page are failed logins to the brute-force lockout.

Mail goes to a real SMTP server (a small one in this test, as in config/tests/test_email.py).
"""

import socketserver
import threading

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from config.tests.test_email import SMTPSink
from tests.helpers import free_port
from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ADDRESS = "198.51.100.23"


@pytest.fixture
def rates(settings):
    def set_rates(**rates):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
        }

    return set_rates


def sign_up_on_the_page(n: int, address=ADDRESS):
    password = "a-long-fresh-secret"
    form = {"username": f"page{n}", "email": f"page{n}@example.com", "password1": password, "password2": password}
    return Client().post(reverse("accounts-signup"), form, REMOTE_ADDR=address)


def register_on_the_api(n: int, address=ADDRESS):
    body = {"username": f"api{n}", "email": f"api{n}@example.com", "password": "a-long-fresh-secret"}
    return APIClient().post("/api/auth/register/", body, format="json", REMOTE_ADDR=address)


def assert_too_many(response, text: str):
    assert response.status_code == 429, (response.status_code, response.content[:300])
    assert int(response["Retry-After"]) > 0
    assert text in response.content.decode()


# --- registration -------------------------------------------------------------------------------------------


def test_the_sign_up_page_counts_against_the_apis_registration_limit(rates):
    rates(register="3/hour")
    assert register_on_the_api(1).status_code == 201
    assert register_on_the_api(2).status_code == 201
    assert sign_up_on_the_page(1).status_code == 302
    assert_too_many(sign_up_on_the_page(2), "Too many accounts created from this address")
    assert register_on_the_api(3).status_code == 429
    assert set(User.objects.values_list("username", flat=True)) == {"api1", "api2", "page1"}
    # Another address is not affected.
    assert sign_up_on_the_page(3, address="192.0.2.3").status_code == 302


def test_the_sign_up_page_alone_is_limited(rates):
    rates(register="3/hour")
    for n in range(3):
        assert sign_up_on_the_page(n).status_code == 302
    assert_too_many(sign_up_on_the_page(3), "Too many")
    assert register_on_the_api(9).status_code == 429
    assert User.objects.count() == 3


# --- password reset ---------------------------------------------------------------------------------------


@pytest.fixture
def smtp(settings):
    """A real SMTP server on localhost; Django's SMTP backend sends to it. The mails it received."""

    class Handler(SMTPSink):
        received: list[str] = []

    port = free_port()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield Handler.received
    server.shutdown()
    server.server_close()


def reset(email: str, address=ADDRESS):
    return Client().post(reverse("password_reset"), {"email": email}, REMOTE_ADDR=address)


def test_reset_mails_to_one_address_are_limited_whatever_client_asks(rates, smtp, alice):
    rates(password_reset="100/hour", password_reset_email="3/hour")
    answers = [reset(alice.email.upper() if n % 2 else alice.email, address=f"203.0.113.{n}") for n in range(8)]
    assert [a.status_code for a in answers] == [302] * 3 + [429] * 5
    assert_too_many(answers[-1], "Too many password reset requests")
    assert len(smtp) == 3 and all(alice.email in mail for mail in smtp)


def test_reset_requests_from_one_client_are_limited(rates, smtp):
    rates(password_reset="4/hour", password_reset_email="100/hour")
    people = [UserFactory(username=f"person{n}") for n in range(6)]
    answers = [reset(person.email) for person in people]
    assert [a.status_code for a in answers] == [302] * 4 + [429] * 2
    assert len(smtp) == 4
    assert reset(people[5].email, address="192.0.2.5").status_code == 302  # another client
    assert len(smtp) == 5


def test_the_reset_limit_says_nothing_about_who_has_an_account(rates, smtp, alice):
    """An unknown address is counted as a known one: the answers are the same, only the mails differ."""
    rates(password_reset="100/hour", password_reset_email="2/hour")
    known = [reset(alice.email).status_code for _ in range(3)]
    unknown = [reset("nobody@example.com").status_code for _ in range(3)]
    assert known == unknown == [302, 302, 429]
    assert len(smtp) == 2


# --- password change ----------------------------------------------------------------------------------------

LIMIT = 4


@pytest.fixture
def lockout(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 100


def change_password(browser, old: str, address=ADDRESS):
    new = "a different horse, battery and staple"
    form = {"old_password": old, "new_password1": new, "new_password2": new}
    return browser.post(reverse("password_change"), form, REMOTE_ADDR=address)


def test_guesses_of_the_current_password_are_limited(lockout, alice):
    browser = Client()
    browser.force_login(alice)
    for _ in range(LIMIT - 1):
        assert change_password(browser, "wrong").status_code == 200  # the form again, with its error
    assert change_password(browser, "wrong").status_code == 429  # the guess that reaches the limit
    response = change_password(browser, DEFAULT_PASSWORD)  # the right one is refused too, for now
    assert_too_many(response, "Too many failed login attempts")
    alice.refresh_from_db()
    assert alice.check_password(DEFAULT_PASSWORD)
    # The guesses are failed logins of alice from that address: the login page refuses her there too...
    login = Client().post(
        reverse("accounts-login"), {"username": "alice", "password": DEFAULT_PASSWORD}, REMOTE_ADDR=ADDRESS
    )
    assert login.status_code == 429
    # ...but not from her own address, where she can change her password.
    assert change_password(browser, DEFAULT_PASSWORD, address="192.0.2.77").status_code == 302


def test_failed_logins_and_password_guesses_count_together(lockout, alice):
    browser = Client()
    browser.force_login(alice)
    for _ in range(LIMIT - 1):
        Client().post(reverse("accounts-login"), {"username": "alice", "password": "wrong"}, REMOTE_ADDR=ADDRESS)
    assert change_password(browser, "wrong").status_code == 429
    assert change_password(browser, DEFAULT_PASSWORD).status_code == 429


def test_the_right_current_password_changes_it(lockout, alice):
    browser = Client()
    browser.force_login(alice)
    assert change_password(browser, "wrong").status_code == 200
    assert change_password(browser, DEFAULT_PASSWORD).status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a different horse, battery and staple")


# --- logins -------------------------------------------------------------------------------------------------


def test_the_login_page_the_admins_and_the_api_share_one_login_rate_per_address(rates):
    """Before, only `/api/auth/token/` counted logins: the login page and the admin's took any number."""
    rates(login="3/min")
    user = UserFactory(username="dora")
    form = {"username": "dora", "password": DEFAULT_PASSWORD}
    assert APIClient().post("/api/auth/token/", form, format="json", REMOTE_ADDR=ADDRESS).status_code == 200
    assert Client().post("/accounts/login/", form, REMOTE_ADDR=ADDRESS).status_code == 302
    user.is_staff = True
    user.save()
    assert Client().post("/admin/login/", form, REMOTE_ADDR=ADDRESS).status_code == 302
    for path in ("/accounts/login/", "/admin/login/"):
        assert_too_many(Client().post(path, form, REMOTE_ADDR=ADDRESS), "Too many logins from this address")
    assert APIClient().post("/api/auth/token/", form, format="json", REMOTE_ADDR=ADDRESS).status_code == 429
    assert Client().post("/accounts/login/", form, REMOTE_ADDR="198.51.100.99").status_code == 302  # another address
