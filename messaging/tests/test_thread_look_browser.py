"""How a thread looks and behaves in a real Chromium, on a laptop (1280x800) and a phone (390x844): grouped
messages with avatars, clickable links, image previews loaded under the pages' CSP, the menus of each message
and of the header (with and without JavaScript), and a header that takes one line.

Screenshots go to /tmp/bubbles-*.png (not kept in the repository).
"""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import services
from messaging.models import ConversationMute, Message, UserBlock
from messaging.tests.factories import MessageFactory
from messaging.tests.test_thread_look import png
from tests.browser import BROWSER_TEST, log_in
from users.tests.factories import UserFactory

pytestmark = BROWSER_TEST

SIZES = [pytest.param((1280, 800), id="laptop"), pytest.param((390, 844), id="phone")]


@pytest.fixture
def thread(transactional_db):
    """Alice and Bob Builder: a group of three of Bob's, two of Alice's, one with a link, one with an image."""
    alice = UserFactory(username="alice", display_name="Alice Liddell")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    start = (timezone.now() - timedelta(hours=2)).replace(
        minute=0, second=0, microsecond=0
    )  # the messages below share a day
    for i, body in enumerate(["Morning!", "Did you see the plan?", "It is long, sorry."]):
        MessageFactory(sender=bob, recipient=alice, body=body, created_at=start + timedelta(minutes=i))
    MessageFactory(sender=alice, recipient=bob, body="Not yet.", created_at=start + timedelta(minutes=10))
    MessageFactory(
        sender=alice,
        recipient=bob,
        body='Is it this one? https://example.com/plan?v=2. <script>alert("x")</script>',
        created_at=start + timedelta(minutes=11),
    )
    image = services.send_message(
        sender=bob,
        recipient_id=alice.pk,
        body="Here is the site.",
        attachment=services.AttachmentInput(name="site.png", content_type="image/png", data=png(320, 200)),
    )
    return alice, bob, image


def box(locator) -> dict:
    """Where an element is on the screen. live.js may put a fresh copy of the thread in place between
    finding the element and measuring it: then the copy is measured."""
    for _ in range(20):
        found = locator.bounding_box()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{locator} is not on the screen")


@pytest.mark.parametrize("size", SIZES)
def test_a_thread_shows_groups_avatars_links_and_image_previews(live_server, browser, thread, size):
    from playwright.sync_api import expect

    alice, bob, image = thread
    width, height = size
    page, problems = browser.open_page(width=width, height=height)
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")

    # Groups: Bob's three messages, then Alice's two, then Bob's image an hour later... well, minutes later.
    messages = page.locator("li.message")
    expect(messages).to_have_count(6)
    assert page.locator("li.message.continued").count() == 3
    authors = page.locator("li.message .author").all_inner_texts()
    assert authors == ["Bob Builder", "You", "Bob Builder"]
    # The avatar of the first of a group: a round circle with the initials, coloured by a class.
    avatar = messages.first.locator(".avatar")
    assert avatar.inner_text() == "BB"
    assert page.evaluate("getComputedStyle(document.querySelector('li.message .avatar')).borderRadius") == "50%"
    assert page.evaluate("getComputedStyle(document.querySelector('li.message .avatar')).backgroundColor") != (
        "rgba(0, 0, 0, 0)"
    )
    # A continued message sits closer to the one above than a new group does.
    # (Measured in one go: live.js may put a fresh copy of the thread in place between two calls.)
    gap_in_group, gap_between = page.evaluate(
        """() => {
            const boxes = [...document.querySelectorAll("li.message")].map(li => li.getBoundingClientRect());
            return [boxes[1].top - boxes[0].bottom, boxes[3].top - boxes[2].bottom];
        }"""
    )
    assert 0 <= gap_in_group < gap_between

    # The link: clickable, safe, the markup around it shown as text.
    link = page.get_by_role("link", name="https://example.com/plan?v=2")
    expect(link).to_be_visible()
    assert link.get_attribute("rel") == "noopener noreferrer nofollow" and link.get_attribute("target") == "_blank"
    assert link.get_attribute("href") == "https://example.com/plan?v=2"
    assert '<script>alert("x")</script>' in messages.nth(4).locator(".body").inner_text()

    # The image preview loads under the page's CSP, from its own URL, within its bubble.
    preview = page.locator(f"#message-{image.pk} .image-preview img")
    preview.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 320 && img.naturalHeight === 200", arg=preview.element_handle()
    )
    bubble = box(page.locator(f"#message-{image.pk}"))
    shown = box(preview)
    assert shown["width"] <= bubble["width"] and shown["height"] <= 170
    assert page.locator(f"#message-{image.pk}").get_by_role("link", name="site.png", exact=True).is_visible()
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=f"/tmp/bubbles-thread-{width}.png", full_page=True)
    assert problems == []


