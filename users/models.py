"""The custom user model of Relay."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person who sends and receives messages; also staff and moderators (the admin)."""

    display_name = models.CharField(max_length=150, blank=True)

    class Meta:
        db_table = "users_user"
        verbose_name = "user"
        verbose_name_plural = "users"

    def __str__(self):
        return self.username

    @property
    def public_name(self) -> str:
        """The name shown to other users: the display name, or the username when none is set."""
        return self.display_name or self.username
