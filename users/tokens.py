"""Relay's JWTs: simplejwt's access and refresh tokens, with a password version instead of its MD5.

simplejwt's `CHECK_REVOKE_TOKEN` puts an MD5 of the password hash in every token, readable by anyone who
holds one (a JWT is signed, not encrypted), and for the carried accounts whose password is the constant
unusable marker (`users.passwords.UNVERIFIABLE_PASSWORD`) that value is the same for every one of them and
known to all. Relay's tokens carry `PASSWORD_CLAIM` instead: an HMAC-SHA256, under the JWT signing key, of
the user's id and password hash (`password_version`). It changes whenever the password does, so a token
minted before a change is refused (`users.authentication.user_for_token`), and without the signing key it
cannot be computed or tested against a guessed hash.

Tokens issued before this claim existed (they carry simplejwt's `hash_password`) have no `PASSWORD_CLAIM` and
are refused: their holders log in again once, and nothing derived from a password hash stays in circulation
for the seven days a refresh token lives.

Every token is made through these classes (login: `users.serializers.TokenObtainPairSerializer`; refresh:
`users.services.rotate_refresh_token`); tests and benchmarks mint theirs with them too.
"""

import hmac
from typing import TYPE_CHECKING

from django.utils.crypto import salted_hmac
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.settings import api_settings as jwt_settings

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

PASSWORD_CLAIM = "pwv"
_SALT = "users.tokens.password_version"


def password_version(user: "AbstractBaseUser") -> str:
    """The value of `PASSWORD_CLAIM` for `user` as it is now: changes with the password hash."""
    value = f"{user.pk}:{user.password}"
    return salted_hmac(_SALT, value, secret=jwt_settings.SIGNING_KEY, algorithm="sha256").hexdigest()


def password_version_matches(token: tokens.Token, user: "AbstractBaseUser") -> bool:
    """Whether `token` was minted for `user`'s current password (False for a claim of any other type)."""
    claim = token.payload.get(PASSWORD_CLAIM)
    return isinstance(claim, str) and hmac.compare_digest(claim.encode(), password_version(user).encode())


class PasswordVersionedToken(tokens.Token):
    """Adds `PASSWORD_CLAIM` to a token made for a user, before a refresh token is recorded as outstanding."""

    @classmethod
    def for_user(cls, user):
        token = super().for_user(user)
        token[PASSWORD_CLAIM] = password_version(user)
        return token


# simplejwt's classes first: their own behaviour (type, lifetime, the blacklist), then the claim, which
# `BlacklistMixin.for_user` reaches through `super()` before it stores the token.
class AccessToken(tokens.AccessToken, PasswordVersionedToken):
    pass


# mypy finds simplejwt's own `BlacklistMixin.for_user` and `Token.for_user` incompatible in any class that
# adds a second `Token` base (a stub gap of simplejwt's, not of this class).
class RefreshToken(tokens.RefreshToken, PasswordVersionedToken):  # type: ignore[misc]
    access_token_class = AccessToken
