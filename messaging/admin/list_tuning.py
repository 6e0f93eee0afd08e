"""The message list built for a large table.

One query for the page (people joined, report counts as a subquery, attachment bytes deferred), no exact
`COUNT(*)` of the whole table on PostgreSQL, a date hierarchy that does not scan it, and searches that use
the indexes.
"""

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Max, Min, OrderBy, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import cached_property

from ..filters import body_matches
from ..models import Message, MessageQuerySet

if TYPE_CHECKING:
    # What `LargeTableListMixin` is mixed into, for the type checker (`super()`); at run time a plain class.
    _MessageAdmin = admin.ModelAdmin[Message]
else:
    _MessageAdmin = object

User = get_user_model()

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
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet) and not self.object_list.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [self.object_list.model._meta.db_table],
                )
                row = cursor.fetchone()
            estimate: int | None = row[0] if row else None
            if estimate is not None and estimate >= ESTIMATE_ABOVE_ROWS:
                return estimate
        return super().count


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


class LargeTableListMixin(_MessageAdmin):
    """The ordering and the search of the message list (mixed into `MessageAdmin`)."""

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
