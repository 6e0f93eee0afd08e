"""Relay's URLs plus a page that fails, for the tests of the 500 answers."""

from django.urls import path

from config.urls import handler400, handler404
from config.urls import urlpatterns as relay_urlpatterns


def failing_page(request):
    raise RuntimeError("a bug in a page")


urlpatterns = [path("inbox/boom/", failing_page), *relay_urlpatterns]

__all__ = ["handler400", "handler404", "urlpatterns"]
