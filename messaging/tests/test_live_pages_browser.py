"""Live pages in a real Chromium: two people in two browser contexts, and what each sees without a reload.

The pages' live.js holds `/api/messages/events` open (the live server is a WSGI server: the in-process
broker serves it) and fetches a live region again when an event changes it. Two people's pages write at
once (a send, and the other page's refetch marking it read).
"""

from messaging import services
from messaging.models import Message
from messaging.tests.factories import MessageFactory
from tests.browser import BROWSER_TEST, log_in
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = BROWSER_TEST

NO_RELOAD = "window.__still_this_page = true"
SAME_PAGE = "window.__still_this_page === true"


def test_a_send_updates_the_other_persons_inbox_thread_and_badges_without_a_reload(
    live_server, transactional_db, browser
):
    from playwright.sync_api import expect

    alice = UserFactory(username="alice", display_name="Alice Liddell")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    carol = UserFactory(username="carol")
    MessageFactory(sender=alice, recipient=bob, body="Hi Bob")
    MessageFactory(sender=carol, recipient=alice, body="Lunch on Friday?")  # newest: carol's row on top

    alice_page, alice_problems = browser.open_page(width=1000, height=800)
    bob_page, bob_problems = browser.open_page(width=1000, height=800)
    log_in(alice_page, live_server, "alice")
    log_in(bob_page, live_server, "bob")

    rows = alice_page.locator("a[data-unread]")
    nav_badge = alice_page.locator("nav [data-live-unread]")
    assert rows.first.get_attribute("href") == f"/inbox/with/{carol.pk}/"
    assert alice_page.title() == "(1) Inbox · Relay"
    expect(nav_badge).to_have_text("1 unread")
    alice_page.evaluate(NO_RELOAD)

    # Bob answers from his thread page (a plain form post); alice's inbox reorders and counts, live.
    bob_page.goto(f"{live_server.url}/inbox/with/{alice.pk}/")
    bob_page.get_by_label("Message").fill("Are you there?")
    bob_page.get_by_role("button", name="Send").click()
    bob_page.wait_for_url(f"**/inbox/with/{alice.pk}/#message-*")
    first = Message.objects.get(body="Are you there?")
    expect(rows.first).to_have_attribute("href", f"/inbox/with/{bob.pk}/")
    expect(rows.first).to_have_attribute("data-unread", "1")
    expect(rows.first).to_contain_text("Are you there?")
    expect(nav_badge).to_have_text("2 unread")
    expect(alice_page).to_have_title("(2) Inbox · Relay")
    assert alice_page.evaluate(SAME_PAGE)

    # Alice opens the thread: bob's page shows his message read, without a reload.
    bob_page.evaluate(NO_RELOAD)
    alice_page.locator(f'a[href="/inbox/with/{bob.pk}/"]').click()
    alice_page.wait_for_url(f"**/inbox/with/{bob.pk}/")
    expect(alice_page).to_have_title("(1) Bob Builder · Relay")  # carol's message is still unread
    expect(bob_page.locator(f"#message-{first.pk} .read")).to_have_text("read")
    assert bob_page.evaluate(SAME_PAGE)

    # Bob writes again: it appears in alice's open thread, is read there at once, and bob sees that too.
    alice_page.evaluate(NO_RELOAD)
    bob_page.get_by_label("Message").fill("Second one, with <b>markup</b>")
    bob_page.get_by_role("button", name="Send").click()
    bob_page.wait_for_url(f"**/inbox/with/{alice.pk}/#message-*")
    second = Message.objects.get(body__startswith="Second one")
    expect(alice_page.locator(f"#message-{second.pk} .body")).to_have_text("Second one, with <b>markup</b>")
    expect(alice_page.locator("[data-live-status]")).to_have_text("New message from Bob Builder")
    assert alice_page.evaluate(SAME_PAGE)
    expect(bob_page.locator(f"#message-{second.pk} .read")).to_have_text("read")
    assert Message.objects.get(pk=second.pk).read_at is not None
    expect(alice_page).to_have_title("(1) Bob Builder · Relay")

    # A message from someone else changes the badge of the open thread's page, not the thread.
    services.send_message(sender=carol, recipient_id=alice.pk, body="Still on for lunch?")
    expect(alice_page).to_have_title("(2) Bob Builder · Relay")
    expect(alice_page.locator("nav [data-live-unread]")).to_have_text("2 unread")
    assert alice_page.locator("[data-message-id]").count() == 3
    assert alice_problems == [] and bob_problems == []


