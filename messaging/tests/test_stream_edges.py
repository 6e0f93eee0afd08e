"""The event stream at its edges: it ends with its credential, it cannot take a WSGI server's threads, it
ends when its server stops, it loses nothing and replays nothing the reader may no longer see, and it
answers bad input in the API's shapes. Against live servers: uvicorn in this process and as its own
process, gunicorn, a real Redis and the in-process broker.

PostgreSQL only: the servers serve the test database from other threads and processes.
"""

import json
import os
import signal
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.test import Client

from messaging import broker as broker_module
from messaging import services
from tests.helpers import (
    EventStream,
    free_port,
    http_json,
    server_env,
    start_server,
    stop_server,
    token_for,
)
from users.models import User
from users.tests.factories import UserFactory
from users.tokens import AccessToken

SLOW_HEARTBEAT = 30  # longer than any test waits: what ends a stream sooner is not the heartbeat's re-check


def session_of(user) -> tuple[Client, str]:
    """A signed-in browser session of `user`: its client (for the pages) and its session cookie."""
    client = Client()
    client.force_login(user)
    return client, client.cookies["sessionid"].value


def ends_within(stream: EventStream, seconds: float) -> tuple[dict, float]:
    """The `stream.ended` frame and how long it took; the connection closes after it, with no event between."""
    started = time.monotonic()
    frame = stream.event()
    took = time.monotonic() - started
    assert frame["event"] == "stream.ended", frame
    assert took < seconds, f"the stream ended after {took:.1f} s"
    with pytest.raises(EOFError):
        stream.event()
    return frame, took


def opened(stream: EventStream) -> dict:
    """The opening frame of a new stream (the caller's counts, with the stream's position as its id)."""
    return stream.next("unread_count")


# --- 1. A stream ends when its credential dies ----------------------------------------------------------


def test_a_logout_ends_that_sessions_stream_within_two_seconds_and_no_other(asgi_server, settings):
    settings.EVENTS_HEARTBEAT_SECONDS = SLOW_HEARTBEAT
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    page, session = session_of(alice)
    _, other_session = session_of(alice)
    stream = EventStream(asgi_server, session=session)
    other = EventStream(asgi_server, session=other_session)
    opened(stream), opened(other)

    assert page.post("/accounts/logout/").status_code in (200, 302)
    ended, _ = ends_within(stream, 2)
    assert ended["data"] == {"reason": "credentials_ended", "code": "token_not_valid"}

    services.send_message(sender=bob, recipient_id=alice.pk, body="only for the session still signed in")
    assert other.next("message.created")["data"]["body"] == "only for the session still signed in"
    other.close()
    assert EventStream.refused(asgi_server, session=session) == 401  # a reconnect is refused


@pytest.mark.parametrize("change", ["password", "deactivation", "deletion"])
def test_a_credential_change_ends_every_stream_of_the_user_within_two_seconds(asgi_server, settings, change):
    settings.EVENTS_HEARTBEAT_SECONDS = SLOW_HEARTBEAT
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    _, session = session_of(alice)
    streams = [EventStream(asgi_server, token_for(alice)), EventStream(asgi_server, session=session)]
    for stream in streams:
        opened(stream)
    bystander = EventStream(asgi_server, token_for(bob))
    opened(bystander)

    if change == "password":
        alice.set_password("a new secret")
        alice.save()
    elif change == "deactivation":
        alice.is_active = False
        alice.save()
    else:
        User.objects.filter(pk=alice.pk).delete()
    for stream in streams:
        ended, _ = ends_within(stream, 2)
        assert ended["data"]["code"] == "token_not_valid"
    # bob's stream goes on, and hears nothing of alice's change: the next thing on it is carol's message.
    sent = services.send_message(sender=UserFactory(username="carol"), recipient_id=bob.pk, body="still here")
    assert (bystander.event()["event"], bystander.seen[-1]["data"]["id"]) == ("message.created", sent.pk)
    bystander.close()


def test_without_a_signal_the_heartbeat_recheck_ends_the_stream(asgi_server, settings):
    """An account deactivated by a bulk update (no signal, no event) is caught at the next heartbeat."""
    settings.EVENTS_HEARTBEAT_SECONDS = 1
    alice = UserFactory(username="alice")
    stream = EventStream(asgi_server, token_for(alice))
    opened(stream)
    User.objects.filter(pk=alice.pk).update(is_active=False)
    ends_within(stream, 3)


def test_a_jwt_stream_ends_at_its_tokens_expiry_and_resumes_with_a_fresh_token(asgi_server, settings):
    settings.EVENTS_HEARTBEAT_SECONDS = SLOW_HEARTBEAT
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    token = AccessToken.for_user(alice)
    token.set_exp(lifetime=timedelta(seconds=2))
    stream = EventStream(asgi_server, str(token))
    position = opened(stream)["id"]
    ended, _ = ends_within(stream, 3.5)
    assert ended["data"] == {"reason": "token_expired", "code": "token_not_valid"}

    sent = services.send_message(sender=bob, recipient_id=alice.pk, body="while the token was being renewed")
    again = EventStream(asgi_server, token_for(alice), last_event_id=position)
    assert again.next("message.created")["data"]["id"] == sent.pk
    again.close()


