"""Blocks: listed and viewed by moderators and superusers, never added, edited or lifted here.

A block is its blocker's own decision: only they lift it (`DELETE /api/users/{id}/block`, or *Unblock* on the
thread page). Deleting one of the two users removes their blocks with them.
"""

from django.contrib import admin

from ..models import UserBlock
from .read_audit import ReadOnlyAdmin


@admin.register(UserBlock)
class UserBlockAdmin(ReadOnlyAdmin):
    list_display = ["blocker", "blocked", "created_at"]
    list_select_related = ["blocker", "blocked"]
    search_fields = ["blocker__username", "blocked__username"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = readonly_fields = ("blocker", "blocked", "created_at")
