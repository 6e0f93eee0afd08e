"""The moderators' console through the test client: the open-report count on the index, the report list's
default filter, people viewed read-only, the Hide/Unhide button of a message's page, and who may do what."""

import importlib
import re
from types import SimpleNamespace

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from messaging import services
from messaging.models import Message, MessageReport
from messaging.tests.factories import MessageFactory
from users.models import User
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

INDEX = "/admin/"
REPORTS = "/admin/messaging/messagereport/"
MESSAGES = "/admin/messaging/message/"


def report(message, reporter, status=MessageReport.Status.OPEN):
    return MessageReport.objects.create(message=message, reporter=reporter, reason="rude", status=status)


@pytest.fixture
def reports(alice, bob, carol):
    """Three open reports, one resolved and one dismissed."""
    messages = [MessageFactory(sender=alice, recipient=bob, body=f"note {i}") for i in range(5)]
    statuses = [MessageReport.Status.OPEN] * 3 + [MessageReport.Status.RESOLVED, MessageReport.Status.DISMISSED]
    return [report(message, bob, status) for message, status in zip(messages, statuses, strict=True)]


def result_ids(response):
    return {obj.pk for obj in response.context["cl"].result_list}


# --- The index ------------------------------------------------------------------------------------------------


def test_index_shows_how_many_reports_are_open_beside_their_link(mod_client, reports):
    """Beside *Message reports*: "3 open"; the link is the report list, which shows the open ones."""
    page = mod_client.get(INDEX).content.decode()
    assert re.search(rf'<a href="{REPORTS}">Message reports <span class="index-note">3 open</span></a>', page), page
    assert "messaging/admin.css" in page
    # The app's own page says the same.
    assert '<span class="index-note">3 open</span>' in mod_client.get("/admin/messaging/").content.decode()


def test_index_counts_open_reports_in_one_query(mod_client, reports, django_assert_num_queries):
    """The count is one query, whatever the number of reports.

    Session, user, the user's own and their groups' permissions, the open-report count, the recent actions.
    """
    mod_client.get(INDEX)  # the session's first use may touch it
    with django_assert_num_queries(6) as captured:
        assert mod_client.get(INDEX).status_code == 200
    reads = [q["sql"] for q in captured.captured_queries if '"messaging_report"' in q["sql"]]
    assert len(reads) == 1 and reads[0].startswith("SELECT COUNT(*)")
    # More reports, the same queries.
    report(MessageFactory(), UserFactory())
    with django_assert_num_queries(6):
        assert "4 open" in mod_client.get(INDEX).content.decode()


def test_index_note_is_only_for_who_may_view_reports(client, reports):
    """Staff without report permissions see no count (and no report link)."""
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_message"))
    client.force_login(viewer)
    page = client.get(INDEX).content.decode()
    assert "index-note" not in page and REPORTS not in page


# --- The report list ------------------------------------------------------------------------------------------


def test_report_list_shows_the_open_reports_by_default(mod_client, reports):
    response = mod_client.get(REPORTS)
    assert result_ids(response) == {r.pk for r in reports[:3]}
    page = response.content.decode()
    # The filter says Open is chosen, and All has a link of its own; no "clear filters" for the default.
    assert re.search(r'<li class="selected">\s*<a href="\?"[^>]*>Open</a>', page), page
    assert re.search(r'<a href="\?status=all"[^>]*>All</a>', page)
    assert "Clear all filters" not in page
    assert "3 message reports" in page
    # The count says there are more, and its link shows them all (Django's own would lead back here).
    assert re.search(r'3 results \(<a href="\?status=all">5 total</a>\)', page), page
    assert "total</a>" not in mod_client.get(f"{REPORTS}?status=all").content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [("status=all", {0, 1, 2, 3, 4}), ("status=resolved", {3}), ("status=dismissed", {4}), ("status=open", {0, 1, 2})],
)
def test_report_list_filter_choices(mod_client, reports, query, expected):
    response = mod_client.get(f"{REPORTS}?{query}")
    assert response.status_code == 200
    assert result_ids(response) == {reports[i].pk for i in expected}
    page = response.content.decode()
    chosen = re.search(r'<li class="selected">\s*<a href="([^"]*)"[^>]*>(\w+)</a>', page)
    assert chosen is not None
    assert chosen.group(2).lower() == query.split("=")[1]
    assert f"{len(expected)} message report" in page