# --- 2. A stream cannot take the site down -------------------------------------------------------------


def test_gunicorn_refuses_every_form_of_the_stream_and_keeps_its_threads(transactional_db):
    """The production gunicorn line (docs/operations.md), with its threads cut to two: streams on every URL form answer at once (503), and the
    API still answers. Before, two streams held both threads and everything else waited."""
    alice = UserFactory(username="alice")
    port = free_port()
    command = ["gunicorn", "config.wsgi:application", "--workers", "1", "--worker-class", "gthread"]
    command += ["--threads", "2", "--bind", f"127.0.0.1:{port}", "--timeout", "60"]
    process = start_server(command, server_env(), port)
    try:
        token = token_for(alice)
        for path in ("/api/messages/events", "/api/messages/events/", "/api/messages/events?last_event_id=1-0"):
            for _ in range(3):
                status, body = http_json(f"http://127.0.0.1:{port}{path}", token=token, timeout=5)
                assert status == 503 and body["code"] == "stream_not_served_here", (path, status, body)
        status, body = http_json(f"http://127.0.0.1:{port}/api/messages/unread-count", token=token, timeout=5)
        assert status == 200, body
    finally:
        stop_server(process)


def test_past_the_cap_a_users_oldest_stream_ends(asgi_server, settings):
    settings.EVENTS_HEARTBEAT_SECONDS = SLOW_HEARTBEAT
    settings.EVENTS_STREAMS_PER_USER = 3
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    streams = []
    for _ in range(3):
        streams.append(EventStream(asgi_server, token_for(alice)))
        opened(streams[-1])
    newest = EventStream(asgi_server, token_for(alice))
    opened(newest)
    ended, _ = ends_within(streams[0], 2)
    assert ended["data"] == {"reason": "too_many_streams"}
    sent = services.send_message(sender=bob, recipient_id=alice.pk, body="to the three open streams")
    for stream in [*streams[1:], newest]:
        assert stream.next("message.created")["data"]["id"] == sent.pk
        stream.close()


