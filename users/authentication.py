"""Which account a JWT speaks for: the one rule that the API, the legacy API, refresh and verify all apply."""

import re
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest
from drf_spectacular.authentication import SessionScheme as SpectacularSessionScheme
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.drainage import set_override
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

from .models import User
from .selectors import user_by_id
from .tokens import password_version_matches

# simplejwt writes the id as a string of ASCII digits; a JSON integer is the same id. Anything else (`"1e0"`,
# `[5]`, `true`, `1.0`, other scripts' digits, which `int()` would read) is not an id: the ORM would raise on
# it (a 500) or, for `true`, quietly read it as user 1.
_DIGITS = re.compile(r"[0-9]{1,19}")
_LARGEST_ID = 2**63 - 1  # BigAutoField


def user_id_from_claim(value: object) -> int | None:
    """The user id a token's claim names, or None when the claim is not an id."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        value = int(value)
    if type(value) is int and 0 < value <= _LARGEST_ID:
        return value
    return None


def user_for_token(token: Token) -> User:
    """The active account `token` was issued to, else `AuthenticationFailed` (a 401).

    Refused: a user id claim that is missing or not an id, a deleted or deactivated account, and a token
    issued before the account's password last changed (tokens carry a keyed password version,
    `users.tokens`; refresh tokens pass it on to the access tokens they mint, so both kinds are checked).
    """
    user_id = user_id_from_claim(token.payload.get(jwt_settings.USER_ID_CLAIM))
    if user_id is None:
        raise InvalidToken("Token contained no recognizable user identification")
    user = user_by_id(user_id)
    if user is None or not jwt_settings.USER_AUTHENTICATION_RULE(user):
        raise AuthenticationFailed("No active account found for the given token.", "no_active_account")
    if not password_version_matches(token, user):
        raise AuthenticationFailed("The user's password has been changed.", "password_changed")
    return user


def user_for_session(session_key: str | None) -> User | None:
    """The active account the session `session_key` is signed in to now, or None: the session has ended
    (logged out, expired, flushed), its account is deleted or deactivated, or the password changed since the
    session signed in (Django's session hash, as `django.contrib.auth.get_user` checks on every request).
    """
    if not session_key:
        return None
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(request)
    return user if isinstance(user, User) and user.is_authenticated else None


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's bearer-token authentication, finding the user by `user_for_token`."""

    # simplejwt declares the return as a TypeVar that no argument binds (`AuthUser`), which no concrete
    # type can override.
    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        return user_for_token(validated_token)


# What /docs shows in its Authorize dialog under each scheme (Markdown). The dialog lists the bearer scheme
# first (`config.schema.jwt_scheme_first`): a JWT pasted into the session box is never sent at all.
JWT_SCHEME_DESCRIPTION = (
    "An access token from `POST /api/auth/token/` (`{username, password}` answers `{access, refresh}`): "
    "paste the `access` value (`Bearer ` is added for you). An access token lives 15 minutes by default; "
    "`POST /api/auth/token/refresh/` gives a new one."
)
SESSION_SCHEME_DESCRIPTION = (
    "The session of a browser signed in to Relay (its pages or the admin): such a browser sends the cookie "
    "by itself, so there is nothing to paste here (a script cannot set a cookie). A JWT goes in **jwtAuth**."
)


# Subclasses (the legacy API's `BearerAuthentication`) read the same access tokens: they share this scheme, so one
# box in /docs serves every operation, and the shared name is no collision.
set_override(JWTAuthentication, "suppress_collision_warning", True)


class JWTScheme(SimpleJWTScheme):
    """In the OpenAPI schema, the same bearer scheme as simplejwt's own class, saying where a token comes from."""

    target_class = "users.authentication.JWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {**super().get_security_definition(auto_schema), "description": JWT_SCHEME_DESCRIPTION}


class SessionScheme(SpectacularSessionScheme):
    """DRF's session authentication in the schema (drf-spectacular's `cookieAuth`), saying what it is for."""

    priority = 0  # above drf-spectacular's own (-1)

    def get_security_definition(self, auto_schema):
        return {**super().get_security_definition(auto_schema), "description": SESSION_SCHEME_DESCRIPTION}
