"""Search filters (django-filter) and the full-text match: PostgreSQL full-text search with ranking."""

from typing import TYPE_CHECKING, Any

import django_filters
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorExact, SearchVectorField
from django.db.models import BooleanField, Expression, Q, QuerySet

from .models import Message, MessageQuerySet

if TYPE_CHECKING:
    from users.models import User

# The configuration of the stored vector (migration 0001): a query must be parsed with the same one.
SEARCH_CONFIG = "english"
# The lexeme of the stored vector naming a user who may see the message (migration 0001 writes the same).
VISIBLE_TO_LEXEME = "vis {user_id}"


class StoredSearchVector(Expression):
    """`messaging_message.search_tsv`: the body's full-text vector, stored by PostgreSQL (migration 0001),
    with a `vis <user id>` lexeme for each user who may see the message.

    Not a model field: it is a generated column that the migration adds in SQL. Filtering on it uses its GIN
    index, and ranking reads it instead of parsing every matching body again. The column is named through the
    alias of the message table in the (sub)query at hand, which the compiler gives.
    """

    output_field = SearchVectorField()

    def as_sql(self, compiler, connection):
        alias = compiler.query.get_initial_alias()  # the message table of this (sub)query
        return f"{compiler.quote_name_unless_alias(alias)}.search_tsv", []


def body_search_vector() -> StoredSearchVector:
    """`messaging_message.search_tsv`, the stored full-text vector."""
    return StoredSearchVector()


class MatchesVisibleTo(Expression):
    """A condition: the stored vector matches `query` AND names `user_id` among those who may see the message.

    One GIN lookup that intersects the query's words with the user's messages inside the index. The lexeme
    is bound as a `tsquery` literal (not parsed: it holds a space, which no parsed word can).

    A query of stop words or punctuation only (`the`, `!`, `-`) parses to an empty `tsquery`, and `empty &&
    lexeme` is the lexeme alone: every message the user can see. Such a query matches nothing, as PostgreSQL
    treats an empty `tsquery` on its own (`vector @@ ''` is false); `numnode` (its number of nodes, 0 when
    empty) is a constant of the statement, so the planner skips the index scan instead of filtering rows.
    """

    output_field = BooleanField()

    def __init__(self, query: SearchQuery, user_id: int):
        super().__init__()
        self.query, self.user_id = query, int(user_id)

    def resolve_expression(self, *args, **kwargs):
        resolved = self.copy()
        resolved.query = self.query.resolve_expression(*args, **kwargs)
        return resolved

    def as_sql(self, compiler, connection):
        vector_sql, vector_params = compiler.compile(body_search_vector())
        query_sql, query_params = compiler.compile(self.query)
        lexeme = "'" + VISIBLE_TO_LEXEME.format(user_id=self.user_id) + "'"
        return (
            f"(numnode({query_sql}) > 0 AND {vector_sql} @@ ({query_sql} && %s::tsquery))",
            [*query_params, *vector_params, *query_params, lexeme],
        )


def body_matches(query: str) -> SearchVectorExact:
    """A filter condition: the body matches `query`, as the search does (no ranking): the stored vector and its
    GIN index."""
    return SearchVectorExact(body_search_vector(), SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG))


class MessageSearchFilterSet(django_filters.FilterSet):
    """Narrowing of a search: `with_user_id`, `since`/`until` (inclusive), `has_attachment`, `unread`."""

    with_user_id = django_filters.NumberFilter(method="filter_with_user")
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")
    has_attachment = django_filters.BooleanFilter(method="filter_has_attachment")
    unread = django_filters.BooleanFilter(method="filter_unread")

    class Meta:
        model = Message
        fields: list[str] = []

    def __init__(self, *args: Any, user: "User", **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def filter_with_user(self, queryset: MessageQuerySet, name: str, value: Any) -> MessageQuerySet:
        return queryset.between(self.user, int(value))

    def filter_has_attachment(self, queryset: MessageQuerySet, name: str, value: bool) -> MessageQuerySet:
        return queryset.filter(attachment_size__isnull=not value)

    def filter_unread(self, queryset: MessageQuerySet, name: str, value: bool) -> MessageQuerySet:
        unread = Q(recipient=self.user, read_at__isnull=True)
        return queryset.filter(unread) if value else queryset.exclude(unread)


def ranked_matches(queryset: QuerySet[Message], query: str, *, user: "User") -> QuerySet[Message]:
    """The messages of `queryset` (messages visible to `user`) matching `query`, best match first (newest
    first among equals).

    The match is looked up with `user`'s lexeme (`MatchesVisibleTo`); `queryset` still states the visibility
    rule, so the lexeme only makes the lookup fast and never widens the result.
    """
    search_query = SearchQuery(query, search_type="websearch", config=SEARCH_CONFIG)
    return (
        queryset.filter(MatchesVisibleTo(search_query, user.pk))
        .annotate(rank=SearchRank(body_search_vector(), search_query))
        .order_by("-rank", "-created_at", "-id")
    )
