"""The rule for new usernames, one for the API's registration and the admin alike.

A new username must not pass for someone else's in the people lists: it is NFKC-normalised (Django's
`normalize_username`: full-width `ａｌｉｃｅ` is `alice`), made of ASCII letters, digits and @/./+/-/_ only
(Django's `ASCIIUsernameValidator`: no `alıce`, no Cyrillic `аlice`), and unique regardless of case.
Usernames carried from the old service are not checked again: they stay as they were.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.core.exceptions import ValidationError

MAX_LENGTH = 150
TAKEN = "A user with that username already exists."
NOT_ASCII = "Enter a username of English letters, digits and @/./+/-/_ only (no accents or other scripts)."


def username_taken(username: str) -> bool:
    """Whether someone has `username` already, in any case."""
    return get_user_model().objects.filter(username__iexact=username).exists()


def clean_new_username(username: str) -> str:
    """`username` in the form it is stored in, or `ValidationError` saying what is wrong with it."""
    User = get_user_model()
    username = User.normalize_username(username)
    if len(username) > MAX_LENGTH:  # NFKC can lengthen a name (ﬃ is three letters)
        raise ValidationError(f"Ensure this field has no more than {MAX_LENGTH} characters.", code="max_length")
    ASCIIUsernameValidator(message=NOT_ASCII)(username)
    if username_taken(username):
        raise ValidationError(TAKEN, code="unique")
    return username
