"""The old FastAPI service's error shapes, which the legacy clients parse.

- 422 `{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}` for every validation error: of the body
  (`loc: ["body", field]`), of the query (`["query", "limit"]`) and of the path (`["path", "message_id"]`),
  with pydantic's `msg`/`type` for the kinds of error pydantic reported;
- 401 `{"detail": "Not authenticated"}` without a token and `{"detail": "Could not validate credentials"}`
  for a bad, expired or revoked one, both with `WWW-Authenticate: Bearer`;
- `{"detail": "..."}` for everything else (404, 403, 405, and what the old service did not have: 413, 429).

The views raise DRF's exceptions or let the messaging services' errors through; `exception_handler` turns
all of them into these shapes.
"""

import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias, TypedDict

from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from messaging.services import AttachmentTooLarge

NOT_AUTHENTICATED = "Not authenticated"
BAD_CREDENTIALS = "Could not validate credentials"

# pydantic (v1, as the old service ran it) words for the errors it reported; other errors keep DRF's words.
_INTEGER = ("value is not a valid integer", "type_error.integer")
_PYDANTIC_BY_CODE = {
    "required": ("field required", "value_error.missing"),
    "null": ("none is not an allowed value", "type_error.none.not_allowed"),
    "not_a_list": ("value is not a valid list", "type_error.list"),
    "max_string_length": _INTEGER,
}
_TYPE_BY_CODE = {
    "max_length": "value_error.any_str.max_length",
    "min_length": "value_error.any_str.min_length",
    "blank": "value_error.any_str.min_length",
    "min_value": "value_error.number.not_ge",
    "max_value": "value_error.number.not_le",
    "empty": "value_error.list.min_items",
    "invalid": "value_error",
}
# Where an error is: ("body", field, ...), ("query", name) or ("path", name).
Loc: TypeAlias = Sequence[str | int]

# DRF's error detail: a message (with its code), or a list or dict of them, nested as the serializers nest.
DetailTree: TypeAlias = exceptions.ErrorDetail | list["DetailTree"] | dict[str, "DetailTree"]


class LegacyError(TypedDict):
    """One entry of a 422 `detail` list, as pydantic reported it."""

    loc: list[str | int]
    msg: str
    type: str


# A skip past any table answers an empty page; capped so that OFFSET fits the databases' integers.
MAX_SKIP = 2**62


class LegacyValidationError(exceptions.APIException):
    """A 422 with a FastAPI `detail` list."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "Unprocessable Entity"

    def __init__(self, errors: list[LegacyError]) -> None:
        super().__init__()
        self.errors = errors


def error(loc: Loc, msg: str, type_: str = "value_error") -> LegacyError:
    """One entry of a 422 `detail` list."""
    return {"loc": list(loc), "msg": str(msg), "type": type_}


def parse_int(value: object, *, loc: Loc) -> int:
    """`value` as an integer (path or query parameter), else the 422 pydantic gave for it."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise LegacyValidationError([error(loc, *_INTEGER)]) from None


def paging(query_params: Mapping[str, str]) -> tuple[int, int]:
    """`skip` (>= 0, default 0) and `limit` (1..100, default 50) from the query string, or a 422 naming both."""
    problems: list[LegacyError] = []
    values: dict[str, int] = {}
    for name, default, low, high in (("skip", 0, 0, None), ("limit", 50, 1, 100)):
        raw = query_params.get(name)
        if raw is None:
            values[name] = default
            continue
        try:
            value = parse_int(raw, loc=("query", name))
        except LegacyValidationError as exc:
            problems += exc.errors
            continue
        if value < low:
            problems.append(
                error(
                    ("query", name), f"ensure this value is greater than or equal to {low}", "value_error.number.not_ge"
                )
            )
        elif high is not None and value > high:
            problems.append(
                error(
                    ("query", name), f"ensure this value is less than or equal to {high}", "value_error.number.not_le"
                )
            )
        values[name] = value
    if problems:
        raise LegacyValidationError(problems)
    return min(values["skip"], MAX_SKIP), values["limit"]


