"""Blocks, as moderators see them: listed and viewed, never added or edited here."""

from django.contrib import admin

from ..models import UserBlock


@admin.register(UserBlock)
class UserBlockAdmin(admin.ModelAdmin):
    list_display = ["blocker", "blocked", "created_at"]
    list_select_related = ["blocker", "blocked"]
    search_fields = ["blocker__username", "blocked__username"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = ["blocker", "blocked", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
