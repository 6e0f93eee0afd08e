"""The rule for new usernames, one for the API's registration, the sign-up page and the admin alike.

A new username must not pass for someone else's in the people lists: it is NFKC-normalised (Django's
`normalize_username`: full-width `ａｌｉｃｅ` is `alice`), made of ASCII letters, digits and @/./+/-/_ only
(Django's `ASCIIUsernameValidator`: no `alıce`, no Cyrillic `аlice`), and its skeleton is no one else's:
the name with the ASCII characters that read alike in common fonts folded together, regardless of case
(`SKELETON_FOLDS`: `aIice`, `a1ice` and `aiice` are `alice`; `b0b` is `bob`; `rn` is `m`, `vv` is `w`).
Usernames carried from the old service are not checked again: they stay as they were, even where two of
them share a skeleton.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.core.exceptions import ValidationError
from django.db.models import BooleanField, ExpressionWrapper, F, Func, Q, Value
from django.db.models.functions import Lower, Replace

MAX_LENGTH = 150
TAKEN = "A user with that username already exists."
LOOKALIKE = "This username looks like an existing one (letters such as l, I, 1 or o, 0 read alike): choose another."
NOT_ASCII = "Enter a username of English letters, digits and @/./+/-/_ only (no accents or other scripts)."

# What reads alike, folded in this order after lowercasing: the pairs of letters first (`rn` is `m` before
# `1` becomes `l`), then single characters. The same folds run in Python (`username_skeleton`) and in SQL
# (`skeleton_of`), the SQL form behind an index of the users table.
SKELETON_FOLDS: list[tuple[str, str]] = [
    ("rn", "m"),
    ("vv", "w"),
    ("1", "l"),
    ("i", "l"),
    ("0", "o"),
    ("5", "s"),
]


def username_skeleton(username: str) -> str:
    """`username` with look-alike characters folded together (`SKELETON_FOLDS`), lowercased."""
    skeleton = username.lower()
    for alike, folded in SKELETON_FOLDS:
        skeleton = skeleton.replace(alike, folded)
    return skeleton


def skeleton_of(field: str) -> Func:
    """`username_skeleton` of a column, as SQL (LOWER and nested REPLACE)."""
    expression: Func = Lower(F(field))
    for alike, folded in SKELETON_FOLDS:
        expression = Replace(expression, Value(alike), Value(folded))
    return expression


def username_refusal(username: str, *, renaming: int | None = None) -> str | None:
    """Why `username` cannot be a new user's name because of someone else's (`TAKEN`, `LOOKALIKE`), or None.
    `renaming`: the id of a user being renamed, whose own name is no one else's."""
    # One statement, so that both answers come from one snapshot: a name registered between two queries
    # would otherwise be a look-alike of the name it is.
    same_name = Q(username__iexact=username)
    others = get_user_model().objects.all()
    if renaming is not None:
        others = others.exclude(pk=renaming)
    nearest = (
        others.alias(skeleton=skeleton_of("username"))
        .filter(same_name | Q(skeleton=username_skeleton(username)))
        .annotate(same_name=ExpressionWrapper(same_name, output_field=BooleanField()))
        .order_by("-same_name")
        .values_list("same_name", flat=True)
        .first()
    )
    if nearest is None:
        return None
    return TAKEN if nearest else LOOKALIKE


def clean_new_username(username: str, *, renaming: int | None = None) -> str:
    """`username` in the form it is stored in, or `ValidationError` saying what is wrong with it; `renaming`:
    the id of the user who is to get it (the admin's change form)."""
    User = get_user_model()
    username = User.normalize_username(username)
    if len(username) > MAX_LENGTH:  # NFKC can lengthen a name (ﬃ is three letters)
        raise ValidationError(f"Ensure this field has no more than {MAX_LENGTH} characters.", code="max_length")
    ASCIIUsernameValidator(message=NOT_ASCII)(username)
    if refusal := username_refusal(username, renaming=renaming):
        raise ValidationError(refusal, code="unique")
    return username
