"""Desktop notifications (notify.js) in a real Chromium, its "notifications" permission granted: asked from
the settings page's button only, a notification for a message that arrives while the tab is hidden (sender,
preview), none for a muted conversation or a visible tab, and a click opens the thread at that message.

The page's `Notification` is a recording stand-in around the browser's own permission (`Notification.permission`
and `requestPermission` are the real ones), and the tab's visibility is set by the test: a headless browser
has no window to hide.
"""

from messaging import services
from messaging.models import Message
from tests.browser import BROWSER_TEST, log_in
from users.tests.factories import UserFactory

pytestmark = BROWSER_TEST

SPY = """
(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", {configurable: true, get: () => hidden ? "hidden" : "visible"});
  Object.defineProperty(Document.prototype, "hidden", {configurable: true, get: () => hidden});
  window.__setHidden = (value) => { hidden = value; document.dispatchEvent(new Event("visibilitychange")); };
  window.__notifications = [];
  window.__permissionRequests = 0;
  const Real = window.Notification;
  class Recorded {
    constructor(title, options) { this.title = title; this.options = options || {}; window.__notifications.push(this); }
    close() { this.closed = true; }
  }
  Object.defineProperty(Recorded, "permission", {get: () => Real.permission});
  Recorded.requestPermission = (...args) => { window.__permissionRequests += 1; return Real.requestPermission(...args); };
  window.Notification = Recorded;
})();
"""


def wait_until(page, condition: str, seconds: float = 10) -> None:
    """Poll `condition` in the page (`wait_for_function` evaluates a string, which the pages' CSP forbids)."""
    for _ in range(int(seconds * 10)):
        if page.evaluate(condition):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"not true after {seconds} s: {condition}")


SHOWN = "window.__notifications.map(n => ({title: n.title, body: n.options.body, tag: n.options.tag}))"


def test_a_message_to_a_hidden_tab_shows_a_notification_that_opens_the_thread_at_it(
    live_server, transactional_db, browser
):
    from playwright.sync_api import expect

    alice = UserFactory(username="alice", display_name="Alice Liddell")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    carol = UserFactory(username="carol", display_name="Carol")
    services.mute_conversation(user=alice, other_id=carol.pk)
    page, problems = browser.open_page(width=1000, height=800, permissions=["notifications"])
    page.add_init_script(SPY)
    log_in(page, live_server, "alice")

    # Nothing is asked on load; the settings page's button asks, once.
    page.goto(f"{live_server.url}/accounts/settings/")
    section = page.locator("[data-desktop-notifications]")
    expect(section).to_contain_text("Off in this browser.")
    assert page.evaluate("window.__permissionRequests") == 0
    section.get_by_role("button", name="Turn on desktop notifications").click()
    expect(section).to_contain_text("On in this browser")
    assert page.evaluate("window.__permissionRequests") == 1

    page.goto(f"{live_server.url}/inbox/")
    page.evaluate("window.__setHidden(true)")
    services.send_message(sender=carol, recipient_id=alice.pk, body="muted: stays silent")
    long_body = "Are you there? " + "The launch moved to Friday. " * 10
    services.send_message(sender=bob, recipient_id=alice.pk, body=long_body)
    message = Message.objects.get(sender=bob)
    wait_until(page, "window.__notifications.length > 0")
    page.wait_for_timeout(500)  # time for a wrong notification (carol's) to show too
    (shown,) = page.evaluate(SHOWN)
    assert shown["title"] == "Bob Builder"
    assert shown["body"].startswith("Are you there? The launch moved to Friday.")
    assert len(shown["body"]) <= 100 and shown["body"].endswith("Friday.…")
    assert shown["tag"] == f"relay-message-{message.pk}"

    # A visible tab shows the message itself: no notification.
    page.evaluate("window.__setHidden(false)")
    services.send_message(sender=bob, recipient_id=alice.pk, body="seen on the page")
    expect(page.locator("a[data-unread]").first).to_contain_text("seen on the page")
    page.wait_for_timeout(300)
    assert len(page.evaluate(SHOWN)) == 1

    # A click opens the thread at that message.
    assert page.evaluate("(() => { const n = window.__notifications[0]; n.onclick(); return n.closed; })()") is True
    page.wait_for_url(f"{live_server.url}/inbox/with/{bob.pk}/?anchor={message.pk}#message-{message.pk}")
    expect(page.locator(f"#message-{message.pk}")).to_be_visible()
    assert problems == []


def test_turned_off_in_the_settings_no_notification_shows(live_server, transactional_db, browser):
    from playwright.sync_api import expect

    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    page, problems = browser.open_page(width=1000, height=800, permissions=["notifications"])
    page.add_init_script(SPY)
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/accounts/settings/")
    section = page.locator("[data-desktop-notifications]")
    section.get_by_role("button", name="Turn on desktop notifications").click()
    section.get_by_role("button", name="Turn off desktop notifications").click()
    expect(section).to_contain_text("Off in this browser.")

    page.evaluate("window.__setHidden(true)")
    services.send_message(sender=bob, recipient_id=alice.pk, body="hello")
    expect(page.locator("nav [data-live-unread]")).to_have_text("1 unread")  # the event arrived
    page.wait_for_timeout(500)
    assert page.evaluate(SHOWN) == []
    assert problems == []