def test_report_list_with_an_unknown_status_shows_the_open_ones(mod_client, reports):
    response = mod_client.get(f"{REPORTS}?status=bogus")
    assert response.status_code == 200
    assert result_ids(response) == {r.pk for r in reports[:3]}


def test_all_keeps_its_choice_across_other_filters_and_actions(mod_client, moderator, reports):
    """The date filter keeps *All*; an action over *all* reports covers every status it may change."""
    page = mod_client.get(f"{REPORTS}?status=all").content.decode()
    this_year = re.search(r'<a href="(\?created_at__gte=[^"]+)">This year</a>', page)
    assert this_year is not None and this_year.group(1).endswith("&amp;status=all")
    response = mod_client.post(
        f"{REPORTS}?status=all",
        {"action": "resolve", "select_across": "1", "index": "0", "_selected_action": [reports[0].pk]},
    )
    assert response.status_code == 302
    assert MessageReport.objects.filter(status=MessageReport.Status.OPEN).count() == 0
    assert MessageReport.objects.filter(status=MessageReport.Status.DISMISSED).count() == 1


# --- People, read-only ----------------------------------------------------------------------------------------


def test_moderators_may_view_people_and_nothing_more_on_them():
    group = Group.objects.get(name="Moderators")
    user_permissions = set(group.permissions.filter(content_type__app_label="users").values_list("codename", flat=True))
    assert user_permissions == {"view_user"}


def test_the_view_people_migration_is_reversible():
    """Backwards takes *view user* away from the group; forwards gives it back."""
    migration = importlib.import_module("messaging.migrations.0009_moderators_view_people")
    apps = MigrationExecutor(connection).loader.project_state(("messaging", "0009_moderators_view_people")).apps
    schema_editor = SimpleNamespace(connection=connection)
    group = Group.objects.get(name="Moderators")
    migration.stop_moderators_viewing_people(apps, schema_editor)
    assert not group.permissions.filter(codename="view_user").exists()
    assert group.permissions.count() == 5
    migration.let_moderators_view_people(apps, schema_editor)
    assert group.permissions.filter(codename="view_user").exists()


