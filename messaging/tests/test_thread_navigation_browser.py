"""The thread page in a real Chromium at a desktop's and a phone's size (1280x800, 390x844): a long thread opens
at its newest message with the composer in view, "Load older" keeps what the reader sees in place, a search hit
opens its old message, the first unread message is a jump away, an empty send shows its error at the composer,
and "Delete for me" comes back where the message was.

Screenshots go to /tmp/anchor-*.png (look at them when changing the page).
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.models import Message
from messaging.tests.factories import MessageFactory
from tests.browser import BROWSER_TEST, chromium
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = BROWSER_TEST
expect = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed").expect

SIZES = [(1280, 800), (390, 844)]


@pytest.fixture
def pages(monkeypatch, transactional_db):
    """One Chromium; `open(width, height)` logs alice in on a fresh page of that size and gives it with the
    list of problems the browser reports (CSP violations, script errors, 5xx), which fail the test unless
    the test expects them."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    opened = []
    with chromium() as browser:

        def open_page(live_server, width, height):
            page, problems = browser.open_page(width=width, height=height)
            opened.append(problems)
            page.goto(f"{live_server.url}/accounts/login/")
            page.get_by_label("Username").fill("alice")
            page.get_by_label("Password").fill(DEFAULT_PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url(f"{live_server.url}/inbox/")
            return page, problems

        yield open_page
    assert all(problems == [] for problems in opened), opened


@pytest.fixture
def alice(transactional_db):
    return UserFactory(username="alice", display_name="Alice Liddell")


def long_thread(alice, n=45, *, read=0):
    """A new person and `n` messages with alice, a minute apart, theirs at even positions; the first `read`
    of them read."""
    bob = UserFactory(display_name="Bob Builder")
    start = timezone.now() - timedelta(days=2)
    made = [
        MessageFactory(
            sender=bob if i % 2 == 0 else alice,
            recipient=alice if i % 2 == 0 else bob,
            body=f"Message number {i} " + "about the zeppelin budget " * (i % 4),
            created_at=start + timedelta(minutes=i),
        )
        for i in range(n)
    ]
    Message.objects.filter(pk__in=[m.pk for m in made[:read]]).update(read_at=timezone.now())
    return bob, made


def box(page, selector):
    """An element's top and bottom on the screen."""
    return page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect(); return [r.top, r.bottom]; }")


def on_screen(page, selector):
    top, bottom = box(page, selector)
    return top >= 0 and bottom <= page.viewport_size["height"]


