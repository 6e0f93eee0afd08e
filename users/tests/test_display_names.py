"""A display name is one line of visible text on every surface that sets it: the API's registration and
profile update, the settings page and the admin (`users.display_names`).

Control characters (Cc), format characters (Cf: bidi overrides and isolates, zero-width characters) are
removed, whitespace runs become one space, and a name is at most 150 characters, as the column.
"""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from users.models import User
from users.tests.factories import UserFactory, client_for

pytestmark = pytest.mark.django_db

# id: (what is sent, what is stored and shown)
NAMES = {
    "bidi": ("Eve\u202e\u2066gnp.exe\u2069", "Evegnp.exe"),  # right-to-left override, isolates
    "zero-width": ("\u200bAdmin\u200d\ufeff", "Admin"),  # zero-width space, joiner, BOM
    "newlines": ("Ann\n\nSupport team\r\n", "Ann Support team"),
    "whitespace": ("  Bob \t  Smith\u2028 ", "Bob Smith"),  # tabs, a line separator
    "controls": ("Zo\u00ade\x07\x1b[31m", "Zoe[31m"),  # soft hyphen, BEL, ESC
    "only-invisible": ("\u202a\u200f\x01", ""),  # nothing visible: the username is shown
    "nfc": ("Ren\u0065\u0301e", "Ren\u00e9e"),  # one é
}
ALL = [pytest.param(sent, stored, id=name) for name, (sent, stored) in NAMES.items()]


@pytest.fixture
def dora(db):
    return UserFactory(username="dora")


@pytest.mark.parametrize(("sent", "stored"), ALL)
def test_the_api_profile_update_cleans_the_name(dora, sent, stored):
    response = client_for(dora).patch("/api/auth/me/", {"display_name": sent}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["display_name"] == (stored or "dora")
    dora.refresh_from_db()
    assert dora.display_name == stored


@pytest.mark.parametrize(("sent", "stored"), ALL[:3])
def test_registration_cleans_the_name(db, sent, stored):
    response = APIClient().post(
        "/api/auth/register/",
        {"username": "newcomer", "email": "n@example.com", "password": "a long horse battery", "display_name": sent},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert User.objects.get(username="newcomer").display_name == stored


@pytest.mark.parametrize(("sent", "stored"), ALL)
def test_the_settings_page_cleans_the_name(dora, sent, stored):
    browser = Client()
    browser.force_login(dora)
    response = browser.post("/accounts/settings/", {"display_name": sent, "read_receipts": "on"})
    assert response.status_code == 302, response.content[:300]
    dora.refresh_from_db()
    assert dora.display_name == stored


@pytest.mark.parametrize(("sent", "stored"), ALL[:4])
def test_the_admin_cleans_the_name(dora, sent, stored):
    browser = Client()
    browser.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    form = {
        "username": "dora",
        "email": "dora@example.com",
        "display_name": sent,
        "is_active": "on",
        "date_joined_0": "2026-12-01",
        "date_joined_1": "10:00:00",
    }
    response = browser.post(f"/admin/users/user/{dora.pk}/change/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    dora.refresh_from_db()
    assert dora.display_name == stored


def test_a_name_longer_than_the_column_is_a_400_everywhere(dora):
    long_name = "x" * 151
    assert client_for(dora).patch("/api/auth/me/", {"display_name": long_name}, format="json").status_code == 400
    browser = Client()
    browser.force_login(dora)
    assert browser.post("/accounts/settings/", {"display_name": long_name}).status_code == 400
    # A name that NFC lengthens past the column (U+0958 is two characters in NFC) is refused, not a 500.
    lengthening = "\u0958" * 100
    response = client_for(dora).patch("/api/auth/me/", {"display_name": lengthening}, format="json")
    assert response.status_code == 400 and "150" in str(response.json()), response.content
    assert browser.post("/accounts/settings/", {"display_name": lengthening}).status_code == 400
    dora.refresh_from_db()
    assert dora.display_name == ""


def test_what_others_read_is_the_cleaned_name(dora):
    """The name reaches the other party (the people list, a message's sender) without its hidden characters."""
    reader = UserFactory(username="reader")
    client_for(dora).patch("/api/auth/me/", {"display_name": "Dora\u202e \u2066IT support\u2069\n"}, format="json")
    people = client_for(reader).get("/api/messages/participants", {"search": "dora"}).json()
    names = [person["display_name"] for person in people.get("results", people)]
    assert names == ["Dora IT support"]


@pytest.mark.parametrize(("sent", "stored"), [p for p in ALL if p.id != "nfc"])
def test_a_name_no_relay_surface_set_is_shown_by_the_same_rule(dora, sent, stored):
    """A name carried from the old service or written by an old server during the live sync (set here by SQL,
    past every form) reaches the other party cleaned: the new API, the old API's `full_name`, the pages.
    Before, it was shown as it was stored."""
    from messaging.tests.factories import MessageFactory

    reader = UserFactory(username="reader")
    MessageFactory(sender=dora, recipient=reader, body="hello")
    User.objects.filter(pk=dora.pk).update(display_name=sent)
    shown = stored or "dora"
    people = client_for(reader).get("/api/messages/participants", {"search": "dora"}).json()
    assert [person["display_name"] for person in people.get("results", people)] == [shown]
    old = client_for(reader).get("/api/direct-messages/conversations").json()
    assert [row["user"]["full_name"] for row in old] == [stored or None]
    page = Client()
    page.force_login(reader)
    assert f'<span class="partner">{shown}</span>' in page.get("/inbox/").content.decode()
