"""/docs groups the new API by resource, with a one-line summary per operation; the legacy API keeps its tag."""

from io import StringIO

import pytest
from django.core.management import call_command
from openapi_spec_validator.validation import OpenAPIV30SpecValidator
from rest_framework.test import APIClient

from config.schema import NULL_ONLY

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
