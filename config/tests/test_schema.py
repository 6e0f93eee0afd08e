"""/docs groups the new API by resource, with a one-line summary per operation; the legacy API keeps its tag."""

from io import StringIO

import pytest
from django.core.management import call_command
from openapi_spec_validator.validation import OpenAPIV30SpecValidator
from rest_framework.test import APIClient

from config.schema import NULL_ONLY
from tests.openapi import SchemaCheckedClient

pytestmark = pytest.mark.django_db

RESOURCES = ["auth", "messages", "conversations", "moderation"]
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/?format=json").json()


def operations(schema):
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_new_operation_is_tagged_by_its_resource_with_a_one_line_summary(schema):
    new = [(method, path, op) for method, path, op in operations(schema) if op["tags"] != ["legacy"]]
    assert new
    for method, path, operation in new:
        assert len(operation["tags"]) == 1 and operation["tags"][0] in RESOURCES, (method, path, operation["tags"])
        summary = operation.get("summary", "")
        assert summary and "\n" not in summary and len(summary) <= 70, (method, path, summary)


@pytest.mark.parametrize(
    ("method", "path", "tag"),
    [
        ("POST", "/api/auth/token/", "auth"),
        ("POST", "/api/auth/token/refresh/", "auth"),
        ("GET", "/api/auth/me/", "auth"),
        ("POST", "/api/messages/send/", "messages"),
        ("GET", "/api/messages/{id}/", "messages"),
        ("POST", "/api/messages/search/", "messages"),
        ("GET", "/api/messages/conversations/", "conversations"),
        ("GET", "/api/messages/with/{user_id}/", "conversations"),
        ("PUT", "/api/messages/mark-conversation-read/{user_id}/", "conversations"),
        ("POST", "/api/messages/{id}/report/", "moderation"),
        ("POST", "/api/users/{user_id}/block/", "moderation"),
        ("DELETE", "/api/users/{user_id}/block/", "moderation"),
    ],
)
def test_operations_are_listed_under_their_resource(schema, method, path, tag):
    assert schema["paths"][path][method.lower()]["tags"] == [tag]


def test_legacy_operations_keep_their_tag_and_the_tags_are_described_in_order(schema):
    legacy = [op for _, path, op in operations(schema) if path.startswith(("/api/direct-messages", "/api/messaging"))]
    assert legacy and all(op["tags"] == ["legacy"] and op["deprecated"] for op in legacy)
    assert [tag["name"] for tag in schema["tags"]] == [*RESOURCES, "legacy"]
    assert all(tag["description"] for tag in schema["tags"])
    used = {tag for _, _, op in operations(schema) for tag in op["tags"]}
    assert used == {*RESOURCES, "legacy"}


