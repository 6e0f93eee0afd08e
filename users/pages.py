"""The account pages: sign up and settings, and Django's login, logout and password pages with Relay's limits
and notices."""

import math
from functools import wraps

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from config.middleware import content_security_policy
from config.throttles import LimitUnavailable, count_attempt

from . import services
from .forms import PasswordChangeForm, PasswordResetForm, SettingsForm, SignupForm
from .lockout import in_minutes
from .time_zones import browser_time_zone

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def too_many(request: HttpRequest, *, title: str, wait: float, what: str) -> HttpResponse:
    """429 with Retry-After and a page saying how long to wait."""
    seconds = max(1, math.ceil(wait))
    when = in_minutes(seconds) if seconds >= 60 else f"{seconds} seconds"
    message = f"Too many {what}. Try again in {when}."
    response = render(request, "registration/too_many.html", {"title": title, "message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def limit_unavailable(request: HttpRequest, *, title: str, error: LimitUnavailable) -> HttpResponse:
    """503 with Retry-After: a limit that fails closed cannot be counted for now (`config.throttles`)."""
    response = render(request, "registration/too_many.html", {"title": title, "message": error.detail}, status=503)
    response["Retry-After"] = str(error.wait)
    return response


def login_rate_limited(view):
    """A login view whose attempts (POSTs) count against `/api/auth/token/`'s limit (`login`, per client
    address): the login page, the admin's and the API share one counter."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST" and (wait := count_attempt(request, "login")) is not None:
            return too_many(request, title="Too many logins", wait=wait, what="logins from this address")
        return view(request, *args, **kwargs)

    return wrapped


@require_http_methods(["GET", "POST"])
@content_security_policy
def signup(request):
    """A new account, by the same rules, service and rate limit (`register`, per client address) as
    `POST /api/auth/register/` (refused with a 503 while that limit cannot be counted); then logged in."""
    if request.user.is_authenticated:
        return redirect("messaging-web:inbox")
    try:
        wait = count_attempt(request, "register") if request.method == "POST" else None
    except LimitUnavailable as error:
        return limit_unavailable(request, title="Sign-up paused", error=error)
    if wait is not None:
        return too_many(request, title="Too many sign-ups", wait=wait, what="accounts created from this address")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.register_user(**form.registration)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(SignupForm.field_of.get(field), errors)
        else:
            login(request, user, backend=MODEL_BACKEND)
            messages.success(request, f"Welcome to Relay, {user.username}.")
            return redirect("messaging-web:inbox")
    status = 400 if request.method == "POST" else 200
    return render(request, "registration/signup.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@content_security_policy
@login_required
def settings_page(request):
    """The caller's display name, read-receipt and missed-message email settings (`PATCH /api/auth/me/`'s
    service) and time zone."""
    user = request.user
    initial = {
        "display_name": user.display_name,
        "read_receipts": user.read_receipts,
        "time_zone": user.time_zone,
        "email_notifications": user.email_notifications,
    }
    form = SettingsForm(request.POST or None, initial=initial, browser_time_zone=browser_time_zone(request))
    if request.method == "POST":
        if form.is_valid():
            services.update_profile(user=user, **form.cleaned_data)
            messages.success(request, "Settings saved.")
            return redirect("accounts-settings")
        return render(request, "registration/settings.html", {"form": form, "nav": "settings"}, status=400)
    return render(request, "registration/settings.html", {"form": form, "nav": "settings"})


class LogoutView(auth_views.LogoutView):
    """Django's (POST only), saying so on the page it leads to (the login page): "You have signed out."."""

    def post(self, request, *args, **kwargs):
        was_logged_in = request.user.is_authenticated
        response = super().post(request, *args, **kwargs)
        if was_logged_in:
            # The session is gone; the notice travels in the messages framework's cookie.
            messages.info(request, "You have signed out.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's, mailing at most THROTTLE_PASSWORD_RESET_RATE requests per client address and
    THROTTLE_PASSWORD_RESET_EMAIL_RATE per email address (counted whether or not an account has that address,
    so the limit tells nothing about who has an account), and nothing while they cannot be counted (503)."""

    form_class = PasswordResetForm

    def post(self, request, *args, **kwargs):
        email = request.POST.get("email", "")
        try:
            wait = count_attempt(request, "password_reset")
            if wait is None and email.strip():
                wait = count_attempt(request, "password_reset_email", key=email.strip().lower())
        except LimitUnavailable as error:
            return limit_unavailable(request, title="Password reset paused", error=error)
        if wait is not None:
            return too_many(request, title="Too many password resets", wait=wait, what="password reset requests")
        return super().post(request, *args, **kwargs)


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, checking the current password through `authenticate`, so that guesses of it are failed logins
    to the brute-force lockout (users.lockout): they count and are refused as on the login page."""

    form_class = PasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}