def settles(condition, seconds=3.0):
    """Whether `condition()` holds, asked until it does for up to `seconds` (the page's live refresh, which
    opening the thread starts, may be under way)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def above_the_composer(page, selector):
    """Wholly on the screen, and not under the composer pinned at the bottom."""
    top, bottom = box(page, selector)
    return top >= 0 and bottom <= box(page, "#reply")[0] + 1


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_long_thread_opens_at_the_newest_message_and_loads_older_in_place(live_server, pages, alice, width, height):
    bob, made = long_thread(alice, read=45)
    page, problems = pages(live_server, width, height)
    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")
    newest = f"#message-{made[-1].pk}"
    assert above_the_composer(page, newest)
    assert on_screen(page, "#reply") and on_screen(page, "#id_body")
    page.screenshot(path=f"/tmp/anchor-open-{width}.png")
    assert page.locator("[data-message-id]").count() == 31

    # Up to the top: "Load older" adds the 14 older messages above, and the message that was first stays put.
    page.evaluate("window.scrollTo(0, 0)")
    first = f"#message-{made[14].pk}"
    was = box(page, first)[0]
    page.get_by_role("link", name="Load older messages").click()
    expect(page.locator("[data-message-id]")).to_have_count(45)
    assert abs(box(page, first)[0] - was) <= 1
    assert page.get_by_role("link", name="Load older messages").count() == 0  # the oldest is shown
    assert page.url == f"{live_server.url}/inbox/with/{bob.pk}/"  # no reload
    ids = page.eval_on_selector_all("[data-message-id]", "els => els.map(e => Number(e.dataset.messageId))")
    assert ids == [m.pk for m in made]
    page.screenshot(path=f"/tmp/anchor-older-{width}.png")
    # The composer is pinned: still at the bottom of the screen, up here at the top of the thread.
    assert on_screen(page, "#reply") and box(page, "#reply")[1] >= height - 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_search_hit_opens_its_old_message(live_server, pages, alice, width, height):
    bob, made = long_thread(alice, read=45)
    Message.objects.filter(pk=made[3].pk).update(body="The blimp hangar lease ends in May.")
    page, problems = pages(live_server, width, height)
    page.goto(f"{live_server.url}/inbox/search/?q=hangar")
    page.locator(f'[data-message-id="{made[3].pk}"] a').click()
    page.wait_for_url(f"**/inbox/with/{bob.pk}/?anchor={made[3].pk}#message-{made[3].pk}")
    hit = f"#message-{made[3].pk}"
    assert on_screen(page, hit) and above_the_composer(page, hit)
    assert page.eval_on_selector(hit, "e => getComputedStyle(e).outlineStyle") == "solid"  # highlighted
    page.screenshot(path=f"/tmp/anchor-search-{width}.png")
    # Newer messages are a click away, loaded below without a reload.
    page.get_by_role("link", name="Load newer messages").click()
    expect(page.locator(f"#message-{made[-1].pk}")).to_have_count(1)
    assert page.get_by_role("link", name="Load newer messages").count() == 0


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_first_unread_message_is_marked_and_a_jump_away(live_server, pages, alice, width, height):
    bob, made = long_thread(alice, read=20)  # bob's first unread message: 20, in the page, off the screen
    page, problems = pages(live_server, width, height)
    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")
    jump = page.get_by_role("link", name="Jump to first unread")
    expect(jump).to_be_visible()
    assert settles(lambda: not on_screen(page, "#first-unread"))
    page.screenshot(path=f"/tmp/anchor-unread-{width}.png")
    jump.click()
    expect(page.locator("[data-jump-unread]")).to_be_hidden()
    assert on_screen(page, "#first-unread") and on_screen(page, f"#message-{made[20].pk}")
    # The line sits right before bob's first unread message.
    following = page.eval_on_selector("#first-unread", "e => e.nextElementSibling.id")
    assert following == f"message-{made[20].pk}"
    page.screenshot(path=f"/tmp/anchor-unread-jumped-{width}.png")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_an_empty_send_shows_its_error_at_the_composer(live_server, pages, alice, width, height):
    bob, made = long_thread(alice, read=45)
    page, problems = pages(live_server, width, height)
    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")
    page.get_by_role("button", name="Send").click()
    error = page.get_by_text("A message needs a body or an attachment.")
    error.wait_for()
    # composer.js refuses it before it is sent (nothing reaches the server); without it the server's 400 comes
    # back with the same text at the same place (test_thread_navigation.py).
    assert error.is_visible()
    top, bottom = error.evaluate("e => { const r = e.getBoundingClientRect(); return [r.top, r.bottom]; }")
    assert top >= 0 and bottom <= height
    assert page.evaluate("document.activeElement.id") == "id_body"
    assert above_the_composer(page, f"#message-{made[-1].pk}")
    page.screenshot(path=f"/tmp/anchor-error-{width}.png")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_delete_for_me_comes_back_where_the_message_was(live_server, pages, alice, width, height):
    bob, made = long_thread(alice, read=45)
    page, problems = pages(live_server, width, height)
    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")
    doomed = page.locator(f"#message-{made[25].pk}")
    doomed.scroll_into_view_if_needed()
    doomed.locator(".message-menu > summary").click()
    doomed.get_by_role("button", name="Delete for me").click()
    page.wait_for_url(f"**/inbox/with/{bob.pk}/?anchor={made[26].pk}#message-{made[26].pk}")
    assert page.locator(f"#message-{made[25].pk}").count() == 0
    assert on_screen(page, f"#message-{made[26].pk}") and above_the_composer(page, f"#message-{made[26].pk}")
    page.screenshot(path=f"/tmp/anchor-deleted-{width}.png")
    assert Message.objects.get(pk=made[25].pk).sender_deleted_at is not None  # alice sent it
