"""The admin's view of legacy traffic: read-only counts per endpoint."""

from django.contrib import admin

from .models import LegacyEndpointUsage


@admin.register(LegacyEndpointUsage)
class LegacyEndpointUsageAdmin(admin.ModelAdmin):
    """Calls per legacy endpoint, counted by the legacy views; nobody edits them by hand."""

    list_display = ("endpoint", "calls", "first_called_at", "last_called_at")
    search_fields = ("endpoint",)
    ordering = ("-calls",)
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
