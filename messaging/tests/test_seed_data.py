"""The demo data command: idempotent, and with a moderator who can use the moderation console."""

from io import StringIO

import pytest
from django.core.management import call_command

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
    assert client.get("/admin/users/user/").status_code == 403
