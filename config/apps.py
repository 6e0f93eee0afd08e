"""The project package as an app, so that its system checks are registered at startup; Django's admin with
Relay's site."""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class RelayConfig(AppConfig):
    name = "config"
    label = "relay"
    verbose_name = "Relay project"

    def ready(self):
        from . import checks  # noqa: F401  (registers the deploy checks)


class RelayAdminConfig(AdminConfig):
    """Django's admin, with Relay's site (`config.admin_site.RelayAdminSite`) as `admin.site`."""

    default_site = "config.admin_site.RelayAdminSite"