@pytest.mark.parametrize("size", SIZES)
def test_the_header_takes_one_line_and_its_menu_mutes_and_blocks(live_server, browser, thread, size):
    from playwright.sync_api import expect

    alice, bob, _ = thread
    width, height = size
    page, problems = browser.open_page(width=width, height=height)
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")

    head = page.locator(".thread-head")
    heading = page.get_by_role("heading", level=1, name="Conversation with Bob Builder")
    expect(heading).to_be_visible()
    summary = page.locator(".page-menu > summary")
    # One line: the avatar, the name and the menu button side by side, the header no taller than its button
    # and its margins; the three actions are not shown until the menu opens.
    assert box(head)["height"] <= 48
    assert abs(box(heading)["y"] + box(heading)["height"] / 2 - (box(summary)["y"] + box(summary)["height"] / 2)) < 6
    assert box(summary)["x"] + box(summary)["width"] <= width
    expect(page.get_by_role("button", name="Mute")).to_be_hidden()
    page.screenshot(path=f"/tmp/bubbles-head-{width}.png")

    summary.click()
    menu = page.locator(".page-menu .menu-items")
    expect(menu).to_be_visible()
    assert box(menu)["x"] >= 0 and box(menu)["x"] + box(menu)["width"] <= width
    expect(page.get_by_role("link", name="Delete conversation")).to_be_visible()
    page.screenshot(path=f"/tmp/bubbles-head-menu-{width}.png")
    page.get_by_role("button", name="Mute").click()
    page.wait_for_url(f"{live_server.url}/inbox/with/{bob.pk}/*")  # back around its neighbour
    expect(page.locator(".notices")).to_contain_text("You muted Bob Builder")
    assert ConversationMute.objects.filter(user=alice, partner=bob).exists()

    page.locator(".page-menu > summary").click()
    page.get_by_role("button", name="Block Bob Builder").click()
    page.wait_for_url(f"{live_server.url}/inbox/with/{bob.pk}/*")  # back around its neighbour
    expect(page.locator(".notices")).to_contain_text("You blocked Bob Builder")
    assert UserBlock.objects.filter(blocker=alice, blocked=bob).exists()
    page.locator(".page-menu > summary").click()
    expect(page.get_by_role("button", name="Unblock Bob Builder")).to_be_visible()
    expect(page.get_by_role("button", name="Unmute")).to_be_visible()
    assert problems == []


def test_a_menu_clicked_as_a_fresh_copy_of_the_thread_lands_opens_in_the_copy(live_server, browser, thread):
    """A click opens a menu, then its `toggle` event comes: a fresh copy of the thread (live.js) put in place in
    between took the menu out of the document before this event could say it opened, and the copy stayed
    closed (the menu test below failed so once in CI, a refresh landing on its click). Fails on 9e78827."""
    from playwright.sync_api import expect

    alice, bob, _ = thread
    page, problems = browser.open_page(width=1280, height=800)
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")
    first = Message.objects.order_by("created_at").first()
    page.wait_for_load_state("networkidle")
    # The click, then at once (before its `toggle` event) a copy of the region as the server sends it, closed.
    page.evaluate(
        """(id) => {
            document.querySelector(`#message-${id} .message-menu > summary`).click();
            const region = document.getElementById("live-thread");
            const copy = region.cloneNode(true);
            copy.querySelectorAll("details.menu[open]").forEach((menu) => menu.removeAttribute("open"));
            region.replaceWith(copy);
        }""",
        first.pk,
    )
    expect(page.locator(f"#message-{first.pk} .menu-items")).to_be_visible()
    assert page.locator("details.menu[open]").count() == 1
    assert problems == []