def test_message_page_links_to_its_people_and_a_moderator_views_them_read_only(mod_client, alice, bob):
    alice.email = "alice@example.com"
    alice.save()
    message = MessageFactory(sender=alice, recipient=bob, body="hello")
    page = mod_client.get(f"{MESSAGES}{message.pk}/change/").content.decode()
    assert f'href="/admin/users/user/{alice.pk}/change/"' in page
    assert f'href="/admin/users/user/{bob.pk}/change/"' in page

    response = mod_client.get(f"/admin/users/user/{alice.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode().split('<div id="content"', 1)[1]
    assert "View user" in page
    assert "alice" in page and "Alice Liddell" in page
    # Nothing to edit or submit, no password (not even its summary), no email, no permissions.
    assert not re.search(r"<(input|select|textarea)[^>]*name=\"(?!csrfmiddlewaretoken)", page)
    assert 'name="_save"' not in page
    for hidden in ("password", "pbkdf2", "md5", alice.password, "alice@example.com", "Superuser status", "groups"):
        assert hidden.lower() not in page.lower(), hidden


def test_a_moderator_cannot_change_a_person_or_their_password(mod_client, alice):
    url = f"/admin/users/user/{alice.pk}/change/"
    response = mod_client.post(
        url, {"username": "mallory", "display_name": "x", "is_staff": "on", "is_superuser": "on", "is_active": "on"}
    )
    assert response.status_code == 403
    assert mod_client.get(f"/admin/users/user/{alice.pk}/password/").status_code == 403
    assert (
        mod_client.post(f"/admin/users/user/{alice.pk}/password/", {"password1": "x", "password2": "x"}).status_code
        == 403
    )
    assert mod_client.get("/admin/users/user/add/").status_code == 403
    assert mod_client.get(f"/admin/users/user/{alice.pk}/delete/").status_code == 403
    assert mod_client.get("/admin/auth/group/").status_code == 403
    alice.refresh_from_db()
    assert (alice.username, alice.is_staff, alice.is_superuser) == ("alice", False, False)


def test_the_people_list_shows_moderators_no_email_and_finds_none_by_it(mod_client, alice, bob):
    alice.email = "alice@example.com"
    alice.save()
    response = mod_client.get("/admin/users/user/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "alice@example.com" not in page and "Alice Liddell" in page
    assert mod_client.get("/admin/users/user/?q=example.com").context["cl"].result_count == 0
    assert mod_client.get("/admin/users/user/?q=alice").context["cl"].result_count == 1


@pytest.mark.parametrize(
    "lookup", ["email__startswith=a", "email=alice@example.com", "legacy_password__startswith=$", "password__gt=a"]
)
def test_a_moderator_cannot_filter_people_by_what_they_may_not_see(mod_client, alice, lookup):
    """A filter in the URL would tell a moderator, by its count, one character at a time, what the page hides:
    an email address, a carried password hash. The admin refuses it: a 400, no count."""
    alice.email = "alice@example.com"
    alice.save()
    response = mod_client.get(f"/admin/users/user/?{lookup}")
    assert response.status_code == 400 and "result" not in response.content.decode()


def test_a_moderator_still_filters_people_by_what_they_see(mod_client, alice, bob):
    response = mod_client.get(f"/admin/users/user/?username__startswith={alice.username[:3]}&is_active__exact=1")
    assert response.status_code == 200 and alice.username in response.content.decode()


def test_a_superuser_still_edits_people_with_every_field(client, alice):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get(f"/admin/users/user/{alice.pk}/change/").content.decode()
    assert 'name="email"' in page and 'name="_save"' in page and "Superuser status" in page


# --- Hide and Unhide on a message's page ----------------------------------------------------------------------


def button_form(page):
    """The fields the Hide/Unhide button of a message's page posts, and where to."""
    form = re.search(r'<form method="post" action="([^"]+)" class="moderation-tool">(.*?)</form>', page, re.S)
    assert form is not None, page
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2)))
    label = re.search(r"<button[^>]*>([^<]+)</button>", form.group(2)).group(1)
    return form.group(1), fields, label


def test_hide_button_asks_for_a_reason_then_hides_through_the_service_and_returns_to_the_message(
    mod_client, moderator, alice, bob, carol, monkeypatch
):
    message = MessageFactory(sender=alice, recipient=bob, body="nasty")
    report(message, bob)
    page_url = f"{MESSAGES}{message.pk}/change/"
    action, fields, label = button_form(mod_client.get(page_url).content.decode())
    assert (action, label) == (MESSAGES, "Hide this message…")
    assert "csrfmiddlewaretoken" in fields
    assert fields["action"] == "hide_messages" and fields["_selected_action"] == str(message.pk)

    # The reason page, for this message, with its Cancel back to the message.
    del fields["csrfmiddlewaretoken"]
    reason_page = mod_client.post(action, fields).content.decode()
    assert 'name="reason"' in reason_page and "nasty" in reason_page
    assert f'href="{page_url}" class="button cancel-link"' in reason_page
    assert 'value="Hide this message"' in reason_page
    kept = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', reason_page))
    assert kept["_return_to_message"] == "1"

    calls = []
    real_hide = services.hide_messages
    monkeypatch.setattr(services, "hide_messages", lambda **kwargs: calls.append(kwargs) or real_hide(**kwargs))
    del kept["csrfmiddlewaretoken"]
    response = mod_client.post(action, {**kept, "reason": "abuse", "resolve_reports": "on"}, follow=True)
    assert response.redirect_chain == [(page_url, 302)]
    assert [(c["moderator"], [m.pk for m in c["messages"]], c["reason"]) for c in calls] == [
        (moderator, [message.pk], "abuse")
    ]
    message.refresh_from_db()
    assert (message.hidden_by, message.hidden_reason) == (moderator, "abuse")
    assert MessageReport.objects.get(message=message).status == MessageReport.Status.RESOLVED
    page = response.content.decode()
    assert "1 message(s) hidden, 1 report(s) resolved." in page
    assert button_form(page)[2] == "Unhide this message"


