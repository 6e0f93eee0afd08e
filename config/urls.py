"""Relay's URLs: the API, its schema and docs, the admin, the login pages and the inbox pages."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from config.middleware import content_security_policy
from config.views import SwaggerDocsView
from users import pages
from users.forms import PasswordResetForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/", include("users.urls")),
    path("api/", include("messaging.urls")),
    # The old service's endpoints (deprecated): removing legacy_dm is this line and INSTALLED_APPS.
    path("api/", include("legacy_dm.urls")),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SwaggerDocsView.as_view(url_name="schema"), name="docs"),
    path(
        "accounts/login/",
        content_security_policy(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="accounts-login",
    ),
    path("accounts/logout/", content_security_policy(auth_views.LogoutView.as_view()), name="accounts-logout"),
    path("accounts/signup/", pages.signup, name="accounts-signup"),
    path("accounts/settings/", pages.settings_page, name="accounts-settings"),
    path(
        "accounts/password_change/",
        content_security_policy(auth_views.PasswordChangeView.as_view()),
        name="password_change",
    ),
    path(
        "accounts/password_change/done/",
        content_security_policy(auth_views.PasswordChangeDoneView.as_view()),
        name="password_change_done",
    ),
    path(
        "accounts/password_reset/",
        content_security_policy(auth_views.PasswordResetView.as_view(form_class=PasswordResetForm)),
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
    path("", include("messaging.web.urls")),
]

handler400 = "config.views.bad_request"
handler404 = "config.views.not_found"
