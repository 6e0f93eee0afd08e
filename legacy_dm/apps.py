from django.apps import AppConfig


class LegacyDmConfig(AppConfig):
    name = "legacy_dm"
    verbose_name = "Legacy direct messages"

    def ready(self):
        from . import schema  # noqa: F401  (registers the OpenAPI extension of the legacy bearer auth)
