"""Blocking through the API: /api/users/{id}/block, and what a block changes for both people."""

import pytest

from messaging.models import UserBlock

pytestmark = pytest.mark.django_db


def test_block_then_blocked_user_cannot_send_and_is_not_a_participant(alice_client, bob_client, alice, bob):
    response = alice_client.post(f"/api/users/{bob.pk}/block")
    assert response.status_code == 201, response.content
    assert response.json()["blocked"]["id"] == bob.pk
    assert UserBlock.objects.filter(blocker=alice, blocked=bob).exists()

    response = bob_client.post("/api/messages/send", {"recipient_id": alice.pk, "body": "hey"})
    assert response.status_code == 403
    assert "does not accept messages" in response.json()["detail"]

    # The blocker can still write to the person they blocked, so they are among the people to write to.
    people = alice_client.get("/api/messages/participants").json()["results"]
    assert bob.pk in [person["id"] for person in people]
    assert alice_client.post("/api/messages/send", {"recipient_id": bob.pk, "body": "bye"}).status_code == 201


def test_blocking_twice_answers_200(alice_client, bob):
    assert alice_client.post(f"/api/users/{bob.pk}/block/").status_code == 201
    assert alice_client.post(f"/api/users/{bob.pk}/block").status_code == 200
    assert UserBlock.objects.count() == 1


def test_unblock_lets_messages_through_again(alice_client, bob_client, alice, bob):
    alice_client.post(f"/api/users/{bob.pk}/block")
    assert alice_client.delete(f"/api/users/{bob.pk}/block").status_code == 204
    assert not UserBlock.objects.exists()
    assert bob_client.post("/api/messages/send", {"recipient_id": alice.pk, "body": "hi again"}).status_code == 201
    # Unblocking someone who is not blocked is still a 204.
    assert alice_client.delete(f"/api/users/{bob.pk}/block").status_code == 204


def test_block_self_is_400_and_unknown_user_404(alice_client, alice):
    response = alice_client.post(f"/api/users/{alice.pk}/block")
    assert response.status_code == 400
    assert "user_id" in response.json()
    assert alice_client.post("/api/users/999999/block").status_code == 404
    assert alice_client.delete("/api/users/999999/block").status_code == 404
    assert alice_client.post("/api/users/99999999999999999999999/block").status_code == 404


def test_block_needs_authentication(client, bob):
    assert client.post(f"/api/users/{bob.pk}/block").status_code == 401


def test_block_endpoint_is_in_the_openapi_schema(alice_client):
    paths = alice_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    block = paths["/api/users/{user_id}/block/"]
    assert set(block) >= {"post", "delete"}
