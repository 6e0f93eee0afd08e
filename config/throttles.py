"""Throttles whose rates are read from settings when used (not when imported), so they follow the settings,
and the client address that every limit keys on (these throttles and django-axes' login lockout).

The pages count against the same limits as the API (`count_attempt`): one limit per kind of way in, whatever
the surface (the sign-up page and `POST /api/auth/register/` share `register`).
"""

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable
from typing import cast

import redis
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from django.core.cache.backends.base import BaseCache
from django.http import HttpRequest
from redis.exceptions import AuthorizationError
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle, SimpleRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from .cache import SharedClientRedisCache

logger = logging.getLogger(__name__)

# What a cache that cannot be reached raises: refused, reset or broken connections, timeouts, a Redis still
# loading its data after a restart. Not a Redis that answers with an error (out of memory, read-only, a wrong
# password or a refused command): that is a fault to fix, and it fails the request (a 500, logged).
CACHE_UNREACHABLE = (OSError, redis.ConnectionError, redis.TimeoutError)
CACHE_MISCONFIGURED = (redis.AuthenticationError, AuthorizationError)  # ConnectionErrors, but answers

# The limits whose abuse hurts someone other than the client: each password reset mails a person who did not
# ask for it, and accounts created without limit are spam and load on everyone. While their counters cannot be
# reached these refuse (`LimitUnavailable`); every other limit (send, login) lets the request pass.
FAIL_CLOSED_SCOPES = frozenset({"register", "password_reset", "password_reset_email"})


