"""Times in the reader's zone in a real Chromium whose time zone is New York (Playwright's `timezone_id`), at a
desk's and a phone's size: the browser's zone without any setting, and the Settings' zone over it.

Screenshots go to /tmp/time-*.png.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from messaging.tests.factories import MessageFactory
from tests.browser import BROWSER_TEST
from users.tests.factories import DEFAULT_PASSWORD, UserFactory
from users.time_zones import BROWSER_TIME_ZONE_COOKIE

pytestmark = BROWSER_TEST

SIZES = [pytest.param(1280, 800, id="desk"), pytest.param(390, 844, id="phone")]
BROWSER_ZONE = "America/New_York"
# 07:30 and 09:30 on Sunday 30 June 2019 in New York (EDT); 23:30 that day and 01:30 on Monday 1 July in
# Auckland (NZST).
CARRIED = [datetime(2019, 6, 30, 11, 30, tzinfo=UTC), datetime(2019, 6, 30, 13, 30, tzinfo=UTC)]


@pytest.fixture
def conversation(transactional_db):
    """Alice and Bob: two messages carried from 2019, and one Bob sent an hour ago; Carol wrote once, in 2019."""
    alice = UserFactory(username="alice", display_name="Alice Liddell")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    carol = UserFactory(username="carol", display_name="Carol")
    MessageFactory(sender=carol, recipient=alice, body="See you at the conference!", created_at=CARRIED[0])
    MessageFactory(sender=bob, recipient=alice, body="Are you up? It is late here.", created_at=CARRIED[0])
    MessageFactory(sender=alice, recipient=bob, body="Just woke up, what is it?", created_at=CARRIED[1])
    recent = datetime.now(UTC) - timedelta(hours=1)
    MessageFactory(sender=bob, recipient=alice, body="Lunch on Friday?", created_at=recent)
    return alice, bob, recent


def log_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/inbox/")


def thread_view(page) -> tuple[list[str], list[str], list[str]]:
    """The separators, the messages' shown times and their hover titles."""
    times = page.locator("[data-message-id] time[title]")  # wherever the message shows its time
    return (
        page.locator(".day-separator").all_inner_texts(),
        times.all_inner_texts(),
        [times.nth(i).get_attribute("title") for i in range(times.count())],
    )


def recent_label(recent: datetime, zone: str) -> tuple[str, str]:
    """What a list and a separator call the recent message in `zone` (an hour ago may be yesterday)."""
    local = recent.astimezone(ZoneInfo(zone))
    today = datetime.now(ZoneInfo(zone)).date() == local.date()
    return (f"{local:%H:%M}" if today else "Yesterday"), ("Today" if today else "Yesterday")


@pytest.mark.parametrize("width, height", SIZES)
def test_the_browsers_time_zone_is_used_without_a_setting(live_server, conversation, browser, width, height):
    """The login page tells the server the browser's zone: the first page after logging in is already in it."""
    alice, bob, recent = conversation
    page, problems = browser.open_page(width=width, height=height, timezone_id=BROWSER_ZONE)
    log_in(page, live_server)
    assert {c["name"]: c["value"] for c in page.context.cookies()}[BROWSER_TIME_ZONE_COOKIE] == BROWSER_ZONE

    row_time = page.locator(f'a[href="/inbox/with/{bob.pk}/"] time')
    listed, day = recent_label(recent, BROWSER_ZONE)
    assert row_time.inner_text() == listed
    assert row_time.get_attribute("title").endswith(f"({BROWSER_ZONE}, UTC-05:00)") or row_time.get_attribute(
        "title"
    ).endswith(f"({BROWSER_ZONE}, UTC-04:00)")
    assert page.locator("a[data-unread] time").all_inner_texts() == [listed, "Jun 30, 2019"]
    page.screenshot(path=f"/tmp/time-inbox-browser-zone-{width}.png", full_page=True)

    page.locator(f'a[href="/inbox/with/{bob.pk}/"]').click()
    page.wait_for_url(f"**/inbox/with/{bob.pk}/")
    separators, shown, titles = thread_view(page)
    assert separators == ["June 30, 2019", day]
    assert shown[:2] == ["07:30", "09:30"]
    assert titles[0] == "Sunday, June 30, 2019, 07:30 (America/New_York, UTC-04:00)"
    page.screenshot(path=f"/tmp/time-thread-browser-zone-{width}.png", full_page=True)

    page.get_by_role("link", name="Search").first.click()
    page.get_by_label("Search").first.fill("woke")
    page.get_by_role("button", name="Search").click()
    hit = page.locator(".results time")
    assert hit.inner_text() == "Jun 30, 2019"
    assert page.evaluate("new Date(document.querySelector('.results time').dateTime).toISOString()") == (
        "2019-06-30T13:30:00.000Z"
    )
    assert problems == []


@pytest.mark.parametrize("width, height", SIZES)
def test_the_time_zone_setting_overrides_the_browsers(live_server, conversation, browser, width, height):
    alice, bob, recent = conversation
    page, problems = browser.open_page(width=width, height=height, timezone_id=BROWSER_ZONE)
    log_in(page, live_server)

    page.get_by_role("link", name="Settings").click()
    field = page.get_by_label("Time zone")
    assert field.input_value() == ""
    assert "Leave it blank to use your browser's: America/New_York." in page.locator("form.stacked").inner_text()
    field.fill("Pacific/Auckland")
    page.screenshot(path=f"/tmp/time-settings-{width}.png", full_page=True)
    page.get_by_role("button", name="Save").click()
    assert "Settings saved." in page.locator(".notices").inner_text()
    assert page.get_by_label("Time zone").input_value() == "Pacific/Auckland"
    alice.refresh_from_db()
    assert alice.time_zone == "Pacific/Auckland"

    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")
    separators, shown, titles = thread_view(page)
    _, day = recent_label(recent, "Pacific/Auckland")
    assert separators == ["June 30, 2019", "July 1, 2019", day]
    assert shown[:2] == ["23:30", "01:30"]
    assert titles[1] == "Monday, July 1, 2019, 01:30 (Pacific/Auckland, UTC+12:00)"
    page.screenshot(path=f"/tmp/time-thread-setting-{width}.png", full_page=True)
    assert problems == []

    # An unknown zone is refused on the field (a 400, which the browser logs), and the saved one stays.
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Time zone").fill("Mars/Olympus_Mons")
    page.get_by_role("button", name="Save").click()
    assert "is not a time zone" in page.locator("form.stacked").inner_text()
    page.screenshot(path=f"/tmp/time-settings-refused-{width}.png", full_page=True)
    alice.refresh_from_db()
    assert alice.time_zone == "Pacific/Auckland"
    assert problems == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
