"""Security headers: the Content-Security-Policy of HTML responses, /docs under its own policy, HSTS."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.test import RequestFactory

from config.middleware import ContentSecurityPolicyMiddleware
from config.views import DOCS_CONTENT_SECURITY_POLICY
from users.tests.factories import UserFactory, client_for

pytestmark = pytest.mark.django_db

STRICT = "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"


def test_html_pages_get_the_strict_policy(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == STRICT


def test_an_html_404_gets_the_strict_policy_and_an_api_404_is_json_without_one(client):
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert page["Content-Security-Policy"] == STRICT
    api = client.get("/api/no-such-endpoint")
    assert api.status_code == 404 and api["Content-Type"] == "application/json"
    assert "Content-Security-Policy" not in api


def test_a_policy_set_by_the_view_is_kept():
    def view(request):
        response = HttpResponse("<p>hi</p>")
        response["Content-Security-Policy"] = "sandbox"
        return response

    middleware = ContentSecurityPolicyMiddleware(view)
    assert middleware(RequestFactory().get("/"))["Content-Security-Policy"] == "sandbox"


def test_json_answers_get_no_page_policy():
    response = client_for(UserFactory()).get("/api/messages/unread-count")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def same_origin_references(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_docs_page_loads_only_same_origin_assets_and_no_inline_script(client):
    response = client.get("/docs")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == DOCS_CONTENT_SECURITY_POLICY
    assert "script-src" not in DOCS_CONTENT_SECURITY_POLICY  # scripts: 'self' only, from default-src
    html = response.content.decode()

    references = same_origin_references(html)
    assert references, html
    for url in references:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, url
    # Every <script> has a src: the page works under script-src 'self'.
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))

    # The sidecar assets exist, and the init script is served by the view itself.
    for url in references:
        path = urlsplit(url).path
        if path.startswith("/static/"):
            assert finders.find(path.removeprefix("/static/")), path
    init_script = next(url for url in references if "script" in urlsplit(url).query)
    script = client.get(init_script)
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema" in script.content.decode()


def test_hsts_and_https_redirect_when_configured(client, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/api/schema/").status_code == 301
    response = client.get("/api/schema/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
