"""Throttle counters are shared by every server process when REDIS_URL is set."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import redis_is_up

ROOT = Path(__file__).resolve().parents[2]


def cache_in_a_new_process(env: dict) -> dict:
    """What a fresh server process reads from the environment, and whether it sees a counter set by another."""
    code = (
        "import django, json, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup();"
        "from django.conf import settings; from django.core.cache import cache;"
        "cache.set('relay-test-shared', 'x', 30) if os.environ.get('WRITE') else None;"
        "print(json.dumps({'backend': settings.CACHES['default']['BACKEND'], 'seen': cache.get('relay-test-shared')}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_redis_url_each_process_counts_alone():
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    assert cache_in_a_new_process(env)["backend"].endswith("LocMemCache")


@pytest.mark.skipif(not redis_is_up(), reason="no Redis server on 127.0.0.1:6379")
def test_with_redis_url_a_counter_set_by_one_process_is_seen_by_another():
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:6379/15"}
    writer = cache_in_a_new_process({**env, "WRITE": "1"})
    reader = cache_in_a_new_process(env)
    assert writer["backend"].endswith("RedisCache")
    assert reader["seen"] == "x"


@pytest.mark.skipif(not redis_is_up(), reason="no Redis server on 127.0.0.1:6379")
def test_the_redis_cache_makes_one_client_and_works_through_it_from_every_thread():
    """Django's Redis cache made a `redis.Redis` (with its table of response callbacks) per operation;
    `config.cache` keeps one per connection pool."""
    from concurrent.futures import ThreadPoolExecutor

    from config.cache import SharedClientRedisCache

    cache = SharedClientRedisCache("redis://127.0.0.1:6379/15", {"KEY_PREFIX": "relay-test-shared-client"})
    assert cache._cache.get_client() is cache._cache.get_client(write=True)

    def count(n: int) -> None:
        cache.set(f"n{n}", n, 30)
        cache.incr("total") if cache.get("total") is not None else cache.add("total", 0, 30)

    cache.set("total", 0, 30)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(count, range(200)))
    assert cache.get("total") == 200
    assert cache.get_many([f"n{n}" for n in range(200)]) == {f"n{n}": n for n in range(200)}
    cache.delete_many([f"n{n}" for n in range(200)] + ["total"])
