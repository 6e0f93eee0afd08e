"""Pagination set once for the API: page numbers for lists, cursors for threads.

A `page_size` that is not an integer between 1 and the maximum is a 400, not silently replaced. DRF's
paginators take QuerySets; the two reads written as literal SQL are paginated by DRF's own logic too, given a
function that reads one page: the inbox, a page with the number of all conversations
(`PageNumberPagination.paginate_counted`), and a thread (`NewestFirstCursorPagination.paginate_thread`).
"""

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC
from typing import Any, Protocol, cast

from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import pagination, serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor
from rest_framework.request import Request
from rest_framework.views import APIView

MAX_PAGE_SIZE = 100

# The largest offset PostgreSQL takes (bigint).
_LARGEST_OFFSET = 2**63 - 1


class CountedRead(Protocol):
    """Reads one page of a list and the number of all its rows: `read(offset=..., limit=...) -> (rows, count)`
    (`selectors.conversations_page` with its user)."""

    def __call__(self, *, offset: int, limit: int) -> tuple[list[Any], int]: ...


class StrictPageSizeMixin(pagination.BasePagination):
    page_size: int
    # Typed as DRF's paginators declare them, which a subclass of both must match.
    page_size_query_param: str | None = "page_size"
    max_page_size: int | None = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        param, maximum = self.page_size_query_param, self.max_page_size
        raw = request.query_params.get(param) if param is not None else None
        if param is None or raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except (TypeError, ValueError):
            size = 0
        if size < 1 or (maximum is not None and size > maximum):
            raise ValidationError({param: [f"Must be an integer between 1 and {maximum}."]})
        return size

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Every page has `next` and `previous` (null at the ends): required, so a generated client's type
        says they are always there."""
        page = super().get_paginated_response_schema(schema)
        page["required"] = sorted({*page.get("required", []), "next", "previous"})
        return page

    def get_schema_operation_parameters(self, view: APIView) -> list[Any]:
        """The pagination parameters with their real bounds; an empty value means the default."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["allowEmptyValue"] = True
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
            elif parameter["name"] == getattr(self, "page_query_param", None):
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters


class _ListPage(Page):
    """A page of a list: iterated as the list is (`Page` is a `Sequence`, which iterates by indexing it once per
    row, each index checked; DRF's paginator makes a list of the page)."""

    def __iter__(self) -> Iterator[Any]:
        return iter(self.object_list)


class CountedPaginator(Paginator):
    """Django's paginator over rows that a function reads a page of together with their number,
    `read(offset=, limit=) -> (rows, number of all rows)`, in one literal query: a user's conversations
    (`selectors.conversations_page`, which counts them by one row of their totals)."""

    def __init__(self, read: CountedRead, per_page: int, **kwargs: Any) -> None:
        super().__init__((), per_page, **kwargs)
        self._read = read
        self._count: int | None = None

    @property
    def count(self) -> int:
        """The number read with the page; read with an empty page when asked first (`?page=last`, `get_page`)."""
        if self._count is None:
            self._count = self._read(offset=0, limit=0)[1]
        return self._count

    def page(self, number: int | float | str) -> Page:
        """Django's `Paginator.page`: the page `number`, read with the count that `validate_number` checks it
        against (a number that is not a page number is refused before any read)."""
        try:
            bottom = (int(number) - 1) * self.per_page
        except (TypeError, ValueError):
            bottom = -1  # `validate_number` refuses it
        rows: list[Any] = []
        if bottom >= 0 and bottom + self.per_page + self.orphans <= _LARGEST_OFFSET:
            rows, self._count = self._read(offset=bottom, limit=self.per_page + self.orphans)
        # Against the count read with the page; a page past what the database can count to is past the end,
        # checked against the count read alone.
        number = self.validate_number(number)
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return _ListPage(rows[: max(top - bottom, 0)], number, self)

    def get_page(self, number: int | float | str | None) -> Page:
        """Django's `Paginator.get_page` (not a number: the first page; out of range: the last), trying the page
        first: Django's checks the number against the count first, a read of its own."""
        try:
            return self.page(1 if number is None else number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages)


class PageNumberPagination(StrictPageSizeMixin, pagination.PageNumberPagination):
    page_size = 20

    def paginate_counted(self, read: CountedRead, request: Request, view: APIView | None = None) -> list[Any] | None:
        """`paginate_queryset` over rows that `read(offset=, limit=)` reads a page of with their number
        (`CountedPaginator`): the same pages, links and errors as over a QuerySet."""
        self.django_paginator_class = cast("type[Paginator]", CountedPaginator)
        return self.paginate_queryset(cast("Sequence[Any]", read), request, view=view)


class NewestFirstCursorPagination(StrictPageSizeMixin, pagination.CursorPagination):
    """Keyset pagination over (created_at, id), newest first: stable while new messages arrive."""

    page_size = 50
    ordering = ("-created_at", "-id")

    def decode_cursor(self, request: Request) -> Cursor | None:
        """DRF's decoding, plus a check that the position is a time the database can compare with.

        A position that is not a time is a 404 like any bad cursor. A time whose offset takes it past the
        calendar in UTC (`9999-12-31T23:59:59-23:59`), which the database would be handed, is a 400 with the
        message of an out-of-range `since`/`until` of the search.
        """
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None:
            try:
                # DRF's positions are the text of an instance's ordering field (its stubs say int).
                position = parse_datetime(cast("str", cursor.position))
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

    def paginate_thread(
        self, read_page: Callable[..., list[Any]], request: Request, view: APIView | None = None
    ) -> list[Any]:
        """DRF's `paginate_queryset` for a page source that is not a QuerySet: `read_page(newest_first=,
        before=, after=, offset=, limit=)` reads one page (`selectors.thread_page`, one literal query). The
        cursors, pages and links are DRF's: this is its method with the QuerySet's three steps (order, filter
        by the cursor's position, slice) given to `read_page` in one call."""
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.cursor = self.decode_cursor(request)
        offset, reverse = (self.cursor.offset, self.cursor.reverse) if self.cursor is not None else (0, False)
        # DRF's positions are the text of an instance's ordering field (its stubs say int).
        current_position = cast("str | None", self.cursor.position if self.cursor is not None else None)
        bound = parse_datetime(current_position) if current_position is not None else None  # `decode_cursor` checked it
        if bound is not None and timezone.is_naive(bound):  # as the ORM takes a naive time: in the current time zone
            bound = timezone.make_aware(bound)
        # Newest first, older than the position; a reverse cursor reads oldest first, newer than it.
        results = read_page(
            newest_first=not reverse,
            before=None if reverse else bound,
            after=bound if reverse else None,
            offset=offset,
            limit=self.page_size + 1,
        )
        self.page = list(results[: self.page_size])
        if len(results) > len(self.page):
            has_following_position = True
            following_position = self._get_position_from_instance(results[-1], self.ordering)
        else:
            has_following_position = False
            following_position = None
        if reverse:
            self.page = list(reversed(self.page))
            self.has_next = (current_position is not None) or (offset > 0)
            self.has_previous = has_following_position
            if self.has_next:
                self.next_position = current_position
            if self.has_previous:
                self.previous_position = following_position
        else:
            self.has_next = has_following_position
            self.has_previous = (current_position is not None) or (offset > 0)
            if self.has_next:
                self.next_position = following_position
            if self.has_previous:
                self.previous_position = current_position
        if (self.has_previous or self.has_next) and self.template is not None:
            self.display_page_controls = True
        return self.page