def _schema_objects(node, where=""):
    """Every object in the schema document, with where it is."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _schema_objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _schema_objects(value, f"{where}/{index}")


def test_every_nullable_schema_has_a_type_so_strict_validators_accept_null(schema):
    """OpenAPI 3.0.3: `nullable` means nothing without a `type` beside it; a nullable reference is a `oneOf`
    of the reference and null (`Message.reply_to`, `Message.attachment`, `LegacyConversation.last_message`)."""
    untyped = [where for where, node in _schema_objects(schema) if node.get("nullable") is True and "type" not in node]
    assert untyped == []
    reply_to = schema["components"]["schemas"]["Message"]["properties"]["reply_to"]
    assert reply_to["oneOf"] == [{"$ref": "#/components/schemas/ReplyTo"}, NULL_ONLY]
    OpenAPIV30SpecValidator(schema).validate()


def test_the_schema_validates_without_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=StringIO())


def request_bodies(schema):
    return {
        (method, path): operation["requestBody"]
        for method, path, operation in operations(schema)
        if "requestBody" in operation
    }


def test_each_body_is_declared_in_the_content_types_its_operation_takes_each_with_its_own_schema(schema):
    """JSON everywhere; send also takes multipart, with the file as a binary part instead of base64 JSON."""
    bodies = request_bodies(schema)
    for (method, path), body in bodies.items():
        expected = (
            ["application/json", "multipart/form-data"] if path == "/api/messages/send/" else ["application/json"]
        )
        assert list(body["content"]) == expected, (method, path)
    send = bodies[("POST", "/api/messages/send/")]["content"]
    components = schema["components"]["schemas"]
    as_json = components[send["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]["attachment"]
    as_multipart = components[send["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert as_json["oneOf"][0] == {"$ref": "#/components/schemas/Base64AttachmentRequest"}
    assert components["Base64AttachmentRequest"]["properties"]["data"]["format"] == "byte"
    assert as_multipart["properties"]["attachment"]["format"] == "binary"


def test_a_body_with_several_content_types_is_not_required_so_generated_clients_import(schema):
    """openapi-python-client 0.29.1 writes a module that does not import for a required body with more than one
    content type; each other body is required where its serializer has a required field."""
    for (method, path), body in request_bodies(schema).items():
        if len(body["content"]) > 1:
            assert "required" not in body, (method, path)
    assert request_bodies(schema)[("POST", "/api/auth/token/")]["required"] is True


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/token/", {"username": "alice", "password": "x"}),
        ("/api/messages/search", {"query": "hello"}),
    ],
)
def test_a_form_body_is_a_415_where_only_json_is_declared(alice_client, path, body):
    response = alice_client.post(path, body, format="multipart")
    assert response.status_code == 415, response.content


@pytest.mark.parametrize("value", ["yes", "true", "false", 1, 0, "1"])
def test_boolean_inputs_take_only_json_booleans(alice_client, value):
    """What the schema calls a boolean is what is accepted: not DRF's form spellings (`"yes"`, `"1"`, `1`)."""
    search = alice_client.post("/api/messages/search", {"query": "x", "unread": value}, format="json")
    assert search.status_code == 400 and "unread" in search.json()
    me = alice_client.patch("/api/auth/me/", {"read_receipts": value}, format="json")
    assert me.status_code == 400 and "read_receipts" in me.json()
    assert alice_client.patch("/api/auth/me/", {"read_receipts": False}, format="json").json()["read_receipts"] is False
    found = alice_client.post("/api/messages/search", {"query": "x", "unread": None, "has_attachment": True})
    assert found.status_code == 200


def test_the_attachment_download_is_binary_in_its_stored_type_with_its_headers(schema):
    response = schema["paths"]["/api/messages/{id}/attachment/"]["get"]["responses"]["200"]
    assert list(response["content"]) == ["application/octet-stream", "*/*"]
    assert all(media["schema"] == {"type": "string", "format": "binary"} for media in response["content"].values())
    assert response["headers"]["Content-Disposition"]["required"]
    assert response["headers"]["X-Content-Type-Options"]["schema"]["enum"] == ["nosniff"]


def test_the_event_stream_is_documented_as_server_sent_events_with_its_401(schema, alice_client):
    operation = schema["paths"]["/api/messages/events"]["get"]
    assert list(operation["responses"]["200"]["content"]) == ["text/event-stream"]
    assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DetailError"
    }
    assert {parameter["name"] for parameter in operation["parameters"]} == {"Last-Event-ID", "last_event_id"}
    assert operation["security"] == [{"jwtAuth": []}, {"cookieAuth": []}]
    # The real 401 is the documented one (the client checks every answer against the schema).
    anonymous = SchemaCheckedClient()
    assert anonymous.get("/api/messages/events").status_code == 401
    assert anonymous.get("/api/messages/events", HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401


def test_ids_in_paths_are_integers_and_pages_always_carry_next_and_previous(schema):
    """As the URLs match them (digits) and as every page answers: what a generated client's types rely on."""
    for method, path, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                assert parameter["schema"]["type"] == "integer", (method, path, parameter["name"])
    components = schema["components"]["schemas"]
    assert components["CursorPaginatedMessageList"]["required"] == ["next", "previous", "results"]
    assert components["PaginatedMessageList"]["required"] == ["count", "next", "previous", "results"]
