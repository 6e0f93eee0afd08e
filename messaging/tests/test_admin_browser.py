"""The moderators' message list in a real Chromium at 1280 px: everything fits, nothing scrolls sideways.

Skipped when /usr/bin/chromium is missing. The screenshot is kept in artifacts/admin-messages.png.
"""

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from messaging.models import MessageReport
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from tests.browser import BROWSER_TEST, chromium_page
from tests.helpers import restore_moderators_group
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = BROWSER_TEST

LONG_BODY = (
    "A long message that goes on and on about the launch plan, the budget, the zeppelins and the lunch "
    "on Friday, with a-very-long-unbroken-word-that-could-push-the-table-wider-than-the-screen-if-nothing-stops-it."
)


@pytest.fixture
def moderator(transactional_db):
    restore_moderators_group()
    user = UserFactory(username="moderator", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def test_message_list_fits_a_1280_px_screen(live_server, moderator, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    alice = UserFactory(username="alice", display_name="Alice Liddell")
    someone = UserFactory(username="a-person-with-a-rather-long-username-indeed")
    reported = MessageFactory(sender=someone, recipient=alice, body=LONG_BODY)
    MessageReport.objects.create(message=reported, reporter=alice, reason="spam")
    AttachmentMessageFactory(sender=alice, recipient=someone, body="See the attached plan.")
    for i in range(8):
        MessageFactory(sender=alice, recipient=someone, body=f"Short note {i}")

    artifacts = Path(settings.BASE_DIR) / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with chromium_page(width=1280, height=800) as (page, problems):
        page.goto(f"{live_server.url}/admin/login/?next=/admin/messaging/message/")
        page.get_by_label("Username").fill("moderator")
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/admin/messaging/message/")
        assert "Relay moderation console" in page.locator("#site-name").inner_text()
        headers = page.locator("#result_list thead th").all_inner_texts()
        assert [h.strip().upper() for h in headers[1:]] == [
            "BODY",
            "SENDER",
            "RECIPIENT",
            "SENT",
            "REPORTS",
            "HIDDEN",
            "UNSENT",
        ]
        page.screenshot(path=artifacts / "admin-messages.png", full_page=True)
        # Neither the page nor the list's own scrolling box (Django's `.results`) is wider than the screen.
        for element in ("document.documentElement", "document.querySelector('#changelist .results')"):
            scroll_width, client_width = page.evaluate(f"[{element}.scrollWidth, {element}.clientWidth]")
            assert scroll_width <= client_width, (element, scroll_width, client_width)
        # No cell's text runs over its neighbours (a long username wraps inside its column).
        overflowing = page.evaluate(
            "[...document.querySelectorAll('#result_list td, #result_list th')]"
            ".filter(cell => cell.scrollWidth > cell.clientWidth).map(cell => cell.className)"
        )
        assert overflowing == []
        # Every column is on screen, the last one included.
        right = page.evaluate(
            "document.querySelector('#result_list thead th:last-child').getBoundingClientRect().right"
        )
        assert right <= 1280
        # The long body is cut to an excerpt; the whole body is on the message's page.
        assert LONG_BODY not in page.locator("#result_list").inner_text()
    assert problems == []
