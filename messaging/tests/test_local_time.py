"""Times on the pages as the reader lives them: in their zone (their setting, else their browser's cookie, else
UTC), "Today"/"Yesterday", the year when it is not this one, the exact moment on hover, and a separator
between a thread's days. The API keeps answering UTC."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging.tests.factories import MessageFactory
from users.models import User
from users.tests.factories import UserFactory
from users.time_zones import BROWSER_TIME_ZONE_COOKIE

pytestmark = pytest.mark.django_db

AUCKLAND = ZoneInfo("Pacific/Auckland")
NEW_YORK = ZoneInfo("America/New_York")
# Carried from the old system: 23:30 on Sunday 30 June 2019 in Auckland (NZST, +12), 11:30 in UTC; and
# 01:30 on Monday 1 July in Auckland, still 30 June (13:30) in UTC.
LATE_2019 = datetime(2019, 6, 30, 11, 30, tzinfo=UTC)
AFTER_MIDNIGHT_2019 = datetime(2019, 6, 30, 13, 30, tzinfo=UTC)


def web_client(user, *, cookie: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if cookie is not None:
        client.cookies[BROWSER_TIME_ZONE_COOKIE] = cookie
    return client


def separators(html: str) -> list[str]:
    return re.findall(r'<li class="day-separator"[^>]*><h2 class="day-label">([^<]*)</h2>', html)


def message_times(html: str) -> list[tuple[str, str, str]]:
    """(datetime, title, shown text) of each message's `<time>` in a thread, wherever the message shows it."""
    messages = html.split('data-message-id="')[1:]
    return [re.search(r'<time datetime="([^"]*)" title="([^"]*)">([^<]*)</time>', part).groups() for part in messages]


def list_times(html: str) -> list[tuple[str, str]]:
    """(title, shown text) of each `<time>` in the inbox or the search results."""
    return re.findall(r'<time datetime="[^"]*" title="([^"]*)">([^<]*)</time>', html)


