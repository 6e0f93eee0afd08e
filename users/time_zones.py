"""The reader's time zone: which one the pages show times in, and which names are time zones.

A page shows times in the zone the user chose in Settings (`User.time_zone`); without one, in their browser's
(the `relay_tz` cookie that `messaging/static/messaging/timezone.js` sets from
`Intl.DateTimeFormat().resolvedOptions().timeZone`); without either, in UTC. A name is a time zone when the
IANA database on this machine knows it (`zoneinfo.available_timezones()`).
"""

from __future__ import annotations

import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone

# The cookie the browser's zone arrives in (set by messaging/static/messaging/timezone.js, which names it too).
BROWSER_TIME_ZONE_COOKIE = "relay_tz"
# Regions of the IANA names people pick (Europe/Paris, America/Argentina/Salta); the others the database keeps
# (US/Eastern, EST5EDT, Etc/GMT+5, Zulu, ...) are accepted but not offered in the Settings list.
_REGIONS = (
    "Africa/", "America/", "Antarctica/", "Arctic/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/",
    "Pacific/",
)  # fmt: skip


@cache
def _known_by_lowercase() -> dict[str, str]:
    """Every time zone name, by its lowercase form. Read once per process: walking the database takes a
    fifth of a second."""
    return {name.lower(): name for name in available_timezones()}


@cache
def offered_time_zones() -> tuple[str, ...]:
    """The names the Settings page suggests, sorted: UTC and the region/city ones."""
    return ("UTC", *sorted(name for name in _known_by_lowercase().values() if name.startswith(_REGIONS)))


def known_time_zone(name: str) -> str | None:
    """`name` as the time zone database spells it (`europe/paris` is `Europe/Paris`), or None when it is not
    a time zone."""
    return _known_by_lowercase().get(name.strip().lower()) if name else None


def clean_time_zone(value: str) -> str:
    """A time zone setting: blank (the browser's zone), or a known time zone's name."""
    value = value.strip()
    if not value:
        return ""
    name = known_time_zone(value)
    if name is None:
        raise ValidationError(
            "“%(value)s” is not a time zone. Pick one from the list, such as Europe/Paris or America/New_York, "
            "or leave it blank to use your browser's.",
            code="unknown_time_zone",
            params={"value": value[:64]},
        )
    return name


def browser_time_zone(request: HttpRequest) -> str | None:
    """The zone the browser reported (its cookie), if it is a known one; a made-up cookie counts as none."""
    return known_time_zone(request.COOKIES.get(BROWSER_TIME_ZONE_COOKIE, "")[:64])


def reader_time_zone(request: HttpRequest) -> datetime.tzinfo:
    """The zone the pages show `request`'s user times in: their setting, else their browser's, else UTC."""
    # A setting is checked when saved, but the time zone database may have dropped its name since.
    name = known_time_zone(getattr(request.user, "time_zone", "")) or browser_time_zone(request)
    return ZoneInfo(name) if name else datetime.UTC


class ReaderTimeZoneMiddleware:
    """Pages render times in the reader's zone (`reader_time_zone`): Django's `date` filter and
    `timezone.localtime` follow the zone activated here.

    The API (and the old API) answer ISO times in UTC whatever the caller's zone: DRF formats times in the
    active zone, so none is activated under /api/. The admin stays in UTC too: moderators compare its times
    with logs and with each other.
    """

    UTC_PATHS = ("/api/", "/admin/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(self.UTC_PATHS):
            return self.get_response(request)
        timezone.activate(reader_time_zone(request))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
