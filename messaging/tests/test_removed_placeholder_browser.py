"""The placeholder of a message a moderator hid, in a real Chromium at a desktop's and a phone's size (1280x800,
390x844): on its side, in its place, with its time and no body, attachment or actions; the page under its CSP.

Screenshots go to /tmp/removed-*.png (look at them when changing the page).
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import services
from messaging.models import Message
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory
from tests.browser import BROWSER_TEST, chromium, log_in
from users.tests.factories import UserFactory

pytestmark = BROWSER_TEST
expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

SIZES = [(1280, 800), (390, 844)]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_hidden_message_is_a_placeholder_in_its_place(live_server, monkeypatch, transactional_db, width, height):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    alice = UserFactory(username="alice", display_name="Alice Liddell")
    bob = UserFactory(display_name="Bob Builder")
    moderator = UserFactory(username="mod", is_staff=True)
    start = timezone.now() - timedelta(hours=1)
    made = [
        MessageFactory(sender=bob, recipient=alice, body="Are we still on for the zeppelin budget?"),
        AttachmentMessageFactory(sender=bob, recipient=alice, body="something abusive", attachment_name="x.pdf"),
        MessageFactory(sender=alice, recipient=bob, body="an insult of mine"),
        MessageFactory(sender=alice, recipient=bob, body="Yes, Thursday at ten."),
    ]
    for minutes, message in enumerate(made):
        Message.objects.filter(pk=message.pk).update(created_at=start + timedelta(minutes=minutes))
    services.hide_messages(moderator=moderator, messages=made[1:3], reason="abuse")

    with chromium() as browser:
        page, problems = browser.open_page(width=width, height=height)
        log_in(page, live_server, "alice")
        page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")

        ids = page.eval_on_selector_all("[data-message-id]", "els => els.map(e => Number(e.dataset.messageId))")
        assert ids == [m.pk for m in made]
        removed = page.locator(".message.removed")
        expect(removed).to_have_count(2)
        # Each in its side's group (its author named when it starts one), the note in place of the body.
        expect(removed.nth(0)).to_have_class(re.compile(r"\btheirs\b"))
        expect(removed.nth(1)).to_have_class(re.compile(r"\bmine\b"))
        for placeholder in (removed.nth(0), removed.nth(1)):
            expect(placeholder.locator(".removed-note")).to_have_text("Removed by a moderator")
        for placeholder in (removed.nth(0), removed.nth(1)):
            expect(placeholder.locator("time")).to_have_count(1)
            expect(placeholder.locator("a, button, form")).to_have_count(0)
        assert "abusive" not in page.content() and "insult" not in page.content() and "x.pdf" not in page.content()
        # Each on its side: theirs at the left of the thread, mine at the right.
        theirs, mine = (removed.nth(i).bounding_box() for i in (0, 1))
        thread = page.locator("ol.thread").bounding_box()
        assert theirs is not None and mine is not None and thread is not None
        assert abs(theirs["x"] - thread["x"]) < 20
        assert abs((mine["x"] + mine["width"]) - (thread["x"] + thread["width"])) < 20
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        removed.nth(0).scroll_into_view_if_needed()
        page.screenshot(path=f"/tmp/removed-{width}.png")
        assert problems == []
