"""Error answers people read: the site's 404 and 500 pages, Django's debug pages under DEBUG, JSON under /api/."""

import pytest
from django.conf import settings as django_settings

from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

STRICT = django_settings.CONTENT_SECURITY_POLICY
DEBUG_ERRORS = django_settings.DEBUG_ERROR_CONTENT_SECURITY_POLICY


@pytest.fixture
def logged_in(client):
    client.force_login(UserFactory(username="dora"))
    return client


def test_with_debug_a_missing_page_is_djangos_debug_page_with_a_policy_that_lets_it_render(settings, logged_in):
    settings.DEBUG = True
    response = logged_in.get("/inbox/with/999999/")
    assert response.status_code == 404
    assert b"<style" in response.content  # Django's technical 404 page, styled inline
    assert response["Content-Security-Policy"] == DEBUG_ERRORS
    assert "style-src 'self' 'unsafe-inline'" in DEBUG_ERRORS


@pytest.mark.urls("config.tests.raising_urls")
def test_with_debug_a_failing_page_is_the_traceback_page_with_a_policy_that_lets_it_render(settings, client):
    settings.DEBUG = True
    client.raise_request_exception = False
    response = client.get("/inbox/boom/")
    assert response.status_code == 500
    assert b"a bug in a page" in response.content and b"<script" in response.content
    assert response["Content-Security-Policy"] == DEBUG_ERRORS


@pytest.mark.urls("config.tests.raising_urls")
def test_without_debug_a_failing_page_is_the_sites_500_page_under_the_strict_policy(client):
    client.raise_request_exception = False
    response = client.get("/inbox/boom/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page and "messaging/relay.css" in page
    assert "a bug in a page" not in page
    assert response["Content-Security-Policy"] == STRICT


def test_without_debug_a_missing_page_is_the_sites_404_page_under_the_strict_policy(logged_in):
    response = logged_in.get("/inbox/with/999999/")
    assert response.status_code == 404
    assert b"Not found" in response.content and b"messaging/relay.css" in response.content
    assert response["Content-Security-Policy"] == STRICT


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/no-such-endpoint"),
        ("get", "/api/messages/abc"),
        ("post", "/api/no-such-endpoint/"),
        ("delete", "/api/messages/1/nothing"),
        ("get", "/api/%0Anewline"),
    ],
)
def test_an_unknown_api_path_is_a_json_404_with_and_without_debug(settings, client, debug, method, path):
    settings.DEBUG = debug
    response = getattr(client, method)(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}
