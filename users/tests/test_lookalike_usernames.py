"""New usernames cannot pass for someone else's: NFKC-normalised, plain ASCII, unique regardless of case.

Carried usernames of the old service stay as they were and still log in.
"""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
REGISTER = "/api/auth/register/"
NEW_PASSWORD = "an unguessable horse battery staple"


def register(username: str):
    return APIClient().post(
        REGISTER,
        {"username": username, "email": f"{abs(hash(username))}@example.com", "password": NEW_PASSWORD},
        format="json",
    )


@pytest.mark.parametrize(
    "lookalike",
    [
        "\uff41\uff4c\uff49\uff43\uff45",  # ａｌｉｃｅ, full-width: NFKC makes it "alice"
        "al\u0131ce",  # alıce, dotless i
        "\u0430lice",  # Cyrillic а
        "alic\u0435",  # Cyrillic е
        "ALICE",
        "Alice",
        "\uff21lice",  # Ａlice
    ],
    ids=["full-width", "dotless-i", "cyrillic-a", "cyrillic-e", "upper", "capitalised", "full-width-capital"],
)
def test_a_lookalike_of_an_existing_username_is_refused(alice, lookalike):
    response = register(lookalike)
    assert response.status_code == 400, response.content
    assert response.json()["username"], response.json()
    assert User.objects.count() == 1


def test_the_refusals_say_why(alice):
    taken = register("\uff41\uff4c\uff49\uff43\uff45").json()["username"]
    assert taken == ["A user with that username already exists."]
    non_ascii = register("j\u00f6rg").json()["username"]
    assert non_ascii == [
        "Enter a username of English letters, digits and @/./+/-/_ only (no accents or other scripts)."
    ]


def test_a_full_width_new_name_is_stored_in_its_normal_form(db):
    response = register("\uff42\uff4f\uff42\uff42\uff59")  # ｂｏｂｂｙ
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "bobby"
    assert register("bobby").status_code == 400


def test_a_name_that_normalises_past_150_characters_is_a_400(db):
    response = register("\ufb03" * 60)  # ﬃ: three letters each once normalised
    assert response.status_code == 400, response.content
    assert "150" in response.json()["username"][0]


def test_an_ordinary_new_name_registers(alice):
    assert register("alice.liddell-2").status_code == 201


def test_a_carried_non_ascii_username_keeps_working(db):
    """Old names are not renamed: a carried `jörg` still logs in, and nobody can register `JÖRG` or `jorg`…"""
    UserFactory(username="j\u00f6rg")
    response = APIClient().post(
        "/api/auth/token/", {"username": "j\u00f6rg", "password": DEFAULT_PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    assert register("J\u00d6RG").status_code == 400


@pytest.fixture
def admin_browser(db):
    browser = Client()
    browser.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return browser


def admin_add(browser, username: str):
    return browser.post(
        "/admin/users/user/add/",
        {"username": username, "usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )


@pytest.mark.parametrize("lookalike", ["\uff41\uff4c\uff49\uff43\uff45", "al\u0131ce", "ALICE"])
def test_the_admin_refuses_lookalikes_too(admin_browser, alice, lookalike):
    response = admin_add(admin_browser, lookalike)
    assert response.status_code == 200  # the form again, with its error
    assert response.context["adminform"].form.errors["username"]
    assert not User.objects.exclude(username__in=["alice", "root"]).exists()


def test_the_admin_still_creates_ordinary_users(admin_browser):
    assert admin_add(admin_browser, "newcomer").status_code == 302
    assert User.objects.filter(username="newcomer").exists()
