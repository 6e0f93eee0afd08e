import pytest

pytestmark = pytest.mark.django_db


def test_send_and_read_conversation(alice_client, bob_client, alice, bob):
    r = alice_client.post("/api/messages/send", {"recipient_id": bob.pk, "body": "hi bob"}, format="json")
    assert r.status_code == 201, r.content
    r = bob_client.get("/api/messages/conversations")
    assert r.status_code == 200, r.content
    print(r.json())
    r = bob_client.get(f"/api/messages/with/{alice.pk}")
    print(r.json())
    r = bob_client.post("/api/messages/search", {"query": "bob"}, format="json")
    print(r.json())
    r = bob_client.get("/api/messages/participants")
    print(r.json())
    r = bob_client.get("/api/schema/")
    assert r.status_code == 200
