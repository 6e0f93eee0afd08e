"""The rule for display names, applied wherever one is set: the API (registration, `PATCH /api/auth/me/`), the
settings page and the admin; and wherever one is shown (`User.public_name`, the old API's `full_name`), for
the names no Relay surface set.

A display name is shown to other people in front of what they read (conversation lists, threads, the people
list, the old API's `full_name`), so it may only be one line of visible text: characters of the Unicode
"other" categories Cc (controls: NUL, BEL, ESC, line breaks) and Cf (format: the bidi overrides and
isolates U+202A-U+202E and U+2066-U+2069, zero-width spaces and joiners, the soft hyphen, BOM) are removed,
with surrogates (Cs); every run of whitespace (tabs, line and paragraph separators included) becomes one
space; the ends are stripped. A name made only of such characters becomes empty, and the username is shown.
Removing the zero-width joiner also splits emoji sequences into their parts: an accepted price for names
that cannot hide text or turn the text after them around.
"""

import unicodedata

from django.core.exceptions import ValidationError

MAX_LENGTH = 150  # users.User.display_name
_REMOVED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def clean_display_name(value: str) -> str:
    """`value` as it is stored and shown, or `ValidationError` when it is longer than `MAX_LENGTH`."""
    cleaned = shown_display_name(unicodedata.normalize("NFC", value))
    if len(cleaned) > MAX_LENGTH:
        raise ValidationError(f"Ensure this field has no more than {MAX_LENGTH} characters.", code="max_length")
    return cleaned


def shown_display_name(value: str) -> str:
    """`value` with the rule's removals and spacing applied, never refused: how a stored name is shown. Names
    that no Relay surface set (carried from the old service, written by an old server during the live sync)
    are shown by the same rule as the ones it cleaned when they were set.
    """
    if value.isprintable() and "  " not in value and value == value.strip():
        return value  # the usual name: no control, format or surrogate character, no whitespace but single spaces
    kept = "".join(
        " " if char.isspace() else char
        for char in value
        if char.isspace() or unicodedata.category(char) not in _REMOVED_CATEGORIES
    )
    return " ".join(kept.split())
