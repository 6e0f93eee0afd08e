"""Writes on users."""

from django.contrib.auth import get_user_model
from django.db import transaction

User = get_user_model()


@transaction.atomic
def register_user(*, username: str, email: str, password: str, display_name: str = "") -> User:
    """Create an active user with a hashed password."""
    user = User(username=username, email=email, display_name=display_name.strip())
    user.set_password(password)
    user.save()
    return user
