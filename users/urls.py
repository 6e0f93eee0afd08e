"""/api/auth/*: every path answers with and without a trailing slash."""

from django.urls import re_path

from . import views

urlpatterns = [
    re_path(r"^token/?$", views.LoginView.as_view(), name="token_obtain_pair"),
    re_path(r"^token/refresh/?$", views.RefreshView.as_view(), name="token_refresh"),
    re_path(r"^token/verify/?$", views.VerifyView.as_view(), name="token_verify"),
    re_path(r"^logout/?$", views.LogoutView.as_view(), name="logout"),
    re_path(r"^register/?$", views.RegisterView.as_view(), name="register"),
    re_path(r"^me/?$", views.MeView.as_view(), name="me"),
]
