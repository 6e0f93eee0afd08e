"""Read only what is seen, in a real Chromium with a live server and the event stream: a thread open in a page
nobody looks at (hidden, or without focus) leaves new messages unread, and reads them as soon as the page is
visible and focused; "Mark as unread" puts the conversation back in the badge.

Headless Chromium reports every page visible and focused whatever is in front, so the test tells the page
what the browser would: it overrides `document.visibilityState` and `document.hasFocus()` and sends the
events a browser sends (`visibilitychange`, `blur`, `focus`), which is what live.js listens to and reads.
"""

import time

import pytest

from messaging import services
from messaging.models import Message
from messaging.tests.factories import MessageFactory
from tests.browser import BROWSER_TEST, log_in
from users.tests.factories import UserFactory

pytestmark = BROWSER_TEST

SIZES = [pytest.param(1280, 800, id="desktop"), pytest.param(390, 844, id="phone")]

# What the browser says of a page behind another tab or window, then in front again.
LOOK_AWAY = """() => {
  window.__seen = false;
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => window.__seen ? "visible" : "hidden" });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => !window.__seen });
  document.hasFocus = () => window.__seen;
  document.dispatchEvent(new Event("visibilitychange"));
  window.dispatchEvent(new Event("blur"));
}"""
LOOK_BACK = """() => {
  window.__seen = true;
  document.dispatchEvent(new Event("visibilitychange"));
  window.dispatchEvent(new Event("focus"));
}"""
NO_RELOAD = "window.__still_this_page = true"
SAME_PAGE = "window.__still_this_page === true"


def read_at(message):
    return Message.objects.get(pk=message.pk).read_at


