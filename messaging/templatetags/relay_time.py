"""Times as the reader lives them, in the zone the page is rendered in (`users.time_zones`: the reader's).

- `list_time`: lists (the inbox, search results): `14:05` today, `Yesterday`, `Mar 3` this year,
  `Mar 3, 2023` before;
- `day_label`: the separators between a thread's days: `Today`, `Yesterday`, `Tuesday, March 3` this year,
  `March 3, 2023` before;
- `exact_time`: the whole moment, for a `<time>`'s `title`: `Tuesday, March 3, 2026, 14:05 (Europe/Paris,
  UTC+01:00)`.

A thread's own times are Django's `date:"H:i"`, which shows the same zone. "Today" is the reader's today: a
message sent at 23:30 in London is "Yesterday" at breakfast in London and "Today" in Auckland.
"""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()


def _in_reader_zone(moment: datetime) -> tuple[datetime, int]:
    """`moment` in the active zone, and how many of that zone's days ago it was (0: today; -1: tomorrow)."""
    local = timezone.localtime(moment)
    return local, (timezone.localdate() - local.date()).days


@register.filter
def list_time(moment: datetime | None) -> str:
    """The time a list shows: today's time, `Yesterday`, the day this year, the day and year before."""
    if moment is None:
        return ""
    local, days_ago = _in_reader_zone(moment)
    if days_ago == 0:
        return date_format(local, "H:i")
    if days_ago == 1:
        return "Yesterday"
    if local.year == timezone.localdate().year:
        return date_format(local, "M j")
    return date_format(local, "M j, Y")


@register.filter
def day_label(moment: datetime | None) -> str:
    """The day `moment` falls on, as a thread's separator names it."""
    if moment is None:
        return ""
    local, days_ago = _in_reader_zone(moment)
    if days_ago == 0:
        return "Today"
    if days_ago == 1:
        return "Yesterday"
    if local.year == timezone.localdate().year:
        return date_format(local, "l, F j")
    return date_format(local, "F j, Y")


@register.filter
def exact_time(moment: datetime | None) -> str:
    """`moment` with its date, year and zone: what hovering a shown time tells."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    zone = timezone.get_current_timezone_name()
    offset = date_format(local, "O")  # +0100
    where = zone if zone == "UTC" and offset == "+0000" else f"{zone}, UTC{offset[:3]}:{offset[3:]}"
    return f"{date_format(local, 'l, F j, Y, H:i')} ({where})"
