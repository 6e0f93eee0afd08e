"""django-postman's URLs under /messages/, as its documentation mounts them (bench/thread_page.py only)."""

from django.urls import include, path

urlpatterns = [path("messages/", include("postman.urls", namespace="postman"))]
