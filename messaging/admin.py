"""The moderation console: messages, reports, blocks and the read audit in the Django admin.

Moderators (the "Moderators" group of migration 0003) view messages and hide or unhide them with a reason,
handle reports and view blocks; nobody edits what a user wrote, and only a superuser may delete. Every
write goes through `messaging.services`, and every hide/unhide is written to Django's admin log. Opening a
message (or a report, which shows the message) records who read it and when (`MessageAccessLog`).

The message list is built for a large table: one query for the page (people joined, report counts as a
subquery, attachment bytes deferred), no exact `COUNT(*)` of the whole table on PostgreSQL.
"""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Exists, IntegerField, Max, Min, OrderBy, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import Truncator

from . import services
from .filters import body_matches
from .models import Message, MessageAccessLog, MessageQuerySet, MessageReport, UserBlock

User = get_user_model()

EXCERPT_CHARS = 60
# A search term matches messages of at most this many people whose username contains it.
MAX_SEARCHED_PEOPLE = 100
# Below this many rows an exact count is cheap and more useful than an estimate.
ESTIMATE_ABOVE_ROWS = 100_000


class EstimatedCountPaginator(Paginator):
    """Exact counts, except for an unfiltered list of a large PostgreSQL table: the planner's estimate.

    `COUNT(*)` of a table of millions of rows scans all of it on every page of the admin list;
    `pg_class.reltuples` is what ANALYZE last measured, which is good enough to number pages.
    """

    @cached_property
    def count(self):
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] >= ESTIMATE_ABOVE_ROWS:
                return row[0]
        return super().count


def log_changes(request, objects, message: str) -> None:
    """Django's admin log (each object's History): one CHANGE entry per object, in as few INSERTs as the
    database backend allows (`config.postgresql` batches them under PostgreSQL's parameter limit).

    `ModelAdmin.log_change` does the same one object at a time; an action may cover thousands.
    """
    if objects:
        LogEntry.objects.log_actions(
            user_id=request.user.pk, queryset=objects, action_flag=CHANGE, change_message=message
        )


class ModerationQuerySet(MessageQuerySet):
    """The admin's messages, with a date hierarchy that does not read the whole table.

    The admin's date hierarchy lists the years (months, days) that have messages with
    `SELECT DISTINCT date_trunc(...)` over every matching row: a full scan of a large table on each page
    view. Here the periods are those between the first and the last message (two index lookups), so a
    period without messages may be listed; choosing it shows an empty list.
    """

    def aggregate(self, *args, **kwargs):
        """Min/Max of a filtered list computed from the matching rows, not by walking the date index.

        For `MIN(created_at) ... WHERE <filter>` PostgreSQL may walk the created_at index until a row
        passes the filter: instant when many rows match, a scan of the whole table row by row when few do
        (seconds on a million rows for a rare search word). Wrapping the column in COALESCE makes the
        aggregate read the rows the filter finds (its own index) instead.
        """
        if self.query.where:
            kwargs = {name: _aggregate_of_matches(aggregate) for name, aggregate in kwargs.items()}
        return super().aggregate(*args, **kwargs)

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        if kind not in ("year", "month", "day"):
            return super().datetimes(field_name, kind, order=order, tzinfo=tzinfo)
        bounds = self.aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        tzinfo = tzinfo or timezone.get_current_timezone()
        first, last = (timezone.localtime(bounds[key], tzinfo).date() for key in ("first", "last"))
        if kind == "year":
            day = first.replace(month=1, day=1)
        elif kind == "month":
            day = first.replace(day=1)
        else:
            day = first
        periods = []
        while day <= last:
            periods.append(datetime.combine(day, time(), tzinfo=tzinfo))
            if kind == "year":
                day = day.replace(year=day.year + 1)
            elif kind == "month":
                day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            else:
                day += timedelta(days=1)
        return periods if order == "ASC" else periods[::-1]


def _aggregate_of_matches(aggregate):
    if isinstance(aggregate, Min | Max) and aggregate.filter is None:
        expression = aggregate.get_source_expressions()[0]
        return type(aggregate)(Coalesce(expression, expression))
    return aggregate


# --- Filters -----------------------------------------------------------------------------------------------


