"""The inbox pages end to end in a real Chromium (Debian's, driven by Playwright) against a live server.

Skipped when /usr/bin/chromium is missing (`.ci/run` installs it). Screenshots of the inbox and of a thread
are kept in artifacts/ (ignored by git).
"""

import os
from pathlib import Path

import pytest
from django.conf import settings

from messaging.models import Message, MessageReport
from messaging.tests.factories import MessageFactory
from tests.browser import BROWSER_TEST, chromium_page
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = BROWSER_TEST


@pytest.fixture
def artifacts() -> Path:
    path = Path(settings.BASE_DIR) / "artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def page(monkeypatch):
    """A fresh browser page; problems the browser reports (CSP violations, 404 assets) fail the test."""
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium_page(width=1000, height=800, accept_downloads=True) as (page, problems):
        yield page
    assert problems == []


@pytest.fixture
def people(transactional_db):
    alice = UserFactory(username="alice", display_name="Alice Liddell")
    bob = UserFactory(username="bob", display_name="Bob Builder")
    carol = UserFactory(username="carol")
    MessageFactory(sender=carol, recipient=alice, body="Lunch on Friday?")
    MessageFactory(sender=bob, recipient=alice, body="Did you read the <b>launch</b> plan?")
    MessageFactory(sender=alice, recipient=bob, body="Not yet, send it again please.")
    MessageFactory(sender=bob, recipient=alice, body="Sending it now.")
    return alice, bob, carol


def log_in_with_the_keyboard(page, live_server):
    page.goto(f"{live_server.url}/inbox/")
    assert "/accounts/login/?next=/inbox/" in page.url
    # The username field has the focus, or Tab reaches it; typing, Tab and Enter log in.
    for _ in range(12):
        if page.evaluate("document.activeElement.name") == "username":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("alice")
    page.keyboard.press("Tab")
    page.keyboard.type(DEFAULT_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/inbox/")


def test_read_reply_with_a_file_search_and_delete(page, live_server, people, artifacts):
    """Log in, open the inbox and a thread, reply with an attachment, find it by search, delete it for oneself."""
    alice, bob, _ = people
    log_in_with_the_keyboard(page, live_server)

    assert page.locator("h1").inner_text().startswith("Inbox")
    bob_row = page.locator(f'a[href="/inbox/with/{bob.pk}/"]')
    assert bob_row.get_attribute("data-unread") == "2"
    # Newest activity first: Bob's conversation above Carol's.
    rows = page.locator("a[data-unread]")
    assert rows.count() == 2
    assert rows.first.get_attribute("href") == f"/inbox/with/{bob.pk}/"
    # The stylesheet loaded (served locally, allowed by the CSP).
    assert page.evaluate("getComputedStyle(document.querySelector('.badge')).borderRadius") != "0px"
    page.screenshot(path=artifacts / "inbox.png", full_page=True)

    bob_row.click()
    page.wait_for_url(f"**/inbox/with/{bob.pk}/")
    assert page.locator("h1").text_content() == "Conversation with Bob Builder"
    bodies = page.locator("[data-message-id] .body").all_inner_texts()
    assert bodies == ["Did you read the <b>launch</b> plan?", "Not yet, send it again please.", "Sending it now."]
    assert not Message.objects.unread_for(alice).filter(sender=bob).exists()

    page.get_by_label("Message").fill("Here are my notes on the zeppelin budget.")
    page.get_by_label("Attachment (optional)").set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"budget: 42 zeppelins\n"}]
    )
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"**/inbox/with/{bob.pk}/#message-*")
    assert "Message sent." in page.locator(".notices").inner_text()
    reply = Message.objects.get(sender=alice, body__contains="zeppelin")
    sent = page.locator(f'[data-message-id="{reply.pk}"]')
    assert "zeppelin budget" in sent.inner_text()
    page.screenshot(path=artifacts / "thread.png", full_page=True)

    with page.expect_download() as download_info:
        sent.get_by_role("link", name="notes.txt").click()
    download = download_info.value
    assert download.suggested_filename == "notes.txt"
    assert Path(download.path()).read_bytes() == b"budget: 42 zeppelins\n"

    page.get_by_role("link", name="Search").click()
    page.get_by_label("Search messages").fill("zeppelin")
    page.get_by_label("Search messages").press("Enter")
    page.wait_for_url("**/inbox/search/?q=zeppelin")
    results = page.locator("[data-message-id]")
    assert results.count() == 1
    results.first.get_by_role("link").click()
    page.wait_for_url(f"**/inbox/with/{bob.pk}/?anchor={reply.pk}#message-{reply.pk}")

    page.locator(f'[data-message-id="{reply.pk}"] .message-menu > summary').click()
    page.locator(f'[data-message-id="{reply.pk}"]').get_by_role("button", name="Delete for me").click()
    before = Message.objects.get(body="Sending it now.")  # the newest now: the page comes back around it
    page.wait_for_url(f"**/inbox/with/{bob.pk}/?anchor={before.pk}#message-{before.pk}")
    assert "Message deleted for you" in page.locator(".notices").inner_text()
    assert page.locator(f'[data-message-id="{reply.pk}"]').count() == 0
    reply.refresh_from_db()
    assert reply.sender_deleted_at is not None and reply.recipient_deleted_at is None


