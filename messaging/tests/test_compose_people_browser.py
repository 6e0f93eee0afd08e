"""Starting a conversation in a real Chromium, on a laptop (1280x800) and a phone (390x844): the person picker
searches as you type and picks with the keyboard, the draft typed before searching survives (with and without
JavaScript), Settings unblocks, the inbox marks blocked conversations, and logging out says so.

Screenshots go to /tmp/people-*.png (looked at by hand; not committed).
"""

import pytest

from messaging.models import Message, UserBlock
from messaging.tests.factories import MessageFactory
from tests.browser import BROWSER_TEST, log_in
from users.tests.factories import UserFactory

pytestmark = BROWSER_TEST

SIZES = [pytest.param((1280, 800), id="laptop"), pytest.param((390, 844), id="phone")]


@pytest.fixture
def people(transactional_db):
    alice = UserFactory(username="alice", display_name="Alice Liddell")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    carol = UserFactory(username="carol", display_name="Carol Danvers")
    dave = UserFactory(username="dave", display_name="Dave Bowman")
    davina = UserFactory(username="davina", display_name="Davina McCall")
    UserFactory(username="moderator", display_name="Dave the moderator", is_staff=True)
    MessageFactory(sender=bob, recipient=alice, body="Did you read the launch plan?")
    MessageFactory(sender=carol, recipient=alice, body="Lunch on Friday?")
    return alice, bob, carol, dave, davina


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", SIZES)
def test_type_a_name_pick_it_with_the_keyboard_and_send(live_server, browser, people, size):
    from playwright.sync_api import expect

    alice, bob, carol, dave, davina = people
    width, height = size
    page, problems = browser.open_page(width=width, height=height)
    log_in(page, live_server, "alice")
    page.get_by_role("link", name="New message").first.click()
    page.wait_for_url("**/inbox/compose/")

    # The draft first: it survives everything that follows.
    page.get_by_label("Message").fill("Open the pod bay doors.\nPlease.")
    search = page.get_by_role("combobox", name="Find a person")
    expect(page.get_by_role("button", name="Find")).to_be_hidden()
    search.click()
    search.press_sequentially("dav", delay=40)
    options = page.get_by_role("option")
    # Dave and Davina, not the staff account named Dave (it never wrote to Alice).
    expect(options).to_have_count(2)
    expect(options.first).to_contain_text("Dave Bowman")
    expect(page.get_by_role("listbox")).to_contain_text("@davina")
    page.screenshot(path=f"/tmp/people-suggestions-{width}.png")
    # Down moves to Davina, Up back to Dave, Enter picks him.
    search.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    search.press("ArrowUp")
    expect(options.first).to_have_attribute("aria-selected", "true")
    search.press("Enter")
    expect(page.get_by_role("listbox")).to_be_hidden()
    expect(page.locator(".person-chip")).to_contain_text("Dave Bowman (@dave)")
    expect(page.get_by_role("button", name="Remove Dave Bowman (@dave)")).to_be_visible()
    expect(search).to_be_hidden()  # the chip stands for the box and its label
    expect(page.locator(".picker-search label")).to_be_hidden()
    assert page.locator("select[name=recipient]").input_value() == str(dave.pk)
    assert page.get_by_label("Message").input_value() == "Open the pod bay doors.\nPlease."
    assert fits(page)
    page.screenshot(path=f"/tmp/people-chosen-{width}.png", full_page=True)

    # Remove, pick Davina with the mouse instead, then Dave again: the last choice is sent.
    page.get_by_role("button", name="Remove Dave Bowman (@dave)").click()
    expect(search).to_be_focused()
    search.fill("davi")
    expect(options).to_have_count(1)
    options.first.click()
    expect(page.locator(".person-chip")).to_contain_text("Davina McCall")
    page.get_by_role("button", name="Remove Davina McCall (@davina)").click()
    search.fill("bowman")
    expect(options).to_have_count(1)
    search.press("Enter")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"**/inbox/with/{dave.pk}/#message-*")
    message = Message.objects.get(recipient=dave)
    assert (message.sender, message.body) == (
        alice,
        "Open the pod bay doors.\nPlease.",
    )  # the pages store line breaks as the API does
    assert problems == []


