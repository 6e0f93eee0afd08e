"""The rate limits keep one number per key, whatever the rate (config.throttles.SteadyRateThrottle), and
behave the same on an in-process cache and on Redis (where a step is one atomic script): every case runs on
both."""

import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import pytest
import redis
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from prometheus_client import REGISTRY
from rest_framework.test import APIClient
from rest_framework.views import APIView

from config.cache import SharedClientRedisCache
from config.throttles import SendRateThrottle, as_drf_request
from tests.helpers import free_port, redis_is_up
from users.models import User
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


def test_a_rate_finer_than_a_microsecond_passes_every_request(alice, settings, cache):
    """A rate whose interval rounds to 0 microseconds (more than a million a second) limits nothing. Fails on
    Redis on 4257e10, where the script then stored the key with `EX 0`, which Redis refuses: every request a
    500."""
    clock = Clock()
    throttle = throttle_at(clock, "2000000/s", settings, cache)
    assert all(allowed(throttle, alice) for _ in range(5))


def redis_settings_cache() -> dict[str, object]:
    """`CACHES["default"]` as `REDIS_URL` sets it, with keys of this test's own."""
    return {
        "BACKEND": "config.cache.SharedClientRedisCache",
        "LOCATION": "redis://127.0.0.1:6379/15",
        "KEY_PREFIX": f"throttle-test-{uuid.uuid4()}",
    }


