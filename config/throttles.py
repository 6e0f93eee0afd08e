"""Throttles whose rates are read from settings when used (not when imported), so they follow the settings,
and the client address that every limit keys on (these throttles and django-axes' login lockout).

The pages count against the same limits as the API (`count_attempt`): one limit per kind of way in, whatever
the surface (the sign-up page and `POST /api/auth/register/` share `register`).
"""

import hashlib
import ipaddress
from types import SimpleNamespace

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle, UserRateThrottle


def client_address(request) -> str:
    """REMOTE_ADDR, or behind a proxy the address it saw: DRF's rule, the X-Forwarded-For entry NUM_PROXIES
    from the right (with NUM_PROXIES=0 a client's own X-Forwarded-For is never believed).

    An entry that is not an IP address (a proxy that does not append one) counts as REMOTE_ADDR rather than
    as a name the client chose.
    """
    address = BaseThrottle().get_ident(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return request.META.get("REMOTE_ADDR", "")
    return address


class SettingsScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle (`throttle_scope` on the view), rates from `DEFAULT_THROTTLE_RATES`."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_address(request)


class SendRateThrottle(UserRateThrottle):
    """Sending is rate limited per user (`THROTTLE_SEND_RATE`)."""

    scope = "send"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_address(request)


class _KeyedRateThrottle(SettingsScopedRateThrottle):
    """The scoped throttle on a key other than the client address (an email address), stored hashed."""

    def __init__(self, key: str):
        self.key = hashlib.sha256(key.encode()).hexdigest()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.key}


def count_attempt(request, scope: str, *, key: str | None = None) -> float | None:
    """Count one attempt of `scope` (a `DEFAULT_THROTTLE_RATES` name) by the client of `request`, a Django or
    a DRF request, or on `key` instead; None while within the limit, else the seconds until the next is
    allowed. The counters are the API's (`SettingsScopedRateThrottle`): a page and an API view of one scope
    count together.
    """
    throttle = SettingsScopedRateThrottle() if key is None else _KeyedRateThrottle(key)
    view = SimpleNamespace(throttle_scope=scope)
    if throttle.allow_request(request, view):
        return None
    return throttle.wait() or 1.0