@pytest.mark.parametrize("size", SIZES)
def test_a_message_menu_opens_closes_and_its_actions_work(live_server, browser, thread, size):
    from playwright.sync_api import expect

    alice, bob, image = thread
    width, height = size
    page, problems = browser.open_page(width=width, height=height)
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")
    first, mine = (Message.objects.order_by("created_at")[i] for i in (0, 3))
    theirs_li, mine_li = page.locator(f"#message-{first.pk}"), page.locator(f"#message-{mine.pk}")

    # Closed: the actions are not under every bubble.
    expect(theirs_li.get_by_role("button", name="Delete for me")).to_be_hidden()
    theirs_li.locator(".message-menu > summary").click()
    items = theirs_li.locator(".menu-items")
    expect(items).to_be_visible()
    for name in ("Reply to this message", "Report this message"):
        expect(items.get_by_role("link", name=name)).to_be_visible()
    expect(items.get_by_role("button", name="Delete for me")).to_be_visible()
    # The open menu is on the screen, and stays open when a new message puts a fresh copy of the thread in place.
    assert box(items)["x"] >= 0 and box(items)["x"] + box(items)["width"] <= width
    page.evaluate("document.querySelector('#live-thread').__old_copy = true")
    services.send_message(sender=bob, recipient_id=alice.pk, body="Still there?")
    expect(page.locator("li.message .body").last).to_have_text("Still there?")
    assert page.evaluate("document.querySelector('#live-thread').__old_copy === undefined")  # a fresh copy
    expect(items).to_be_visible()
    page.screenshot(path=f"/tmp/bubbles-message-menu-{width}.png")

    # Opening another closes it; a click outside or Escape closes the other.
    mine_li.locator(".message-menu > summary").click()
    expect(mine_li.locator(".menu-items")).to_be_visible()
    expect(items).to_be_hidden()
    expect(mine_li.get_by_role("link", name="Report this message")).to_have_count(0)  # not one's own
    page.locator("h1").click()
    expect(mine_li.locator(".menu-items")).to_be_hidden()
    mine_li.locator(".message-menu > summary").click()
    page.keyboard.press("Escape")
    expect(mine_li.locator(".menu-items")).to_be_hidden()
    assert page.evaluate("document.activeElement.matches('.message-menu > summary')")

    # Reply: the composer quotes the message.
    theirs_li.locator(".message-menu > summary").click()
    theirs_li.get_by_role("link", name="Reply to this message").click()
    page.wait_for_url(f"**/inbox/with/{bob.pk}/?reply_to={first.pk}#reply")
    expect(page.locator("#reply .reply-to")).to_contain_text("Morning!")

    # Report: the report page.
    theirs_li.locator(".message-menu > summary").click()
    theirs_li.get_by_role("link", name="Report this message").click()
    page.wait_for_url(f"**/inbox/messages/{first.pk}/report/")
    page.go_back()

    # Delete for me: gone from the page, kept for Bob.
    page.locator(f"#message-{first.pk} .message-menu > summary").click()
    page.locator(f"#message-{first.pk}").get_by_role("button", name="Delete for me").click()
    page.wait_for_url(f"{live_server.url}/inbox/with/{bob.pk}/*")  # back around its neighbour
    expect(page.locator(".notices")).to_contain_text("Message deleted for you")
    expect(page.locator(f"#message-{first.pk}")).to_have_count(0)
    first.refresh_from_db()
    assert first.recipient_deleted_at is not None and first.sender_deleted_at is None
    assert problems == []


@pytest.mark.parametrize("size", SIZES)
def test_the_menus_work_without_javascript(live_server, browser, thread, size):
    from playwright.sync_api import expect

    alice, bob, image = thread
    width, height = size
    context = browser.browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")
    message = Message.objects.filter(sender=alice).order_by("created_at").first()
    li = page.locator(f"#message-{message.pk}")
    li.locator(".message-menu > summary").click()
    li.get_by_role("button", name="Delete for me").click()
    page.wait_for_url(f"{live_server.url}/inbox/with/{bob.pk}/*")  # back around its neighbour
    expect(page.locator(".notices")).to_contain_text("Message deleted for you")
    message.refresh_from_db()
    assert message.sender_deleted_at is not None

    page.locator(".page-menu > summary").click()
    page.get_by_role("button", name="Mute").click()
    page.wait_for_url(f"{live_server.url}/inbox/with/{bob.pk}/*")  # back around its neighbour
    assert ConversationMute.objects.filter(user=alice, partner=bob).exists()
    # The image preview needs no script either.
    preview = page.locator(f"#message-{image.pk} .image-preview img")
    preview.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth === 320", arg=preview.element_handle())
    context.close()
