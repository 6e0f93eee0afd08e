"""The project package as an app, so that its system checks are registered at startup."""

from django.apps import AppConfig


class RelayConfig(AppConfig):
    name = "config"
    label = "relay"
    verbose_name = "Relay project"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deploy checks)
