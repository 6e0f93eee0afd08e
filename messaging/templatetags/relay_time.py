"""Times as the reader lives them, in the zone the page is rendered in (`users.time_zones`: the reader's).

- `clock`: a thread's message: `14:05`;
- `list_time`: lists (the inbox, search results): `14:05` today, `Yesterday`, `Mar 3` this year,
  `Mar 3, 2023` before;
- `local_day`: the day a moment falls on in the reader's zone (`2026-03-03`), which a thread's loop compares
  to put a separator between days;
- `day_label`: that separator's name: `Today`, `Yesterday`, `Tuesday, March 3` this year, `March 3, 2023`
  before;
- `exact_time`: the whole moment, for a `<time>`'s `title`: `Tuesday, March 3, 2026, 14:05 (Europe/Paris,
  UTC+01:00)`;
- `iso_time`: the same for machines, a `<time>`'s `datetime`: `2026-03-03T14:05:09+01:00`.

"Today" is the reader's today: a message sent at 23:30 in London is "Yesterday" at breakfast in London and
"Today" in Auckland.

These are spelled here rather than with Django's `date` filter: a thread page formats every message's time
three times, and the filter (through the localization machinery and lazily translated names) costs about five
times these few lines each time.
"""

from datetime import date, datetime, timedelta

from django import template
from django.utils import timezone

register = template.Library()

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
)  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _days_ago(day: date) -> int:
    """How many of the reader's days ago `day` was (0: today; -1: tomorrow)."""
    return (timezone.localdate() - day).days


@register.filter
def local_day(moment: datetime | None) -> str:
    """The reader's date of `moment`, ISO 8601."""
    return "" if moment is None else timezone.localtime(moment).date().isoformat()


@register.filter
def clock(moment: datetime | None) -> str:
    """The reader's hours and minutes of `moment`."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return f"{local.hour:02}:{local.minute:02}"


@register.filter
def iso_time(moment: datetime | None) -> str:
    """`moment` in the reader's zone, ISO 8601 to the second (as HTML's `datetime` takes it)."""
    return "" if moment is None else timezone.localtime(moment).isoformat(timespec="seconds")


@register.filter
def list_time(moment: datetime | None) -> str:
    """The time a list shows: today's time, `Yesterday`, the day this year, the day and year before."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    days_ago = _days_ago(local.date())
    if days_ago == 0:
        return clock(local)
    if days_ago == 1:
        return "Yesterday"
    day = f"{MONTHS[local.month - 1][:3]} {local.day}"
    return day if local.year == timezone.localdate().year else f"{day}, {local.year}"


@register.filter
def day_label(moment: datetime | None) -> str:
    """The day `moment` falls on, as a thread's separator names it."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    days_ago = _days_ago(local.date())
    if days_ago == 0:
        return "Today"
    if days_ago == 1:
        return "Yesterday"
    day = f"{MONTHS[local.month - 1]} {local.day}"
    if local.year == timezone.localdate().year:
        return f"{WEEKDAYS[local.weekday()]}, {day}"
    return f"{day}, {local.year}"


@register.filter
def exact_time(moment: datetime | None) -> str:
    """`moment` with its date, year and zone: what hovering a shown time tells."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    zone = timezone.get_current_timezone_name()
    offset = local.utcoffset() or timedelta(0)
    if zone == "UTC" and not offset:
        where = zone
    else:
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        where = f"{zone}, UTC{sign}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"
    weekday, month = WEEKDAYS[local.weekday()], MONTHS[local.month - 1]
    return f"{weekday}, {month} {local.day}, {local.year}, {clock(local)} ({where})"
