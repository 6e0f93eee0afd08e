"""What the event stream hears of accounts: a change to a user's credentials, wherever it is made (the pages'
logout, password change and reset, the admin, the API, `set_password` anywhere), tells their open streams to
check their own credential (`events.credentials_changed`, `stream.py`).

Signals rather than calls from `users`: the dependency arrows run from `messaging` to `users`, never back.
"""

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.http import HttpRequest

from users.models import User

from . import events

# A save that names its fields changes a credential only through these (a login saves `last_login`, a
# profile change `display_name`: nothing to check then).
_CREDENTIAL_FIELDS = frozenset({"password", "is_active"})


def _logged_out(
    sender: type[AbstractBaseUser], request: HttpRequest, user: AbstractBaseUser | None, **kwargs: Any
) -> None:
    """`django.contrib.auth.logout` sends this signal before it ends the session: end it first, so that a
    stream checking its session on this event finds it gone (flushing twice is harmless)."""
    if user is None:
        return
    session = getattr(request, "session", None)
    if session is not None:
        session.flush()
    events.credentials_changed(user.pk)


def _user_saved(
    sender: type[User], instance: User, created: bool, update_fields: Iterable[str] | None = None, **kwargs: Any
) -> None:
    if not created and (update_fields is None or _CREDENTIAL_FIELDS & set(update_fields)):
        events.credentials_changed(instance.pk)


def _user_deleted(sender: type[User], instance: User, **kwargs: Any) -> None:
    events.credentials_changed(instance.pk)


def connect() -> None:
    user_model = get_user_model()
    user_logged_out.connect(_logged_out, dispatch_uid="messaging.credentials.logout")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="messaging.credentials.save")
    post_delete.connect(_user_deleted, sender=user_model, dispatch_uid="messaging.credentials.delete")
