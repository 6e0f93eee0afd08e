"""The moderation console through the test client: the list, filters, actions, permissions and the read audit."""

import importlib
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from messaging.models import Message, MessageAccessLog, MessageReport, UserBlock
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/messaging/message/"


def make_messages(n, *, alice, bob):
    messages = []
    for i in range(n):
        factory = AttachmentMessageFactory if i % 3 == 0 else MessageFactory
        sender, recipient = (alice, bob) if i % 2 else (bob, alice)
        message = factory(sender=sender, recipient=recipient, body=f"note {i}")
        if i % 4 == 0:
            MessageReport.objects.create(message=message, reporter=recipient, reason="rude")
        messages.append(message)
    return messages


def changelist_ids(response):
    return {obj.pk for obj in response.context["cl"].result_list}


def hide(client, messages, reason="spam"):
    return client.post(
        CHANGELIST,
        {"action": "hide_messages", "_selected_action": [m.pk for m in messages], "apply": "1", "reason": reason},
    )


def test_moderators_group_has_exactly_the_moderation_permissions():
    """The data migrations give the group view/hide messages, view/change reports, view blocks and view people."""
    group = Group.objects.get(name="Moderators")
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert codenames == {
        ("messaging", "view_message"),
        ("messaging", "hide_message"),
        ("messaging", "view_messagereport"),
        ("messaging", "change_messagereport"),
        ("messaging", "view_userblock"),
        ("users", "view_user"),
    }


def test_moderators_group_migration_is_reversible():
    """Backwards removes the group; forwards again recreates it with its permissions."""
    migration = importlib.import_module("messaging.migrations.0002_moderators_group")
    apps = MigrationExecutor(connection).loader.project_state(("messaging", "0002_moderators_group")).apps
    # The functions only read `schema_editor.connection`.
    schema_editor = SimpleNamespace(connection=connection)
    migration.delete_moderators_group(apps, schema_editor)
    assert not Group.objects.filter(name="Moderators").exists()
    migration.create_moderators_group(apps, schema_editor)
    assert Group.objects.get(name="Moderators").permissions.count() == 5


def test_message_list_queries_do_not_grow_with_rows(mod_client, alice, bob, django_assert_max_num_queries):
    """40 or 5 messages (with reports and attachments): the same small number of queries.

    Session, user, two permission lookups, the count (plus the size estimate on PostgreSQL), the page,
    and the two date-hierarchy queries.
    """
    make_messages(5, alice=alice, bob=bob)
    with django_assert_max_num_queries(9) as few:
        response = mod_client.get(CHANGELIST)
    assert response.status_code == 200
    make_messages(40, alice=alice, bob=bob)
    with django_assert_max_num_queries(9) as many:
        response = mod_client.get(CHANGELIST)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 45
    assert len(many.captured_queries) == len(few.captured_queries)
    # Attachment bytes are never selected for the list.
    assert not any("attachment_data" in q["sql"] for q in many.captured_queries)
    # The date hierarchy reads the first and last dates, never DISTINCT dates of every row.
    assert not any("DISTINCT" in q["sql"] for q in many.captured_queries)


def test_message_list_shows_report_counts_and_the_page_who_deleted(mod_client, alice, bob):
    """The list counts reports; who deleted the message is on its page (the list keeps to what fits)."""
    message = MessageFactory(sender=alice, recipient=bob, body="look at this")
    MessageReport.objects.create(message=message, reporter=bob, reason="spam")
    Message.objects.filter(pk=message.pk).update(recipient_deleted_at=message.created_at)
    response = mod_client.get(CHANGELIST)
    row = next(obj for obj in response.context["cl"].result_list if obj.pk == message.pk)
    assert row.report_count == 1
    assert "look at this" in response.content.decode()
    page = mod_client.get(f"{CHANGELIST}{message.pk}/change/").content.decode()
    assert re.search(r"Deleted by:</label>\s*<div class=\"readonly\">recipient</div>", page), page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("hidden=yes", {"hidden"}),
        ("hidden=no", {"plain", "reported", "attached", "deleted"}),
        ("reported=open", {"reported"}),
        ("reported=no", {"plain", "hidden", "attached", "deleted"}),
        ("attachment=yes", {"attached"}),
        ("deleted=sender", {"deleted"}),
        ("deleted=recipient", set()),
        ("q=carol", {"deleted"}),
        ("q=quarterly", {"reported"}),
    ],
)
def test_message_list_filters_and_search(mod_client, alice, bob, moderator, query, expected):
    carol = UserFactory(username="carol")
    made = {
        "plain": MessageFactory(sender=alice, recipient=bob, body="hello"),
        "hidden": MessageFactory(sender=alice, recipient=bob, body="bad words"),
        "reported": MessageFactory(sender=bob, recipient=alice, body="the quarterly numbers"),
        "attached": AttachmentMessageFactory(sender=bob, recipient=alice, body="file"),
        "deleted": MessageFactory(sender=carol, recipient=alice, body="gone"),
    }
    Message.objects.filter(pk=made["hidden"].pk).update(
        hidden_at=made["hidden"].created_at, hidden_by=moderator, hidden_reason="abuse"
    )
    MessageReport.objects.create(message=made["reported"], reporter=alice, reason="odd")
    Message.objects.filter(pk=made["deleted"].pk).update(sender_deleted_at=made["deleted"].created_at)
    response = mod_client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    assert changelist_ids(response) == {made[name].pk for name in expected}


