"""Pagination set once for the API: page numbers for lists, cursors for threads.

A `page_size` that is not an integer between 1 and the maximum is a 400, not silently replaced.
"""

from datetime import UTC
from functools import cached_property, partial

from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import pagination, serializers
from rest_framework.exceptions import NotFound, ValidationError

MAX_PAGE_SIZE = 100


class StrictPageSizeMixin:
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except (TypeError, ValueError):
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"Must be an integer between 1 and {self.max_page_size}."]}
            )
        return size

    def get_paginated_response_schema(self, schema):
        """Every page has `next` and `previous` (null at the ends): required, so a generated client's type
        says they are always there."""
        page = super().get_paginated_response_schema(schema)
        page["required"] = sorted({*page.get("required", []), "next", "previous"})
        return page

    def get_schema_operation_parameters(self, view):
        """The pagination parameters with their real bounds; an empty value means the default."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["allowEmptyValue"] = True
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
            elif parameter["name"] == getattr(self, "page_query_param", None):
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


class CountedPaginator(Paginator):
    """Django's paginator over a QuerySet whose number of rows is known already (`count`): a user's number of
    conversations is one row of their totals, where a COUNT reads an index entry per conversation."""

    def __init__(self, object_list, per_page, *, count: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


class PageNumberPagination(StrictPageSizeMixin, pagination.PageNumberPagination):
    page_size = 20

    def paginate_counted(self, queryset, request, *, count: int, view=None):
        """`paginate_queryset` for a QuerySet of `count` rows (`CountedPaginator`): the page is its one query."""
        self.django_paginator_class = partial(CountedPaginator, count=count)
        return self.paginate_queryset(queryset, request, view=view)


class NewestFirstCursorPagination(StrictPageSizeMixin, pagination.CursorPagination):
    """Keyset pagination over (created_at, id), newest first: stable while new messages arrive."""

    page_size = 50
    ordering = ("-created_at", "-id")

    def decode_cursor(self, request):
        """DRF's decoding, plus a check that the position is a time the database can compare with.

        A position that is not a time is a 404 like any bad cursor. A time whose offset takes it past the
        calendar in UTC (`9999-12-31T23:59:59-23:59`), which the database would be handed, is a 400 with the
        message of an out-of-range `since`/`until` of the search.
        """
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                position = parse_datetime(cursor.position)
            except ValueError:
                position = None
            if position is None:
                raise NotFound(self.invalid_cursor_message)
            try:
                if timezone.is_aware(position):
                    position.astimezone(UTC)
            except OverflowError:
                raise serializers.ValidationError(
                    {self.cursor_query_param: [serializers.DateTimeField.default_error_messages["overflow"]]}
                ) from None
        return cursor
