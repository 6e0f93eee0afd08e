"""Every API answer a test receives is checked against the OpenAPI schema by a strict OpenAPI 3.0 validator.

`SchemaCheckedClient` is DRF's `APIClient` that validates each response of a documented operation with
openapi-core (its status, content type, headers and body, as `/api/schema/` describes them), so the API tests
that use it (`client_for`, the `api_client` fixture) prove the schema right on every answer they look at.
An answer of an operation the schema does not document (an unknown path, a method the path lacks) and a
streaming answer (`/api/messages/events`, which never ends) are left to the tests themselves.
"""

import json
import re
import threading
from dataclasses import dataclass, field
from functools import cache

from django.core.exceptions import DisallowedHost
from django.http import HttpResponse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from rest_framework.test import APIClient
from werkzeug.datastructures import Headers, ImmutableMultiDict

METHODS = ("get", "put", "post", "delete", "patch")
# drf-spectacular's first schema generation in a process is not thread-safe (it loads its extensions), and
# the concurrency tests' first answers arrive in several threads at once: one thread generates it.
_GENERATING = threading.Lock()


def schema() -> dict:
    """The schema exactly as `/api/schema/?format=json` serves it."""
    with _GENERATING:
        return _schema()


@cache
def _schema() -> dict:
    generated = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(generated))


@cache
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(schema())


@cache
def _templates() -> list[tuple[re.Pattern, str]]:
    """Each documented path as a pattern that accepts it with and without its trailing slash (as the URLs do)."""
    templates = []
    for path in schema()["paths"]:
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path.rstrip("/")))
        templates.append((re.compile(f"{pattern}/?"), path))
    return templates


def documented_path(path: str, method: str) -> str | None:
    """`path` spelt as the schema documents it (with or without the trailing slash), or None when no documented
    operation answers this method there. The most literal path that matches is the one that answers
    (`/api/messages/send`, not `/api/messages/{id}`), as in the URL patterns."""
    matching = sorted((template.count("{"), template) for pattern, template in _templates() if pattern.fullmatch(path))
    if not matching:
        return None
    template = matching[0][1]
    if method.lower() not in schema()["paths"][template]:
        return None
    return path.rstrip("/") + "/" if template.endswith("/") else path.rstrip("/")


@dataclass
class _Request:
    """What openapi-core needs of a request to find its operation (openapi-core's request protocol)."""

    path: str
    method: str
    host_url: str = "http://testserver"
    content_type: str = "application/json"
    body: bytes | None = None
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _Response:
    """A Django response as openapi-core reads one (openapi-core's response protocol)."""

    data: bytes
    status_code: int
    content_type: str
    headers: Headers


def validate_response(response: HttpResponse, *, method: str, path: str, query: dict | None = None) -> bool:
    """Raise unless `response` to `method path` is one the schema describes; False when the operation is not
    documented or the answer is a stream (nothing checked), True when it was checked."""
    spelt = documented_path(path, method)
    if spelt is None or response.streaming:
        return False
    request = _Request(
        path=spelt,
        method=method.lower(),
        parameters=RequestParameters(query=ImmutableMultiDict(list((query or {}).items()))),
    )
    checked = _Response(
        data=response.content,
        status_code=response.status_code,
        content_type=response.get("Content-Type", ""),
        headers=Headers(list(response.items())),
    )
    openapi().validate_response(request, checked)
    return True


class SchemaCheckedClient(APIClient):
    """`APIClient` whose every answer to a documented operation must match the schema (`validate_response`)."""

    def request(self, **kwargs):
        response = super().request(**kwargs)
        wsgi_request = response.wsgi_request
        try:
            wsgi_request.get_host()
        except DisallowedHost:  # Django's 400 for a host it does not serve, before any operation
            return response
        validate_response(response, method=wsgi_request.method, path=wsgi_request.path, query=wsgi_request.GET.dict())
        return response
