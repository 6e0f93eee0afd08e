"""The Redis cache backend (`REDIS_URL`): Django's, with one Redis client per connection pool.

Django's client makes a new `redis.Redis` for every cache operation, and making one builds its table of
about 170 response callbacks: that cost more CPU than the operation's round trip (a send's rate limit is
two operations). A `redis.Redis` holds no connection of its own (its pool does) and is safe to share between
threads, so one per pool serves every operation.
"""

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _SharedClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[Any, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own get_client, less the new client: `_get_connection_pool` and `_client` are its
        # (django-stubs leaves the private members out).
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class SharedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _SharedClient
        self._scripts: dict[str, Any] = {}

    def script(self, text: str) -> Any:
        """The Lua script `text` on the cache's Redis (`Script`: called with `keys` and `args`, it runs by its
        digest, loading itself first when Redis does not know it): for a read and a write that must be one."""
        script = self._scripts.get(text)
        if script is None:
            script = self._scripts[text] = self._cache.get_client(write=True).register_script(text)
        return script
