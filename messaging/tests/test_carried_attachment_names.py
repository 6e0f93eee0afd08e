"""Attachment names of rows carried from the old system, as the API, the pages and the downloads show them.

The carry (`legacy_dm/carry/`) inserts the old `file_name` as it was; these rows are made the same way, with
the ORM, so nothing on the way in sanitises them.
"""

import pytest
from django.test import Client

from messaging.tests.factories import AttachmentMessageFactory

pytestmark = pytest.mark.django_db

# (the old file_name, the name the new API, the pages and the download show)
HOSTILE_NAMES = [
    ("../../etc/passwd", "passwd"),
    ("evil\r\nX-Injected: yes.txt", "evilX-Injected: yes.txt"),
    ("..\\..\\windows\\system.ini", "system.ini"),
    ('"quoted"\x07name.pdf', "quotedname.pdf"),
    ("/", "attachment"),
]


@pytest.fixture
def web(bob):
    client = Client()
    client.force_login(bob)
    return client


def carried(alice, bob, name):
    return AttachmentMessageFactory(sender=alice, recipient=bob, legacy_id=900, attachment_name=name)


@pytest.mark.parametrize(("old_name", "safe_name"), HOSTILE_NAMES)
def test_the_new_api_shows_a_carried_attachment_under_the_name_its_download_uses(
    alice, bob, bob_client, old_name, safe_name
):
    """Every message of the new API names a carried attachment as the download does: no path, no control."""
    message = carried(alice, bob, old_name)
    shown = [
        bob_client.get(f"/api/messages/{message.pk}").json(),
        bob_client.get(f"/api/messages/with/{alice.pk}").json()["results"][0],
        bob_client.get("/api/messages/conversations").json()["results"][0]["last_message"],
        bob_client.post("/api/messages/search", {"query": "message"}, format="json").json()["results"][0],
    ]
    assert [row["attachment"]["name"] for row in shown] == [safe_name] * 4

    download = bob_client.get(f"/api/messages/{message.pk}/attachment")
    assert download.status_code == 200
    assert f'filename="{safe_name}"' in download["Content-Disposition"]


@pytest.mark.parametrize(("old_name", "safe_name"), HOSTILE_NAMES)
def test_the_pages_show_a_carried_attachment_under_the_name_its_download_uses(alice, bob, web, old_name, safe_name):
    message = carried(alice, bob, old_name)
    pages = [web.get("/inbox/"), web.get(f"/inbox/with/{alice.pk}/"), web.get("/inbox/search/", {"q": "message"})]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert safe_name in html, page.request["PATH_INFO"]
        assert "etc/passwd" not in html and "\nX-Injected" not in html and "windows" not in html
    assert f'filename="{safe_name}"' in web.get(f"/inbox/messages/{message.pk}/attachment/")["Content-Disposition"]


@pytest.mark.parametrize(("old_name", "safe_name"), HOSTILE_NAMES)
def test_the_legacy_api_still_shows_the_old_name(alice, bob, bob_client, old_name, safe_name):
    """The old service showed the name its clients gave; old clients keep seeing it (the download is safe)."""
    message = carried(alice, bob, old_name)
    assert bob_client.get(f"/api/direct-messages/{message.pk}").json()["file_name"] == old_name
    thread = bob_client.get(f"/api/direct-messages/conversation/{alice.pk}").json()
    assert [row["file_name"] for row in thread] == [old_name]
    download = bob_client.get(f"/api/direct-messages/{message.pk}/attachment")
    assert f'filename="{safe_name}"' in download["Content-Disposition"]
