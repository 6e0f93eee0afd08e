"""Health for the proxy: `/healthz` (this process answers) and `/readyz` (what it needs answers in time).

A node whose `/readyz` is not 200 should leave the proxy's rotation until it is again; `/healthz` failing
means the process should be restarted. Neither needs a login, a session or a throttle, and neither is in the
API schema. docs/operations.md ("Health") says how to probe them.
"""

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

import redis
from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)


def check_database(timeout: float) -> None:
    """The default database answers `SELECT 1`, on a connection of this check's own (closed after)."""
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


def check_redis(timeout: float) -> None:
    """Redis at `REDIS_URL` answers PING."""
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


def readiness_checks() -> dict[str, Callable[[float], None]]:
    """What /readyz asks, by name: each check returns if its part answers and raises otherwise.

    The replica's lag check goes here when there is a replica.
    """
    checks: dict[str, Callable[[float], None]] = {"database": check_database}
    if settings.REDIS_URL:
        checks["redis"] = check_redis
    return checks


# The checks run here, side by side, so that one part that hangs (a database that accepts and never answers)
# costs the probe its timeout and no more. A few threads: probes that pile up behind hung checks wait in the
# queue, time out, and answer 503, without starting a thread each.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="readyz")


def run_checks(checks: dict[str, Callable[[float], None]], timeout: float) -> dict[str, str]:
    """Each check's result by name: "ok", "timeout" or "failed"; never longer than about `timeout` seconds."""
    futures = {name: _executor.submit(check, timeout) for name, check in checks.items()}
    wait(futures.values(), timeout=timeout)
    results = {}
    for name, future in futures.items():
        if not future.done():
            future.cancel()
            results[name] = "timeout"
        elif (error := future.exception()) is not None:
            logger.warning("readyz: %s failed: %s: %s", name, type(error).__name__, error)
            results[name] = "failed"
        else:
            results[name] = "ok"
    for name, result in results.items():
        if result == "timeout":
            logger.warning("readyz: %s did not answer within %s s", name, timeout)
    return results


@never_cache
@require_safe
def healthz(request):
    """The process is alive and serves requests. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    """200 when every readiness check answers within `READYZ_TIMEOUT_SECONDS`; else 503 naming what did not."""
    started = time.monotonic()
    results = run_checks(readiness_checks(), settings.READYZ_TIMEOUT_SECONDS)
    ready = all(result == "ok" for result in results.values())
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": results}
    if not ready:
        body["failed"] = sorted(name for name, result in results.items() if result != "ok")
    logger.debug("readyz took %.3f s", time.monotonic() - started)
    return JsonResponse(body, status=200 if ready else 503)
