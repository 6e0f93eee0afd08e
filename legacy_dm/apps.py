from django.apps import AppConfig
from django.db.backends.base.base import BaseDatabaseWrapper


class LegacyDmConfig(AppConfig):
    name = "legacy_dm"
    verbose_name = "Legacy direct messages"

    def ready(self):
        from config.metrics import SCRAPE_TIME
        from users import extensions
        from users.passwords import SYNC_HASHER

        from . import (
            schema,  # noqa: F401  (registers the OpenAPI extension of the legacy bearer auth)
            sync,
        )
        from .metrics import LiveSyncCollector

        SCRAPE_TIME.register(LiveSyncCollector())  # the live sync's state on /metrics

        # While the live sync runs, old servers check new passwords (bcrypt only) and hold new usernames.
        extensions.hasher_rules.append(lambda connection: SYNC_HASHER if sync.is_on(connection) else None)
        extensions.username_rules.append(_old_username_width)


def _old_username_width(connection: BaseDatabaseWrapper, username: str) -> str | None:
    from . import sync

    if len(username) > sync.OLD_USERNAME_MAX and sync.is_on(connection):
        return f"Ensure this field has no more than {sync.OLD_USERNAME_MAX} characters."
    return None