def passed_of_16_at_once(throttles: list[SendRateThrottle], user) -> int:
    """How many of 16 requests of `user`, one per throttle, arriving together, pass."""
    start = threading.Barrier(len(throttles))
    passed: list[bool] = []

    def request(throttle: SendRateThrottle) -> None:
        start.wait()
        passed.append(allowed(throttle, user))

    threads = [threading.Thread(target=request, args=(throttle,)) for throttle in throttles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return passed.count(True)


@needs_redis
def test_concurrent_requests_of_one_client_pass_no_more_than_the_limit(alice, settings):
    """On Redis, shared by every server process, a step reads, decides and writes at once. Fails on eec5292,
    where the throttle read the key, then wrote it: requests arriving together all read the same time, all
    passed, and each wrote one interval later than it, so a burst passed far more than the limit."""
    for attempt in range(10):
        redis_cache = redis_test_cache()
        clock = Clock()
        passed = passed_of_16_at_once([throttle_at(clock, "5/min", settings, redis_cache) for _ in range(16)], alice)
        assert passed == 5, f"attempt {attempt}: {passed} of 16 passed a limit of 5"


@needs_redis
def test_the_throttles_as_drf_makes_them_step_on_redis_at_once(alice, settings):
    """The same through the cache a throttle has when DRF makes it: Django's `cache`, a proxy of
    `CACHES["default"]`, not the backend itself. Fails on 8af5b68, where `_step` took the proxy for a cache
    other than Redis and read, then wrote (two round trips): 16 requests at once passed a limit of 5."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"send": "5/min"}}
    for attempt in range(10):
        with override_settings(CACHES={"default": redis_settings_cache()}):
            passed = passed_of_16_at_once([SendRateThrottle() for _ in range(16)], alice)
        assert passed == 5, f"attempt {attempt}: {passed} of 16 passed a limit of 5"


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


# --- the cache unreachable: which limits pass, which refuse, and what is counted ------------------------------


@pytest.fixture
def unreachable_cache():
    """The throttles' cache on a port where nothing listens (every connection refused)."""
    location = f"redis://127.0.0.1:{free_port()}/0"
    with override_settings(
        CACHES={"default": {"BACKEND": "config.cache.SharedClientRedisCache", "LOCATION": location}}
    ):
        yield


def uncounted(scope: str) -> float:
    return REGISTRY.get_sample_value("relay_throttle_uncounted_total", {"scope": scope}) or 0.0


def test_registration_is_refused_while_its_limit_cannot_be_counted(unreachable_cache, caplog):
    """`register` fails closed: accounts created without limit load everyone. The API and the sign-up page
    answer 503 with Retry-After and create nobody. Fails on 653df36, where both created the account."""
    body = {"username": "newcomer", "email": "newcomer@example.com", "password": "a-long-fresh-secret"}
    with caplog.at_level(logging.WARNING, logger="config.throttles"):
        api = APIClient().post("/api/auth/register/", body, format="json")
        form = {**body, "username": "newcomer2", "password1": body["password"], "password2": body["password"]}
        page = Client().post(reverse("accounts-signup"), form)
    assert api.status_code == 503, api.content
    assert "rate limit cannot be checked" in api.json()["detail"]
    assert int(api["Retry-After"]) > 0
    assert page.status_code == 503, page.content[:300]
    assert "rate limit cannot be checked" in page.content.decode()
    assert int(page["Retry-After"]) > 0
    assert not User.objects.filter(username__startswith="newcomer").exists()
    assert any(r.getMessage().startswith("Throttle register not counted, request refused") for r in caplog.records)


def test_no_password_reset_mail_while_its_limits_cannot_be_counted(unreachable_cache, alice, mailoutbox):
    """`password_reset` and `password_reset_email` fail closed: uncounted, anyone could mail a person reset
    links without end. Fails on 653df36, where every request mailed."""
    answers = [Client().post(reverse("password_reset"), {"email": alice.email}) for _ in range(3)]
    assert [a.status_code for a in answers] == [503] * 3
    assert "rate limit cannot be checked" in answers[0].content.decode()
    assert mailoutbox == []


def test_every_uncounted_request_is_counted_by_scope(unreachable_cache, alice, bob):
    """`relay_throttle_uncounted_total{scope}`, whether the request passed (send) or was refused (register).
    Fails on 653df36, which had no such metric."""
    before = {scope: uncounted(scope) for scope in ("send", "register")}
    sent = client_for(alice).post("/api/messages/send", {"recipient_id": bob.pk, "body": "hi"}, format="json")
    refused = APIClient().post("/api/auth/register/", {"username": "x"}, format="json")
    assert (sent.status_code, refused.status_code) == (201, 503)
    assert uncounted("send") == before["send"] + 1
    assert uncounted("register") == before["register"] + 1


def test_a_cache_that_does_not_answer_in_time_counts_as_unreachable(alice, bob):
    """A timeout is "cannot reach" too: the send passes, uncounted."""
    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        cache = {
            "BACKEND": "config.cache.SharedClientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
            "OPTIONS": {"socket_timeout": 0.3, "socket_connect_timeout": 0.3},
        }
        before = uncounted("send")
        with override_settings(CACHES={"default": cache}):
            sent = client_for(alice).post("/api/messages/send", {"recipient_id": bob.pk, "body": "hi"}, format="json")
    assert sent.status_code == 201, sent.content
    assert uncounted("send") == before + 1


@pytest.fixture
def full_redis():
    """A Redis of this test's own whose memory is full (`maxmemory` 1 byte, no eviction): it answers every
    write with an OOM error."""
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server")
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", folder, "--save", "",
             "--appendonly", "no", "--maxmemory", "1", "--maxmemory-policy", "noeviction"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            client = redis.Redis(port=port)
            for _ in range(100):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait(10)


def test_a_cache_that_answers_with_an_error_is_not_taken_for_unreachable(alice, settings, full_redis):
    """Out of memory (or read-only, or a wrong password) is a Redis that answered: the error is raised, and
    the request fails, rather than every limit passing unseen. Fails on 653df36, where any Redis error let the
    request pass."""
    clock = Clock()
    throttle = throttle_at(clock, "5/min", settings, SharedClientRedisCache(full_redis, {}))
    before = uncounted("send")
    with pytest.raises(redis.ResponseError, match="maxmemory"):
        allowed(throttle, alice)
    assert uncounted("send") == before
