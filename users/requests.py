"""Requests of a signed-in user, as the type checker sees them.

A view behind `IsAuthenticated` (the API's default permission), `login_required` or the admin is only ever
called with a request whose `user` is a `User`; annotating its `request` with these classes says so, where
`HttpRequest.user` and DRF's `Request.user` are "a `User` or an `AnonymousUser`" (django-stubs' README: "How
can I create a HttpRequest that's guaranteed to have an authenticated user?"). Nothing creates them: at run
time the request is Django's or DRF's own.
"""

from django.http import HttpRequest
from rest_framework.request import Request

from .models import User


class AuthenticatedHttpRequest(HttpRequest):
    """A Django request of a signed-in user (`login_required`, the admin)."""

    user: User


class AuthenticatedRequest(Request):
    """A DRF request past `IsAuthenticated`."""

    user: User
