"""Legacy traffic is counted per endpoint (errors too), visible in the admin and with `manage.py legacy_usage`."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from legacy_dm import usage
from legacy_dm.models import LegacyEndpointUsage
from legacy_dm.views import endpoints
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def calls(endpoint: str) -> int:
    usage = LegacyEndpointUsage.objects.filter(endpoint=endpoint).first()
    return usage.calls if usage else 0


def test_each_call_is_counted_under_its_endpoint_template(alice_client, alice, bob):
    first = MessageFactory(sender=bob, recipient=alice)
    second = MessageFactory(sender=bob, recipient=alice)
    alice_client.get(f"/api/direct-messages/{first.pk}")
    alice_client.get(f"/api/direct-messages/{second.pk}/")
    alice_client.get("/api/direct-messages/unread-count")
    alice_client.delete(f"/api/direct-messages/{first.pk}")
    assert calls("GET /api/direct-messages/{message_id}") == 2
    assert calls("GET /api/direct-messages/unread-count") == 1
    assert calls("DELETE /api/direct-messages/{message_id}") == 1
    usage = LegacyEndpointUsage.objects.get(endpoint="GET /api/direct-messages/{message_id}")
    assert usage.first_called_at < usage.last_called_at  # the second call moved it


def test_errors_of_authenticated_calls_are_counted_too(alice_client):
    alice_client.get("/api/messaging/conversations?limit=0")
    alice_client.get("/api/messaging/conversations/999")
    alice_client.get("/api/messaging/nowhere")
    assert calls("GET /api/messaging/conversations") == 1
    assert calls("GET /api/messaging/conversations/{conversation_id}") == 1
    assert calls("GET (unknown path)") == 1


def test_anonymous_calls_write_no_counter(alice_client):
    """A 401 (no token, a bad token, any path) costs no write: anyone could otherwise make the server write
    a row per request, and the counts are of the old clients still in use, which all log in."""
    anonymous = APIClient()
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    for client in (anonymous, forged):
        assert client.get("/api/messaging/conversations").status_code == 401
        assert client.post("/api/direct-messages/", {}, format="json").status_code == 401
        assert client.get("/api/messaging/nowhere").status_code == 404  # the old service's answer
    assert not LegacyEndpointUsage.objects.exists()
    alice_client.get("/api/messaging/conversations")
    assert calls("GET /api/messaging/conversations") == 1


def test_counting_an_endpoint_already_seen_is_one_update(alice_client):
    alice_client.get("/api/direct-messages/unread-count")
    with CaptureQueriesContext(connection) as queries:
        alice_client.get("/api/direct-messages/unread-count")
    usage_queries = [q["sql"] for q in queries.captured_queries if "legacy_dm_endpoint_usage" in q["sql"]]
    assert len(usage_queries) == 1 and usage_queries[0].startswith("UPDATE")
    assert calls("GET /api/direct-messages/unread-count") == 2


def test_the_new_api_is_not_counted(alice_client):
    alice_client.get("/api/messages/unread-count")
    assert not LegacyEndpointUsage.objects.exists()


def test_legacy_usage_command_prints_every_endpoint_busiest_first(alice_client):
    for _ in range(3):
        alice_client.get("/api/direct-messages/unread-count")
    alice_client.get("/api/messaging/conversations")
    out = StringIO()
    call_command("legacy_usage", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:2] == ["endpoint", "calls"]
    assert lines[1].split()[:4] == ["GET", "/api/direct-messages/unread-count", "3", lines[1].split()[3]]
    assert "/api/messages/unread-count" in lines[1]
    assert lines[2].split()[:3] == ["GET", "/api/messaging/conversations", "1"]
    body = "\n".join(lines)
    for name, _ in endpoints():  # never-called endpoints are listed with 0
        assert name in body
    assert "never" in body
    assert lines[-1].split() == ["total", "4"]


def test_usage_is_read_only_in_the_admin(client):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    LegacyEndpointUsage.objects.create(endpoint="GET /api/direct-messages/", calls=5)
    client.force_login(admin)
    listing = client.get("/admin/legacy_dm/legacyendpointusage/")
    assert listing.status_code == 200
    assert b"GET /api/direct-messages/" in listing.content
    assert client.get("/admin/legacy_dm/legacyendpointusage/add/").status_code == 403
    usage = LegacyEndpointUsage.objects.get()
    client.post(f"/admin/legacy_dm/legacyendpointusage/{usage.pk}/change/", {"calls": 0})
    usage.refresh_from_db()
    assert usage.calls == 5


def test_calls_are_written_together_at_most_every_interval(alice_client, settings):
    """Within `LEGACY_USAGE_WRITE_SECONDS` the calls are added up in the process, with no write; the next write
    (the interval's end, or the process's exit) adds them all, keeping the first and last call times."""
    alice_client.get("/api/direct-messages/unread-count")
    before = LegacyEndpointUsage.objects.get(endpoint="GET /api/direct-messages/unread-count")
    settings.LEGACY_USAGE_WRITE_SECONDS = 3600  # the call above wrote: an interval starts
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            alice_client.get("/api/direct-messages/unread-count")
        alice_client.get("/api/messaging/conversations")
    assert not [q for q in queries.captured_queries if "legacy_dm_endpoint_usage" in q["sql"]]
    assert calls("GET /api/direct-messages/unread-count") == 1
    usage.write_calls()  # as at the process's exit
    assert calls("GET /api/direct-messages/unread-count") == 4
    assert calls("GET /api/messaging/conversations") == 1
    after = LegacyEndpointUsage.objects.get(endpoint="GET /api/direct-messages/unread-count")
    assert after.first_called_at == before.first_called_at and after.last_called_at > before.last_called_at


@pytest.mark.django_db(transaction=True)
def test_the_last_calls_are_written_an_interval_later_without_another_call(settings):
    """A thread writes them, not a request. Fails on d81c377, where a request wrote the counts once the interval
    had passed since the last write, and otherwise nothing did until a later call or the process's exit: the
    last calls of a worker whose old clients stopped calling stayed unwritten, the usage telling operators that
    legacy traffic had stopped earlier than it had."""
    import time

    client = APIClient()
    client.force_authenticate(UserFactory())
    settings.LEGACY_USAGE_WRITE_SECONDS = 0.3
    with CaptureQueriesContext(connection) as queries:
        for _ in range(2):
            assert client.get("/api/direct-messages/unread-count").status_code == 200
    assert not [q for q in queries.captured_queries if "legacy_dm_endpoint_usage" in q["sql"]]
    deadline = time.monotonic() + 10
    while calls("GET /api/direct-messages/unread-count") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert calls("GET /api/direct-messages/unread-count") == 2


def test_calls_that_could_not_be_written_are_written_with_the_next_ones(caplog):
    """A database error while writing the counts is logged, and those calls wait for the next write instead of
    being dropped (the error is made by the database wrapper: the first write of the counter fails)."""
    from django.db import OperationalError

    def failing_once(execute, sql, params, many, context):
        if "legacy_dm_endpoint_usage" in sql and not failed:
            failed.append(sql)
            raise OperationalError("the counter's row is unavailable")
        return execute(sql, params, many, context)

    failed: list[str] = []
    usage.record_call("GET /api/direct-messages/unread-count")  # the row exists from here on
    with connection.execute_wrapper(failing_once):
        usage.record_call("GET /api/direct-messages/unread-count")
    assert failed and calls("GET /api/direct-messages/unread-count") == 1
    assert "Could not count 1 call(s)" in caplog.text
    usage.record_call("GET /api/direct-messages/unread-count")
    assert calls("GET /api/direct-messages/unread-count") == 3
