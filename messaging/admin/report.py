"""Reports, with the message they concern."""

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.text import Truncator

from ..models import MessageReport
from .list_filters import ReportStatusFilter
from .moderation import ReportModerationMixin
from .read_audit import ReadAuditMixin

EXCERPT_CHARS = 60


def open_reports():
    """The reports that wait for a moderator: counted beside *Message reports* on the admin index."""
    return MessageReport.objects.filter(status=MessageReport.Status.OPEN)


@admin.register(MessageReport)
class MessageReportAdmin(ReadAuditMixin, ReportModerationMixin, admin.ModelAdmin):
    list_display = ["id", "message_link", "message_excerpt", "reporter", "reason_excerpt", "status", "created_at"]
    list_select_related = ["message__sender", "message__recipient", "reporter"]
    list_filter = [ReportStatusFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["reporter__username", "reason", "message__body", "message__sender__username"]
    date_hierarchy = "created_at"
    # "3 results (5 total)": the list shows the open reports by default, so the total of every report (a
    # small table) is what says there is more; its link shows them all (admin/messaging/messagereport/
    # search_form.html).
    show_full_result_count = True
    show_facets = admin.ShowFacets.NEVER
    fields = readonly_fields = (
        "reporter",
        "reason",
        "status",
        "created_at",
        "resolved_by",
        "resolved_at",
        "message_link",
        "message_sender",
        "message_recipient",
        "message_created_at",
        "message_body",
        "message_attachment",
        "message_hidden",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).defer("message__attachment_data")

    def index_note(self, request):
        """Beside *Message reports* on the admin index (`config.admin_site`): how many are open, one query. The
        link leads to them (the list shows the open reports by default)."""
        if not self.has_view_permission(request):
            return None
        return f"{open_reports().count()} open"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        # Nothing on the page is editable: reports are handled with the actions (which need
        # "change message report", see has_resolve_permission).
        return False

    def audited_message(self, report):
        """The page shows the reported message's body: a read of a private message like any other."""
        return report.message

    @admin.display(description="message", ordering="message_id")
    def message_link(self, report):
        url = reverse("admin:messaging_message_change", args=[report.message_id])
        return format_html('<a href="{}">{}</a>', url, report.message)

    @admin.display(description="message body")
    def message_excerpt(self, report):
        return Truncator(report.message.body).chars(EXCERPT_CHARS)

    @admin.display(description="reason")
    def reason_excerpt(self, report):
        return Truncator(report.reason).chars(EXCERPT_CHARS)

    @admin.display(description="sender")
    def message_sender(self, report):
        return report.message.sender

    @admin.display(description="recipient")
    def message_recipient(self, report):
        return report.message.recipient

    @admin.display(description="sent")
    def message_created_at(self, report):
        return date_format(timezone.localtime(report.message.created_at), "DATETIME_FORMAT")

    @admin.display(description="body")
    def message_body(self, report):
        return report.message.body

    @admin.display(description="attachment")
    def message_attachment(self, report):
        message = report.message
        return f"{message.attachment_name} ({message.attachment_size} bytes)" if message.has_attachment else "—"

    @admin.display(description="hidden")
    def message_hidden(self, report):
        message = report.message
        return f"yes, by {message.hidden_by}: {message.hidden_reason}" if message.hidden_at else "no"