def test_a_mute_changes_the_badge_live_and_muted_messages_leave_it_alone(live_server, transactional_db, browser):
    from playwright.sync_api import expect

    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    carol = UserFactory(username="carol")
    MessageFactory(sender=bob, recipient=alice, body="one")
    MessageFactory(sender=carol, recipient=alice, body="two")
    page, problems = browser.open_page(width=1000, height=800)
    log_in(page, live_server, "alice")
    nav_badge = page.locator("nav [data-live-unread]")
    expect(nav_badge).to_have_text("2 unread")
    page.evaluate(NO_RELOAD)

    services.mute_conversation(user=alice, other_id=bob.pk)  # from another device, say
    expect(nav_badge).to_have_text("1 unread")
    expect(page).to_have_title("(1) Inbox · Relay")
    services.send_message(sender=bob, recipient_id=alice.pk, body="muted but delivered")
    bob_row = page.locator(f'a[href="/inbox/with/{bob.pk}/"]')
    expect(bob_row).to_contain_text("muted but delivered")  # the list is live...
    expect(bob_row).to_have_attribute("data-unread", "2")
    expect(nav_badge).to_have_text("1 unread")  # ...the badge leaves it out
    services.send_message(sender=carol, recipient_id=alice.pk, body="not muted")
    expect(nav_badge).to_have_text("2 unread")
    expect(page).to_have_title("(2) Inbox · Relay")
    assert page.evaluate(SAME_PAGE)
    assert problems == []


def test_a_page_whose_session_ended_stops_its_live_updates_and_says_so(live_server, transactional_db, browser):
    """A password change elsewhere ends the page's session: its stream ends (`stream.ended`), the browser's
    reconnect is refused, live.js tells the reader, and a later message never reaches the page."""
    from playwright.sync_api import expect

    alice, bob = UserFactory(username="alice"), UserFactory(username="bob", display_name="Bob Builder")
    page, problems = browser.open_page(width=1000, height=800)
    log_in(page, live_server, "alice")
    page.evaluate(NO_RELOAD)
    alice.set_password("changed somewhere else")
    alice.save()
    expect(page.locator("[data-live-status]")).to_have_text("Live updates have stopped; reload the page.")
    services.send_message(sender=bob, recipient_id=alice.pk, body="not for a signed-out page")
    page.wait_for_timeout(1500)
    assert "not for a signed-out page" not in page.content()
    assert page.evaluate(SAME_PAGE)
    # The refused reconnect is the one console error: EventSource's report of the 401's JSON.
    assert all("text/event-stream" in problem or "401" in problem for problem in problems), problems


def test_a_password_change_keeps_the_changing_sessions_other_tabs_live(live_server, transactional_db, browser):
    """The session that changes its password stays signed in under a new key: its other tab's stream ends
    with the old key, and the browser's reconnect (with the new cookie) resumes it, still live."""
    from playwright.sync_api import expect

    alice, bob = UserFactory(username="alice"), UserFactory(username="bob", display_name="Bob Builder")
    settings_tab, problems = browser.open_page(width=1000, height=800)
    log_in(settings_tab, live_server, "alice")
    inbox_tab = settings_tab.context.new_page()
    inbox_tab.goto(f"{live_server.url}/inbox/")
    inbox_tab.evaluate(NO_RELOAD)

    settings_tab.goto(f"{live_server.url}/accounts/password_change/")
    settings_tab.locator("input[name=old_password]").fill(DEFAULT_PASSWORD)
    settings_tab.locator("input[name=new_password1]").fill("a brand new secret 42")
    settings_tab.locator("input[name=new_password2]").fill("a brand new secret 42")
    settings_tab.get_by_role("button", name="Change password").click()
    settings_tab.wait_for_url("**/password_change/done/")

    inbox_tab.wait_for_timeout(4000)  # the old key's stream ends; the reconnect (retry: 3 s) resumes it
    services.send_message(sender=bob, recipient_id=alice.pk, body="still live after the change")
    expect(inbox_tab.locator("a[data-unread]").first).to_contain_text("still live after the change")
    assert inbox_tab.evaluate(SAME_PAGE)
    assert problems == []
