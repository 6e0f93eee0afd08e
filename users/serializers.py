"""Shapes of users on the API."""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.contrib.rest_framework_simplejwt import TokenObtainPairSerializerExtension
from rest_framework import serializers
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import UntypedToken

from config.serializers import InputSerializer, StrictBooleanField

from . import services
from .authentication import user_for_token
from .display_names import clean_display_name
from .models import Person, User
from .tokens import RefreshToken
from .usernames import clean_new_username


def user_data(user: Person) -> dict[str, Any]:
    """`UserSerializer`'s rendering of `user`, written out.

    Every message, conversation, participant and block carries a user, and DRF's loop over a
    `ModelSerializer`'s fields took about ten times as long as this dict (1.25 ms against 0.11 ms for a
    page of 20 participants). `users/tests/test_user_shapes.py` holds this equal to DRF's rendering of the
    declarations.
    """
    return {"id": user.id, "username": user.username, "display_name": user.public_name}


def once_per_person(render: Callable[[Person], dict[str, Any]]) -> Callable[[Person], dict[str, Any]]:
    """`render` (a person's shape, such as `user_data`) for one rendering of many rows: each person rendered on
    first sight, by id, and the same dict given each time after. A page of 11 conversations names 33 people,
    12 of them different: the viewer is in every row."""
    made: dict[int, dict[str, Any]] = {}

    def shape(user: Person) -> dict[str, Any]:
        found = made.get(user.id)
        if found is None:
            found = made[user.id] = render(user)
        return found

    return shape


class UserSerializer(serializers.ModelSerializer):
    """`{"id", "username", "display_name"}`; `display_name` falls back to the username."""

    display_name = serializers.CharField(source="public_name", read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "display_name"]
        read_only_fields = fields

    def to_representation(self, instance: User) -> dict[str, Any]:
        # The declarations above state the shape (and the schema); `user_data` renders it.
        return user_data(instance)


class MeSerializer(UserSerializer):
    """The caller: their user, with their own settings (`read_receipts`, `email_notifications`)."""

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "read_receipts", "email_notifications"]
        read_only_fields = fields

    def to_representation(self, instance: User) -> dict[str, Any]:
        return {
            **user_data(instance),
            "read_receipts": instance.read_receipts,
            "email_notifications": instance.email_notifications,
        }


class ProfileUpdateSerializer(InputSerializer):
    """`PATCH /api/auth/me/`: any of the caller's display name and settings."""

    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    read_receipts = StrictBooleanField(required=False)
    email_notifications = StrictBooleanField(
        required=False, help_text="Email about messages left unread while away (the missed-message email)."
    )

    def validate_display_name(self, value):
        return _cleaned_display_name(value)


class RegisterSerializer(InputSerializer):
    username = serializers.CharField(max_length=150)  # and the rule of users.usernames
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(write_only=True, max_length=128, style={"input_type": "password"})
    display_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")

    def validate_username(self, value):
        try:
            return clean_new_username(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate_display_name(self, value):
        return _cleaned_display_name(value)

    def validate_email(self, value):
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("A user with that email already exists.")
        return value

    def validate(self, attrs):
        candidate = User(username=attrs["username"], email=attrs["email"], display_name=attrs["display_name"])
        try:
            validate_password(attrs["password"], user=candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


def _cleaned_display_name(value: str) -> str:
    """The rule of `users.display_names`, its refusal as the field's error."""
    try:
        return clean_display_name(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.messages) from exc


class LogoutSerializer(InputSerializer):
    refresh = serializers.CharField()


class TokenObtainPairSerializer(jwt_serializers.TokenObtainPairSerializer):
    """`{username, password}` → `{access, refresh}`, Relay's tokens (`users.tokens`)."""

    token_class = RefreshToken


class TokenObtainPairSchema(TokenObtainPairSerializerExtension):
    """In the OpenAPI schema, the shape of simplejwt's own serializer (its extension matches that class only)."""

    target_class = "users.serializers.TokenObtainPairSerializer"


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """`{refresh}` → `{access, refresh}`: a refresh token of an active account (`user_for_token`), used once
    (`services.rotate_refresh_token`); anything else is a 401."""

    token_class = RefreshToken

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])  # signed, unexpired, a refresh token, not blacklisted
        return services.rotate_refresh_token(refresh=refresh, user=user_for_token(refresh))


class TokenVerifySerializer(jwt_serializers.TokenVerifySerializer):
    """200 only for a token that would be accepted: signed, unexpired, not blacklisted, of an active account.

    simplejwt answers 400 for a blacklisted token and 200 for a deactivated user's; both are 401 here.
    """

    def validate(self, attrs):
        token = UntypedToken(attrs["token"])
        if BlacklistedToken.objects.filter(token__jti=token.get(jwt_settings.JTI_CLAIM)).exists():
            raise InvalidToken("Token is blacklisted")
        user_for_token(token)
        return {}
