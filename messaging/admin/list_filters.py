"""The filters of the message list, and the status filter of the report list."""

from django.contrib import admin
from django.db.models import Exists, OuterRef, Q

from ..models import MessageReport


class HiddenFilter(admin.SimpleListFilter):
    title = "hidden"
    parameter_name = "hidden"

    def lookups(self, request, model_admin):
        return [("yes", "Hidden"), ("no", "Not hidden")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(hidden_at__isnull=self.value() == "no")
        return queryset


class UnsentFilter(admin.SimpleListFilter):
    """Messages their senders unsent (deleted for everyone): gone for both people, still here."""

    title = "unsent"
    parameter_name = "unsent"

    def lookups(self, request, model_admin):
        return [("yes", "Unsent by the sender"), ("no", "Not unsent")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(unsent_at__isnull=self.value() == "no")
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
        value = self.value()
        condition = conditions.get(value) if value is not None else None
        return queryset.filter(condition) if condition is not None else queryset


class ReportStatusFilter(admin.SimpleListFilter):
    """A report's status; without a choice, the open reports (what waits for a moderator), and *All* for every
    report. An unknown value shows the open ones too.

    Django's own *All* is the list without this filter's parameter, which here means *Open*: *All* has a value of
    its own (`?status=all`), and *Open* is the list without the parameter.
    """

    title = "status"
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [(self.ALL, "All"), *MessageReport.Status.choices]

    def value(self):
        value = super().value()
        return value if value in {self.ALL, *MessageReport.Status.values} else MessageReport.Status.OPEN

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value == self.ALL else queryset.filter(status=value)

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            if lookup == MessageReport.Status.OPEN:
                query_string = changelist.get_query_string(remove=[self.parameter_name])
            else:
                query_string = changelist.get_query_string({self.parameter_name: lookup})
            yield {"selected": self.value() == lookup, "query_string": query_string, "display": title}
