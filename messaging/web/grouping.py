"""Consecutive messages of a thread grouped as chat apps group them: the first of a group names its author
(name and avatar), the ones after it sit tight under it without repeating who wrote them."""

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from django.utils import timezone

if TYPE_CHECKING:
    from .views import ThreadEntry

# A message joins the group of the one before it when the same person sent it at most this long after it.
GROUP_WITHIN = timedelta(minutes=5)


def grouped(entries: "list[ThreadEntry]") -> "list[ThreadEntry]":
    """The entries (oldest first) with `starts_group` set: True on the first of a page and wherever the sender
    changes, more than `GROUP_WITHIN` passed since the message before or a new day begins (in the current time
    zone: the thread's day separators fall there); False on the rest."""
    result: list[ThreadEntry] = []
    previous = None
    for entry in entries:
        message = entry.message
        starts_group = (
            previous is None
            or message.sender_id != previous.sender_id
            or message.created_at - previous.created_at > GROUP_WITHIN
            or timezone.localdate(message.created_at) != timezone.localdate(previous.created_at)
        )
        result.append(replace(entry, starts_group=starts_group))
        previous = message
    return result