def wait_until(page, condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(100)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_thread_nobody_looks_at_leaves_new_messages_unread_until_it_is_seen(
    live_server, transactional_db, browser, width, height
):
    from playwright.sync_api import expect

    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    MessageFactory(sender=bob, recipient=alice, body="Hello")
    page, problems = browser.open_page(width=width, height=height)
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")  # opening it reads it
    expect(page).to_have_title("Bob Builder · Relay")
    page.evaluate(NO_RELOAD)

    page.evaluate(LOOK_AWAY)
    message = services.send_message(sender=bob, recipient_id=alice.pk, body="Are you there?")
    expect(page.locator(f"#message-{message.pk} .body")).to_have_text("Are you there?")  # the thread is live...
    expect(page).to_have_title("(1) Bob Builder · Relay")  # ...and the badge counts it
    expect(page.locator("nav [data-live-unread]")).to_have_text("1 unread")
    page.wait_for_timeout(1500)  # the old page read it within half a second
    assert read_at(message) is None
    page.screenshot(path=f"/tmp/reading-unseen-{width}.png")

    page.evaluate(LOOK_BACK)
    wait_until(page, lambda: read_at(message) is not None)
    expect(page).to_have_title("Bob Builder · Relay")
    expect(page.locator("nav [data-live-unread]")).to_be_hidden()
    expect(page.locator(f"#message-{message.pk}")).not_to_have_attribute("data-unread-message", "")

    # While it is seen, a new message is read as it arrives; the page was never reloaded.
    second = services.send_message(sender=bob, recipient_id=alice.pk, body="Good, you are here")
    expect(page.locator(f"#message-{second.pk} .body")).to_have_text("Good, you are here")
    wait_until(page, lambda: read_at(second) is not None)
    assert page.evaluate(SAME_PAGE)
    page.screenshot(path=f"/tmp/reading-seen-{width}.png")
    assert problems == []


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_page_visible_but_without_focus_reads_nothing(live_server, transactional_db, browser, width, height):
    """Visible is not enough: a window beside the one the reader works in, visible, without focus."""
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    page, problems = browser.open_page(width=width, height=height)
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")
    page.evaluate("""() => {
      document.hasFocus = () => window.__focused === true;
      window.dispatchEvent(new Event("blur"));
    }""")
    message = services.send_message(sender=bob, recipient_id=alice.pk, body="Psst")
    page.locator(f"#message-{message.pk}").wait_for()
    page.wait_for_timeout(1500)
    assert read_at(message) is None
    page.evaluate("() => { window.__focused = true; window.dispatchEvent(new Event('focus')); }")
    wait_until(page, lambda: read_at(message) is not None)
    assert problems == []


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_mark_as_unread_puts_the_conversation_back_in_the_badge(live_server, transactional_db, browser, width, height):
    from playwright.sync_api import expect

    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    first = MessageFactory(sender=bob, recipient=alice, body="Lunch on Friday?")
    MessageFactory(sender=alice, recipient=bob, body="Sure")
    last = MessageFactory(sender=bob, recipient=alice, body="Noon, then")
    page, problems = browser.open_page(width=width, height=height)
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")
    expect(page).to_have_title("Bob Builder · Relay")
    assert read_at(first) is not None and read_at(last) is not None

    mark = page.locator(f"#message-{first.pk}").get_by_role("button", name="Mark as unread")
    menu = page.locator(f"#message-{first.pk} details > summary")  # the message's actions may sit in a menu
    if menu.count() and not mark.is_visible():
        menu.first.click()
    page.screenshot(path=f"/tmp/reading-mark-unread-{width}.png")
    mark.click()
    page.wait_for_url(f"{live_server.url}/inbox/")
    expect(page).to_have_title("(2) Inbox · Relay")
    expect(page.locator("nav [data-live-unread]")).to_have_text("2 unread")
    expect(page.locator(f'a[href="/inbox/with/{bob.pk}/"]')).to_have_attribute("data-unread", "2")
    expect(page.locator(".notice")).to_contain_text("Marked unread")
    page.screenshot(path=f"/tmp/reading-after-unread-{width}.png")
    # The thread it came from read nothing again on its way out.
    page.wait_for_timeout(1500)
    assert read_at(first) is None and read_at(last) is None
    expect(page.locator("nav [data-live-unread]")).to_have_text("2 unread")

    # Opening the conversation again is reading it.
    page.locator(f'a[href="/inbox/with/{bob.pk}/"]').click()
    page.wait_for_url(f"**/inbox/with/{bob.pk}/")
    expect(page).to_have_title("Bob Builder · Relay")
    assert read_at(first) is not None and read_at(last) is not None
    assert problems == []


def test_another_tab_in_the_background_does_not_read_what_was_marked_unread(live_server, transactional_db, browser):
    """Two tabs of one reader on the same thread: "Mark as unread" in one leaves the other, behind it, showing
    the messages unread; it reads them when the reader comes back to it."""
    from playwright.sync_api import expect

    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    message = MessageFactory(sender=bob, recipient=alice, body="Read me later")
    front, problems = browser.open_page(width=1280, height=800)
    log_in(front, live_server, "alice")
    behind = front.context.new_page()
    for tab in (front, behind):
        tab.goto(f"{live_server.url}/inbox/with/{bob.pk}/")
    behind.evaluate(LOOK_AWAY)

    mark = front.locator(f"#message-{message.pk}").get_by_role("button", name="Mark as unread")
    menu = front.locator(f"#message-{message.pk} details > summary")
    if menu.count() and not mark.is_visible():
        menu.first.click()
    mark.click()
    front.wait_for_url(f"{live_server.url}/inbox/")
    expect(behind.locator(f"#message-{message.pk}")).to_have_attribute("data-unread-message", "")
    expect(behind).to_have_title("(1) Bob Builder · Relay")
    behind.wait_for_timeout(1000)
    assert read_at(message) is None

    behind.evaluate(LOOK_BACK)
    wait_until(behind, lambda: read_at(message) is not None)
    expect(front).to_have_title("Inbox · Relay")
    assert problems == []
