"""Pagination set once for the API: page numbers for lists, cursors for threads.

A `page_size` that is not an integer between 1 and the maximum is a 400, not silently replaced.
"""

from rest_framework import pagination
from rest_framework.exceptions import ValidationError

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


class PageNumberPagination(StrictPageSizeMixin, pagination.PageNumberPagination):
    page_size = 20


class NewestFirstCursorPagination(StrictPageSizeMixin, pagination.CursorPagination):
    """Keyset pagination over (created_at, id), newest first: stable while new messages arrive."""

    page_size = 50
    ordering = ("-created_at", "-id")
