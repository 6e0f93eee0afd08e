"""The account pages: sign up and settings (login, logout and the password pages are Django's views)."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from config.middleware import content_security_policy

from . import services
from .forms import SettingsForm, SignupForm

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


@require_http_methods(["GET", "POST"])
@content_security_policy
def signup(request):
    """A new account, by the same rules and service as `POST /api/auth/register/`; then logged in."""
    if request.user.is_authenticated:
        return redirect("messaging-web:inbox")
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
    """The caller's display name and read-receipt setting (`PATCH /api/auth/me/`'s service)."""
    user = request.user
    initial = {"display_name": user.display_name, "read_receipts": user.read_receipts}
    form = SettingsForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            services.update_profile(user=user, **form.cleaned_data)
            messages.success(request, "Settings saved.")
            return redirect("accounts-settings")
        return render(request, "registration/settings.html", {"form": form, "nav": "settings"}, status=400)
    return render(request, "registration/settings.html", {"form": form, "nav": "settings"})
