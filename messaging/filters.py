"""Search filters (django-filter) and the full-text match: PostgreSQL FTS with ranking, a plain match elsewhere."""

import django_filters
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorExact, SearchVectorField
from django.db import connection
from django.db.models import Expression, Q

from .models import Message

# The configuration of the stored vector (migration 0006): a query must be parsed with the same one.
SEARCH_CONFIG = "english"


class StoredBodyVector(Expression):
    """`messaging_message.body_tsv`: the body's full-text vector, stored by PostgreSQL (migration 0006).

    Not a model field: the generated column exists on PostgreSQL only. Filtering on it uses its GIN index,
    and ranking reads it instead of parsing every matching body again.
    """

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()  # the message table of this (sub)query
        return f"{compiler.quote_name_unless_alias(alias)}.body_tsv", []


def body_search_vector():
    return StoredBodyVector()


def body_matches(query: str):
    """A filter condition: the body matches `query`, as the search does (no ranking).

    Full text on PostgreSQL (the stored vector and its GIN index), a case-insensitive substring elsewhere.
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
        return queryset.between(self.user, int(value))

    def filter_has_attachment(self, queryset, name, value):
        return queryset.filter(attachment_size__isnull=not value)

    def filter_unread(self, queryset, name, value):
        unread = Q(recipient=self.user, read_at__isnull=True)
        return queryset.filter(unread) if value else queryset.exclude(unread)

    def search(self, query: str):
        """The filtered messages matching `query`, best match first (newest first among equals)."""
        return ranked_matches(self.qs, query)


def ranked_matches(queryset, query: str):
    """The messages of `queryset` matching `query`, best match first (newest first among equals)."""
    if connection.vendor == "postgresql":
        search_query = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
        vector = body_search_vector()
        return (
            queryset.filter(SearchVectorExact(vector, search_query))
            .annotate(rank=SearchRank(vector, search_query))
            .order_by("-rank", "-created_at", "-id")
        )
    return queryset.filter(body__icontains=query).order_by("-created_at", "-id")