def test_compose_to_a_new_person_on_a_small_screen(page, live_server, people, artifacts):
    """On a phone-sized screen: find a recipient with the picker, send, land in the thread."""
    alice, _, carol = people
    page.set_viewport_size({"width": 375, "height": 700})
    log_in_with_the_keyboard(page, live_server)
    dave = UserFactory(username="dave", display_name="Dave Bowman")

    page.get_by_role("link", name="New message").first.click()
    page.get_by_label("Find a person").fill("dav")
    # The picker's option, not the form's own <select> (the page without JavaScript), which holds one of the
    # same name and is shown until people.js has run.
    page.get_by_role("listbox").get_by_role("option", name="Dave Bowman").click()
    page.get_by_label("Message").fill("Open the pod bay doors.")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"**/inbox/with/{dave.pk}/#message-*")
    assert page.locator("[data-message-id] .body").all_inner_texts() == ["Open the pod bay doors."]
    # Nothing overflows the narrow viewport horizontally.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=artifacts / "thread-mobile.png", full_page=True)
    assert os.path.getsize(artifacts / "thread-mobile.png") > 0


def test_the_picker_searches_what_was_typed_before_its_script_ran(page, live_server, people):
    """On a slow page a person types into the search before people.js has run: the picker, once it runs,
    searches what is there. Before, it waited for the next keystroke, and under load the compose test above
    timed out waiting for its option."""
    log_in_with_the_keyboard(page, live_server)
    dave = UserFactory(username="dave", display_name="Dave Bowman")
    held = []

    def hold(route):
        held.append(route)  # the script waits until the text is typed

    page.route("**/messaging/people.js", hold)

    page.goto(f"{live_server.url}/inbox/compose/", wait_until="commit")
    page.get_by_label("Find a person").fill("dav")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(50)
    held[0].continue_()
    page.get_by_role("listbox").get_by_role("option", name="Dave Bowman").click()
    assert page.locator("select[name=recipient]").input_value() == str(dave.pk)


def log_in(page, live_server, username, password=DEFAULT_PASSWORD):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/inbox/")


def log_out(page):
    page.get_by_role("button", name="Log out").click()


def test_delete_a_conversation_and_see_it_come_back_on_a_new_message(page, live_server, people, artifacts):
    alice, bob, _ = people
    log_in(page, live_server, "alice")
    page.locator(f'a[href="/inbox/with/{bob.pk}/"]').click()
    page.locator(".page-menu > summary").click()
    page.get_by_role("link", name="Delete conversation").click()
    assert "Delete the conversation with Bob Builder?" in page.locator("h1").inner_text()
    page.screenshot(path=artifacts / "delete-conversation.png", full_page=True)
    page.get_by_role("button", name="Delete conversation").click()
    page.wait_for_url(f"{live_server.url}/inbox/")
    assert "deleted for you" in page.locator(".notices").inner_text()
    assert page.locator(f'a[href="/inbox/with/{bob.pk}/"]').count() == 0

    Message.objects.create(sender=bob, recipient=alice, body="Back again")  # bob writes again
    page.reload()
    page.locator(f'a[href="/inbox/with/{bob.pk}/"]').click()
    assert page.locator("[data-message-id] .body").all_inner_texts() == ["Back again"]


