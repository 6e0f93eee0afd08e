"""The OpenAPI schema describes the legacy answers as the old service gave them (what the fuzzing checks against).

And the answers that no operation documents: any path under the legacy prefixes that no endpoint answers is
the old service's 404 however it is spelt, and OPTIONS is its 405.
"""

import re

import pytest
from rest_framework.test import APIClient

from config.schema import NULL_ONLY
from legacy_dm.serializers import OLD_TIME_PATTERN
from legacy_dm.views import LEGACY_VIEWS
from messaging.tests.factories import AttachmentMessageFactory, MessageFactory

from .conftest import assert_deprecated

pytestmark = pytest.mark.django_db

LEGACY_PREFIXES = ("/api/direct-messages", "/api/messaging")
# The operations a 403 can answer: a send to someone who blocked the caller, a read mark by the sender.
FORBIDDEN_BY_THE_RECIPIENT = {
    ("POST", "/api/direct-messages/"),
    ("POST", "/api/messaging/conversations/{conversation_id}/messages"),
    ("PUT", "/api/direct-messages/{message_id}/read"),
}


@pytest.fixture
def schema(db):
    return APIClient().get("/api/schema/?format=json").json()


def legacy_operations(schema):
    return [
        (method.upper(), path, operation)
        for path, operations in schema["paths"].items()
        if path.startswith(LEGACY_PREFIXES)
        for method, operation in operations.items()
    ]


def test_operations_are_documented_at_the_old_services_paths(schema):
    """`/api/direct-messages/` with its slash, every other path without one, as the old clients call them."""
    documented = {(method, path) for method, path, _ in legacy_operations(schema)}
    assert documented == {(method, view.path) for view in LEGACY_VIEWS for method in view.successors}
    assert "/api/direct-messages/unread-count" in schema["paths"]


def test_bad_input_is_documented_as_fastapi_422_never_as_a_400_403_or_415(schema):
    """Old clients get a 422 for bad body, query or path input; no CSRF 403 and no 415 (any body is JSON)."""
    operations = legacy_operations(schema)
    assert len(operations) == 17
    for method, path, operation in operations:
        responses = operation["responses"]
        takes_input = bool(operation.get("parameters")) or "requestBody" in operation
        assert ("422" in responses) == takes_input, (method, path)
        if takes_input:
            assert responses["422"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ValidationError"
            }
        assert not {"400", "415"} & responses.keys(), (method, path)
        assert "403" not in responses or (method, path) in FORBIDDEN_BY_THE_RECIPIENT, (method, path)
    entry = schema["components"]["schemas"]["ErrorEntry"]
    assert entry["required"] == ["loc", "msg", "type"]


def test_every_legacy_operation_has_a_one_line_summary_and_takes_json_only(schema):
    for method, path, operation in legacy_operations(schema):
        summary = operation.get("summary", "")
        assert summary and "\n" not in summary and len(summary) <= 70, (method, path, summary)
        if "requestBody" in operation:
            assert list(operation["requestBody"]["content"]) == ["application/json"], (method, path)


def test_paging_bounds_and_the_single_participant_are_documented(schema):
    """What `legacy_dm.errors.paging` and the open-conversation input refuse with a 422 is out of the schema."""
    parameters = {p["name"]: p["schema"] for p in schema["paths"]["/api/direct-messages/"]["get"]["parameters"]}
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}
    assert parameters["skip"] == {"type": "integer", "minimum": 0, "default": 0}
    participants = schema["components"]["schemas"]["OpenConversationInputRequest"]["properties"]["participant_ids"]
    assert (participants["minItems"], participants["maxItems"]) == (1, 1)


def test_every_documented_legacy_response_carries_the_deprecation_headers(schema):
    for method, path, operation in legacy_operations(schema):
        for code, response in operation["responses"].items():
            headers = response["headers"]
            assert headers["Deprecation"]["required"] and headers["Link"]["required"], (method, path, code)
            if code == "401":
                assert headers["WWW-Authenticate"]["schema"] == {"type": "string", "enum": ["Bearer"]}


