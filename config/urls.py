"""Relay's URLs: the API, its schema and docs, the admin, the login pages and the inbox pages."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from config import health
from config.metrics import metrics_view
from config.middleware import content_security_policy
from config.views import SwaggerDocsView, unknown_api_path
from messaging.web import unsubscribe
from users import pages

admin.site.site_header = "Relay moderation console"
admin.site.site_title = "Relay moderation"
admin.site.index_title = "Messages, reports and people"
# No app list beside every page: it takes a quarter of a 1280-px screen from the message list, and the home
# page and the breadcrumbs lead to the same places.
admin.site.enable_nav_sidebar = False


class FaviconView(RedirectView):
    """Browsers ask for /favicon.ico on every page without an icon link (the admin, /docs): the site's icon."""

    def get_redirect_url(self, *args, **kwargs):
        return static("messaging/favicon.svg")


urlpatterns = [
    path("favicon.ico", FaviconView.as_view()),
    # For the proxy (docs/operations.md, "Health"): the process is alive; it and what it needs answer in time.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus; not public (config/metrics.py)
    path("admin/login/", pages.login_rate_limited(admin.site.login), name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/auth/", include("users.urls")),
    path("api/", include("messaging.urls")),
    # The old service's endpoints (deprecated): removing legacy_dm is this line and INSTALLED_APPS.
    path("api/", include("legacy_dm.urls")),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SwaggerDocsView.as_view(url_name="schema"), name="docs"),
    # After every API pattern: an unknown /api/ path is a JSON 404, with DEBUG on too.
    re_path(r"^api/(?P<path>[\s\S]*)$", unknown_api_path, name="api-unknown"),
    path(
        "accounts/login/",
        content_security_policy(
            pages.login_rate_limited(auth_views.LoginView.as_view(redirect_authenticated_user=True))
        ),
        name="accounts-login",
    ),
    path("accounts/logout/", content_security_policy(pages.LogoutView.as_view()), name="accounts-logout"),
    path("accounts/signup/", pages.signup, name="accounts-signup"),
    path("accounts/settings/", pages.settings_page, name="accounts-settings"),
    path(
        "accounts/password_change/",
        content_security_policy(pages.PasswordChangeView.as_view()),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        content_security_policy(auth_views.PasswordChangeDoneView.as_view()),
        name="password_change_done",
    ),
    path(
        "accounts/password_reset/",
        content_security_policy(pages.PasswordResetView.as_view()),
        name="password_reset",
    ),
    path(
        "accounts/password_reset/done/",
        content_security_policy(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        content_security_policy(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        content_security_policy(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
    # The missed-message email's unsubscribe link (no login: its signed token says whose mail).
    path("notifications/unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="notifications-unsubscribe"),
    path("", include("messaging.web.urls")),
]

handler400 = "config.views.bad_request"
handler404 = "config.views.not_found"
