"""The admin's view of legacy traffic: read-only counts per endpoint."""

from django.contrib import admin

from messaging.admin import ReadOnlyAdmin

from .models import LegacyEndpointUsage


@admin.register(LegacyEndpointUsage)
class LegacyEndpointUsageAdmin(ReadOnlyAdmin):
    """Calls per legacy endpoint, counted by the legacy views; nobody edits them by hand."""

    list_display = ("endpoint", "calls", "first_called_at", "last_called_at")
    search_fields = ("endpoint",)
    ordering = ("-calls",)
    readonly_fields = list_display