def test_mute_a_conversation_and_its_messages_leave_the_nav_badge(page, live_server, people, artifacts):
    alice, bob, carol = people
    log_in(page, live_server, "alice")
    nav_badge = page.locator("nav [data-live-unread]")
    assert page.title() == "(3) Inbox · Relay"  # carol's one, bob's two
    page.locator(f'a[href="/inbox/with/{bob.pk}/"]').click()
    page.locator(".page-menu > summary").click()
    page.get_by_role("button", name="Mute").click()
    page.wait_for_url(f"{live_server.url}/inbox/with/{bob.pk}/")
    assert "not in your badge" in page.locator(".notices").inner_text()
    page.locator(".page-menu > summary").click()
    assert page.get_by_role("button", name="Unmute").count() == 1

    Message.objects.create(sender=bob, recipient=alice, body="Are you ignoring me?")
    Message.objects.create(sender=carol, recipient=alice, body="Or Saturday?")
    page.goto(f"{live_server.url}/inbox/")
    bob_row = page.locator(f'a[href="/inbox/with/{bob.pk}/"]')
    assert bob_row.get_attribute("data-unread") == "1" and bob_row.get_attribute("data-muted") == ""
    assert "Muted" in bob_row.inner_text()
    assert nav_badge.text_content() == "2 unread" and page.title() == "(2) Inbox · Relay"  # carol's two only
    page.screenshot(path=artifacts / "muted.png", full_page=True)

    page.locator(f'a[href="/inbox/with/{bob.pk}/"]').click()
    page.locator(".page-menu > summary").click()
    page.get_by_role("button", name="Unmute").click()
    page.wait_for_url(f"{live_server.url}/inbox/with/{bob.pk}/")
    assert "no longer muted" in page.locator(".notices").inner_text()
    Message.objects.create(sender=bob, recipient=alice, body="Hello?")
    page.goto(f"{live_server.url}/inbox/")
    assert page.title() == "(3) Inbox · Relay" and nav_badge.text_content() == "3 unread"


def test_report_a_message_from_the_thread(page, live_server, people, artifacts):
    alice, bob, _ = people
    log_in(page, live_server, "alice")
    page.locator(f'a[href="/inbox/with/{bob.pk}/"]').click()
    theirs = page.locator(".message.theirs").first
    reported_id = int(theirs.get_attribute("data-message-id"))
    assert page.locator(".message.mine").get_by_role("link", name="Report").count() == 0  # only theirs
    theirs.locator(".message-menu > summary").click()
    theirs.get_by_role("link", name="Report").click()
    page.get_by_label("What is wrong with this message?").fill("This looks like a phishing attempt.")
    page.screenshot(path=artifacts / "report.png", full_page=True)
    page.get_by_role("button", name="Send the report").click()
    page.wait_for_url(f"**/inbox/with/{bob.pk}/#message-{reported_id}")
    assert "the moderators will look at it" in page.locator(".notices").inner_text()
    report = MessageReport.objects.get()
    assert (report.message_id, report.reporter_id) == (reported_id, alice.pk)


def test_turning_read_receipts_off_changes_what_the_sender_sees(page, live_server, people, artifacts):
    alice, bob, _ = people
    log_in(page, live_server, "alice")
    page.locator(f'a[href="/inbox/with/{bob.pk}/"]').click()  # opening it reads bob's messages
    log_out(page)

    log_in(page, live_server, "bob")
    page.goto(f"{live_server.url}/inbox/with/{alice.pk}/")
    assert page.locator(".message.mine .read").count() == 2
    log_out(page)

    log_in(page, live_server, "alice")
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Let people see when I have read their messages").uncheck()
    page.get_by_role("button", name="Save").click()
    assert "Settings saved" in page.locator(".notices").inner_text()
    page.screenshot(path=artifacts / "settings.png", full_page=True)
    log_out(page)

    log_in(page, live_server, "bob")
    page.goto(f"{live_server.url}/inbox/with/{alice.pk}/")
    assert page.locator(".message.mine .read").count() == 0
    assert page.locator(".message.mine").count() == 2


def test_sign_up_change_the_password_and_reset_it_through_the_mail(page, live_server, transactional_db, artifacts):
    from django.core import mail

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("erin")
    page.get_by_label("Email").fill("erin@example.com")
    page.locator("#id_password1").fill("erin-first-secret")
    page.locator("#id_password2").fill("erin-first-secret")
    page.screenshot(path=artifacts / "signup.png", full_page=True)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(f"{live_server.url}/inbox/")
    assert "Welcome to Relay, erin" in page.locator(".notices").inner_text()

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Old password").fill("erin-first-secret")
    page.locator("#id_new_password1").fill("erin-second-secret")
    page.locator("#id_new_password2").fill("erin-second-secret")
    page.get_by_role("button", name="Change password").click()
    assert page.locator("h1").inner_text() == "Password changed"
    log_out(page)

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("erin@example.com")
    page.get_by_role("button", name="Send the link").click()
    assert page.locator("h1").inner_text() == "Check your email"
    (email,) = mail.outbox
    link = next(line for line in email.body.splitlines() if "/accounts/reset/" in line)
    page.goto(link.strip())
    page.locator("#id_new_password1").fill("erin-third-secret")
    page.locator("#id_new_password2").fill("erin-third-secret")
    page.get_by_role("button", name="Set password").click()
    assert page.locator("h1").inner_text() == "Your new password is set"
    log_in(page, live_server, "erin", "erin-third-secret")
