"""The moderation console as a moderator meets it: its name, objects named after people, hiding that resolves
reports in the same step, the icon, and blocks nobody lifts for the blocker."""

import re
from datetime import UTC, datetime

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.contrib.staticfiles import finders
from django.utils import timezone

from messaging.models import Message, MessageAccessLog, MessageReport, UserBlock
from messaging.tests.factories import MessageFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/messaging/message/"


def hide(client, messages, **fields):
    return client.post(
        CHANGELIST,
        {"action": "hide_messages", "_selected_action": [m.pk for m in messages], "apply": "1", **fields},
    )


def test_the_admin_is_branded_as_relays_moderation_console(mod_client):
    page = mod_client.get("/admin/").content.decode()
    assert "Relay moderation console" in page
    assert "<title>Messages, reports and people | Relay moderation</title>" in page
    assert "Django administration" not in page


def test_objects_read_as_people_and_times(settings, alice, bob, moderator):
    """Messages, reports, blocks and read records are named by who and when, never by ids."""
    settings.TIME_ZONE = "UTC"
    this_year = timezone.now().year
    message = MessageFactory(sender=alice, recipient=bob, created_at=datetime(this_year, 12, 1, 14, 0, tzinfo=UTC))
    old = MessageFactory(sender=bob, recipient=alice, created_at=datetime(2023, 5, 2, 9, 5, tzinfo=UTC))
    assert str(message) == "alice → bob, 1 Dec 14:00"
    assert str(old) == "bob → alice, 2 May 2023 09:05"
    report = MessageReport.objects.create(message=message, reporter=bob, reason="spam")
    assert str(report) == "bob reported alice → bob, 1 Dec 14:00"
    assert str(UserBlock.objects.create(blocker=alice, blocked=bob)) == "alice blocks bob"
    log = MessageAccessLog.objects.create(
        message=old, moderator=moderator, accessed_at=datetime(2024, 1, 3, 8, 0, tzinfo=UTC)
    )
    assert str(log) == "mod read bob → alice, 2 May 2023 09:05 on 3 Jan 2024 08:00"


def test_message_list_puts_the_body_and_the_people_first(mod_client, alice, bob):
    """Seven columns, the body excerpt and the two people first, whether it was hidden or unsent last; the rest is
    on each message's page."""
    MessageFactory(sender=alice, recipient=bob, body="a body worth reading")
    page = mod_client.get(CHANGELIST).content.decode()
    header = page.split("<thead>")[1].split("</thead>")[0]
    columns = re.findall(r'<th scope="col" class="[^"]*column-(\w+)', header)
    assert columns == ["excerpt", "sender", "recipient", "sent", "report_count", "hidden", "unsent"]
    assert "a body worth reading" in page


def test_hiding_a_reported_message_offers_to_resolve_its_open_reports(mod_client, moderator, alice, bob, carol):
    reported = MessageFactory(sender=alice, recipient=bob, body="rude")
    open_report = MessageReport.objects.create(message=reported, reporter=bob, reason="rude")
    closed = MessageReport.objects.create(
        message=reported, reporter=carol, reason="x", status=MessageReport.Status.DISMISSED
    )
    page = mod_client.post(CHANGELIST, {"action": "hide_messages", "_selected_action": [reported.pk]})
    content = page.content.decode()
    checkbox = re.search(r'<input type="checkbox" name="resolve_reports"[^>]*>', content)
    assert checkbox and "checked" in checkbox.group(), content
    assert "1 open report on these messages" in content

    response = hide(mod_client, [reported], reason="abuse", resolve_reports="on")
    assert response.status_code == 302
    open_report.refresh_from_db()
    closed.refresh_from_db()
    assert (open_report.status, open_report.resolved_by) == (MessageReport.Status.RESOLVED, moderator)
    assert closed.status == MessageReport.Status.DISMISSED
    reported.refresh_from_db()
    assert reported.hidden_reason == "abuse"
    entries = {entry.object_repr: entry.get_change_message() for entry in LogEntry.objects.filter(action_flag=CHANGE)}
    assert entries[str(reported)] == "Hidden: abuse"
    assert entries[str(open_report)] == "Resolved (message hidden)"


def test_hiding_without_the_box_leaves_reports_open(mod_client, alice, bob):
    reported = MessageFactory(sender=alice, recipient=bob)
    report = MessageReport.objects.create(message=reported, reporter=bob, reason="rude")
    assert hide(mod_client, [reported], reason="abuse").status_code == 302
    report.refresh_from_db()
    assert report.status == MessageReport.Status.OPEN
    reported.refresh_from_db()
    assert reported.hidden_at is not None


def test_a_failed_hide_resolves_nothing(mod_client, alice, bob):
    """An empty reason refuses the whole step: nothing hidden, no report resolved."""
    reported = MessageFactory(sender=alice, recipient=bob)
    report = MessageReport.objects.create(message=reported, reporter=bob, reason="rude")
    response = hide(mod_client, [reported], reason="   ", resolve_reports="on")
    assert response.status_code == 200
    report.refresh_from_db()
    reported.refresh_from_db()
    assert (report.status, reported.hidden_at) == (MessageReport.Status.OPEN, None)


def test_hiding_messages_without_reports_offers_nothing_to_resolve(mod_client, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob)
    page = mod_client.post(CHANGELIST, {"action": "hide_messages", "_selected_action": [message.pk]})
    assert b'name="reason"' in page.content and b"resolve_reports" not in page.content


def test_hiding_many_reported_messages_takes_a_fixed_number_of_queries(
    mod_client, alice, bob, django_assert_max_num_queries
):
    """The log entries name people, and still no query per message or report."""

    def hide_reported(n, reason):
        messages = [MessageFactory(sender=alice, recipient=bob) for _ in range(n)]
        for message in messages:
            MessageReport.objects.create(message=message, reporter=bob, reason="spam")
        ContentType.objects.clear_cache()  # each call looks the content types up afresh
        with django_assert_max_num_queries(40) as queries:
            assert hide(mod_client, messages, reason=reason, resolve_reports="on").status_code == 302
        return len(queries.captured_queries)

    assert hide_reported(2, "few") == hide_reported(30, "many")
    assert Message.objects.filter(hidden_at__isnull=False).count() == 32
    assert not MessageReport.objects.filter(status=MessageReport.Status.OPEN).exists()


def test_favicon_is_the_sites_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/messaging/favicon.svg"
    assert finders.find("messaging/favicon.svg")


def test_nobody_lifts_a_block_in_the_admin_not_even_a_superuser(client, alice, bob):
    """A block is its blocker's decision (docs/api.md): the admin lists and shows blocks, read-only for everyone."""
    block = UserBlock.objects.create(blocker=alice, blocked=bob)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    changelist = client.get("/admin/messaging/userblock/")
    assert changelist.status_code == 200
    assert b"alice" in changelist.content and b"delete_selected" not in changelist.content
    assert client.get(f"/admin/messaging/userblock/{block.pk}/change/").status_code == 200
    assert client.post(f"/admin/messaging/userblock/{block.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(
        "/admin/messaging/userblock/", {"action": "delete_selected", "_selected_action": [block.pk], "post": "yes"}
    )
    assert UserBlock.objects.filter(pk=block.pk).exists()
