"""Forms of the account pages. They only parse input: the rules are the API's (`users.serializers`)."""

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth import forms as auth_forms
from django.db.models import Q

from .display_names import clean_display_name
from .models import User
from .passwords import UNVERIFIABLE_PASSWORD
from .serializers import RegisterSerializer


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


class SettingsForm(forms.Form):
    display_name = forms.CharField(label="Display name", max_length=150, required=False)
    read_receipts = forms.BooleanField(label="Let people see when I have read their messages", required=False)

    def clean_display_name(self) -> str:
        return clean_display_name(self.cleaned_data["display_name"])


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
