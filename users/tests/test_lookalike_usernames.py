"""New usernames cannot pass for someone else's: NFKC-normalised, plain ASCII, unique regardless of case.

Carried usernames of the old service stay as they were and still log in.
"""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from users.tests.factories import DEFAULT_PASSWORD, UserFactory
from users.usernames import LOOKALIKE

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


@pytest.mark.parametrize(
    ("existing", "lookalike"),
    [
        ("alice", "aIice"),  # capital i
        ("alice", "a1ice"),  # digit one
        ("alice", "AL1CE"),
        ("alice", "aiice"),
        ("bob", "b0b"),  # digit zero
        ("bob", "B0B"),
        ("mary", "rnary"),  # r n reads as m
        ("wendy", "vvendy"),  # v v reads as w
        ("sam", "5am"),
        ("lily", "1i1y"),
    ],
)
def test_an_ascii_lookalike_of_an_existing_username_is_refused(db, existing, lookalike):
    UserFactory(username=existing)
    response = register(lookalike)
    assert response.status_code == 400, response.content
    assert response.json() == {"username": [LOOKALIKE]}
    assert not User.objects.filter(username=lookalike).exists()


@pytest.mark.parametrize("name", ["alicia", "bobby", "marry", "wendi", "a1ice2", "b0bcat"])
def test_names_that_only_share_a_part_register(db, name):
    UserFactory(username="alice")
    UserFactory(username="bob")
    assert register(name).status_code == 201


def test_the_sign_up_page_refuses_lookalikes_too(db):
    UserFactory(username="alice")
    response = Client().post(
        "/accounts/signup/",
        {"username": "a1ice", "email": "a1@example.com", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert LOOKALIKE in response.content.decode().replace("&#x27;", "'")
    assert not User.objects.filter(username="a1ice").exists()


def test_carried_lookalikes_stay_and_log_in(db):
    """Old names sharing a skeleton (both carried) are not renamed; each still logs in."""
    for name in ("bob", "b0b"):
        UserFactory(username=name)
    for name in ("bob", "b0b"):
        response = APIClient().post("/api/auth/token/", {"username": name, "password": DEFAULT_PASSWORD}, format="json")
        assert response.status_code == 200, response.content
    assert register("B0b").status_code == 400


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


@pytest.mark.parametrize("lookalike", ["\uff41\uff4c\uff49\uff43\uff45", "al\u0131ce", "ALICE", "a1ice"])
def test_the_admin_refuses_lookalikes_too(admin_browser, alice, lookalike):
    response = admin_add(admin_browser, lookalike)
    assert response.status_code == 200  # the form again, with its error
    assert response.context["adminform"].form.errors["username"]
    assert not User.objects.exclude(username__in=["alice", "root"]).exists()


def test_the_admin_still_creates_ordinary_users(admin_browser):
    assert admin_add(admin_browser, "newcomer").status_code == 302
    assert User.objects.filter(username="newcomer").exists()


def admin_rename(browser, user, username: str):
    """The admin's change form for `user`, posted with a new username and everything else as it was."""
    form = browser.get(f"/admin/users/user/{user.pk}/change/").context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None and name != "password"}
    data.update(
        username=username, date_joined_0="2026-01-01", date_joined_1="00:00:00", last_login_0="", last_login_1=""
    )
    (
        data.pop("date_joined", None),
        data.pop("last_login", None),
        data.pop("groups", None),
        data.pop("user_permissions", None),
    )
    return browser.post(f"/admin/users/user/{user.pk}/change/", data)


def test_the_admins_rename_refuses_a_lookalike_but_keeps_or_changes_the_users_own_name(admin_browser, alice):
    """Before, the change form renamed anyone to `a1ice` beside `alice`."""
    bob = UserFactory(username="bob")
    response = admin_rename(admin_browser, bob, "a1ice")
    assert response.status_code == 200 and response.context["adminform"].form.errors["username"]
    assert User.objects.get(pk=bob.pk).username == "bob"
    assert admin_rename(admin_browser, alice, "alice").status_code == 302  # unchanged: fine
    assert admin_rename(admin_browser, bob, "b0bby").status_code == 302  # a look-alike of no one else's
    assert User.objects.get(pk=bob.pk).username == "b0bby"