def _child(field: serializers.Field | None, key: str) -> serializers.Field | None:
    """The serializer field that DRF's error detail names with `key` (a field name or a list index)."""
    if isinstance(field, serializers.Serializer):
        return field.fields.get(key)
    if isinstance(field, serializers.ListField):
        return field.child
    return None


def _flatten(detail: DetailTree, loc: Loc, field: serializers.Field | None) -> list[LegacyError]:
    """DRF's nested error detail for `field` (a serializer or a field) as a flat list of FastAPI errors."""
    if isinstance(detail, dict):
        out: list[LegacyError] = []
        for key, value in detail.items():
            if key == api_settings.NON_FIELD_ERRORS_KEY:
                out += _flatten(value, loc, field)
            else:
                out += _flatten(value, (*loc, key), _child(field, key))
        return out
    if isinstance(detail, list):
        return [entry for item in detail for entry in _flatten(item, loc, field)]
    code = getattr(detail, "code", None) or "invalid"
    if code in _PYDANTIC_BY_CODE:
        return [error(loc, *_PYDANTIC_BY_CODE[code])]
    if code == "invalid" and isinstance(field, serializers.IntegerField):
        return [error(loc, *_INTEGER)]
    if code == "invalid" and isinstance(field, serializers.CharField):
        return [error(loc, "str type expected", "type_error.str")]
    return [error(loc, str(detail), _TYPE_BY_CODE.get(code, f"value_error.{code}"))]


def validated(serializer_class: type[serializers.Serializer], data: object, **kwargs: Any) -> dict[str, Any]:
    """The validated data of `serializer_class` over the request body, or a 422 with `loc: ["body", ...]`."""
    serializer = serializer_class(data=data, **kwargs)
    if not serializer.is_valid():
        raise LegacyValidationError(_flatten(serializer.errors, ("body",), serializer))
    result: dict[str, Any] = serializer.validated_data
    return result


def _service_errors(exc: DjangoValidationError, locs: Mapping[str, Loc]) -> list[LegacyError]:
    """A messaging service's `ValidationError` (keyed by the new API's field names) with the old locations."""
    if not hasattr(exc, "error_dict"):
        return [error(("body",), message) for message in exc.messages]
    return [
        error(locs.get(field, ("body", field)), message)
        for field, messages in exc.message_dict.items()
        for message in messages
    ]


def _detail(status_code: int, detail: object, headers: dict[str, str] | None = None) -> Response:
    return Response({"detail": detail}, status=status_code, headers=headers)


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response | None:
    """Every error of a legacy view, in the old service's shape."""
    view = context.get("view")
    set_rollback()
    if isinstance(exc, LegacyValidationError):
        return Response({"detail": exc.errors}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response({"detail": _service_errors(exc, getattr(view, "error_locs", {}))}, status=422)
    if isinstance(exc, exceptions.ValidationError):
        return Response({"detail": _flatten(exc.detail, ("body",), None)}, status=422)
    if isinstance(exc, exceptions.ParseError):
        return Response({"detail": [error(("body",), str(exc.detail), "value_error.jsondecode")]}, status=422)
    if isinstance(exc, exceptions.NotAuthenticated):
        return _detail(401, NOT_AUTHENTICATED, {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, exceptions.AuthenticationFailed):
        return _detail(401, BAD_CREDENTIALS, {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, Http404):
        return _detail(404, getattr(view, "not_found_detail", None) or "Not Found")
    if isinstance(exc, PermissionDenied):
        return _detail(403, str(exc) or "Forbidden")
    if isinstance(exc, AttachmentTooLarge):
        return _detail(413, str(exc))
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):
        return _detail(413, "The request body is too large.")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return _detail(405, "Method Not Allowed")
    if isinstance(exc, exceptions.Throttled):
        wait: float | None = exc.wait  # type: ignore[attr-defined]  # stub gap: DRF's __init__ sets `wait`
        headers = {"Retry-After": str(math.ceil(wait))} if wait is not None else None
        return _detail(429, str(exc.detail), headers)
    if isinstance(exc, exceptions.APIException):
        detail = exc.detail if isinstance(exc.detail, str) else exc.get_full_details()
        return _detail(exc.status_code, str(detail) if isinstance(detail, str) else detail)
    return None
