"""The rate limits keep one number per key, whatever the rate (config.throttles.SteadyRateThrottle), and
behave the same on an in-process cache and on Redis (where a step is one atomic script): every case runs on
both."""

import logging
import threading
import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.test import RequestFactory, override_settings
from rest_framework.test import APIClient
from rest_framework.views import APIView

from config.cache import SharedClientRedisCache
from config.throttles import SendRateThrottle, as_drf_request
from tests.helpers import free_port, redis_is_up
from users.tests.factories import client_for

pytestmark = pytest.mark.django_db
needs_redis = pytest.mark.skipif(not redis_is_up(), reason="no Redis server on 127.0.0.1:6379")


@pytest.fixture(params=["memory", pytest.param("redis", marks=needs_redis)])
def cache(request):
    """The cache the throttles count in: in-process, or Redis (as with REDIS_URL), with keys of this test's own."""
    if request.param == "memory":
        yield LocMemCache(f"throttle-test-{uuid.uuid4()}", {})
        return
    yield redis_test_cache()


def redis_test_cache() -> SharedClientRedisCache:
    """The Redis cache as `REDIS_URL` makes it, with keys of its own, which expire within a minute or two."""
    return SharedClientRedisCache("redis://127.0.0.1:6379/15", {"KEY_PREFIX": f"throttle-test-{uuid.uuid4()}"})


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def throttle_at(clock: Clock, rate: str, settings, cache) -> SendRateThrottle:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"send": rate}}
    throttle = SendRateThrottle()
    throttle.timer = clock
    throttle.cache = cache
    return throttle


def allowed(throttle: SendRateThrottle, user) -> bool:
    request = RequestFactory().post("/api/messages/send")
    request.user = user
    return throttle.allow_request(as_drf_request(request), APIView())


def test_what_a_key_holds_does_not_grow_with_the_requests(alice, settings, cache):
    """Fails on 67cd5e0, where DRF's throttle kept the time of every request of the last minute under the key
    and read and wrote the whole list on every send: 3,000 numbers after 3,000 sends at a high limit, so a
    send cost more the more were sent in the minute before it."""
    clock = Clock()
    throttle = throttle_at(clock, "100000/min", settings, cache)
    for _ in range(3_000):
        assert allowed(throttle, alice)
        clock.now += 0.001
    assert isinstance(cache.get(throttle.key), int)


def test_the_limit_passes_at_once_then_one_request_per_interval(alice, settings, cache):
    clock = Clock()
    throttle = throttle_at(clock, "3/min", settings, cache)
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


def test_a_refused_request_does_not_count(alice, settings, cache):
    clock = Clock()
    throttle = throttle_at(clock, "1/min", settings, cache)
    assert allowed(throttle, alice)
    for _ in range(10):
        assert not allowed(throttle, alice)
    clock.now += 60.0
    assert allowed(throttle, alice)


def test_each_user_has_a_limit_of_their_own(alice, bob, settings, cache):
    clock = Clock()
    throttle = throttle_at(clock, "1/min", settings, cache)
    assert allowed(throttle, alice)
    assert not allowed(throttle, alice)
    assert allowed(throttle, bob)


@pytest.mark.parametrize("rate", [f"{n}/min" for n in range(1, 61)] + [f"{n}/hour" for n in range(1, 61)])
def test_every_rate_passes_its_whole_burst_at_todays_times(alice, settings, cache, rate):
    """N additions of period/N to a time like today's (1.77e9 s) in floats can overshoot the period by a rounding
    error: 9/min passed 8 at once."""
    clock = Clock()
    clock.now = 1_765_000_000.123456
    throttle = throttle_at(clock, rate, settings, cache)
    burst = int(rate.split("/")[0])
    assert [allowed(throttle, alice) for _ in range(burst + 1)] == [True] * burst + [False]


@needs_redis
def test_concurrent_requests_of_one_client_pass_no_more_than_the_limit(alice, settings):
    """On Redis, shared by every server process, a step reads, decides and writes at once. Fails on eec5292,
    where the throttle read the key, then wrote it: requests arriving together all read the same time, all
    passed, and each wrote one interval later than it, so a burst passed far more than the limit."""
    for attempt in range(10):
        redis_cache = redis_test_cache()
        clock = Clock()
        throttles = [throttle_at(clock, "5/min", settings, redis_cache) for _ in range(16)]
        start = threading.Barrier(len(throttles))
        passed: list[bool] = []

        def request(throttle: SendRateThrottle, start: threading.Barrier, passed: list[bool]) -> None:
            start.wait()
            passed.append(allowed(throttle, alice))

        threads = [threading.Thread(target=request, args=(throttle, start, passed)) for throttle in throttles]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert passed.count(True) == 5, f"attempt {attempt}: {passed.count(True)} of 16 passed a limit of 5"


def test_a_send_and_a_login_pass_when_the_throttles_cache_is_unreachable(alice, bob, caplog):
    """The throttles fail open: with Redis away (a restart, an outage) a send is still a 201 and a login still
    a 200, each with a warning logged. Fails on a4aa6ca, where the cache's ConnectionError made both a 500."""
    unreachable = {
        "default": {"BACKEND": "config.cache.SharedClientRedisCache", "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}
    }
    alice.set_password("a-good-long-password")
    alice.save()
    with override_settings(CACHES=unreachable), caplog.at_level(logging.WARNING, logger="config.throttles"):
        sent = client_for(alice).post("/api/messages/send", {"recipient_id": bob.pk, "body": "hi"}, format="json")
        login = APIClient().post(
            "/api/auth/token/", {"username": "alice", "password": "a-good-long-password"}, format="json"
        )
    assert sent.status_code == 201, sent.content
    assert login.status_code == 200, login.content
    warnings = [r.getMessage() for r in caplog.records if r.name == "config.throttles"]
    assert any(w.startswith("Throttle send not counted") for w in warnings), warnings
    assert any(w.startswith("Throttle login not counted") for w in warnings), warnings
