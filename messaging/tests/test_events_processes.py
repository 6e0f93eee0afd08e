"""Fan-out across server processes: two uvicorn processes sharing one Redis, a send on one is delivered to a
stream held on the other.

Both processes serve the test database, so the test's rows are committed (`transactional_db`).
"""

import pytest

from tests.helpers import (
    REDIS_URL,
    EventStream,
    free_port,
    http_json,
    redis_is_up,
    server_env,
    start_server,
    stop_server,
    token_for,
)
from users.tests.factories import UserFactory


@pytest.fixture
def two_servers(transactional_db):
    """Two `uvicorn config.asgi:application` processes on the test database and one Redis (their own keys)."""
    if not redis_is_up():
        pytest.skip("no Redis on 127.0.0.1:6379")
    env = server_env(REDIS_URL=REDIS_URL)
    ports = [free_port(), free_port()]
    processes = []
    try:
        for port in ports:
            command = ["uvicorn", "config.asgi:application", "--port", str(port)]
            processes.append(
                start_server(
                    [*command, "--host", "127.0.0.1", "--log-level", "warning", "--lifespan", "off"], env, port
                )
            )
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            stop_server(process)


def test_a_send_on_one_process_reaches_a_stream_held_on_the_other(two_servers):
    first, second = two_servers
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    stream = EventStream(second, token_for(alice))
    try:
        assert stream.next("unread_count")["data"] == {"unread_count": 0, "badge_count": 0}
        status, sent = http_json(
            f"{first}/api/messages/send",
            method="POST",
            token=token_for(bob),
            body={"recipient_id": alice.pk, "body": "from the other process"},
        )
        assert status == 201, sent
        created = stream.next("message.created")
        assert (created["data"]["id"], created["data"]["body"]) == (sent["id"], "from the other process")
        assert stream.next("unread_count")["data"] == {"unread_count": 1, "badge_count": 1}
    finally:
        stream.close()


def test_an_unsend_on_one_process_reaches_both_parties_streams_on_the_other(two_servers):
    """bob sends through one process and unsends through the other: alice's stream and bob's own, held on the
    first, each get `message.deleted` `{id, for: "everyone"}`, and alice's count drops back."""
    first, second = two_servers
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    to_alice, to_bob = EventStream(first, token_for(alice)), EventStream(first, token_for(bob))
    try:
        assert to_alice.next("unread_count")["data"] == {"unread_count": 0, "badge_count": 0}
        status, sent = http_json(
            f"{first}/api/messages/send",
            method="POST",
            token=token_for(bob),
            body={"recipient_id": alice.pk, "body": "meant for carol"},
        )
        assert status == 201, sent
        assert to_alice.next("message.created")["data"]["id"] == sent["id"]
        assert to_alice.next("unread_count")["data"] == {"unread_count": 1, "badge_count": 1}

        status, answer = http_json(
            f"{second}/api/messages/{sent['id']}?for=everyone", method="DELETE", token=token_for(bob)
        )
        assert status == 204, answer
        assert to_alice.next("message.deleted")["data"] == {"id": sent["id"], "for": "everyone"}
        assert to_alice.next("unread_count")["data"] == {"unread_count": 0, "badge_count": 0}
        assert to_bob.next("message.deleted")["data"] == {"id": sent["id"], "for": "everyone"}
    finally:
        to_alice.close()
        to_bob.close()
