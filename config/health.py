"""Health for the proxy: `/healthz` (this process answers) and `/readyz` (what it needs answers in time).

A node whose `/readyz` is not 200 should leave the proxy's rotation until it is again; `/healthz` failing
means the process should be restarted. Neither needs a login, a session or a throttle, and neither is in the
API schema. docs/operations.md ("Health") says how to probe them.
"""

import logging
import threading
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


# The replica's probe runs on a thread of its own, one probe at a time: /readyz calls that come while it hangs
# share the one in flight, and the checks above never wait behind it.
_replica_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz-replica")
# How long /readyz waits for the replica's probe: until the checks are done, and at least this long from its
# start (a probe that answers takes milliseconds), never past READYZ_TIMEOUT_SECONDS.
REPLICA_WAIT_SECONDS = 0.25
_replica_probe: Future[db_router.ReplicaState] | None = None
_replica_probe_lock = threading.Lock()


def probe_replica(timeout: float) -> db_router.ReplicaState:
    """The replica's state, probed now on connections of this thread's own (closed after); when another probe
    of this process holds the replica for longer than `timeout`, the last state."""
    try:
        return db_router.replica_state(fresh=True, wait=timeout)
    finally:
        connections[db_router.REPLICA].close()
        connections[db_router.PRIMARY].close()


def replica_probe(timeout: float) -> Future[db_router.ReplicaState]:
    """The replica's probe in flight, or a new one."""
    global _replica_probe
    with _replica_probe_lock:
        if _replica_probe is None or _replica_probe.done():
            _replica_probe = _replica_executor.submit(probe_replica, timeout)
        return _replica_probe


def replica_report(probe: Future[db_router.ReplicaState], timeout: float) -> dict[str, object]:
    """What /readyz shows of the replica: `state` ("streaming", "lagging", "disconnected", "primary", "down",
    or "unknown" before this process's first probe has ended), `lag_seconds`, `lag_bytes`
    (`config.db_router.ReplicaState`) and `age_seconds`, how long ago the probe that found them ended: the
    probe `probe` if it ends within `timeout`, else the last one (a replica that hangs, a probe in flight:
    /readyz does not wait for it)."""
    wait([probe], timeout=max(timeout, 0.0))
    state = probe.result() if probe.done() and probe.exception() is None else db_router.last_state()
    if not probe.done():
        logger.warning("readyz: the replica did not answer in time")
    if state is None or state.checked_at == 0.0:
        return {"state": "unknown", "lag_seconds": None, "lag_bytes": None, "age_seconds": None}
    return {**state.report(), "age_seconds": round(max(time.monotonic() - state.checked_at, 0.0), 1)}


@never_cache
@require_safe
def healthz(request):
    """The process is alive and serves requests. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    """200 when every readiness check answers within `READYZ_TIMEOUT_SECONDS`; else 503 naming what did not.

    With a replica, its state and lag too, under "replica" (`replica_report`): informative, never a reason for
    a 503, and never a delay to the checks: its probe runs on a thread of its own, one at a time, and is
    waited for until the checks are done (at least `REPLICA_WAIT_SECONDS`); a replica that has not answered
    by then is shown as last known, with the age of that knowledge.
    """
    started = time.monotonic()
    timeout = settings.READYZ_TIMEOUT_SECONDS
    replica = replica_probe(timeout) if db_router.replica_configured() else None
    results = run_checks(readiness_checks(), timeout)
    checked = time.monotonic() - started
    ready = all(result == "ok" for result in results.values())
    body: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": results}
    if not ready:
        body["failed"] = sorted(name for name, result in results.items() if result != "ok")
    if replica is not None:
        waited = time.monotonic() - started
        body["replica"] = replica_report(replica, min(max(checked, REPLICA_WAIT_SECONDS), timeout) - waited)
    logger.debug("readyz took %.3f s", time.monotonic() - started)
    return JsonResponse(body, status=200 if ready else 503)