@pytest.mark.parametrize("size", SIZES)
def test_without_javascript_find_keeps_the_draft(live_server, browser, people, size):
    """The page as it works without the script: the draft typed before searching survives *Find*."""
    alice, bob, carol, dave, davina = people
    width, height = size
    context = browser.browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/inbox/compose/")
    page.get_by_label("Message").fill("Draft written first")
    page.get_by_label("Find a person").fill("bowman")
    with page.expect_navigation():
        page.get_by_label("Find a person").press("Enter")  # Find is the form's first button
    assert page.get_by_label("Message").input_value() == "Draft written first"
    assert page.get_by_label("To").input_value() == str(dave.pk)  # the one person found, chosen
    assert fits(page)
    page.screenshot(path=f"/tmp/people-nojs-find-{width}.png", full_page=True)
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"**/inbox/with/{dave.pk}/#message-*")
    assert Message.objects.get(recipient=dave).body == "Draft written first"
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_to_preselects_and_blocked_people_are_offered_marked(live_server, browser, people, size):
    from playwright.sync_api import expect

    alice, bob, carol, dave, davina = people
    UserBlock.objects.create(blocker=alice, blocked=bob)
    width, height = size
    page, problems = browser.open_page(width=width, height=height)
    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/inbox/compose/?to={carol.pk}")
    expect(page.locator(".person-chip")).to_contain_text("Carol Danvers (@carol)")
    page.get_by_role("button", name="Remove Carol Danvers (@carol)").click()
    page.get_by_role("combobox", name="Find a person").press_sequentially("bo", delay=40)
    bob_option = page.get_by_role("option").filter(has_text="Bob Builder")
    expect(bob_option).to_contain_text("blocked")
    page.screenshot(path=f"/tmp/people-blocked-suggestion-{width}.png")
    assert problems == []


@pytest.mark.parametrize("size", SIZES)
def test_settings_unblocks_the_inbox_marks_and_logout_says_so(live_server, browser, people, size):
    from playwright.sync_api import expect

    alice, bob, carol, dave, davina = people
    UserBlock.objects.create(blocker=alice, blocked=bob)
    UserBlock.objects.create(blocker=alice, blocked=dave)
    width, height = size
    page, problems = browser.open_page(width=width, height=height)
    log_in(page, live_server, "alice")

    bob_row = page.locator(f'a[href="/inbox/with/{bob.pk}/"]')
    expect(bob_row.locator(".blocked-mark")).to_have_text("Blocked")
    expect(page.locator(f'a[href="/inbox/with/{carol.pk}/"] .blocked-mark')).to_have_count(0)
    assert fits(page)
    page.screenshot(path=f"/tmp/people-inbox-{width}.png", full_page=True)

    page.get_by_role("link", name="Settings").click()
    section = page.get_by_role("region", name="Blocked people")
    expect(section.locator("li")).to_have_count(2)
    page.screenshot(path=f"/tmp/people-settings-{width}.png", full_page=True)
    section.get_by_role("button", name="Unblock Bob Builder").click()
    page.wait_for_url(f"{live_server.url}/accounts/settings/")
    expect(page.locator(".notices")).to_contain_text("You unblocked Bob Builder.")
    expect(section.locator("li")).to_have_count(1)
    expect(section).to_contain_text("Dave Bowman")
    assert not UserBlock.objects.filter(blocker=alice, blocked=bob).exists()
    assert fits(page)

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    expect(page.locator(".notices")).to_have_text("You have signed out.")
    page.screenshot(path=f"/tmp/people-logged-out-{width}.png")
    assert problems == []
