"""Search filters (django-filter) and the full-text match: PostgreSQL FTS with ranking, a plain match elsewhere."""

import django_filters
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector, SearchVectorExact
from django.db import connection
from django.db.models import Q

from .models import Message

# Must match the expression of the GIN index created in migration 0002 for PostgreSQL to use it.
SEARCH_CONFIG = "english"


def body_search_vector():
    return SearchVector("body", config=SEARCH_CONFIG)


def body_matches(query: str):
    """A filter condition: the body matches `query`, as the search does (no ranking).

    Full text on PostgreSQL (with the GIN index of migration 0002), a case-insensitive substring elsewhere.
    """
    if connection.vendor == "postgresql":
        return SearchVectorExact(
            body_search_vector(), SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        )
    return Q(body__icontains=query)


class MessageSearchFilterSet(django_filters.FilterSet):
    """Narrowing of a search: `with_user_id`, `since`/`until` (inclusive), `has_attachment`, `unread`."""

    with_user_id = django_filters.NumberFilter(method="filter_with_user")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    has_attachment = django_filters.BooleanFilter(method="filter_has_attachment")
    unread = django_filters.BooleanFilter(method="filter_unread")

    class Meta:
        model = Message
        fields = []

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def filter_with_user(self, queryset, name, value):
        return queryset.filter(Q(sender=self.user, recipient_id=value) | Q(sender_id=value, recipient=self.user))

    def filter_has_attachment(self, queryset, name, value):
        return queryset.filter(attachment_size__isnull=not value)

    def filter_unread(self, queryset, name, value):
        unread = Q(recipient=self.user, read_at__isnull=True)
        return queryset.filter(unread) if value else queryset.exclude(unread)

    def search(self, query: str):
        """The filtered messages matching `query`, best match first (newest first among equals)."""
        queryset = self.qs
        if connection.vendor == "postgresql":
            search_query = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
            vector = body_search_vector()
            return (
                queryset.annotate(search=vector)
                .filter(search=search_query)
                .annotate(rank=SearchRank(vector, search_query))
                .order_by("-rank", "-created_at", "-id")
            )
        return queryset.filter(body__icontains=query).order_by("-created_at", "-id")
