"""Rules that apps above `users` add to its own, registered from their `AppConfig.ready` (`users` imports none
of them: the import arrows point from `legacy_dm` and `messaging` down to `users`).

- `hasher_rules`: each gets the database connection and may name the hasher new passwords get (the first
  name wins; none: Django's default). `legacy_dm` names bcrypt while its live sync runs.
- `username_rules`: each gets the connection and a new username and may refuse it with a message a person
  reads. `legacy_dm` refuses names wider than the old table's column while its live sync runs.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.backends.base.base import BaseDatabaseWrapper

HasherRule = Callable[[BaseDatabaseWrapper], str | None]
UsernameRule = Callable[[BaseDatabaseWrapper, str], str | None]

hasher_rules: list[HasherRule] = []
username_rules: list[UsernameRule] = []


def preferred_hasher_name(connection: BaseDatabaseWrapper) -> str:
    for rule in hasher_rules:
        name = rule(connection)
        if name is not None:
            return name
    return "default"


def username_refusals(connection: BaseDatabaseWrapper, username: str) -> list[str]:
    return [refusal for rule in username_rules if (refusal := rule(connection, username)) is not None]
