"""Health for the proxy: `/healthz` (this process answers) and `/readyz` (what it needs answers in time).

A node whose `/readyz` is not 200 should leave the proxy's rotation until it is again; `/healthz` failing
means the process should be restarted. Neither needs a login, a session or a throttle, and neither is in the
API schema. docs/operations.md ("Health") says how to probe them.
"""

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

import redis
from django.conf import settings
from django.db import connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from config import db_router

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

    The replica is not among them: while it is down or lagging, reads go to the primary and the node serves
    as before, so /readyz reports it (`replica_report`) without leaving the rotation for it.
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


def probe_replica() -> dict[str, object]:
    """The replica's state and lag, probed now on a connection of this probe's own (closed after)."""
    try:
        return db_router.replica_state(fresh=True).report()
    finally:
        connections[db_router.REPLICA].close()


def replica_report(probe: Future[dict[str, object]], timeout: float) -> dict[str, object]:
    """What /readyz shows of the replica, from `probe_replica` run in `probe`: `state` ("streaming",
    "lagging", "primary", "down", or "timeout" when it took longer than `timeout`), `lag_seconds`, `lag_bytes`
    (`config.db_router.ReplicaState`)."""
    wait([probe], timeout=max(timeout, 0.0))
    if not probe.done():
        probe.cancel()
        logger.warning("readyz: the replica did not answer in time")
        return {"state": "timeout", "lag_seconds": None, "lag_bytes": None}
    report: dict[str, object] = probe.result()
    return report


@never_cache
@require_safe
def healthz(request):
    """The process is alive and serves requests. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    """200 when every readiness check answers within `READYZ_TIMEOUT_SECONDS`; else 503 naming what did not.

    With a replica, its state and lag too, under "replica": informative, never a reason for a 503.
    """
    started = time.monotonic()
    timeout = settings.READYZ_TIMEOUT_SECONDS
    replica = _executor.submit(probe_replica) if db_router.replica_configured() else None
    results = run_checks(readiness_checks(), timeout)
    ready = all(result == "ok" for result in results.values())
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": results}
    if not ready:
        body["failed"] = sorted(name for name, result in results.items() if result != "ok")
    if replica is not None:
        body["replica"] = replica_report(replica, timeout - (time.monotonic() - started))
    logger.debug("readyz took %.3f s", time.monotonic() - started)
    return JsonResponse(body, status=200 if ready else 503)