def test_date_hierarchy_and_date_filter_render(mod_client, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob)
    created = message.created_at
    response = mod_client.get(
        f"{CHANGELIST}?created_at__year={created.year}&created_at__month={created.month}&created_at__day={created.day}"
    )
    assert response.status_code == 200
    assert changelist_ids(response) == {message.pk}


def test_date_hierarchy_lists_years_between_first_and_last_message(mod_client, alice, bob):
    old = MessageFactory(sender=alice, recipient=bob, created_at=datetime(2023, 5, 2, 12, tzinfo=UTC))
    MessageFactory(sender=alice, recipient=bob, created_at=datetime(2025, 1, 9, 12, tzinfo=UTC))
    content = mod_client.get(CHANGELIST).content.decode()
    for year in (2023, 2024, 2025):
        assert f"?created_at__year={year}" in content
    assert "?created_at__year=2022" not in content and "?created_at__year=2026" not in content
    # Within 2023: the months from the first to the last message of that year.
    content = mod_client.get(f"{CHANGELIST}?created_at__year=2023").content.decode()
    assert "created_at__month=5" in content
    response = mod_client.get(f"{CHANGELIST}?created_at__year=2023&created_at__month=5")
    assert changelist_ids(response) == {old.pk}
    assert "created_at__day=2" in response.content.decode()


def test_hide_asks_for_a_reason_first(mod_client, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob, body="rude words")
    response = mod_client.post(CHANGELIST, {"action": "hide_messages", "_selected_action": [message.pk]})
    assert response.status_code == 200
    assert b'name="reason"' in response.content
    assert b"rude words" in response.content
    message.refresh_from_db()
    assert message.hidden_at is None
    # An empty reason is refused on the same page.
    response = hide(mod_client, [message], reason="   ")
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.hidden_at is None


def test_hide_and_unhide_change_what_both_users_see_through_the_api(
    mod_client, moderator, alice, bob, alice_client, bob_client
):
    message = MessageFactory(sender=alice, recipient=bob, body="offensive")
    other = MessageFactory(sender=bob, recipient=alice, body="fine")

    response = hide(mod_client, [message], reason="harassment")
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.hidden_by, message.hidden_reason) == (moderator, "harassment")
    for api in (alice_client, bob_client):
        thread = api.get(f"/api/messages/with/{bob.pk if api is alice_client else alice.pk}").json()["results"]
        assert [m["id"] for m in thread] == [other.pk]
        assert api.get(f"/api/messages/{message.pk}").status_code == 404
    entry = LogEntry.objects.get(object_id=str(message.pk), action_flag=CHANGE)
    assert entry.user == moderator
    assert "harassment" in entry.get_change_message()

    response = mod_client.post(CHANGELIST, {"action": "unhide_messages", "_selected_action": [message.pk]})
    assert response.status_code == 302
    for api in (alice_client, bob_client):
        assert api.get(f"/api/messages/{message.pk}").status_code == 200
    assert LogEntry.objects.filter(object_id=str(message.pk), action_flag=CHANGE).count() == 2


def test_resolve_reports_action(mod_client, moderator, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob)
    report = MessageReport.objects.create(message=message, reporter=bob, reason="spam")
    response = mod_client.post(CHANGELIST, {"action": "resolve_reports", "_selected_action": [message.pk]})
    assert response.status_code == 302
    report.refresh_from_db()
    assert (report.status, report.resolved_by) == (MessageReport.Status.RESOLVED, moderator)


