"""Writes on users."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

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
