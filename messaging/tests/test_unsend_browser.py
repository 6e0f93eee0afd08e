"""Unsend in a real Chromium: the sender takes a message back from its menu (a confirm page, then a form POST),
and the other person's open thread drops it without a reload, its reply now saying the original was removed;
the other person's unread badge drops too."""

from messaging.models import Message
from messaging.tests.factories import MessageFactory
from tests.browser import BROWSER_TEST, log_in
from users.tests.factories import UserFactory

pytestmark = BROWSER_TEST

NO_RELOAD = "window.__still_this_page = true"
SAME_PAGE = "window.__still_this_page === true"


def test_unsend_from_the_menu_removes_it_live_for_the_other_person(live_server, transactional_db, browser):
    from playwright.sync_api import expect

    alice = UserFactory(username="alice", display_name="Alice Liddell")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    wrong = MessageFactory(sender=alice, recipient=bob, body="Surprise party for Bob on Friday!")
    reply = MessageFactory(sender=bob, recipient=alice, body="A what?", reply_to=wrong)
    unread = MessageFactory(sender=alice, recipient=bob, body="Forget that, carol was meant")

    alice_page, alice_problems = browser.open_page(width=1000, height=800)
    bob_page, bob_problems = browser.open_page(width=1000, height=800)
    log_in(alice_page, live_server, "alice")
    log_in(bob_page, live_server, "bob")
    expect(bob_page.locator("nav [data-live-unread]")).to_have_text("2 unread")  # both of alice's

    # Bob reads the thread (his page stays open); his badge shows what is left: nothing.
    bob_page.goto(f"{live_server.url}/inbox/with/{alice.pk}/")
    expect(bob_page.locator(f"#message-{wrong.pk} .body")).to_have_text("Surprise party for Bob on Friday!")
    expect(bob_page.locator(f"#message-{reply.pk} blockquote")).to_have_text("Surprise party for Bob on Friday!")
    # Only the sender's own messages offer Unsend: bob's reply does, alice's message does not.
    bob_page.locator(f"#message-{wrong.pk} summary").click()
    expect(bob_page.locator(f"#message-{wrong.pk} .menu-items")).not_to_contain_text("Unsend")
    bob_page.locator(f"#message-{reply.pk} summary").click()
    expect(bob_page.locator(f"#message-{reply.pk} .menu-items")).to_contain_text("Unsend")
    bob_page.keyboard.press("Escape")
    bob_page.evaluate(NO_RELOAD)

    # Alice unsends from her message's menu, confirms, and is back on the thread without it.
    alice_page.goto(f"{live_server.url}/inbox/with/{bob.pk}/")
    alice_page.locator(f"#message-{wrong.pk} summary").click()
    alice_page.locator(f"#message-{wrong.pk}").get_by_role("link", name="Unsend").click()
    alice_page.wait_for_url(f"**/inbox/messages/{wrong.pk}/unsend/")
    expect(alice_page.get_by_role("heading")).to_have_text("Unsend this message to Bob Builder?")
    alice_page.screenshot(path="/tmp/unsend-confirm.png", full_page=True)
    assert Message.objects.get(pk=wrong.pk).unsent_at is None  # asking changes nothing
    alice_page.get_by_role("button", name="Unsend for everyone").click()
    alice_page.wait_for_url(f"**/inbox/with/{bob.pk}/?anchor=*")
    expect(alice_page.get_by_text("Message unsent: it is gone for you and for Bob Builder.")).to_be_visible()
    expect(alice_page.locator(f"#message-{wrong.pk}")).to_have_count(0)
    expect(alice_page.locator(f"#message-{reply.pk} blockquote")).to_have_text(
        "Original message removed: its sender unsent it."
    )

    # Bob's open page drops it, live, and his reply's quote says it was removed.
    expect(bob_page.locator(f"#message-{wrong.pk}")).to_have_count(0)
    expect(bob_page.locator(f"#message-{reply.pk} blockquote")).to_have_text(
        "Original message removed: its sender unsent it."
    )
    expect(bob_page.locator(f"#message-{unread.pk} .body")).to_have_text("Forget that, carol was meant")
    assert bob_page.evaluate(SAME_PAGE)
    bob_page.screenshot(path="/tmp/unsend-other-person.png", full_page=True)
    assert "Surprise party" not in bob_page.content()
    stored = Message.objects.get(pk=wrong.pk)
    assert stored.unsent_at is not None and stored.body == "Surprise party for Bob on Friday!"
    assert alice_problems == [] and bob_problems == []


def test_an_unread_unsent_message_leaves_the_other_persons_badge_live(live_server, transactional_db, browser):
    from playwright.sync_api import expect

    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    kept = MessageFactory(sender=alice, recipient=bob, body="see you at six")
    wrong = MessageFactory(sender=alice, recipient=bob, body="my bank details are")
    page, problems = browser.open_page(width=1000, height=800)
    log_in(page, live_server, "bob")
    badge = page.locator("nav [data-live-unread]")
    expect(badge).to_have_text("2 unread")
    row = page.locator(f'a[href="/inbox/with/{alice.pk}/"]')
    expect(row).to_contain_text("my bank details are")
    page.evaluate(NO_RELOAD)

    client_page, client_problems = browser.open_page(width=1000, height=800)
    log_in(client_page, live_server, "alice")
    client_page.goto(f"{live_server.url}/inbox/messages/{wrong.pk}/unsend/")
    client_page.get_by_role("button", name="Unsend for everyone").click()
    client_page.wait_for_url(f"**/inbox/with/{bob.pk}/**")

    expect(badge).to_have_text("1 unread")
    expect(page).to_have_title("(1) Inbox · Relay")
    expect(row).to_contain_text(kept.body)
    expect(row).to_have_attribute("data-unread", "1")
    assert "my bank details" not in page.content()
    assert page.evaluate(SAME_PAGE)
    assert problems == [] and client_problems == []


def test_a_reply_shown_without_its_original_says_live_that_the_original_was_unsent(
    live_server, transactional_db, browser
):
    """The page shows bob's reply but not the message it quotes (opened at the reply): the quote still changes."""
    from playwright.sync_api import expect

    from messaging import services

    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    original = MessageFactory(sender=alice, recipient=bob, body="the wrong address")
    reply = MessageFactory(sender=bob, recipient=alice, body="which one?", reply_to=original)
    page, problems = browser.open_page(width=1000, height=800)
    log_in(page, live_server, "bob")
    page.goto(f"{live_server.url}/inbox/with/{alice.pk}/?anchor={reply.pk}&num_before=0")
    quote = page.locator(f"#message-{reply.pk} blockquote")
    expect(quote).to_have_text("the wrong address")
    assert page.locator(f"#message-{original.pk}").count() == 0
    page.evaluate(NO_RELOAD)

    services.unsend_message(user=alice, message_id=original.pk)  # from alice's phone, say
    expect(quote).to_have_text("Original message removed: its sender unsent it.")
    assert page.evaluate(SAME_PAGE)
    assert problems == []