class LimitUnavailable(APIException):
    """A fail-closed limit that cannot be counted (its cache is unreachable): 503 with Retry-After.

    503, not 429: the client did nothing too often; the server cannot tell, for a moment, and says so (a 5xx
    also shows in the proxy's and the operators' error rates, where a 429 would pass as a client's fault)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "This is paused for a moment: its rate limit cannot be checked. Try again in a minute."
    default_code = "rate_limit_unavailable"
    wait = 60  # DRF's handler turns it into Retry-After


def as_drf_request(request: HttpRequest) -> Request:
    """`request` as DRF's throttles are typed to take it. They read only `META` and `user`, which a Django
    request has too, so the pages (and django-axes) pass theirs as they are: a DRF `Request` made of it
    would have no user (its authenticators are the API's)."""
    return cast(Request, request)


def client_address(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind a proxy the address it saw: DRF's rule, the X-Forwarded-For entry NUM_PROXIES
    from the right (with NUM_PROXIES=0 a client's own X-Forwarded-For is never believed).

    An entry that is not an IP address (a proxy that does not append one) counts as REMOTE_ADDR rather than
    as a name the client chose.
    """
    address = BaseThrottle().get_ident(as_drf_request(request))
    try:
        ipaddress.ip_address(address)
    except ValueError:
        remote_address: str = request.META.get("REMOTE_ADDR", "")
        return remote_address
    return address


def _configured_rate(scope: str | None) -> str | None:
    """The rate of `scope` in `DEFAULT_THROTTLE_RATES` as the settings say now."""
    # djangorestframework-stubs types the rates as numbers; DRF's are strings such as "30/min".
    rates = cast(dict[str, str | None], api_settings.DEFAULT_THROTTLE_RATES)
    return rates.get(scope) if scope is not None else None


# `SteadyRateThrottle`'s step on the Redis cache (`REDIS_URL`): read the key, decide, and move it, in one round
# trip and atomically (a script runs alone), so that concurrent requests of one client cannot all read the same
# time and all pass. Its time is Redis's own (`TIME`), read as the script runs: requests are timed in the order
# they are counted, and every server process and node shares one clock; a test passes its clock's time as
# ARGV[1]. It is `_step` below, for Redis; the throttle tests run every case on both. Times in whole
# microseconds (exact in Lua's numbers, doubles, until the year 2255); written with '%d', not as Lua prints a
# number (1.765e+15). The key lives until the count is back to zero, at least a second: a rate past a million a
# second has an interval of 0 microseconds, and Redis refuses `EX 0`. Returns -1 when the request may pass, else
# the microseconds until one may.
_STEP_SCRIPT = """
local now, interval, period = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if not now then
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end
local empty_at = math.max(tonumber(redis.call('GET', KEYS[1]) or now), now) + interval
if empty_at - now > period then
  return empty_at - now - period
end
redis.call('SET', KEYS[1], string.format('%d', empty_at), 'EX', math.max(1, math.ceil((empty_at - now) / 1000000)))
return -1
"""


def _step(cache: BaseCache, key: str, *, now: int | None, interval: int, period: int) -> int | None:
    """One request against the key at `now` (microseconds; None: the cache's clock, Redis's own or this
    process's): None if it may pass (and the key moved one interval later), else the microseconds until one
    may. The generic cell rate algorithm, on any cache (`_STEP_SCRIPT` on Redis)."""
    if isinstance(cache, SharedClientRedisCache):
        wait: int = cache.script(_STEP_SCRIPT)(
            keys=[cache.make_and_validate_key(key)], args=["" if now is None else now, interval, period]
        )
        return None if wait < 0 else wait
    if now is None:
        now = round(time.time() * 1_000_000)
    empty_at = max(cast(int, cache.get(key, now)), now) + interval
    if empty_at - now > period:
        return empty_at - now - period
    cache.set(key, empty_at, max(1, math.ceil((empty_at - now) / 1_000_000)))  # at least a second (not 0)
    return None


class SteadyRateThrottle(SimpleRateThrottle):
    """DRF's rate throttle with one number per key instead of a list of every request's time.

    DRF keeps, per key, the time of each request of the last period and reads and writes the whole list on
    every request: at a limit of N a minute, up to N numbers. Here a key holds one time (in microseconds),
    when its count is back to zero (the generic cell rate algorithm, `_step`): each request allowed moves it one
    interval (the period over N) later, and a request is refused while it is more than one period away. So up
    to N requests pass at once, then one per interval as the count drains, and a refused request waits exactly
    until the next one may pass. On Redis the step is one atomic round trip.

    A cache that cannot be reached (`CACHE_UNREACHABLE`) leaves the request uncounted: a warning is logged and
    `relay_throttle_uncounted_total{scope}` counts it; the request then passes (fail-open), except in the
    `FAIL_CLOSED_SCOPES`, where it is refused with `LimitUnavailable`. Any other cache error is raised.
    """

    cache_format = "throttle-rate_%(scope)s_%(ident)s"  # a number, not DRF's list: keys of their own
    # Set by DRF's __init__ from the rate (None only without a rate, which passes every request).
    num_requests: int
    duration: int
    retry_after: float | None = None
    # The step's clock: None for the cache's own (on Redis, Redis's: one clock for every node, read in the order
    # the requests are counted; a client's clock read before its round trip can arrive out of order and be
    # refused early); a test sets one of its own.
    timer: Callable[[], float] | None = None  # type: ignore[assignment]

    def allow_request(self, request: Request, view: APIView) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        # In whole microseconds: sums of float intervals at today's times can overshoot the period by a
        # rounding error and refuse the last request of a burst.
        period = self.duration * 1_000_000
        # DRF's default is Django's `cache`, a proxy of the default cache: `_step` is given the cache itself, so
        # that it can tell Redis (one atomic script) from the others.
        cache = caches[DEFAULT_CACHE_ALIAS] if self.cache is default_cache else self.cache
        try:
            wait = _step(
                cache,
                self.key,
                now=None if self.timer is None else round(self.timer() * 1_000_000),
                interval=period // self.num_requests,
                period=period,
            )
        except CACHE_MISCONFIGURED:
            raise
        except CACHE_UNREACHABLE as error:
            self._uncounted(error)
            return True
        if wait is not None:
            self.retry_after = wait / 1_000_000
            return False
        return True

    def _uncounted(self, error: Exception) -> None:
        """The request could not be counted: logged and counted, then refused if its scope fails closed. A send
        or a login does not fail because the counters' store (Redis) is away for a moment; a password reset or
        a sign-up waits for it."""
        from config.metrics import THROTTLE_UNCOUNTED  # which imports this module

        scope = str(self.scope)
        THROTTLE_UNCOUNTED.labels(scope).inc()
        closed = scope in FAIL_CLOSED_SCOPES
        logger.warning(
            "Throttle %s not counted, request %s: the cache is unreachable: %s: %s",
            scope,
            "refused (503)" if closed else "allowed",
            type(error).__name__,
            error,
        )
        if closed:
            raise LimitUnavailable

    def wait(self) -> float | None:
        return self.retry_after


class SettingsScopedRateThrottle(ScopedRateThrottle, SteadyRateThrottle):
    """DRF's scoped throttle (`throttle_scope` on the view), rates from `DEFAULT_THROTTLE_RATES`."""

    def get_rate(self) -> str | None:
        return _configured_rate(self.scope)

    def get_ident(self, request: Request) -> str:
        return client_address(request)


class SendRateThrottle(UserRateThrottle, SteadyRateThrottle):
    """Sending is rate limited per user (`THROTTLE_SEND_RATE`)."""

    scope = "send"

    def get_rate(self) -> str | None:
        return _configured_rate(self.scope)

    def get_ident(self, request: Request) -> str:
        return client_address(request)


class _KeyedRateThrottle(SettingsScopedRateThrottle):
    """The scoped throttle on a key other than the client address (an email address), stored hashed."""

    def __init__(self, key: str) -> None:
        self.key = hashlib.sha256(key.encode()).hexdigest()

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.key}


def count_attempt(request: HttpRequest, scope: str, *, key: str | None = None) -> float | None:
    """Count one attempt of `scope` (a `DEFAULT_THROTTLE_RATES` name) by the client of `request`, a Django or
    a DRF request, or on `key` instead; None while within the limit, else the seconds until the next is
    allowed. The counters are the API's (`SettingsScopedRateThrottle`): a page and an API view of one scope
    count together. Raises `LimitUnavailable` when a fail-closed scope cannot be counted.
    """
    throttle = SettingsScopedRateThrottle() if key is None else _KeyedRateThrottle(key)
    view = APIView(throttle_scope=scope)  # what a scoped throttle reads of a view
    if throttle.allow_request(as_drf_request(request), view):
        return None
    return throttle.wait() or 1.0
