"""Throttles whose rates are read from settings when used (not when imported), so they follow the settings,
and the client address that every limit keys on (these throttles and django-axes' login lockout)."""

import ipaddress

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
