"""The OpenAPI schema class of the whole API (set once in `REST_FRAMEWORK`)."""

import re

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.pagination import CursorPagination


class DetailErrorSerializer(serializers.Serializer):
    """DRF's error shape: `{"detail": "..."}` (JWT errors add `code` and `messages`)."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False)


_ERROR = DetailErrorSerializer
# A 400 is `{"field": ["message", ...]}` (nested for nested input) or `{"detail": "..."}` for a malformed body.
_FIELD_ERRORS = OpenApiTypes.OBJECT
_ERROR_RESPONSES = {
    "400": (_FIELD_ERRORS, "Invalid input: `{field: [messages]}` or `{detail}`."),
    "401": (_ERROR, "Not authenticated, or an invalid, expired or revoked token or credentials."),
    "403": (_ERROR, "Not allowed (or a missing CSRF token with session authentication)."),
    "404": (_ERROR, "No such object, or not visible to the caller; or an invalid page or cursor."),
    "413": (_ERROR, "The request body or the attachment is too large."),
    "415": (_ERROR, "Unsupported media type of the request body."),
    "429": (_ERROR, "Rate limited; `Retry-After` says when to try again."),
}
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# The resource each operation of the new API is listed under in /docs, by path (first match). The legacy
# operations name their own tag (`legacy`), which wins. SPECTACULAR_SETTINGS["TAGS"] describes each one.
RESOURCE_TAGS = [
    (re.compile(r"^/api/auth/"), "auth"),
    (re.compile(r"^/api/messages/(conversations|with/|mark-conversation-read/|participants)"), "conversations"),
    (re.compile(r"^/api/messages/\{id\}/report|^/api/users/\{user_id\}/block"), "moderation"),
    (re.compile(r"^/api/messages/"), "messages"),
]
_NO_BODY = "No response body"


class RelayAutoSchema(AutoSchema):
    """drf-spectacular's schema, plus the error answers each operation can really give, with their bodies.

    The statuses follow from what the operation takes (a body, query or path parameters), its authentication
    and its throttles, so a new endpoint is documented correctly without annotations; statuses a view
    declares explicitly keep their description and get the error body.
    """

    def get_tags(self) -> list[str]:
        """The operation's resource (`RESOURCE_TAGS`), not drf-spectacular's first path segment (`api`)."""
        for pattern, tag in RESOURCE_TAGS:
            if pattern.search(self.path):
                return [tag]
        return super().get_tags()

    def get_paginated_name(self, serializer_name: str) -> str:
        """Cursor pages (`{next, previous, results}`) and numbered pages (with `count`) are distinct shapes."""
        if isinstance(self._get_paginator(), CursorPagination):
            return f"CursorPaginated{serializer_name}List"
        return super().get_paginated_name(serializer_name)

    # The generic error answers: status -> (body, description).
    error_responses = _ERROR_RESPONSES

    def error_statuses(self, *, method: str, operation: dict) -> set[str]:
        """The error statuses an operation can answer, from what it takes, its authentication and throttles."""
        parameters = operation.get("parameters", [])
        in_query = {p["name"] for p in parameters if p["in"] == "query"}
        has_path_parameters = any(p["in"] == "path" for p in parameters)
        has_body = "requestBody" in operation
        security = operation.get("security")
        authenticated = security is not None and {} not in security

        statuses = {"401"}
        if has_body or in_query:
            statuses.add("400")
        if authenticated and method in _UNSAFE_METHODS:
            statuses.add("403")
        if has_path_parameters or in_query & {"page", "cursor"}:
            statuses.add("404")
        if has_body:
            statuses |= {"413", "415"}
        if self.view.get_throttles():
            statuses.add("429")
        return statuses

    def _get_request_body(self, direction="request"):
        """A body that may come in more than one content type is documented as not `required`.

        openapi-python-client (0.29.1, the newest) writes a module that does not import for a required body
        with several content types (it uses `Unset` without importing it); the same body, not required, gives
        a client that sends each of them. The operation's 400 says what a missing body gets.
        """
        body = super()._get_request_body(direction)
        if body is not None and len(body.get("content", {})) > 1:
            body.pop("required", None)
        return body

    def _get_request_for_media_type(self, serializer, direction="request"):
        """A PATCH body read whole (its serializer says `whole_on_patch = True`: `PATCH /api/messages/{id}`
        takes `{body}`, required) is documented as the view reads it: its required fields required, not
        drf-spectacular's `Patched...` form in which every field is optional (DRF's `partial=True`, which
        such a view does not use)."""
        if self.method == "PATCH" and getattr(serializer, "whole_on_patch", False):
            self.method = "PUT"  # drf-spectacular reads the method to decide both the partial and the name
            try:
                return super()._get_request_for_media_type(serializer, direction)
            finally:
                self.method = "PATCH"
        return super()._get_request_for_media_type(serializer, direction)

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        statuses = self.error_statuses(method=method, operation=operation)
        responses = operation["responses"]
        for code in sorted(statuses | {code for code in responses if code in self.error_responses}):
            body, description = self.error_responses[code]
            declared = responses.get(code, {})
            if not declared.get("content"):
                # A view's own description is kept, unless it is drf-spectacular's placeholder for `None`.
                declared_description = declared.get("description", "")
                if declared_description in ("", _NO_BODY):
                    declared_description = description
                response = self._get_response_for_code(OpenApiResponse(body, declared_description), code)
                if code == "429":
                    response["headers"] = {
                        "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}
                    }
                responses[code] = response
        operation["responses"] = dict(sorted(responses.items()))
        return operation


def document_schema_paths(endpoints, **kwargs):
    """Views that name their path in `schema_path` are documented at it (a `PREPROCESSING_HOOKS` hook).

    drf-spectacular spells a pattern that accepts a path with and without its trailing slash (`/?$`) with
    the slash; a view that has one canonical spelling (the legacy endpoints: the old service's paths) says so.
    """
    return [
        (getattr(callback.cls, "schema_path", None) or path, path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
    ]


# The one value a nullable reference adds. OpenAPI 3.0.3: `nullable` means something only beside a `type` in
# the same schema object, so drf-spectacular's `{"allOf": [{"$ref": ...}], "nullable": true}` is an object
# that may not be null for a strict validator (openapi-core); a reference is made nullable by a `oneOf` of
# it and this.
NULL_ONLY = {"type": "object", "nullable": True, "enum": [None]}


def _nullable(schema: dict) -> dict:
    """A nullable schema without a `type` (a reference, or a choice of schemas) as a `oneOf` of its choices
    and null, which means what it says; other schemas as they are."""
    if schema.get("nullable") is not True or "type" in schema:
        return schema
    choices = schema["allOf"] if len(schema.get("allOf", [])) == 1 else schema.get("oneOf") or schema.get("anyOf")
    if not choices:
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("allOf", "oneOf", "anyOf", "nullable")}
    return {"oneOf": [*choices, NULL_ONLY], **rest}


def _strict_nullables(node):
    if isinstance(node, dict):
        return _nullable({key: _strict_nullables(value) for key, value in node.items()})
    if isinstance(node, list):
        return [_strict_nullables(value) for value in node]
    return node


def strict_nullables(result, **kwargs):
    """Every nullable reference in a form strict OpenAPI 3.0 validators read as nullable (a
    `POSTPROCESSING_HOOKS` hook)."""
    return _strict_nullables(result)


# The Authorize dialog of /docs lists the schemes in this order (drf-spectacular sorts them by name, which put
# the session box first: a JWT pasted there is never sent, and "Try it out" answers 401).
SECURITY_SCHEMES_FIRST = ["jwtAuth", "cookieAuth"]


def jwt_scheme_first(result, **kwargs):
    """The security schemes with the bearer (JWT) scheme first, then the session, then any other."""
    schemes = result.get("components", {}).get("securitySchemes")
    if schemes:
        ordered = [name for name in SECURITY_SCHEMES_FIRST if name in schemes]
        ordered += [name for name in schemes if name not in ordered]
        result["components"]["securitySchemes"] = {name: schemes[name] for name in ordered}
    return result
