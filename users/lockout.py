"""The answer to a login refused by the brute-force lockout (django-axes), on every way to log in.

django-axes counts failed logins per client address and per username (`AXES_*` in config/settings.py) on
the login page, the admin's and `/api/auth/token/` alike, since all three log in through `authenticate`.
Once either count reaches LOGIN_FAILURE_LIMIT, logins from that address or for that username are refused,
even with the right password, until LOGIN_LOCKOUT_MINUTES have passed without a failed attempt.
"""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.exceptions import Throttled


def retry_after_seconds() -> int:
    """How long a locked-out client waits: the cool-off, which each attempt during the lockout starts anew."""
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def lockout_message() -> str:
    minutes = -(-retry_after_seconds() // 60)
    return (
        "Too many failed login attempts for this account or from this address. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


class LoginLockedOut(Throttled):
    """The API's answer (429 with Retry-After, in DRF's shape)."""

    default_code = "login_locked_out"

    def __init__(self):
        super().__init__(wait=retry_after_seconds(), detail=lockout_message())


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """The pages' answer (`AXES_LOCKOUT_CALLABLE`, called by AxesMiddleware): 429, Retry-After, and why."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": lockout_message(), "code": LoginLockedOut.default_code}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": lockout_message()}, status=429)
    response["Retry-After"] = str(retry_after_seconds())
    return response


def attempted_username(request, credentials=None) -> str | None:
    """The username a login attempt names (`AXES_USERNAME_CALLABLE`), cut to the 255 characters axes stores.

    `/api/auth/token/` takes a username of any length; none longer than 150 characters exists.
    """
    source = credentials or getattr(request, "data", request.POST)
    username = source.get("username")
    return username[:255] if isinstance(username, str) else None
