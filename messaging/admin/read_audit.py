"""The read audit: a moderator opening a private message in the admin is recorded (`MessageAccessLog`)."""

from typing import TYPE_CHECKING, Any

from django.contrib import admin

from .. import services
from ..models import MessageAccessLog

if TYPE_CHECKING:
    # What the mixin is mixed into, for the type checker (`super()`); at run time it is a plain class.
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = object


class ReadAuditMixin(_ModelAdmin):
    """Records who opened the message a change page shows, and when."""

    def audited_message(self, obj):
        """The private message the change page of `obj` shows."""
        return obj

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            services.record_moderator_access(moderator=request.user, message=self.audited_message(obj))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the application itself: listed and viewed, never added, edited or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MessageAccessLog)
class MessageAccessLogAdmin(ReadOnlyAdmin):
    """Who read which private message when; written by the admin itself, never edited."""

    list_display = ["accessed_at", "moderator", "message"]
    list_select_related = ["moderator", "message__sender", "message__recipient"]
    search_fields = ["moderator__username"]
    date_hierarchy = "accessed_at"
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("message__attachment_data", "message__body")