def test_report_admin_shows_the_message_and_dismisses(mod_client, moderator, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob, body="the reported text")
    report = MessageReport.objects.create(message=message, reporter=bob, reason="threatening")
    response = mod_client.get("/admin/messaging/messagereport/")
    assert response.status_code == 200
    assert b"threatening" in response.content
    response = mod_client.get(f"/admin/messaging/messagereport/{report.pk}/change/")
    assert response.status_code == 200
    assert b"the reported text" in response.content
    assert MessageAccessLog.objects.filter(moderator=moderator, message=message).count() == 1
    response = mod_client.post(
        "/admin/messaging/messagereport/", {"action": "dismiss", "_selected_action": [report.pk]}
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == MessageReport.Status.DISMISSED


def test_opening_a_message_records_who_read_it(mod_client, moderator, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob, body="private words")
    response = mod_client.get(f"{CHANGELIST}{message.pk}/change/")
    assert response.status_code == 200
    assert b"private words" in response.content
    log = MessageAccessLog.objects.get()
    assert (log.moderator, log.message) == (moderator, message)


def test_moderator_cannot_delete_or_edit_a_message(mod_client, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob, body="original")
    response = mod_client.post(f"{CHANGELIST}{message.pk}/change/", {"body": "edited"})
    assert response.status_code == 403
    response = mod_client.post(f"{CHANGELIST}{message.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    response = mod_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [message.pk], "post": "yes"}
    )
    assert Message.objects.filter(pk=message.pk, body="original").exists()
    response = mod_client.get(f"{CHANGELIST}{message.pk}/change/")
    assert b'name="body"' not in response.content
    assert b"delete_selected" not in mod_client.get(CHANGELIST).content


def test_superuser_cannot_edit_a_body_either(client, alice, bob):
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    message = MessageFactory(sender=alice, recipient=bob, body="original")
    client.post(f"{CHANGELIST}{message.pk}/change/", {"body": "edited"})
    message.refresh_from_db()
    assert message.body == "original"


def test_staff_without_the_group_sees_no_messages(client, alice, bob):
    client.force_login(UserFactory(username="staff", is_staff=True))
    MessageFactory(sender=alice, recipient=bob)
    assert client.get(CHANGELIST).status_code == 403


def test_blocks_are_listed(mod_client, alice, bob):
    UserBlock.objects.create(blocker=alice, blocked=bob)
    response = mod_client.get("/admin/messaging/userblock/")
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_unfiltered_list_of_a_large_table_uses_the_planner_estimate(
    mod_client, alice, bob, monkeypatch, django_assert_max_num_queries
):
    """No COUNT(*) of the whole table: pg_class.reltuples instead; a filtered list still counts exactly."""
    make_messages(30, alice=alice, bob=bob)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_message")
    monkeypatch.setattr("messaging.admin.list_tuning.ESTIMATE_ABOVE_ROWS", 10)
    with django_assert_max_num_queries(9) as queries:
        response = mod_client.get(CHANGELIST)
    assert response.context["cl"].result_count == 30
    sql = [q["sql"] for q in queries.captured_queries]
    assert any("reltuples" in s for s in sql)
    assert not any(s.startswith("SELECT COUNT(*)") and "messaging_message" in s for s in sql)

    with django_assert_max_num_queries(9) as queries:
        response = mod_client.get(f"{CHANGELIST}?attachment=yes")
    assert response.context["cl"].result_count == 10
    assert any(q["sql"].startswith("SELECT COUNT(*)") for q in queries.captured_queries)


def test_hide_across_all_filtered_messages_logs_each(mod_client, alice, bob, carol):
    """ "Select all" across pages with a filter: every matching message is hidden, one log entry each."""
    from_carol = [MessageFactory(sender=carol, recipient=alice) for _ in range(3)]
    other = MessageFactory(sender=bob, recipient=alice)
    response = mod_client.post(
        f"{CHANGELIST}?q=carol",
        {
            "action": "hide_messages",
            "_selected_action": [from_carol[0].pk],
            "select_across": "1",
            "apply": "1",
            "reason": "spam wave",
        },
    )
    assert response.status_code == 302
    assert set(Message.objects.filter(hidden_at__isnull=False).values_list("pk", flat=True)) == {
        m.pk for m in from_carol
    }
    other.refresh_from_db()
    assert other.hidden_at is None
    assert LogEntry.objects.filter(action_flag=CHANGE).count() == 3


def test_hide_and_unhide_a_spam_wave_larger_than_one_statement_takes(mod_client, alice, carol):
    """Ids go in batches: PostgreSQL binds at most 65,535 parameters, and a log entry takes 7 of them."""
    count = 10_000
    Message.objects.bulk_create(Message(sender=carol, recipient=alice, body=f"buy now {i}") for i in range(count))
    for action, extra in (("hide_messages", {"apply": "1", "reason": "spam wave"}), ("unhide_messages", {})):
        response = mod_client.post(
            f"{CHANGELIST}?q=carol",
            {"action": action, "_selected_action": [Message.objects.first().pk], "select_across": "1", **extra},
        )
        assert response.status_code == 302
    assert Message.objects.filter(hidden_at__isnull=True).count() == count
    assert LogEntry.objects.filter(action_flag=CHANGE).count() == 2 * count


def test_staff_who_may_only_view_cannot_hide(client, alice, bob):
    """Hiding needs the hide permission, not just "view message"."""
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_message"))
    client.force_login(viewer)
    message = MessageFactory(sender=alice, recipient=bob)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert b"hide_messages" not in response.content
    client.post(CHANGELIST, {"action": "hide_messages", "_selected_action": [message.pk], "apply": "1", "reason": "x"})
    message.refresh_from_db()
    assert message.hidden_at is None


def test_hide_from_the_message_page(mod_client, alice, bob):
    """A message's page offers "Hide this message", which leads to the reason page for that message."""
    message = MessageFactory(sender=alice, recipient=bob, body="nasty")
    page = mod_client.get(f"{CHANGELIST}{message.pk}/change/").content.decode()
    assert 'value="hide_messages"' in page
    assert f'name="_selected_action" value="{message.pk}"' in page
    response = mod_client.post(CHANGELIST, {"action": "hide_messages", "_selected_action": [message.pk]})
    assert b'name="reason"' in response.content
    hide(mod_client, [message], reason="abuse")
    page = mod_client.get(f"{CHANGELIST}{message.pk}/change/").content.decode()
    assert 'value="unhide_messages"' in page
