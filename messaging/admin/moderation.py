"""Moderation actions: hide and unhide messages with a reason, resolve or dismiss reports.

Every write goes through `messaging.services`, and each changed object gets an entry in Django's admin log.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from users.requests import AuthenticatedHttpRequest

from .. import services
from ..models import Message, MessageReport

if TYPE_CHECKING:
    # What the mixins below are mixed into, for the type checker (`super()`, `message_user`, `model`); at run
    # time they are plain classes.
    _MessageAdmin = admin.ModelAdmin[Message]
    _ReportAdmin = admin.ModelAdmin[MessageReport]
else:
    _MessageAdmin = _ReportAdmin = object


def log_changes(request: AuthenticatedHttpRequest, objects: Sequence[Model], message: str) -> None:
    """Django's admin log (each object's History): one CHANGE entry per object, in as few INSERTs as the
    database backend allows (`config.postgresql` batches them under PostgreSQL's parameter limit).

    `ModelAdmin.log_change` does the same one object at a time; an action may cover thousands.
    """
    if objects:
        LogEntry.objects.log_actions(
            user_id=request.user.pk, queryset=objects, action_flag=CHANGE, change_message=message
        )


class HideMessagesForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded with the messages; the users do not see it.",
    )
    # Offered (and ticked) only when the selected messages have open reports; see `hide_messages`.
    resolve_reports = forms.BooleanField(label="Also resolve their open reports", required=False, initial=True)


def open_reports_of(messages):
    """The open reports of these messages, with what their admin log entries name (`MessageReport.__str__`)."""
    return MessageReport.objects.filter(message__in=messages.values("pk"), status=MessageReport.Status.OPEN)


def for_log_entries(reports):
    return list(
        reports.select_related("reporter", "message__sender", "message__recipient").only(
            "pk",
            "reporter__username",
            "message__created_at",
            "message__sender__username",
            "message__recipient__username",
        )
    )


def messages_for_log_entries(messages):
    """The messages an action changes, with what their admin log entries name (`Message.__str__`) joined in."""
    return list(
        messages.select_related("sender", "recipient").only(
            "pk", "created_at", "sender__username", "recipient__username"
        )
    )


class ResolvesReports:
    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("messaging.change_messagereport")


# The Hide/Unhide button of a message's page posts the list's action for that one message with this field: the
# action (the same code, the same service, the same permission) then leads back to the message's page.
RETURN_TO_MESSAGE = "_return_to_message"


def message_page_to_return_to(request: HttpRequest, queryset: QuerySet[Message]) -> str | None:
    """The page of the message an action was started from (its Hide/Unhide button), or None (the list)."""
    if request.POST.get(RETURN_TO_MESSAGE) != "1":
        return None
    pks = list(queryset.values_list("pk", flat=True)[:2])
    if len(pks) != 1:
        return None
    return reverse("admin:messaging_message_change", args=[pks[0]])


def back_to_message(request: HttpRequest, queryset: QuerySet[Message]) -> HttpResponseRedirect | None:
    """After an action started from a message's page, that page again (with the action's notice); else None
    (the list, as after any action)."""
    url = message_page_to_return_to(request, queryset)
    return HttpResponseRedirect(url) if url else None


class MessageModerationMixin(ResolvesReports, _MessageAdmin):
    """The actions of the message list (mixed into `MessageAdmin`), and the hide button of its change page."""

    actions = ["hide_messages", "unhide_messages", "resolve_reports"]

    def has_hide_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("messaging.hide_message")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_hide": self.has_hide_permission(request)}
        return super().change_view(request, object_id, form_url=form_url, extra_context=extra_context)

    @admin.action(description="Hide selected messages (asks for a reason)", permissions=["hide"])
    def hide_messages(self, request, queryset):
        """An intermediate page asks for the reason, and offers to resolve the messages' open reports in the
        same step; its POST hides the messages (and resolves the reports) and logs each change."""
        open_reports = open_reports_of(queryset)
        open_report_count = open_reports.count() if self.has_resolve_permission(request) else 0
        form = HideMessagesForm(request.POST if "apply" in request.POST else None)
        if not open_report_count:
            del form.fields["resolve_reports"]
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            to_hide = messages_for_log_entries(queryset.filter(hidden_at__isnull=True))
            to_resolve = for_log_entries(open_reports) if form.cleaned_data.get("resolve_reports") else []
            try:
                with transaction.atomic():
                    hidden = services.hide_messages(moderator=request.user, messages=to_hide, reason=reason)
                    resolved = services.resolve_reports(moderator=request.user, reports=to_resolve)
            except ValidationError as exc:
                form.add_error("reason", exc.message_dict.get("reason", exc.messages))
            else:
                log_changes(request, to_hide, f"Hidden: {reason.strip()}")
                log_changes(request, to_resolve, "Resolved (message hidden)")
                done = f"{hidden} message(s) hidden"
                if to_resolve:
                    done += f", {resolved} report(s) resolved"
                self.message_user(request, f"{done}.", messages.SUCCESS)
                return back_to_message(request, queryset)
        context = {
            **self.admin_site.each_context(request),
            "title": "Hide messages",
            "opts": self.model._meta,
            "form": form,
            "queryset": queryset,
            "open_report_count": open_report_count,
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "select_across": request.POST.get("select_across", "0"),
            "return_field": RETURN_TO_MESSAGE,
            "message_page": message_page_to_return_to(request, queryset),
        }
        return TemplateResponse(request, "admin/messaging/message/hide_messages.html", context)

    @admin.action(description="Unhide selected messages", permissions=["hide"])
    def unhide_messages(self, request, queryset):
        to_unhide = messages_for_log_entries(queryset.filter(hidden_at__isnull=False))
        unhidden = services.unhide_messages(moderator=request.user, messages=to_unhide)
        log_changes(request, to_unhide, "Unhidden")
        self.message_user(request, f"{unhidden} message(s) unhidden.", messages.SUCCESS)
        return back_to_message(request, queryset)

    @admin.action(description="Resolve open reports of selected messages", permissions=["resolve"])
    def resolve_reports(self, request, queryset):
        reports = for_log_entries(open_reports_of(queryset))
        resolved = services.resolve_reports(moderator=request.user, reports=reports)
        log_changes(request, reports, "Resolved")
        self.message_user(request, f"{resolved} report(s) resolved.", messages.SUCCESS)


class ReportModerationMixin(ResolvesReports, _ReportAdmin):
    """The actions of the report list (mixed into `MessageReportAdmin`)."""

    actions = ["resolve", "dismiss"]

    def _close(self, request, queryset, status, verb):
        reports = for_log_entries(queryset.filter(status=MessageReport.Status.OPEN))
        closed = services.resolve_reports(moderator=request.user, reports=reports, status=status)
        log_changes(request, reports, verb.capitalize())
        self.message_user(request, f"{closed} report(s) {verb}.", messages.SUCCESS)

    @admin.action(description="Mark selected reports resolved", permissions=["resolve"])
    def resolve(self, request, queryset):
        self._close(request, queryset, MessageReport.Status.RESOLVED, "resolved")

    @admin.action(description="Dismiss selected reports", permissions=["resolve"])
    def dismiss(self, request, queryset):
        self._close(request, queryset, MessageReport.Status.DISMISSED, "dismissed")
