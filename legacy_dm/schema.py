"""The legacy endpoints in the OpenAPI schema: deprecated operations, bearer auth, the old shapes.

Each operation documents exactly the answers the old service gave: its success shape (bare arrays, naive
UTC times), FastAPI's 422 for bad input of any kind (body, query or path) instead of the new API's 400,
`{"detail": ...}` for the other errors, and the `Deprecation`/`Link` headers on every response.
"""

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema

from config.schema import RelayAutoSchema
from users.authentication import JWTScheme

from .serializers import DetailSerializer, ValidationErrorSerializer


class LegacyBearerScheme(JWTScheme):
    """The legacy views read the same simplejwt access tokens as the new API: the same scheme (`jwtAuth`), so a
    token authorized once in /docs serves both."""

    target_class = "legacy_dm.endpoint.BearerAuthentication"


# The bounds `legacy_dm.errors.paging` enforces (a 422 outside them).
PAGING = [
    OpenApiParameter(
        "skip", {"type": "integer", "minimum": 0, "default": 0}, description="Rows to skip (0 or more; default 0)."
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": 100, "default": 50},
        description="Rows to return (1 to 100; default 50).",
    ),
]

# Headers of every legacy response (legacy_dm.usage.deprecation_headers).
DEPRECATION_HEADERS = {
    "Deprecation": {
        "schema": {"type": "string", "pattern": r"^@\d+$"},
        "required": True,
        "description": "The endpoint is deprecated (RFC 9745): `@` and the Unix time it was deprecated at.",
    },
    "Link": {
        "schema": {"type": "string", "pattern": r'^<[^>]+>; rel="successor-version"$'},
        "required": True,
        "description": "The new endpoint that replaces this one.",
    },
}
WWW_AUTHENTICATE = {
    "schema": {"type": "string", "enum": ["Bearer"]},
    "required": True,
    "description": "The old service's bearer challenge.",
}
RETRY_AFTER = {"schema": {"type": "integer"}, "description": "Seconds to wait."}
PATH_ID = re.compile(r"\{(\w+)\}")


class LegacyAutoSchema(RelayAutoSchema):
    """The schema of a legacy operation: the old service's error statuses and shapes, deprecation headers.

    The old clients never see a 400, 403 (no session authentication, hence no CSRF) or 415 (any body is read
    as JSON): bad input of every kind is a 422 in FastAPI's shape.
    """

    error_responses = {
        "401": (
            DetailSerializer,
            '`{"detail": "Not authenticated"}` without a token; `{"detail": "Could not validate credentials"}` '
            "for a bad, expired or revoked one.",
        ),
        "403": (DetailSerializer, "Not allowed."),
        "404": (DetailSerializer, "No such object, or not visible to the caller."),
        "413": (DetailSerializer, "The request body or the attachment is too large."),
        "422": (
            ValidationErrorSerializer,
            'Invalid body, query or path parameter: `{"detail": [{"loc", "msg", "type"}]}`.',
        ),
        "429": (DetailSerializer, "Rate limited; `Retry-After` says when to try again."),
    }

    def get_override_parameters(self):
        """Every `{name}` in the old path is an integer id (the URLconf matches any segment there, so that
        another value is the old service's 422 rather than a 404)."""
        ids = [OpenApiParameter(name, OpenApiTypes.INT, OpenApiParameter.PATH) for name in PATH_ID.findall(self.path)]
        return ids + super().get_override_parameters()

    def map_parsers(self) -> list[str]:
        """JSON: what the old clients send. A body without a JSON content type is read as JSON too (FastAPI
        did), a compatibility the schema does not advertise: one content type, one schema."""
        return ["application/json"]

    def error_statuses(self, *, method: str, operation: dict) -> set[str]:
        parameters = operation.get("parameters", [])
        has_body = "requestBody" in operation
        statuses = {"401"}
        if parameters or has_body:
            statuses.add("422")
        if any(p["in"] == "path" for p in parameters):
            statuses.add("404")
        if has_body:
            statuses.add("413")
        if self.view.get_throttles():
            statuses.add("429")
        return statuses

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for code, response in operation["responses"].items():
            headers = {**response.get("headers", {}), **DEPRECATION_HEADERS}
            if code == "401":
                headers["WWW-Authenticate"] = WWW_AUTHENTICATE
            if code == "429":
                headers["Retry-After"] = RETRY_AFTER
            response["headers"] = headers
        return operation


def legacy_schema(*, summary, responses, request=None, paged=False, headers=(), **kwargs):
    """`extend_schema` for a legacy operation: deprecated, with its one-line summary; its path ids and error
    answers come from `LegacyAutoSchema`. `headers` are response headers (`OpenApiParameter(..., response=...)`)."""
    return extend_schema(
        summary=summary,
        deprecated=True,
        tags=["legacy"],
        request=request,
        parameters=(PAGING if paged else []) + list(headers),
        responses=responses,
        **kwargs,
    )
