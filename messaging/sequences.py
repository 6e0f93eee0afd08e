"""Lazy, sliceable sequences that paginators take as they take a QuerySet (`count()`, slices, iteration).

A list endpoint asks a paginator for the number of items and then for a page: two queries. A sequence here
reads the first `prefetch` items together with the number of all of them, so the count and the first pages
cost one query; other slices read their own items.
"""

from collections.abc import Iterator
from typing import Any, Generic, TypeVar, overload

Item = TypeVar("Item")


class PrefetchedSequence(Generic[Item]):
    """The slicing, indexing and head cache shared by the sequences of `messaging.selectors`.

    A subclass sets `_count` and `_head` (the first items) in `count()`, and reads items `[offset:stop]`
    in `_items`, using `_from_head` first.
    """

    ordered = True
    prefetch = 100  # the largest API page
    out_of_range = "sequence index out of range"

    _count: int | None = None
    _head: list[Any] | None = None  # the first items (or what finds them, such as ids), read with the count

    def count(self) -> int:
        raise NotImplementedError

    def _items(self, offset: int, stop: int | None) -> list[Item]:
        raise NotImplementedError

    def _from_head(self, offset: int, stop: int | None) -> list[Any] | None:
        """The items [offset:stop] if the items read with the count hold them."""
        if self._head is None:
            return None
        if len(self._head) == self._count or (stop is not None and stop <= len(self._head)):
            return self._head[offset:stop]
        return None

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, key: int) -> Item: ...

    @overload
    def __getitem__(self, key: slice) -> list[Item]: ...

    def __getitem__(self, key: int | slice) -> Item | list[Item]:
        name = type(self).__name__
        if isinstance(key, slice):
            if key.step not in (None, 1) or (key.start or 0) < 0 or (key.stop is not None and key.stop < 0):
                raise ValueError(f"{name} supports forward slices only.")
            return self._items(key.start or 0, key.stop)
        if int(key) < 0:
            raise ValueError(f"{name} supports non-negative indexes only.")
        items = self._items(int(key), int(key) + 1)
        if not items:
            raise IndexError(self.out_of_range)
        return items[0]

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items(0, None))