def test_old_times_are_documented_as_naive_strings_that_match_real_answers(schema, alice, bob, alice_client):
    """`date-time` needs a zone; the old times have none, so the schema gives their pattern instead."""
    components = schema["components"]["schemas"]
    for name, field in [
        ("DirectMessage", "created_at"),
        ("DirectMessage", "read_at"),
        ("DirectMessage", "updated_at"),
        ("MessageRow", "created_at"),
        ("LegacyConversation", "created_at"),
        ("LegacyConversation", "updated_at"),
    ]:
        documented = components[name]["properties"][field]
        assert "format" not in documented and documented["pattern"] == OLD_TIME_PATTERN, (name, field)
        assert documented.get("nullable", False) == (field != "created_at"), (name, field)
    MessageFactory(sender=bob, recipient=alice)
    (dm,) = alice_client.get("/api/direct-messages/").json()
    assert re.match(OLD_TIME_PATTERN, dm["created_at"])
    assert re.match(OLD_TIME_PATTERN, "2026-11-20T09:14:03")
    assert not re.match(OLD_TIME_PATTERN, "2026-11-20T09:14:03Z")


def test_old_shapes_are_documented_exactly(schema):
    """Bare arrays for lists, nullable last messages in the message-row shape, any type for an attachment
    (`application/octet-stream` first: what a generated client reads as bytes)."""
    paths = schema["paths"]
    for path, item in [
        ("/api/direct-messages/", "DirectMessage"),
        ("/api/direct-messages/conversations", "ConversationPartner"),
        ("/api/direct-messages/conversation/{user_id}", "DirectMessage"),
        ("/api/messaging/conversations", "LegacyConversation"),
        ("/api/messaging/conversations/{conversation_id}/messages", "MessageRow"),
    ]:
        documented = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert documented == {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}}, path
    last_message = schema["components"]["schemas"]["LegacyConversation"]["properties"]["last_message"]
    assert last_message["oneOf"] == [{"$ref": "#/components/schemas/MessageRow"}, NULL_ONLY]
    attachment = paths["/api/direct-messages/{message_id}/attachment"]["get"]["responses"]["200"]
    assert list(attachment["content"]) == ["application/octet-stream", "*/*"]


def test_the_attachment_answers_with_its_own_content_type(alice, bob, alice_client):
    """What the schema's `*/*` is for: the stored type, not `application/octet-stream`."""
    message = AttachmentMessageFactory(sender=bob, recipient=alice)
    response = alice_client.get(f"/api/direct-messages/{message.pk}/attachment")
    assert response.status_code == 200
    assert response["Content-Type"] == message.attachment_content_type != "application/octet-stream"
    assert_deprecated(response)


@pytest.mark.parametrize(
    "path",
    [
        "/api/messaging/x%0A/y",
        "/api/direct-messages/1/%0A",
        "/api/direct-messages/1/read%0A",
        "/api/messaging/conversations/1/messages%0A/more",
        "/api/direct-messages/%0A/%0A/%0A",
    ],
)
def test_unknown_legacy_path_with_a_newline_is_the_old_404_with_deprecation_headers(alice_client, path):
    response = alice_client.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}
    assert_deprecated(response)


def test_an_unknown_path_outside_the_legacy_prefixes_keeps_the_new_apis_404(alice_client):
    response = alice_client.get("/api/messagingx/1")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert "Deprecation" not in response


@pytest.mark.parametrize(
    "path", ["/api/direct-messages/", "/api/direct-messages/1/read", "/api/messaging/conversations/1/messages"]
)
def test_options_is_the_old_405_not_drfs_metadata(alice_client, path):
    """FastAPI answered OPTIONS like any method an endpoint lacks; `Allow` names only the methods it has."""
    response = alice_client.options(path)
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert "OPTIONS" not in response["Allow"]
    assert_deprecated(response)


def test_options_of_an_unknown_legacy_path_is_the_old_404(alice_client):
    response = alice_client.options("/api/messaging/nothing")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})
    assert_deprecated(response)
