"""Throttles whose rates are read from settings when used (not when imported), so they follow the settings."""

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle, UserRateThrottle


class SettingsScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle (`throttle_scope` on the view), rates from `DEFAULT_THROTTLE_RATES`."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class SendRateThrottle(UserRateThrottle):
    """Sending is rate limited per user (`THROTTLE_SEND_RATE`)."""

    scope = "send"

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
