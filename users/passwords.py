"""Which hasher new passwords get: bcrypt while the live sync runs (old servers check it), else the default.

While old servers still run beside Relay (`legacy_dm.sync`), a password set on the new side (registration,
change, reset) is mirrored to the old `users` table, and the old service checks only bcrypt: so it is
stored with `users.hashers.LegacyBCryptPasswordHasher` and mirrored as its `$2b$...` part. A login re-hashes
a password held in another form to bcrypt then. After the cut-over (`legacy_sync off`) the default hasher
returns, and Django upgrades each bcrypt hash on its owner's next login.
"""

from django.db import DEFAULT_DB_ALIAS, connections

from .extensions import preferred_hasher_name

SYNC_HASHER = "bcrypt"  # LegacyBCryptPasswordHasher's algorithm
# The password of a carried user whose old hash no hasher verifies (the carry sets it; no login matches it):
# the password reset page still mails such a user (`users.forms`).
UNVERIFIABLE_PASSWORD = "!legacy-unverifiable"


def preferred_hasher(using: str = DEFAULT_DB_ALIAS) -> str:
    """The hasher name for `make_password`/`check_password`'s `preferred` (`legacy_dm` registers the live
    sync's rule: `SYNC_HASHER` while it runs)."""
    return preferred_hasher_name(connections[using])
