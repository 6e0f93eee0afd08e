"""Under DEBUG, Django's debug 404 page renders with its styles in a real Chromium (not blocked by the CSP)."""

from tests.browser import BROWSER_TEST, chromium_page

pytestmark = BROWSER_TEST


def test_debug_404_under_inbox_renders_with_its_styles(settings, live_server, transactional_db, monkeypatch, tmp_path):
    """The yellow summary box of Django's debug page is styled, and the browser reports no CSP violation."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.DEBUG = True
    with chromium_page(width=1280, height=800) as (page, problems):
        response = page.goto(f"{live_server.url}/inbox/no-such-page/")
        assert response.status == 404
        assert page.evaluate("getComputedStyle(document.querySelector('#summary')).backgroundColor") == (
            "rgb(255, 255, 204)"
        )
        page.screenshot(path=tmp_path / "debug-404.png", full_page=True)
    assert not [problem for problem in problems if "Content Security Policy" in problem], problems
