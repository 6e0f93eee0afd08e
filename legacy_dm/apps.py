from django.apps import AppConfig


class LegacyDmConfig(AppConfig):
    name = "legacy_dm"
    verbose_name = "Legacy direct messages"