def local_moment(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


@pytest.fixture
def auckland_reader(alice):
    alice.time_zone = "Pacific/Auckland"
    alice.save(update_fields=["time_zone"])
    return alice


@pytest.fixture
def thread_across_midnights(auckland_reader, bob):
    """Bob and Alice: two carried messages either side of an Auckland midnight in 2019, then two either side
    of Auckland's last midnight."""
    today = datetime.now(AUCKLAND).date()
    moments = [
        LATE_2019,
        AFTER_MIDNIGHT_2019,
        local_moment(today - timedelta(days=1), 23, 55, AUCKLAND),
        local_moment(today, 0, 5, AUCKLAND),  # a few minutes ahead just after midnight: still today
    ]
    for n, moment in enumerate(moments):
        MessageFactory(sender=bob, recipient=auckland_reader, body=f"message {n}", created_at=moment)
    return moments


def test_a_thread_shows_days_and_times_in_the_zone_the_reader_chose(thread_across_midnights, auckland_reader, bob):
    """An Auckland reader: four days, and the hours of Auckland."""
    html = web_client(auckland_reader).get(reverse("messaging-web:thread", args=[bob.pk])).content.decode()
    assert separators(html) == ["June 30, 2019", "July 1, 2019", "Yesterday", "Today"]
    shown = message_times(html)
    assert [text for _, _, text in shown] == ["23:30", "01:30", "23:55", "00:05"]
    # The exact moment, with its year and zone, on hover; `datetime` is ISO.
    assert shown[1][1] == "Monday, July 1, 2019, 01:30 (Pacific/Auckland, UTC+12:00)"
    assert datetime.fromisoformat(shown[1][0]) == AFTER_MIDNIGHT_2019


def test_the_same_thread_in_utc_has_its_day_boundaries_elsewhere(thread_across_midnights, auckland_reader, bob):
    """Bob has no setting and no browser cookie: UTC. Both 2019 messages fall on 30 June, and both of
    Auckland's last-midnight messages on one UTC day."""
    html = web_client(bob).get(reverse("messaging-web:thread", args=[auckland_reader.pk])).content.decode()
    recent = thread_across_midnights[3].astimezone(UTC)
    utc_today = datetime.now(UTC).date()
    expected_recent = "Today" if recent.date() == utc_today else "Yesterday"
    assert separators(html) == ["June 30, 2019", expected_recent]
    shown = message_times(html)
    expected_times = [f"{moment.astimezone(UTC):%H:%M}" for moment in thread_across_midnights]
    assert [text for _, _, text in shown] == expected_times
    assert shown[0][1] == "Sunday, June 30, 2019, 11:30 (UTC)"


def test_a_day_earlier_this_year_is_named_with_its_weekday(auckland_reader, bob):
    today = datetime.now(AUCKLAND).date()
    day = today - timedelta(days=3)
    MessageFactory(
        sender=bob, recipient=auckland_reader, body="three days ago", created_at=local_moment(day, 9, 0, AUCKLAND)
    )
    html = web_client(auckland_reader).get(reverse("messaging-web:thread", args=[bob.pk])).content.decode()
    # In early January, three days ago was last year.
    expected = f"{day:%A}, {day:%B} {day.day}" if day.year == today.year else f"{day:%B} {day.day}, {day.year}"
    assert separators(html) == [expected]


def test_the_inbox_shows_today_yesterday_this_year_and_other_years(auckland_reader, bob, carol):
    """Today's last message by its time, yesterday's as "Yesterday", this year's by its day, a carried one
    from 2019 with its year: each in the reader's days."""
    dave, erin = UserFactory(username="dave"), UserFactory(username="erin")
    today = datetime.now(AUCKLAND).date()
    earlier = today - timedelta(days=3)
    MessageFactory(sender=bob, recipient=auckland_reader, created_at=local_moment(today, 0, 5, AUCKLAND))
    MessageFactory(
        sender=carol, recipient=auckland_reader, created_at=local_moment(today - timedelta(days=1), 23, 55, AUCKLAND)
    )
    MessageFactory(sender=dave, recipient=auckland_reader, created_at=local_moment(earlier, 9, 0, AUCKLAND))
    MessageFactory(sender=erin, recipient=auckland_reader, created_at=AFTER_MIDNIGHT_2019)

    html = web_client(auckland_reader).get(reverse("messaging-web:inbox")).content.decode()
    shown = list_times(html)
    earlier_text = f"{earlier:%b} {earlier.day}" + ("" if earlier.year == today.year else f", {earlier.year}")
    assert [text for _, text in shown] == ["00:05", "Yesterday", earlier_text, "Jul 1, 2019"]
    assert shown[3][0] == "Monday, July 1, 2019, 01:30 (Pacific/Auckland, UTC+12:00)"

    # Erin, in UTC, sees the same carried message on 30 June.
    erin_html = web_client(erin).get(reverse("messaging-web:inbox")).content.decode()
    assert [text for _, text in list_times(erin_html)] == ["Jun 30, 2019"]


def test_search_results_show_the_short_forms(auckland_reader, bob):
    MessageFactory(sender=bob, recipient=auckland_reader, body="the harbour bridge", created_at=AFTER_MIDNIGHT_2019)
    html = web_client(auckland_reader).get(reverse("messaging-web:search"), {"q": "harbour"}).content.decode()
    assert list_times(html) == [("Monday, July 1, 2019, 01:30 (Pacific/Auckland, UTC+12:00)", "Jul 1, 2019")]


def test_without_a_setting_the_browsers_zone_is_used(alice, bob):
    MessageFactory(sender=bob, recipient=alice, created_at=LATE_2019)
    html = web_client(alice, cookie="America/New_York").get(reverse("messaging-web:thread", args=[bob.pk]))
    (shown,) = message_times(html.content.decode())
    assert shown[1:] == ("Sunday, June 30, 2019, 07:30 (America/New_York, UTC-04:00)", "07:30")


def test_the_setting_overrides_the_browsers_zone(auckland_reader, bob):
    MessageFactory(sender=bob, recipient=auckland_reader, created_at=LATE_2019)
    html = web_client(auckland_reader, cookie="America/New_York").get(reverse("messaging-web:thread", args=[bob.pk]))
    (shown,) = message_times(html.content.decode())
    assert shown[2] == "23:30"


@pytest.mark.parametrize(
    "cookie",
    ["Mars/Olympus_Mons", "../../etc/passwd", "Europe/" + "x" * 5000, "", "\x00", "Local", "posixrules"],
)
def test_a_made_up_browser_zone_is_ignored(alice, bob, cookie):
    """UTC, never an error."""
    MessageFactory(sender=bob, recipient=alice, created_at=LATE_2019)
    for path in (reverse("messaging-web:thread", args=[bob.pk]), reverse("messaging-web:inbox")):
        response = web_client(alice, cookie=cookie).get(path)
        assert response.status_code == 200
        assert "Sunday, June 30, 2019, 11:30 (UTC)" in response.content.decode()


def test_a_setting_the_database_no_longer_knows_falls_back_to_the_browser(alice, bob):
    User.objects.filter(pk=alice.pk).update(time_zone="Atlantis/Capital")
    MessageFactory(sender=bob, recipient=alice, created_at=LATE_2019)
    html = web_client(alice, cookie="America/New_York").get(reverse("messaging-web:thread", args=[bob.pk]))
    assert message_times(html.content.decode())[0][2] == "07:30"


def test_the_api_answers_in_utc_whatever_the_readers_zone(auckland_reader, bob):
    """A page session calling the API (as live.js does), with a setting and a browser zone: UTC times."""
    MessageFactory(sender=bob, recipient=auckland_reader, created_at=LATE_2019)
    client = web_client(auckland_reader, cookie="America/New_York")
    (message,) = client.get(f"/api/messages/with/{bob.pk}").json()["results"]
    moment = datetime.fromisoformat(message["created_at"])
    assert moment == LATE_2019 and moment.utcoffset() == timedelta(0)


def test_settings_saves_a_time_zone_and_blank_means_the_browsers(alice):
    client = web_client(alice, cookie="America/New_York")
    page = client.get(reverse("accounts-settings")).content.decode()
    assert 'name="time_zone"' in page and 'list="time-zone-choices"' in page
    assert '<option value="Pacific/Auckland"></option>' in page
    assert "Leave it blank to use your browser's: America/New_York." in page

    form = {"display_name": "", "read_receipts": "on"}
    saved = client.post(reverse("accounts-settings"), {**form, "time_zone": " pacific/auckland "}, follow=True)
    assert saved.status_code == 200 and b"Settings saved." in saved.content
    alice.refresh_from_db()
    assert alice.time_zone == "Pacific/Auckland"  # as the database spells it
    assert 'value="Pacific/Auckland"' in client.get(reverse("accounts-settings")).content.decode()

    client.post(reverse("accounts-settings"), {**form, "time_zone": ""})
    alice.refresh_from_db()
    assert alice.time_zone == ""


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Auckland", "Europe/" + "x" * 100])
def test_settings_refuses_a_zone_that_does_not_exist(alice, zone):
    alice.time_zone = "Europe/Paris"
    alice.save(update_fields=["time_zone"])
    client = web_client(alice)
    response = client.post(reverse("accounts-settings"), {"display_name": "", "read_receipts": "on", "time_zone": zone})
    assert response.status_code == 400
    errors = " ".join(response.context["form"].errors["time_zone"])
    assert "is not a time zone" in errors or "at most 64 characters" in errors, errors
    assert "is not a time zone" in response.content.decode() or "at most 64" in response.content.decode()
    alice.refresh_from_db()
    assert alice.time_zone == "Europe/Paris"


@pytest.mark.parametrize("page", ["inbox", "thread"])
def test_the_readers_zone_costs_no_query(auckland_reader, bob, page):
    """The zone comes from the user the page loads anyway and from a cookie: a reader with a setting and a
    browser zone costs the queries of a reader in UTC."""
    for moment in (LATE_2019, AFTER_MIDNIGHT_2019):
        MessageFactory(sender=bob, recipient=auckland_reader, created_at=moment)
    counts = []
    for reader, partner, cookie in ((auckland_reader, bob, "America/New_York"), (bob, auckland_reader, None)):
        path = reverse("messaging-web:inbox") if page == "inbox" else reverse("messaging-web:thread", args=[partner.pk])
        client = web_client(reader, cookie=cookie)
        client.get(path)  # a first visit may write (a thread is marked read)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_a_zone_by_its_old_name_and_a_half_hour_offset(alice, bob):
    """Chromium reports some zones by their old names (Asia/Calcutta, not Asia/Kolkata): they are zones too."""
    MessageFactory(sender=bob, recipient=alice, created_at=LATE_2019)
    html = web_client(alice, cookie="Asia/Calcutta").get(reverse("messaging-web:thread", args=[bob.pk]))
    (shown,) = message_times(html.content.decode())
    assert shown == ("2019-06-30T17:00:00+05:30", "Sunday, June 30, 2019, 17:00 (Asia/Calcutta, UTC+05:30)", "17:00")
