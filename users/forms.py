"""Forms of the account pages. They only parse input: the rules are the API's (`users.serializers`)."""

from collections.abc import Iterator
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth import forms as auth_forms
from django.db.models import Q
from django.forms.renderers import BaseRenderer
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .display_names import clean_display_name
from .models import User
from .passwords import UNVERIFIABLE_PASSWORD
from .serializers import RegisterSerializer
from .time_zones import clean_time_zone, offered_time_zones


class SignupForm(forms.Form):
    """Django's `UserCreationForm` fields (`username`, `password1`, `password2`) and `email`, checked by the
    rules of `POST /api/auth/register/` (its serializer), so the page and the API cannot drift apart.
    """

    username = forms.CharField(max_length=150, help_text="Letters, digits and . _ - only.")
    email = forms.EmailField(max_length=254)
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput)

    field_of = {"username": "username", "email": "email", "password": "password1"}

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if self.errors:
            return data
        if data["password1"] != data["password2"]:
            self.add_error("password2", "The two passwords are not the same.")
            return data
        serializer = RegisterSerializer(
            data={"username": data["username"], "email": data["email"], "password": data["password1"]}
        )
        if not serializer.is_valid():
            for key, errors in serializer.errors.items():
                self.add_error(self.field_of.get(key), [str(error) for error in errors])
        else:
            self.registration = serializer.validated_data
        return data


class TimeZoneInput(forms.TextInput):
    """A text input that suggests the time zones (`users.time_zones.offered_time_zones`) as one types: a
    `<datalist>` finds "Auckland" inside "Pacific/Auckland", where a select of 400 names only scrolls."""

    list_id = "time-zone-choices"

    def __init__(self) -> None:
        super().__init__(attrs={"list": self.list_id, "autocomplete": "off", "spellcheck": "false"})

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: BaseRenderer | None = None
    ) -> SafeString:
        field = super().render(name, value, attrs, renderer)
        options = format_html_join("", '<option value="{}"></option>', ((zone,) for zone in offered_time_zones()))
        return format_html('{}<datalist id="{}">{}</datalist>', field, self.list_id, options)


class SettingsForm(forms.Form):
    display_name = forms.CharField(label="Display name", max_length=150, required=False)
    # Before read receipts, whose explanation follows the form's fields on the page.
    time_zone = forms.CharField(label="Time zone", max_length=64, required=False, widget=TimeZoneInput())
    read_receipts = forms.BooleanField(label="Let people see when I have read their messages", required=False)
    email_notifications = forms.BooleanField(
        label="Email me about messages I have not read while away",
        required=False,
    )

    def __init__(self, *args: Any, browser_time_zone: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email_notifications"].help_text = (
            f"After {settings.NOTIFY_EMAIL_AFTER_MINUTES} minutes unread while no Relay page of yours is open: one "
            f"mail per conversation, at most one every {settings.NOTIFY_EMAIL_EVERY_MINUTES} minutes, never for "
            "a muted conversation."
        )
        self.fields["time_zone"].help_text = (
            format_html("Times show in this zone. Leave it blank to use your browser's: {}.", browser_time_zone)
            if browser_time_zone
            else "Times show in this zone. Leave it blank to use your browser's (UTC until a page has loaded "
            "in it with JavaScript on)."
        )

    def clean_display_name(self) -> str:
        return clean_display_name(self.cleaned_data["display_name"])

    def clean_time_zone(self) -> str:
        return clean_time_zone(self.cleaned_data["time_zone"])


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Django's, also for carried accounts whose old hash no hasher could verify: they set a new password
    this way (their password is unusable, which Django's form otherwise skips).
    """

    def get_users(self, email: str) -> Iterator[User]:
        carried = User._default_manager.filter(Q(email__iexact=email), is_active=True, password=UNVERIFIABLE_PASSWORD)
        seen: set[int] = set()
        for user in [*super().get_users(email), *carried]:
            if user.pk not in seen:
                seen.add(user.pk)
                yield user


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's, with the current password checked by `authenticate` (the login's backends and lockout)."""

    def __init__(self, user, *args, request, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        checked = authenticate(self.request, username=self.user.get_username(), password=old_password)
        if checked is None or checked.pk != self.user.pk:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password
