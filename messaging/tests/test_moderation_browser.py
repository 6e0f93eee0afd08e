"""The moderators' console and /docs in a real Chromium, at 1280x800 and at phone width (390x844).

The index shows how many reports are open and leads to them; a message's page hides and unhides it with the
Hide button; /docs authorizes with a real JWT and "Try it out" answers 200. Screenshots go to /tmp.
"""

import json
import urllib.request

import pytest
from django.contrib.auth.models import Group

from messaging.models import Message, MessageReport
from messaging.tests.factories import MessageFactory
from tests.browser import BROWSER_TEST, chromium_page
from tests.helpers import restore_moderators_group
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = BROWSER_TEST

SIZES = [pytest.param(1280, 800, id="desktop"), pytest.param(390, 844, id="phone")]


@pytest.fixture
def browser_env(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def moderator(transactional_db):
    restore_moderators_group()
    user = UserFactory(username="moderator", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def log_in(page, live_server, next_path: str) -> None:
    page.goto(f"{live_server.url}/admin/login/?next={next_path}")
    page.get_by_label("Username").fill("moderator")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{next_path}")


def fits_the_screen(page) -> None:
    scroll_width, client_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll_width <= client_width, (scroll_width, client_width)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_index_shows_the_open_reports_and_leads_to_them(live_server, moderator, browser_env, width, height):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    for i in range(3):
        MessageReport.objects.create(message=MessageFactory(sender=alice, recipient=bob), reporter=bob, reason=f"r{i}")
    MessageReport.objects.create(
        message=MessageFactory(sender=alice, recipient=bob),
        reporter=bob,
        reason="old",
        status=MessageReport.Status.RESOLVED,
    )
    with chromium_page(width=width, height=height) as (page, problems):
        log_in(page, live_server, "/admin/")
        link = page.locator("tr.model-messagereport th a")
        assert link.inner_text().split() == ["Message", "reports", "3", "open"]
        # The note is a badge on the link's line, inside the screen.
        note = page.locator(".index-note").bounding_box()
        assert note is not None and note["x"] + note["width"] <= width
        assert page.evaluate("getComputedStyle(document.querySelector('.index-note')).borderRadius") != "0px"
        fits_the_screen(page)
        page.screenshot(path=f"/tmp/moderation-index-{width}.png", full_page=True)
        link.click()
        page.wait_for_url("**/admin/messaging/messagereport/")
        assert page.locator("#result_list tbody tr").count() == 3
        assert page.locator("#changelist-filter li.selected a").first.inner_text() == "Open"
        page.screenshot(path=f"/tmp/moderation-reports-{width}.png", full_page=True)
        page.locator("#changelist-filter a", has_text="All").first.click()
        page.wait_for_url("**status=all")
        assert page.locator("#result_list tbody tr").count() == 4
    assert problems == []


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_hide_and_unhide_with_the_button_of_a_message_page(live_server, moderator, browser_env, width, height):
    """Hide asks for the reason, hides, and comes back to the message with a notice; Unhide puts it back; the
    sender's link opens their page read-only."""
    alice, bob = UserFactory(username="alice", display_name="Alice Liddell"), UserFactory(username="bob")
    message = MessageFactory(sender=alice, recipient=bob, body="something nasty")
    MessageReport.objects.create(message=message, reporter=bob, reason="nasty")
    page_path = f"/admin/messaging/message/{message.pk}/change/"
    with chromium_page(width=width, height=height) as (page, problems):
        log_in(page, live_server, page_path)
        hide = page.get_by_role("button", name="Hide this message…")
        history = page.get_by_role("link", name="History")
        # The button sits beside History, as tall as it, on screen.
        hide_box, history_box = hide.bounding_box(), history.bounding_box()
        assert hide_box is not None and history_box is not None
        assert abs(hide_box["height"] - history_box["height"]) <= 2 and abs(hide_box["y"] - history_box["y"]) <= 2
        assert hide_box["x"] >= 0 and hide_box["x"] + hide_box["width"] <= width
        fits_the_screen(page)
        page.screenshot(path=f"/tmp/moderation-message-{width}.png", full_page=True)

        hide.click()
        page.get_by_label("Reason").fill("insults")
        assert page.get_by_label("Also resolve their open reports").is_checked()
        fits_the_screen(page)
        page.screenshot(path=f"/tmp/moderation-hide-reason-{width}.png", full_page=True)
        page.get_by_role("button", name="Hide this message").click()
        page.wait_for_url(f"**{page_path}")
        assert "1 message(s) hidden, 1 report(s) resolved." in page.locator(".messagelist").inner_text()
        assert "insults" in page.locator(".field-hidden_reason").inner_text()
        page.screenshot(path=f"/tmp/moderation-hidden-{width}.png", full_page=True)
        message.refresh_from_db()
        assert (message.hidden_by, message.hidden_reason) == (moderator, "insults")

        page.get_by_role("button", name="Unhide this message").click()
        page.wait_for_url(f"**{page_path}")
        assert "1 message(s) unhidden." in page.locator(".messagelist").inner_text()
        assert Message.objects.get(pk=message.pk).hidden_at is None
        assert page.get_by_role("button", name="Hide this message…").is_visible()

        page.locator(".field-sender a").click()
        page.wait_for_url(f"**/admin/users/user/{alice.pk}/change/")
        assert page.locator("#content h1").inner_text() == "View user"
        assert "Alice Liddell" in page.locator("#content").inner_text()
        assert (
            page.locator("#content-main input:not([type=hidden]), #content-main textarea, #content-main select").count()
            == 0
        )
        text = page.locator("#content-main").inner_text().lower()
        assert "password" not in text and "designates" not in text
        fits_the_screen(page)
        page.screenshot(path=f"/tmp/moderation-user-{width}.png", full_page=True)
    assert problems == []


def access_token(live_server, username: str) -> str:
    """A real access token, from the login endpoint over HTTP."""
    request = urllib.request.Request(
        f"{live_server.url}/api/auth/token/",
        data=json.dumps({"username": username, "password": DEFAULT_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)["access"]


@pytest.mark.parametrize(
    ("width", "height", "prefix"),
    [pytest.param(1280, 800, "", id="desktop"), pytest.param(390, 844, "Bearer ", id="phone-with-bearer-prefix")],
)
def test_docs_authorize_with_a_jwt_then_try_it_out(live_server, transactional_db, browser_env, width, height, prefix):
    """The Authorize dialog's first box is the JWT one; a token from POST /api/auth/token/ pasted there (alone,
    or with the "Bearer " of a curl command) makes "Try it out" on GET /api/messages/conversations/ answer 200
    with the caller's conversations."""
    alice = UserFactory(username="alice")
    MessageFactory(sender=UserFactory(username="bob"), recipient=alice, body="hello from bob")
    token = access_token(live_server, "alice")
    with chromium_page(width=width, height=height) as (page, problems):
        page.goto(f"{live_server.url}/docs")
        description = page.locator(".information-container .description").inner_text()
        assert "POST /api/auth/token/" in description
        page.locator(".auth-wrapper button.authorize").click()
        boxes = page.locator(".modal-ux .auth-container")
        assert [name.strip() for name in boxes.locator("h4 code").all_inner_texts()] == ["jwtAuth", "cookieAuth"]
        first = boxes.first
        assert "POST /api/auth/token/" in first.inner_text()
        page.screenshot(path=f"/tmp/moderation-docs-authorize-{width}.png")
        first.locator("input").fill(prefix + token)
        first.locator("button.authorize").click()
        page.locator(".modal-ux button.btn-done").first.click()

        operation = page.locator("#operations-conversations-api_messages_conversations_list")
        operation.locator(".opblock-summary").click()
        operation.locator("button.try-out__btn").click()
        with page.expect_response(lambda r: "/api/messages/conversations/" in r.url) as answer:
            operation.locator("button.execute").click()
        assert answer.value.status == 200
        assert answer.value.request.headers["authorization"] == f"Bearer {token}"
        status = operation.locator(".live-responses-table .response .response-col_status").first
        assert status.inner_text().strip() == "200"
        assert "hello from bob" in operation.locator(".live-responses-table").inner_text()
        page.screenshot(path=f"/tmp/moderation-docs-try-{width}.png")
    assert problems == []
