"""The lists' JSON renderer writes the bytes DRF's JSON renderer writes."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer

from config.renderers import ListJSONRenderer

BODIES = [
    {"count": 2, "next": None, "previous": None, "results": [{"id": 1, "muted": True}, {"id": 2, "muted": False}]},
    [{"user": {"id": 7, "username": "zoë", "full_name": None}, "unread_count": 0}],
    {"text": 'quotes " and \\ , controls \n\r\t\b\f\x00\x07\x1f\x7f, separators \u2028\u2029, é, 😀, 中文'},
    {"numbers": [0, -1, 2**53 + 1, 2**63 - 1, -(2**63)], "flags": [True, False, None], "empty": [{}, [], ""]},
    [],
    {},
    "a string",
    # Types orjson is not given to write: DRF's renderer writes them.
    {"detail": ErrorDetail("Not found.", code="not_found")},
    {"page_size": [ErrorDetail("Must be an integer between 1 and 100.", code="invalid")]},
    {"lazy": gettext_lazy("Not found.")},
    {"at": datetime(2026, 12, 6, 21, 5, 3, 120000, tzinfo=UTC), "amount": Decimal("1.50")},
    {"big": 2**64, "tuple": (1, 2)},
]


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_the_lists_renderer_writes_what_drf_writes(body):
    assert ListJSONRenderer().render(body) == JSONRenderer().render(body)


@pytest.mark.parametrize("media_type", ["application/json", "application/json; indent=2"])
def test_an_indented_answer_and_none_are_drfs(media_type):
    context = {"indent": None}
    body = {"a": [1, {"b": "c"}]}
    assert ListJSONRenderer().render(body, media_type, context) == JSONRenderer().render(body, media_type, context)
    assert ListJSONRenderer().render(None) == JSONRenderer().render(None) == b""
