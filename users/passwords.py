"""Which hasher new passwords get: bcrypt while the live sync runs (old servers check it), else the default.

While old servers still run beside Relay (`legacy_dm.sync`), a password set on the new side (registration,
change, reset) is mirrored to the old `users` table, and the old service checks only bcrypt: so it is
stored with `users.hashers.LegacyBCryptPasswordHasher` and mirrored as its `$2b$...` part. A login re-hashes
a password held in another form to bcrypt then. After the cut-over (`legacy_sync off`) the default hasher
returns, and Django upgrades each bcrypt hash on its owner's next login.
"""

from django.db import DEFAULT_DB_ALIAS, connections

SYNC_HASHER = "bcrypt"  # LegacyBCryptPasswordHasher's algorithm


def preferred_hasher(using: str = DEFAULT_DB_ALIAS) -> str:
    """The hasher name for `make_password`/`check_password`'s `preferred`."""
    from legacy_dm import sync  # legacy_dm's models import this app's

    return SYNC_HASHER if sync.is_on(connections[using]) else "default"
