"""A real Chromium (Debian's, driven by Playwright) for every browser test: the inbox pages, the error pages
and the admin.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connections

from users.tests.factories import DEFAULT_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_TEST = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)"),
]


@contextmanager
def chromium() -> Iterator[object]:
    """One headless Chromium; `open_page(...)` on what it yields gives a page in a context of its own (its own
    cookies: one user each), and the list that page's console errors are collected into.

    Needs `DJANGO_ALLOW_ASYNC_UNSAFE` set (Playwright's sync API keeps an event loop in the test's thread).
    """
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield _Pages(browser)
        finally:
            browser.close()
            # Playwright's loop keeps this thread's ORM connections apart (asgiref's context-local storage):
            # close them, or PostgreSQL's test database stays in use.
            connections.close_all()


class _Pages:
    def __init__(self, browser) -> None:
        self.browser = browser

    def open_page(
        self,
        *,
        width: int,
        height: int,
        accept_downloads: bool = False,
        timezone_id: str | None = None,
        permissions: list[str] | None = None,
    ) -> tuple[object, list[str]]:
        """A page in a context of its own; `timezone_id` (an IANA name) is the browser's time zone, else the
        machine's; `permissions` (`["notifications"]`) are granted to every origin."""
        context = self.browser.new_context(
            viewport={"width": width, "height": height},
            accept_downloads=accept_downloads,
            timezone_id=timezone_id,
            permissions=permissions or [],
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on(
            "response", lambda r: problems.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 500 else None
        )
        return page, problems


@contextmanager
def chromium_page(*, width: int, height: int, accept_downloads: bool = False) -> Iterator[tuple[object, list[str]]]:
    """A fresh page of the given size, and the list the browser's console errors are collected into."""
    with chromium() as pages:
        yield pages.open_page(width=width, height=height, accept_downloads=accept_downloads)


def log_in(page, live_server, username: str, password: str = DEFAULT_PASSWORD) -> None:
    """Log `username` in through the login page, as a person does; the inbox opens."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/inbox/")
