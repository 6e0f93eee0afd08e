"""GET /metrics (config/metrics.py): Prometheus' text format, who may read it, and the counts summed over
gunicorn's workers in multiprocess mode."""

import glob
import os
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client.parser import text_string_to_metric_families

from messaging import broker as broker_module
from tests.helpers import (
    EventStream,
    free_port,
    http_json,
    server_env,
    start_server,
    stop_server,
    token_for,
)
from users.tests.factories import UserFactory

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape, by name and labels (parsing fails on anything not in the text format)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def scrape(client, **extra) -> dict:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain; version=")
    return samples(response.content.decode())


@pytest.mark.django_db
def test_metrics_count_requests_by_route_and_sends_once_committed(client, django_capture_on_commit_callbacks):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    before = scrape(client)
    token = token_for(bob)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            response = client.post(
                "/api/messages/send",
                {"recipient_id": alice.pk, "body": f"hello {n}"},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            assert response.status_code == 201, response.content
    assert client.get("/api/messages/999999", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 404
    client.get("/no/such/page/12345")
    after = scrape(client)

    routes = {dict(labels).get("route") for name, labels in after if name.startswith("relay_http_request")}
    route = next(r for r in routes if r and r.startswith("api/messages/send"))  # the pattern, as resolved
    count = "relay_http_request_duration_seconds_count"
    assert (
        value(after, count, route=route, method="POST", status="201")
        - value(before, count, route=route, method="POST", status="201")
        == 3
    )
    # The path is never a label: the unknown page is "unmatched", the missing message its pattern.
    assert not any("999999" in str(r) or "12345" in str(r) for r in routes)
    assert "unmatched" in routes
    sent = "relay_messages_sent_total"
    assert value(after, sent, origin="relay") - value(before, sent, origin="relay") == 3
    published = "relay_events_published_total"
    assert value(after, published, type="message.created") - value(before, published, type="message.created") == 6


@pytest.mark.django_db
def test_a_rolled_back_send_is_not_counted(client):
    """The count follows the commit: in a transaction that never commits (this test's), nothing is counted."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    before = scrape(client)
    response = client.post(
        "/api/messages/send",
        {"recipient_id": alice.pk, "body": "never committed"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token_for(bob)}",
    )
    assert response.status_code == 201
    after = scrape(client)
    assert value(after, "relay_messages_sent_total", origin="relay") == value(
        before, "relay_messages_sent_total", origin="relay"
    )


@pytest.mark.django_db
def test_legacy_calls_are_counted_by_endpoint(client, settings):
    settings.LEGACY_USAGE_WRITE_SECONDS = 0
    bob = UserFactory(username="bob")
    before = scrape(client)
    client.get("/api/direct-messages/inbox", HTTP_AUTHORIZATION=f"Bearer {token_for(bob)}")
    after = scrape(client)
    grown = {
        dict(labels)["endpoint"]
        for (name, labels), v in after.items()
        if name == "relay_legacy_calls_total" and v > before.get((name, labels), 0)
    }
    assert len(grown) == 1 and next(iter(grown)).startswith("GET /api/direct-messages"), grown


@pytest.mark.django_db
def test_metrics_are_a_404_to_other_addresses_and_to_a_wrong_token(client, settings):
    not_found = client.get("/no/such/page")
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 404
    assert response.content == not_found.content  # the site's own 404: nothing says the endpoint exists
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200

    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.7"]
    assert client.get("/metrics").status_code == 404  # 127.0.0.1 is no longer listed
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.7").status_code == 200

    # Without METRICS_TOKEN, no Bearer token opens it.
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.5", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    outside = {"REMOTE_ADDR": "203.0.113.5"}
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token", **outside).status_code == 200
    for wrong in ("Bearer wrong", "Bearer ", "s3cret-metrics-token", "Basic s3cret-metrics-token"):
        assert client.get("/metrics", HTTP_AUTHORIZATION=wrong, **outside).status_code == 404, wrong


@pytest.mark.django_db
def test_behind_a_proxy_on_this_host_the_clients_address_decides(client, settings):
    """A proxy on 127.0.0.1 does not make every client look local: with NUM_PROXIES=1 the address the proxy
    saw (X-Forwarded-For) is the one checked."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 404
    assert client.get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200


@pytest.mark.django_db
def test_a_local_scraper_over_plain_http_is_not_redirected(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/accounts/login/").status_code == 301  # the rest of the site still is
    assert client.get("/metrics").status_code == 200


def test_open_streams_and_delivered_events(live_server, settings):
    settings.REDIS_URL = ""
    settings.EVENTS_HEARTBEAT_SECONDS = 1
    broker_module.reset_broker()
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    url = f"{live_server.url}/metrics"

    def now() -> dict:
        with urllib.request.urlopen(url, timeout=10) as response:
            return samples(response.read().decode())

    before = now()
    stream = EventStream(live_server.url, token_for(alice))
    stream.next("unread_count")
    assert value(now(), "relay_event_streams_open") == value(before, "relay_event_streams_open") + 1
    status, _ = http_json(
        f"{live_server.url}/api/messages/send",
        method="POST",
        token=token_for(bob),
        body={"recipient_id": alice.pk, "body": "to the open stream"},
    )
    assert status == 201
    stream.next("message.created")
    delivered = "relay_events_delivered_total"
    middle = now()
    assert value(middle, delivered, type="message.created") - value(before, delivered, type="message.created") == 1
    stream.close()
    broker_module.reset_broker()


def test_gunicorn_two_workers_sum_their_counts(transactional_db, tmp_path):
    """The production gunicorn line with PROMETHEUS_MULTIPROC_DIR: requests served by both workers are added
    up in one scrape, whichever worker answers it."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    port = free_port()
    command = ["gunicorn", "-c", "config/gunicorn_conf.py", "config.wsgi:application", "--workers", "2"]
    command += ["--worker-class", "gthread", "--threads", "4", "--bind", f"127.0.0.1:{port}", "--timeout", "60"]
    env = server_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path), REDIS_URL="")
    process = start_server(command, env, port)
    base = f"http://127.0.0.1:{port}"
    token = token_for(bob)
    batch, sends = 40, 0

    def send(n: int) -> int:
        status, _ = http_json(
            f"{base}/api/messages/send", method="POST", token=token, body={"recipient_id": alice.pk, "body": f"#{n}"}
        )
        return status

    def counted() -> set[str]:
        """Each worker that counted keeps its own file."""
        return {os.path.basename(p) for p in glob.glob(str(tmp_path / "counter_*.db"))}

    try:
        # Which worker accepts a connection is the kernel's choice, and one may take a whole batch: batches
        # until both have served sends (CI once saw one worker serve all 40).
        with ThreadPoolExecutor(8) as pool:
            for _ in range(10):
                assert set(pool.map(send, range(sends, sends + batch))) == {201}
                sends += batch
                if len(counted()) >= 2:
                    break
        assert len(counted()) >= 2, counted()
        scrapes = []
        for _ in range(4):  # several scrapes, answered by either worker: each sees every worker's counts
            with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
                scrapes.append(samples(response.read().decode()))
        for found in scrapes:
            assert value(found, "relay_messages_sent_total", origin="relay") == sends
            posts = [
                v
                for (name, labels), v in found.items()
                if name == "relay_http_request_duration_seconds_count"
                and dict(labels).get("method") == "POST"
                and dict(labels).get("status") == "201"
            ]
            assert sum(posts) == sends, posts
    finally:
        stop_server(process)
