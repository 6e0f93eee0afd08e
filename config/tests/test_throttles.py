"""The rate limits keep one number per key, whatever the rate (config.throttles.SteadyRateThrottle)."""

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from rest_framework.views import APIView

from config.throttles import SendRateThrottle, as_drf_request

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def throttle_at(clock: Clock, rate: str, settings) -> SendRateThrottle:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"send": rate}}
    throttle = SendRateThrottle()
    throttle.timer = clock
    return throttle


def allowed(throttle: SendRateThrottle, user) -> bool:
    request = RequestFactory().post("/api/messages/send")
    request.user = user
    return throttle.allow_request(as_drf_request(request), APIView())


def test_what_a_key_holds_does_not_grow_with_the_requests(alice, settings):
    """Fails on 67cd5e0, where DRF's throttle kept the time of every request of the last minute under the key
    and read and wrote the whole list on every send: 3,000 numbers after 3,000 sends at a high limit, so a
    send cost more the more were sent in the minute before it."""
    clock = Clock()
    throttle = throttle_at(clock, "100000/min", settings)
    for _ in range(3_000):
        assert allowed(throttle, alice)
        clock.now += 0.001
    assert isinstance(cache.get(throttle.key), int)


def test_the_limit_passes_at_once_then_one_request_per_interval(alice, settings):
    clock = Clock()
    throttle = throttle_at(clock, "3/min", settings)
    assert [allowed(throttle, alice) for _ in range(4)] == [True, True, True, False]
    assert throttle.wait() == pytest.approx(20.0)  # one interval: a minute over three
    clock.now += 19.0
    assert not allowed(throttle, alice)
    assert throttle.wait() == pytest.approx(1.0)
    clock.now += 1.0
    assert allowed(throttle, alice)
    assert not allowed(throttle, alice)
    clock.now += 60.0  # a quiet minute: the whole limit again
    assert [allowed(throttle, alice) for _ in range(4)] == [True, True, True, False]


def test_a_refused_request_does_not_count(alice, settings):
    clock = Clock()
    throttle = throttle_at(clock, "1/min", settings)
    assert allowed(throttle, alice)
    for _ in range(10):
        assert not allowed(throttle, alice)
    clock.now += 60.0
    assert allowed(throttle, alice)


def test_each_user_has_a_limit_of_their_own(alice, bob, settings):
    clock = Clock()
    throttle = throttle_at(clock, "1/min", settings)
    assert allowed(throttle, alice)
    assert not allowed(throttle, alice)
    assert allowed(throttle, bob)


@pytest.mark.parametrize("rate", [f"{n}/min" for n in range(1, 61)] + [f"{n}/hour" for n in range(1, 61)])
def test_every_rate_passes_its_whole_burst_at_todays_times(alice, settings, rate):
    """N additions of period/N to a time like today's (1.77e9 s) in floats can overshoot the period by a rounding
    error: 9/min passed 8 at once."""
    clock = Clock()
    clock.now = 1_765_000_000.123456
    throttle = throttle_at(clock, rate, settings)
    burst = int(rate.split("/")[0])
    assert [allowed(throttle, alice) for _ in range(burst + 1)] == [True] * burst + [False]
