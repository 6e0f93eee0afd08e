"""The custom user model of Relay."""

from typing import TYPE_CHECKING, NamedTuple

from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import AbstractUser
from django.db import models, transaction
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from .display_names import shown_display_name
from .usernames import skeleton_of


class PersonRules:
    """How a person is shown, over their values: the rule of a `User` and of the lists' rows of one
    (`PersonRow`), written once."""

    __slots__ = ()  # the rows' tuples stay without a `__dict__`

    if TYPE_CHECKING:
        username: str
        display_name: str

    @property
    def public_name(self) -> str:
        """The name shown to other users: the display name (shown by its rule, `users.display_names`), or the
        username when none is set."""
        return shown_display_name(self.display_name) or self.username


class User(PersonRules, AbstractUser):
    """A person who sends and receives messages; also staff and moderators (the admin)."""

    # Wider than Django's 128: hashes carried from the old service in forms Django verifies (passlib's
    # pbkdf2-sha512 is about 145 characters with its prefix) must fit.
    password = models.CharField(_("password"), max_length=255)
    display_name = models.CharField(max_length=150, blank=True)
    read_receipts = models.BooleanField(
        default=True,
        db_default=True,  # also for rows the carry and the live sync insert with SQL
        help_text="Let people see when this user has read their messages.",
    )
    # The zone the pages show this user times in (users.time_zones); blank: their browser's.
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_default="",  # also for rows the carry and the live sync insert with SQL
        help_text="The IANA time zone the pages show times in, such as Europe/Paris; blank: the browser's.",
    )
    # Missed-message email (messaging.notifications): on unless the user turns it off in the settings, with
    # `PATCH /api/auth/me/` or by the unsubscribe link of such a mail.
    email_notifications = models.BooleanField(
        default=True,
        db_default=True,  # also for rows the carry and the live sync insert with SQL
        help_text="Email this user about messages they have not read while away.",
    )
    # The old service's password hash, verbatim, where the carry found no Django hasher to verify it: the
    # account got an unusable password instead, and its owner sets a new one. NULL for everyone else
    # (an empty string is an old hash that was empty).
    legacy_password = models.TextField(
        null=True,
        blank=True,
        editable=False,
        help_text="The old service's password hash that could not be carried (the account's password is unusable).",
    )

    class Meta:
        db_table = "users_user"
        verbose_name = "user"
        verbose_name_plural = "users"
        indexes = [
            # A new username's check (users.usernames: the same name in any case, or a look-alike) is two
            # index lookups, not a scan of every user.
            models.Index(Upper("username"), name="user_username_upper_idx"),
            models.Index(skeleton_of("username"), name="user_username_skeleton_idx"),
        ]

    def __str__(self):
        return self.username

    def save(self, *args, **kwargs):
        """Save; after a password change (`set_password`, then save) every refresh token of the user is
        blacklisted (`users.services.revoke_refresh_tokens`).

        Django itself marks a password change this way (`_password`, which `AbstractBaseUser.save` hands to
        the password validators): a hash upgraded at login is not a change, and neither is a new user.
        """
        if self._password is None or self._state.adding:
            return super().save(*args, **kwargs)
        from users.services import revoke_refresh_tokens  # services import this model

        with transaction.atomic(using=kwargs.get("using")):  # the new password and the revocation together
            super().save(*args, **kwargs)
            revoke_refresh_tokens(user=self)

    def set_password(self, raw_password):
        """Django's, with the hasher the live sync needs while it runs (`users.passwords`)."""
        from users.passwords import preferred_hasher

        self.password = make_password(raw_password, hasher=preferred_hasher())
        self._password = raw_password

    def check_password(self, raw_password):
        """Django's; a hash not in the preferred form (`users.passwords`) is re-hashed on a right password."""
        from users.passwords import preferred_hasher

        def setter(raw_password):
            self.set_password(raw_password)
            self._password = None  # an upgrade is not a password change (see `save`)
            self.save(update_fields=["password"])

        return check_password(raw_password, self.password, setter, preferred=preferred_hasher())


class _PersonColumns(NamedTuple):
    id: int
    username: str
    display_name: str
    read_receipts: bool


class PersonRow(_PersonColumns, PersonRules):
    """A person as the lists read them (`messaging.list_reads.PERSON_COLUMNS`): the listed fields of a `User`,
    without the instance (a tuple costs a tenth of a model instance to make), shown by the same rules."""

    __slots__ = ()

    @property
    def pk(self) -> int:
        return self.id


# A person as the renderers take them: a user, or a list's row of one.
Person = User | PersonRow
