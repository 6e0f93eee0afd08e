"""`GET /metrics`: Relay's metrics in Prometheus' text format (the `prometheus-client` library).

| metric | type | labels | counted |
|---|---|---|---|
| `relay_http_request_duration_seconds` | histogram | `route` (the URL pattern, never the path), `method`, `status` | every request, by `RequestMetricsMiddleware` |
| `relay_messages_sent_total` | counter | `origin`: `relay` (the send service) or `old_server` (the live sync) | a send, once its transaction commits (`messaging.events.message_sent`) |
| `relay_events_published_total` | counter | `type` | each event handed to the broker (`messaging.events`) |
| `relay_events_delivered_total` | counter | `type` | each event frame an open stream writes (`messaging.stream`) |
| `relay_event_streams_open` | gauge | | streams open now (multiprocess: the sum over live processes) |
| `relay_legacy_calls_total` | counter | `endpoint` (`GET /api/direct-messages/{message_id}`) | each legacy API call (`legacy_dm.usage`) |
| `relay_legacy_sync_on`, `relay_legacy_sync_triggers_enabled`, `relay_legacy_sync_triggers`, `relay_legacy_sync_events_waiting`, `relay_legacy_sync_oldest_event_age_seconds` | gauge | | read from the database at each scrape (`legacy_dm.metrics`) |
| `relay_replica_lag_seconds` | gauge | | the replica's lag behind the primary at its last probe (`config.db_router.replica_state`; with `DATABASE_REPLICA_URL`) |
| `relay_replica_lag_bytes` | gauge | | the primary's WAL the replica has not yet replayed, at its last probe |
| `relay_replica_readable` | gauge | | 1 when the last probe let reads go to the replica, else 0 |
| `relay_read_requests_total` | counter | `database`: `replica` or `primary` | each request that read, by where its reads went (with a replica only) |
| `relay_throttle_uncounted_total` | counter | `scope` (a `DEFAULT_THROTTLE_RATES` name) | each request a rate limit could not count, its cache unreachable: passed, or refused for the fail-closed scopes (`config.throttles`) |

Every label takes a bounded set of values: a request no pattern matched is `route="unmatched"`, a method
Django does not list is `OTHER`.

Under gunicorn (or uvicorn) with several workers each worker counts in its own memory, so a scrape would
see one worker's numbers. With `PROMETHEUS_MULTIPROC_DIR` set, the library keeps every process's values in
files in that directory and `/metrics` adds them up (`multiprocess.MultiProcessCollector`); gunicorn's
`child_exit` hook (`config/gunicorn_conf.py`) drops a dead worker's open-stream count. Without it, the
process's own registry (development, tests, one process).

Values that are facts of the database rather than counts of this process (the live sync's state) are read
when `/metrics` is scraped, by collectors the apps register in `SCRAPE_TIME` (once per process, in their
`AppConfig.ready`); they are the same whichever process answers.

Not for the public: `/metrics` answers only an address in `METRICS_ALLOWED_ADDRESSES` (as
`config.throttles.client_address` sees it, which respects `NUM_PROXIES`) or a request with
`Authorization: Bearer <METRICS_TOKEN>` when that is set; anyone else gets the site's 404.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from config.throttles import client_address

# Seconds: from a cached read (a few ms) to a slow send or an export (seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_LATENCY = Histogram(
    "relay_http_request_duration_seconds",
    "Time from a request's arrival to its response (a stream: to its headers), by URL pattern",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
MESSAGES_SENT = Counter(
    "relay_messages_sent",
    "Messages sent and committed: origin relay (the send service) or old_server (the live sync)",
    ["origin"],
)
EVENTS_PUBLISHED = Counter("relay_events_published", "Live events handed to the broker", ["type"])
EVENTS_DELIVERED = Counter("relay_events_delivered", "Live events written to an open stream", ["type"])
STREAMS_OPEN = Gauge("relay_event_streams_open", "Event streams open now", multiprocess_mode="livesum")
LEGACY_CALLS = Counter("relay_legacy_calls", "Calls of the legacy API, by endpoint", ["endpoint"])
# Collectors read at each scrape, in the scraping process (not through the multiprocess files).
SCRAPE_TIME = CollectorRegistry()  # not auto_describe: registering must not read the database
# The replica (config/db_router.py): each process sets these when it probes; a scrape shows the latest probe.
REPLICA_LAG_SECONDS = Gauge(
    "relay_replica_lag_seconds", "The replica's lag in seconds at its last probe", multiprocess_mode="livemostrecent"
)
REPLICA_LAG_BYTES = Gauge(
    "relay_replica_lag_bytes", "The primary's WAL not yet replayed by the replica", multiprocess_mode="livemostrecent"
)
REPLICA_READABLE = Gauge(
    "relay_replica_readable", "1 when reads may go to the replica, else 0", multiprocess_mode="livemostrecent"
)
READ_REQUESTS = Counter("relay_read_requests", "Requests that read, by the database they read", ["database"])
THROTTLE_UNCOUNTED = Counter(
    "relay_throttle_uncounted",
    "Requests a rate limit could not count (its cache unreachable), by scope: passed, or refused if it fails closed",
    ["scope"],
)


def multiprocess_dir() -> str | None:
    """The directory the library shares values through, when this process runs under several workers."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> bytes:
    """Every metric as the text format: the counts summed over the processes with `PROMETHEUS_MULTIPROC_DIR`
    (else this process's), then what the scrape-time collectors read now."""
    registry = REGISTRY
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry) + generate_latest(SCRAPE_TIME)


def may_read(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    return client_address(request) in settings.METRICS_ALLOWED_ADDRESSES


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not may_read(request):
        raise Http404  # the site's own 404: the endpoint is not revealed
    if "replica" in settings.DATABASES:
        from config.db_router import replica_state  # which imports this module

        replica_state()  # the replica's gauges as of at most a second ago
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def route_of(request: HttpRequest) -> str:
    """The pattern that matched (`api/messages/<int:message_id>`), never the path: a bounded label."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return match.route or match.view_name or "unmatched"


class RequestMetricsMiddleware:
    """Times every request into `relay_http_request_duration_seconds` (first in MIDDLEWARE: the whole stack)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        method = request.method if request.method in METHODS else "OTHER"
        REQUEST_LATENCY.labels(route_of(request), method, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
