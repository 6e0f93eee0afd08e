"""Relay's URLs: the API, its schema and docs, the admin."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from config.views import SwaggerDocsView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/", include("users.urls")),
    path("api/", include("messaging.urls")),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SwaggerDocsView.as_view(url_name="schema"), name="docs"),
]

handler400 = "config.views.bad_request"
handler404 = "config.views.not_found"
