"""The brute-force lockout (django-axes) of every way to log in: what it counts, and its answer.

django-axes counts failed logins (`AXES_*` in config/settings.py) on the login page, the admin's and
`/api/auth/token/` alike, since all three log in through `authenticate`, in two ways:

- per (username, client address) pair: at LOGIN_FAILURE_LIMIT failures that username is refused from that
  address;
- per client address, whatever the usernames: at LOGIN_ADDRESS_FAILURE_LIMIT failures every login from
  that address is refused.

Both refuse the right password too, until LOGIN_LOCKOUT_MINUTES have passed without a failed attempt. A
username is never locked on its own: failing logins with someone's name locks the addresses they came from,
not that person, who still logs in from their own address.
"""

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.exceptions import Throttled


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with a limit per lockout parameter set.

    axes compares the largest count of its parameter sets (`AXES_LOCKOUT_PARAMETERS`: the pair, then the
    address) with one limit (`AXES_FAILURE_LIMIT`, the pair's). The address has a limit of its own
    (`LOGIN_ADDRESS_FAILURE_LIMIT`), so its count is reported as reaching the pair's limit once it reaches
    its own, and as nothing before.
    """

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        pair, address = (
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        if address >= settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(pair, settings.AXES_FAILURE_LIMIT)
        return pair


def retry_after_seconds() -> int:
    """How long a locked-out client waits: the cool-off, which each attempt during the lockout starts anew."""
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


def in_minutes(seconds: int) -> str:
    """A wait in whole minutes, rounded up: "1 minute", "15 minutes"."""
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def lockout_message() -> str:
    return (
        "Too many failed login attempts for this account or from this address. "
        f"Try again in {in_minutes(retry_after_seconds())}."
    )


class LoginLockedOut(Throttled):
    """The API's answer (429 with Retry-After, in DRF's shape)."""

    default_code = "login_locked_out"

    def __init__(self) -> None:
        super().__init__(wait=retry_after_seconds(), detail=lockout_message())


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """The pages' answer (`AXES_LOCKOUT_CALLABLE`, called by AxesMiddleware): 429, Retry-After, and why."""
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": lockout_message(), "code": LoginLockedOut.default_code}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": lockout_message()}, status=429)
    response["Retry-After"] = str(retry_after_seconds())
    return response


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str | None:
    """The username a login attempt names (`AXES_USERNAME_CALLABLE`), cut to the 255 characters axes stores.

    `/api/auth/token/` takes a username of any length; none longer than 150 characters exists.
    """
    source = credentials or getattr(request, "data", request.POST)
    username = source.get("username")
    return username[:255] if isinstance(username, str) else None