def test_sigterm_ends_open_streams_with_a_retry_hint_and_uvicorn_exits(transactional_db):
    """The production uvicorn line (docs/operations.md) (two workers): told to stop while a stream is open, it ends the stream and exits
    in seconds. Before, it waited for the stream for ever."""
    alice = UserFactory(username="alice")
    port = free_port()
    command = ["uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    process = start_server([*command, "--log-level", "warning"], server_env(EVENTS_HEARTBEAT_SECONDS="30"), port)
    try:
        stream = EventStream(f"http://127.0.0.1:{port}", token_for(alice))
        opened(stream)
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        lines = stream.rest()
        assert "retry: 1000" in lines
        assert 'data: {"reason":"server_restarting"}' in lines
        process.wait(timeout=5)
        assert time.monotonic() - started < 5
    finally:
        stop_server(process)


# --- 3. Nothing lost, nothing replayed that the reader may no longer see ---------------------------------


def test_a_reader_who_drops_before_any_message_resumes_from_the_opening_id(asgi_server):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    stream = EventStream(asgi_server, token_for(alice))
    position = opened(stream)["id"]
    stream.close()
    missed = [services.send_message(sender=bob, recipient_id=alice.pk, body=f"gap {i}").pk for i in range(2)]
    again = EventStream(asgi_server, token_for(alice), last_event_id=position)
    assert [again.next("message.created")["data"]["id"] for _ in missed] == missed
    again.close()


def test_after_a_restart_of_the_in_process_broker_an_old_id_gets_resync_never_a_skip(transactional_db):
    """uvicorn without Redis, restarted: a client resuming with an id from before the restart is told to
    reload (`resync`); before, ids began again at 0-1 and the client silently skipped what followed."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    command = ["uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning", "--lifespan", "off"]
    env = server_env()
    env.pop("REDIS_URL", None)

    def send(body: str) -> int:
        status, sent = http_json(
            f"{server}/api/messages/send",
            method="POST",
            token=token_for(bob),
            body={"recipient_id": alice.pk, "body": body},
        )
        assert status == 201, sent
        return sent["id"]

    process = start_server(command, env, port)
    try:
        stream = EventStream(server, token_for(alice))
        opened(stream)
        for i in range(6):
            send(f"before {i}")
        last = [stream.next("message.created")["id"] for _ in range(6)][-1]
        stream.close()
    finally:
        stop_server(process)
    process = start_server(command, env, port)
    try:
        after = [send(f"after {i}") for i in range(2)]
        again = EventStream(server, token_for(alice), last_event_id=last)
        first = again.event()
        assert first["event"] == "resync", first
        resumed = EventStream(server, token_for(alice), last_event_id=first["id"])
        later = send("after the resync")
        assert resumed.next("message.created")["data"]["id"] == later
        again.close(), resumed.close()
        assert later > max(after)
    finally:
        stop_server(process)


@pytest.mark.parametrize("server", ["asgi_server", "asgi_server_in_memory"])
def test_a_replay_renders_what_the_reader_may_see_now_and_the_log_keeps_no_body(transactional_db, request, server):
    url = request.getfixturevalue(server)
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    moderator = UserFactory(username="mod", is_staff=True, is_superuser=True)
    stream = EventStream(url, token_for(alice))
    position = opened(stream)["id"]
    stream.close()
    hidden = services.send_message(sender=bob, recipient_id=alice.pk, body="words a moderator hid")
    deleted = services.send_message(sender=bob, recipient_id=alice.pk, body="words alice deleted")
    kept = services.send_message(sender=bob, recipient_id=alice.pk, body="words still there")
    services.hide_messages(moderator=moderator, messages=[hidden], reason="abuse")
    services.delete_for_user(user=alice, message_id=deleted.pk)

    replay = EventStream(url, token_for(alice), last_event_id=position)
    assert replay.next("message.created")["data"]["id"] == kept.pk  # the first one she may still see
    replay.next("message.deleted")
    replay.close()
    shown = json.dumps([frame["data"] for frame in replay.seen])
    assert "words a moderator hid" not in shown and "words alice deleted" not in shown

    source = broker_module.broker()
    logged = json.dumps([event.data for event in _everything_kept(source, alice.pk)])
    assert "words" not in logged  # the log says what happened (ids), never what was written


def _everything_kept(source, user_id):
    import asyncio

    return asyncio.run(source.read(user_id, source.start_id(), block_ms=0))


@pytest.mark.parametrize("bad", ["1_000-0", "１２-0", f"{2**64}-0", f"1-{2**64}", "abc", "-1", "99999999999999-0"])
def test_an_unusable_last_event_id_gets_resync_and_the_stream_goes_on(asgi_server, bad):
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    stream = EventStream(asgi_server, token_for(alice), path=f"/api/messages/events?last_event_id={quote(bad)}")
    first = stream.event()
    assert first["event"] == "resync" and first["id"], first
    sent = services.send_message(sender=bob, recipient_id=alice.pk, body="after the resync")
    assert stream.next("message.created")["data"]["id"] == sent.pk
    stream.close()


def test_a_refused_stream_answers_in_the_apis_shapes(asgi_server):
    alice = UserFactory(username="alice")
    token = AccessToken.for_user(alice)
    token.set_exp(lifetime=timedelta(seconds=-1))
    status, body = http_json(f"{asgi_server}/api/messages/events", token=str(token))
    assert status == 401 and body["code"] == "token_not_valid" and isinstance(body["detail"], str)
    status, api_body = http_json(f"{asgi_server}/api/messages/unread-count", token=str(token))
    assert (status, api_body) == (401, body)  # exactly what the API says

    for method in ("POST", "PUT", "DELETE"):
        status, body = http_json(f"{asgi_server}/api/messages/events", method=method, token=token_for(alice))
        assert status == 405 and body == {"detail": f'Method "{method}" not allowed.'}
    assert EventStream.allow_header(asgi_server) == "GET"


def test_idle_streams_on_the_in_process_broker_cost_no_cpu(transactional_db):
    """20 open idle streams of a user with 300 events kept, on uvicorn without Redis: the process uses almost
    no CPU (before: each stream polled the log every 20 ms, a large share of a core)."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    command = ["uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--log-level", "warning", "--lifespan", "off"]
    env = server_env(EVENTS_HEARTBEAT_SECONDS="30", EVENTS_STREAMS_PER_USER="20", THROTTLE_SEND_RATE="1000/min")
    env.pop("REDIS_URL", None)
    process = start_server(command, env, port)
    try:
        for i in range(150):  # each send logs two events for alice (the message and her count)
            body = {"recipient_id": alice.pk, "body": f"number {i}"}
            status, _ = http_json(f"{server}/api/messages/send", method="POST", token=token_for(bob), body=body)
            assert status == 201
        streams = [EventStream(server, token_for(alice)) for _ in range(20)]
        for stream in streams:
            opened(stream)
        time.sleep(0.5)
        before = _cpu_seconds(process.pid)
        time.sleep(3)
        used = _cpu_seconds(process.pid) - before
        assert used < 0.15, f"{used:.2f} s of CPU in 3 s"
        for stream in streams:
            stream.close()
    finally:
        stop_server(process)


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
