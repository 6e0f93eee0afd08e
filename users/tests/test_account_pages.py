"""Sign-up, settings and password pages: the API's rules and services, Django's auth views, console mail."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from legacy_dm.carry import UNVERIFIABLE_PASSWORD
from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "username": "newcomer",
    "email": "newcomer@example.com",
    "password1": "a-long-fresh-secret",
    "password2": "a-long-fresh-secret",
}


def test_sign_up_creates_the_account_and_logs_in(client):
    page = client.get(reverse("accounts-signup"))
    assert page.status_code == 200
    for field in ("username", "email", "password1", "password2"):
        assert f'name="{field}"'.encode() in page.content
    done = client.post(reverse("accounts-signup"), GOOD, follow=True)
    assert done.redirect_chain[-1][0] == reverse("messaging-web:inbox")
    user = User.objects.get(username="newcomer")
    assert user.email == "newcomer@example.com" and user.check_password("a-long-fresh-secret")
    assert done.context["user"] == user


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"password2": "something-else-entirely"}, "password2", "not the same"),
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"username": "ALICE"}, "username", "already"),  # the API's case-insensitive rule
        ({"username": "bad name!"}, "username", ""),
        ({"email": "alice@example.com"}, "email", "already exists"),
        ({"email": "not-an-email"}, "email", "valid email"),
    ],
)
def test_sign_up_refuses_what_the_api_refuses(client, alice, change, field, message):
    response = client.post(reverse("accounts-signup"), {**GOOD, **change})
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors[field])
    assert message in errors, errors
    assert not User.objects.filter(username="newcomer").exists()


def test_change_password_page(client, alice):
    client.force_login(alice)
    form = {
        "old_password": DEFAULT_PASSWORD,
        "new_password1": "another-long-secret",
        "new_password2": "another-long-secret",
    }
    assert client.post(reverse("password_change"), {**form, "old_password": "wrong"}).status_code == 200  # re-shown
    done = client.post(reverse("password_change"), form, follow=True)
    assert done.redirect_chain[-1][0] == reverse("password_change_done")
    alice.refresh_from_db()
    assert alice.check_password("another-long-secret")


def _reset_link() -> str:
    (email,) = mail.outbox
    match = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", email.body)
    assert match, email.body
    return match.group(1)


def test_reset_a_password_through_the_mail(client, alice):
    done = client.post(reverse("password_reset"), {"email": alice.email}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("password_reset_done")
    link = _reset_link()
    form_page = client.get(link, follow=True)  # Django moves the token into the session
    assert form_page.context["validlink"]
    new = {"new_password1": "reset-and-long-enough", "new_password2": "reset-and-long-enough"}
    complete = client.post(form_page.redirect_chain[-1][0], new, follow=True)
    assert complete.redirect_chain[-1][0] == reverse("password_reset_complete")
    alice.refresh_from_db()
    assert alice.check_password("reset-and-long-enough")
    assert client.get(link, follow=True).context["validlink"] is False  # used once


def test_a_carried_account_without_a_usable_password_can_reset_it(client):
    carried = UserFactory(username="carried", email="carried@example.com")
    User.objects.filter(pk=carried.pk).update(password=UNVERIFIABLE_PASSWORD, legacy_password="$6$junk")
    client.post(reverse("password_reset"), {"email": "CARRIED@example.com"})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["carried@example.com"]


def test_unknown_emails_get_the_same_answer_and_no_mail(client):
    done = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("password_reset_done")
    assert mail.outbox == []