class HiddenFilter(admin.SimpleListFilter):
    title = "hidden"
    parameter_name = "hidden"

    def lookups(self, request, model_admin):
        return [("yes", "Hidden"), ("no", "Not hidden")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(hidden_at__isnull=self.value() == "no")
        return queryset


class ReportedFilter(admin.SimpleListFilter):
    title = "reports"
    parameter_name = "reported"

    def lookups(self, request, model_admin):
        return [("open", "Open reports"), ("any", "Any report"), ("no", "Never reported")]

    def queryset(self, request, queryset):
        reports = MessageReport.objects.filter(message=OuterRef("pk"))
        if self.value() == "open":
            return queryset.filter(Exists(reports.filter(status=MessageReport.Status.OPEN)))
        if self.value() == "any":
            return queryset.filter(Exists(reports))
        if self.value() == "no":
            return queryset.filter(~Exists(reports))
        return queryset


class AttachmentFilter(admin.SimpleListFilter):
    title = "attachment"
    parameter_name = "attachment"

    def lookups(self, request, model_admin):
        return [("yes", "With attachment"), ("no", "Without attachment")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(attachment_size__isnull=self.value() == "no")
        return queryset


class DeletedFilter(admin.SimpleListFilter):
    title = "deleted by"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return [
            ("sender", "Sender"),
            ("recipient", "Recipient"),
            ("any", "Either"),
            ("no", "Nobody"),
        ]

    def queryset(self, request, queryset):
        by_sender = Q(sender_deleted_at__isnull=False)
        by_recipient = Q(recipient_deleted_at__isnull=False)
        conditions = {
            "sender": by_sender,
            "recipient": by_recipient,
            "any": by_sender | by_recipient,
            "no": ~by_sender & ~by_recipient,
        }
        condition = conditions.get(self.value())
        return queryset.filter(condition) if condition is not None else queryset


# --- Messages ----------------------------------------------------------------------------------------------


class HideMessagesForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded with the messages; the users do not see it.",
    )


class ReportInline(admin.TabularInline):
    model = MessageReport
    fields = ["reporter", "reason", "status", "created_at", "resolved_by", "resolved_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reporter", "resolved_by")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ["messaging/admin.css"]}

    # The short flags first, the body last: on a narrow screen the flags stay visible.
    list_display = [
        "id",
        "sender",
        "recipient",
        "created_at",
        "report_count",
        "hidden",
        "attachment",
        "read",
        "deleted_by",
        "excerpt",
    ]
    list_display_links = ["id", "excerpt"]
    list_select_related = ["sender", "recipient"]
    list_filter = [
        ("created_at", admin.DateFieldListFilter),
        HiddenFilter,
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
    actions = ["hide_messages", "unhide_messages", "resolve_reports"]
    inlines = [ReportInline]
    # Nothing a user wrote is editable here; moderation acts through the actions.
    fields = [
        "sender",
        "recipient",
        "created_at",
        "read_at",
        "body",
        "reply_to",
        "attachment_summary",
        "sender_deleted_at",
        "recipient_deleted_at",
        "hidden_at",
        "hidden_by",
        "hidden_reason",
        "legacy_id",
    ]
    readonly_fields = fields

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

    def get_ordering(self, request):
        """Newest first; for a search, sorted after the matches are found (see ModerationQuerySet.aggregate).

        `ORDER BY created_at DESC LIMIT 50` with a search condition lets PostgreSQL walk the created_at index
        hoping for 50 matches soon; for a rare word that reads the whole table. Sorting by an expression
        the index does not provide makes it find the matches (full-text index) first, then sort them.
        """
        if request.GET.get(SEARCH_VAR, "").strip():
            return [OrderBy(Coalesce("created_at", "created_at"), descending=True), "-id"]
        return super().get_ordering(request)

    def get_search_results(self, request, queryset, search_term):
        """Messages from or to people whose username contains the term, or whose body matches it.

        The people are looked up first (a small table), so that each condition can use an index of the
        messages table: sender, recipient, and on PostgreSQL the full-text index of the body (the same
        match as the users' search), instead of a substring scan of every body.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        people = list(
            User.objects.filter(username__icontains=term)
            .order_by("pk")
            .values_list("pk", flat=True)[:MAX_SEARCHED_PEOPLE]
        )
        return queryset.filter(Q(sender_id__in=people) | Q(recipient_id__in=people) | body_matches(term)), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The change page is read-only for everyone (see readonly_fields); moderators have "view" only.
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def has_hide_permission(self, request):
        return request.user.has_perm("messaging.hide_message")

    def has_resolve_permission(self, request):
        return request.user.has_perm("messaging.change_messagereport")

    # --- columns --------------------------------------------------------------------------------------

    @admin.display(description="body")
    def excerpt(self, message):
        return Truncator(message.body).chars(EXCERPT_CHARS) or "—"

    @admin.display(description="read", boolean=True, ordering="read_at")
    def read(self, message):
        return message.read_at is not None

    @admin.display(description="deleted by")
    def deleted_by(self, message):
        by = [
            who
            for who, at in (("sender", message.sender_deleted_at), ("recipient", message.recipient_deleted_at))
            if at is not None
        ]
        return " and ".join(by) or "—"

    @admin.display(description="file", boolean=True, ordering="attachment_size")
    def attachment(self, message):
        return message.has_attachment

    @admin.display(description="attachment")
    def attachment_summary(self, message):
        if not message.has_attachment:
            return "—"
        return f"{message.attachment_name}, {message.attachment_content_type}, {message.attachment_size} bytes"

    @admin.display(description="hidden", boolean=True, ordering="hidden_at")
    def hidden(self, message):
        return message.hidden_at is not None

    @admin.display(description="reports", ordering="report_count")
    def report_count(self, message):
        return message.report_count

    # --- the read audit -------------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_hide": self.has_hide_permission(request)}
        return super().change_view(request, object_id, form_url=form_url, extra_context=extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            services.record_moderator_access(moderator=request.user, message=obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    # --- actions --------------------------------------------------------------------------------------

    @admin.action(description="Hide selected messages (asks for a reason)", permissions=["hide"])
    def hide_messages(self, request, queryset):
        """An intermediate page asks for the reason; its POST hides the messages and logs each change."""
        form = HideMessagesForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            to_hide = list(queryset.filter(hidden_at__isnull=True).only("pk", "sender_id", "recipient_id"))
            try:
                hidden = services.hide_messages(
                    moderator=request.user, messages=to_hide, reason=form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                form.add_error("reason", exc.message_dict.get("reason", exc.messages))
            else:
                log_changes(request, to_hide, f"Hidden: {form.cleaned_data['reason'].strip()}")
                self.message_user(request, f"{hidden} message(s) hidden.", messages.SUCCESS)
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Hide messages",
            "opts": self.model._meta,
            "form": form,
            "queryset": queryset,
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
        }
        return TemplateResponse(request, "admin/messaging/message/hide_messages.html", context)

    @admin.action(description="Unhide selected messages", permissions=["hide"])
    def unhide_messages(self, request, queryset):
        to_unhide = list(queryset.filter(hidden_at__isnull=False).only("pk", "sender_id", "recipient_id"))
        unhidden = services.unhide_messages(moderator=request.user, messages=to_unhide)
        log_changes(request, to_unhide, "Unhidden")
        self.message_user(request, f"{unhidden} message(s) unhidden.", messages.SUCCESS)

    @admin.action(description="Resolve open reports of selected messages", permissions=["resolve"])
    def resolve_reports(self, request, queryset):
        reports = list(
            MessageReport.objects.filter(message__in=queryset.values("pk"), status=MessageReport.Status.OPEN)
        )
        resolved = services.resolve_reports(moderator=request.user, reports=reports)
        log_changes(request, reports, "Resolved")
        self.message_user(request, f"{resolved} report(s) resolved.", messages.SUCCESS)


# --- Reports -----------------------------------------------------------------------------------------------


@admin.register(MessageReport)
class MessageReportAdmin(admin.ModelAdmin):
    list_display = ["id", "message_link", "message_excerpt", "reporter", "reason_excerpt", "status", "created_at"]
    list_select_related = ["message__sender", "message__recipient", "reporter"]
    list_filter = ["status", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["reporter__username", "reason", "message__body", "message__sender__username"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["resolve", "dismiss"]
    fields = [
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
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("message__attachment_data")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        # Nothing on the page is editable: reports are handled with the actions (which need
        # "change message report", see has_resolve_permission).
        return False

    def has_resolve_permission(self, request):
        return request.user.has_perm("messaging.change_messagereport")

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        # The page shows the reported message's body: a read of a private message like any other.
        if obj is not None:
            services.record_moderator_access(moderator=request.user, message=obj.message)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    @admin.display(description="message", ordering="message_id")
    def message_link(self, report):
        url = reverse("admin:messaging_message_change", args=[report.message_id])
        return format_html('<a href="{}">Message {}</a>', url, report.message_id)

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

    def _close(self, request, queryset, status, verb):
        reports = list(queryset.filter(status=MessageReport.Status.OPEN))
        closed = services.resolve_reports(moderator=request.user, reports=reports, status=status)
        log_changes(request, reports, verb.capitalize())
        self.message_user(request, f"{closed} report(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Mark selected reports resolved", permissions=["resolve"])
    def resolve(self, request, queryset):
        self._close(request, queryset, MessageReport.Status.RESOLVED, "resolved")

    @admin.action(description="Dismiss selected reports", permissions=["resolve"])
    def dismiss(self, request, queryset):
        self._close(request, queryset, MessageReport.Status.DISMISSED, "dismissed")


# --- Blocks and the read audit -----------------------------------------------------------------------------


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by the application itself: listed and viewed, never added, edited or deleted here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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


@admin.register(MessageAccessLog)
class MessageAccessLogAdmin(ReadOnlyAdmin):
    """Who read which private message when; written by the admin itself, never edited."""

    list_display = ["accessed_at", "moderator", "message"]
    list_select_related = ["moderator", "message"]
    search_fields = ["moderator__username"]
    date_hierarchy = "accessed_at"
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).defer("message__attachment_data", "message__body")
