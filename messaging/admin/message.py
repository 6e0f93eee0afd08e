"""Messages: read-only to everyone, hidden and unhidden by moderators through the actions."""

from django.contrib import admin
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.text import Truncator

from ..models import Message, MessageEdit, MessageReport, short_time
from .list_filters import AttachmentFilter, DeletedFilter, HiddenFilter, ReportedFilter, UnsentFilter
from .list_tuning import EstimatedCountPaginator, LargeTableListMixin, ModerationQuerySet
from .moderation import MessageModerationMixin
from .read_audit import ReadAuditMixin
from .report import EXCERPT_CHARS


class ReportInline(admin.TabularInline):
    model = MessageReport
    fields = readonly_fields = ("reporter", "reason", "status", "created_at", "resolved_by", "resolved_at")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reporter", "resolved_by")


class EditInline(admin.TabularInline):
    """The bodies the message had before each edit of its sender, oldest first: read-only, to whoever may view
    the message (they are part of it: what its recipient may have read before the edit)."""

    model = MessageEdit
    verbose_name = "earlier version"
    verbose_name_plural = "earlier versions (before each edit by the sender)"
    fields = readonly_fields = ("body", "edited_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("messaging.view_message")


@admin.register(Message)
class MessageAdmin(ReadAuditMixin, MessageModerationMixin, LargeTableListMixin, admin.ModelAdmin):
    class Media:
        css = {"all": ["messaging/admin.css"]}

    # What a moderator scans for first, and what fits a 1280-px screen beside the filters: the body, the two
    # people, when, reports, hidden, unsent (its sender took it back: gone for both people, kept here so that abuse
    # cannot be erased). Attachment, read and deletes are on the message's page (and filters).
    list_display = ["excerpt", "sender", "recipient", "sent", "report_count", "hidden", "unsent"]
    list_display_links = ["excerpt"]
    list_select_related = ["sender", "recipient"]
    list_filter = [
        ("created_at", admin.DateFieldListFilter),
        HiddenFilter,
        UnsentFilter,
        ReportedFilter,
        AttachmentFilter,
        DeletedFilter,
    ]
    search_fields = ["sender__username", "recipient__username", "body"]  # see get_search_results
    search_help_text = "A username (sender or recipient), or words of the body."
    date_hierarchy = "created_at"
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Facet counts would run one COUNT per filter choice over the whole table on every page view.
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 50
    inlines = [ReportInline, EditInline]
    # Nothing a user wrote is editable here; moderation acts through the actions.
    fields = readonly_fields = (
        "sender",
        "recipient",
        "created_at",
        "read_at",
        "body",
        "edited_at",
        "reply_to",
        "attachment_summary",
        "deleted_by",
        "sender_deleted_at",
        "recipient_deleted_at",
        "unsent_at",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
        "legacy_id",
    )

    def get_queryset(self, request):
        report_count = (
            MessageReport.objects.filter(message=OuterRef("pk"))
            .order_by()
            .values("message")
            .annotate(n=Count("pk"))
            .values("n")
        )
        queryset = (
            super()
            .get_queryset(request)
            .defer("attachment_data")
            .annotate(report_count=Coalesce(Subquery(report_count, output_field=IntegerField()), 0))
        )
        return ModerationQuerySet(model=queryset.model, query=queryset.query, using=queryset.db)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The change page is read-only for everyone (see readonly_fields); moderators have "view" only.
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    # --- columns --------------------------------------------------------------------------------------

    @admin.display(description="body")
    def excerpt(self, message):
        """The body's first characters; `[file]` marks a message with an attachment."""
        text = Truncator(message.body).chars(EXCERPT_CHARS) or "—"
        return f"[file] {text}" if message.has_attachment else text

    @admin.display(description="sent", ordering="created_at")
    def sent(self, message):
        """`1 Dec 14:00`: a third of the width of Django's long date format; the page has the full time."""
        return short_time(message.created_at)

    @admin.display(description="deleted by")
    def deleted_by(self, message):
        if message.is_unsent:
            return "both: the sender unsent it"
        by = [
            who
            for who, at in (("sender", message.sender_deleted_at), ("recipient", message.recipient_deleted_at))
            if at is not None
        ]
        return " and ".join(by) or "—"

    @admin.display(description="attachment")
    def attachment_summary(self, message):
        if not message.has_attachment:
            return "—"
        return f"{message.attachment_name}, {message.attachment_content_type}, {message.attachment_size} bytes"

    @admin.display(description="hidden", ordering="hidden_at")
    def hidden(self, message):
        # Words, not the admin's boolean icons: a column of red crosses on every visible message read as alarms.
        return "hidden" if message.hidden_at is not None else "—"

    @admin.display(description="unsent", ordering="unsent_at")
    def unsent(self, message):
        return "unsent" if message.is_unsent else "—"

    @admin.display(description="reports", ordering="report_count")
    def report_count(self, message):
        return message.report_count
