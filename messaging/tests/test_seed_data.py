"""The demo data command: idempotent, and with a moderator who can use the moderation console."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from messaging.management.commands.seed_data import ADMIN, MODERATOR, PASSWORD, PEOPLE
from messaging.models import Message, MessageReport
from users.models import User

pytestmark = pytest.mark.django_db


def test_seed_data_twice_creates_a_working_moderator_once(client):
    call_command("seed_data", stdout=StringIO())
    call_command("seed_data", stdout=StringIO())
    moderator = User.objects.get(username="moderator")
    assert moderator.is_staff and not moderator.is_superuser
    assert list(moderator.groups.values_list("name", flat=True)) == ["Moderators"]
    assert MessageReport.objects.count() == 1
    assert Message.objects.count() == 10

    response = client.post(
        "/admin/login/?next=/admin/messaging/message/",
        {"username": "moderator", "password": "relay-mod-pass", "next": "/admin/messaging/message/"},
    )
    assert response.status_code == 302
    assert client.get("/admin/messaging/message/").status_code == 200
    assert client.get("/admin/messaging/messagereport/").status_code == 200
    # People: viewed (the sender and recipient of a message), never changed or added.
    assert client.get("/admin/users/user/").status_code == 200
    assert client.get("/admin/users/user/add/").status_code == 403
    assert client.get("/admin/auth/group/").status_code == 403


@pytest.mark.parametrize(
    ("addr", "url"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("9001", "http://127.0.0.1:9001"),
        ("0.0.0.0:8080", "http://127.0.0.1:8080"),
        ("[::1]:8002", "http://[::1]:8002"),
        ("localhost:8003", "http://localhost:8003"),
    ],
)
def test_seed_data_prints_the_database_links_for_the_address_and_every_login(addr, url):
    """The summary names the database in use, links to where the server listens and lists all demo logins."""
    out = StringIO()
    call_command("seed_data", "--addr", addr, stdout=out)
    printed = out.getvalue()
    database = connection.settings_dict["NAME"]
    assert "PostgreSQL, database" in printed
    assert str(database) in printed
    for path in ("/inbox/", "/docs", "/admin/"):
        assert f"{url}{path}" in printed
    assert url.endswith(":8000") or ":8000" not in printed
    for username, password in [*[(name, PASSWORD) for name, _ in PEOPLE], ADMIN, MODERATOR]:
        assert re.search(rf"^  {username} +/ {password} ", printed, re.MULTILINE), (username, printed)


def test_seed_data_refuses_an_address_runserver_would_refuse():
    with pytest.raises(CommandError, match="not an address"):
        call_command("seed_data", "--addr", "http://example.com", stdout=StringIO())