def test_unhide_button_unhides_through_the_service_and_returns_to_the_message(mod_client, moderator, alice, bob):
    message = MessageFactory(sender=alice, recipient=bob, body="fine after all")
    services.hide_messages(moderator=moderator, messages=[message], reason="mistake")
    page_url = f"{MESSAGES}{message.pk}/change/"
    action, fields, label = button_form(mod_client.get(page_url).content.decode())
    assert label == "Unhide this message" and fields["action"] == "unhide_messages"
    del fields["csrfmiddlewaretoken"]
    response = mod_client.post(action, fields, follow=True)
    assert response.redirect_chain == [(page_url, 302)]
    assert "1 message(s) unhidden." in response.content.decode()
    message.refresh_from_db()
    assert message.hidden_at is None
    assert LogEntry.objects.filter(object_id=str(message.pk), action_flag=CHANGE).count() == 1


def test_hide_button_needs_the_csrf_token(client, moderator, alice, bob):
    client.handler.enforce_csrf_checks = True
    client.force_login(moderator)
    message = MessageFactory(sender=alice, recipient=bob)
    response = client.post(
        MESSAGES,
        {
            "action": "hide_messages",
            "_selected_action": [message.pk],
            "apply": "1",
            "reason": "x",
            "_return_to_message": "1",
        },
    )
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.hidden_at is None


def test_no_button_and_no_hiding_without_the_hide_permission(client, alice, bob):
    """Staff who may only view messages see no button, and posting its form hides nothing."""
    viewer = UserFactory(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_message"))
    client.force_login(viewer)
    message = MessageFactory(sender=alice, recipient=bob)
    page = client.get(f"{MESSAGES}{message.pk}/change/").content.decode()
    assert "moderation-tool" not in page
    client.post(
        MESSAGES,
        {
            "action": "hide_messages",
            "_selected_action": [message.pk],
            "apply": "1",
            "reason": "x",
            "_return_to_message": "1",
        },
    )
    message.refresh_from_db()
    assert message.hidden_at is None


@pytest.mark.parametrize(
    "path",
    [INDEX, REPORTS, MESSAGES, "/admin/users/user/"],
)
def test_non_moderators_get_nothing(client, alice, path):
    """A user who is not staff is sent to the login page; staff without permissions get 403 on each list."""
    client.force_login(alice)
    assert client.get(path).status_code == 302
    staff = UserFactory(username="staff", is_staff=True)
    client.force_login(staff)
    response = client.get(path)
    if path == INDEX:
        assert response.status_code == 200 and "index-note" not in response.content.decode()
    else:
        assert response.status_code == 403


def test_a_moderator_cannot_open_another_users_admin_nor_escalate(mod_client, moderator):
    """Viewing people gives no way to give oneself anything."""
    response = mod_client.post(
        f"/admin/users/user/{moderator.pk}/change/",
        {"username": "mod", "is_superuser": "on", "is_staff": "on", "groups": [], "user_permissions": []},
    )
    assert response.status_code == 403
    moderator.refresh_from_db()
    assert not moderator.is_superuser
    assert set(User.objects.get(pk=moderator.pk).get_all_permissions()) == {
        "messaging.view_message",
        "messaging.hide_message",
        "messaging.view_messagereport",
        "messaging.change_messagereport",
        "messaging.view_userblock",
        "users.view_user",
    }
    assert Message.objects.count() == 0
