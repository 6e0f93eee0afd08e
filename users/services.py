"""Writes on users."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

User = get_user_model()


def register_user(*, username: str, email: str, password: str, display_name: str = "") -> User:
    """Create an active user with a hashed password.

    The serializer checks that the username is free; a concurrent registration of the same name can still
    win the race, and the database's unique constraint then answers it as the same field error.
    """
    user = User(username=username, email=email, display_name=display_name.strip())
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError({"username": ["A user with that username already exists."]}) from None
    return user


def revoke_refresh_tokens(*, user: User) -> int:
    """Blacklist every refresh token of `user` that is not yet blacklisted; how many were.

    Called by `User.save` when the password changed, wherever it changed (the admin's form, `set_password`
    anywhere): the old password's sessions end with it.
    """
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    # ignore_conflicts: a token rotated or logged out at the same moment is blacklisted either way.
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live.only("pk")], ignore_conflicts=True
    )
    return len(created)
