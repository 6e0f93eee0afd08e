"""`FastSerializer`: an output serializer whose declared fields are read by getters built once per class.

Lists render up to 100 rows with several people and a message each, and DRF's generic loop over fields
(`get_attribute`, a `to_representation` call and a `None` check per field per row) is most of their CPU time.
The declarations stay the one statement of each shape: the OpenAPI schema is generated from them, and the
getters below are derived from them, so the two cannot drift apart.
"""

from collections.abc import Callable
from datetime import UTC
from operator import attrgetter
from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.settings import api_settings

_DATETIME = serializers.DateTimeField()  # DRF's rendering of a time (ISO 8601, "Z" for UTC)

# Fields whose `to_representation` is the value itself for what the models hold (int, str, bool).
_PLAIN_FIELDS = (serializers.IntegerField, serializers.CharField, serializers.BooleanField)

Getter = Callable[[Any], Any]  # an instance -> the rendering of one field of it
GetterFactory = Callable[[serializers.BaseSerializer], Getter]  # bound to one serializer instance


def _rendered_time(read: Getter) -> Getter:
    """DRF's rendering of the time `read` gives; a UTC time as the database returns it is formatted directly.

    Relay answers in UTC (TIME_ZONE) and never activates another time zone, so DRF's conversion to the
    current time zone is the identity for those, and its per-value lookup of that zone would be a fifth of
    the CPU time of rendering a thread page.
    """

    def get(instance: Any) -> Any:
        value = read(instance)
        if value is None:
            return None
        if value.tzinfo is UTC and settings.TIME_ZONE == "UTC":
            return value.isoformat().replace("+00:00", "Z")
        return _DATETIME.to_representation(value)

    return get


def _getter(field: serializers.Field) -> GetterFactory:
    """How to render one bound field of an instance, as DRF would (a `None` value renders as `None`)."""
    if isinstance(field, serializers.SerializerMethodField):
        method_name = field.method_name
        return lambda serializer: getattr(serializer, method_name)

    # `source_attrs` is the bound field's dotted `source` split; empty for `source="*"` (the instance itself).
    read: Getter = attrgetter(".".join(field.source_attrs)) if field.source_attrs else (lambda instance: instance)
    if type(field) in _PLAIN_FIELDS or (
        # What a `ModelSerializer` makes of a big auto id: an int, unless the setting asks for a string.
        type(field) is serializers.BigIntegerField
        and not getattr(field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING)
    ):
        return lambda serializer: read
    if type(field) is serializers.DateTimeField and getattr(field, "format", empty) is empty:  # the setting's format
        return lambda serializer: _rendered_time(read)

    # Nested serializers (bound per parent instance, their context the root's) and any other field
    # (`legacy_dm.serializers.OldTimeField`, ...) keep their own rule, through the serializer's own field.
    name = field.field_name

    def own_rule(serializer: serializers.BaseSerializer) -> Getter:
        render = serializer.fields[name].to_representation

        def get(instance: Any) -> Any:
            value = read(instance)
            return None if value is None else render(value)

        return get

    return own_rule


# No docstring on these two classes: drf-spectacular documents a serializer by its docstring, inherited ones
# included, and the shapes built on them say what they are themselves.
#
# An output serializer that renders its readable fields through getters built from their declarations, once
# per class, from the fields of its first instance (a `ModelSerializer`'s fields come from its `Meta`, not
# from the class body): plain fields read their `source`, times through `_rendered_time`, nested
# serializers through their own (fast) representation, method fields through `get_<name>`, and any other
# field through its own `to_representation`.
class FastSerializer(serializers.Serializer):
    _getter_factories: tuple[tuple[str, GetterFactory], ...]  # per class
    _getters: tuple[tuple[str, Getter], ...]  # per instance (a list serializer renders all rows with one)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        try:
            getters = self._getters
        except AttributeError:
            factories = type(self).__dict__.get("_getter_factories")
            if factories is None:
                factories = tuple((field.field_name, _getter(field)) for field in self._readable_fields)
                type(self)._getter_factories = factories
            getters = self._getters = tuple((name, make(self)) for name, make in factories)
        return {name: get(instance) for name, get in getters}


# `FastSerializer`'s rendering for a `ModelSerializer`'s fields.
class FastModelSerializer(FastSerializer, serializers.ModelSerializer):
    pass


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean input: `true` or `false` (and `null` where allowed), never `"yes"`, `"false"` or `1`.

    DRF's `BooleanField` also takes the strings and numbers an HTML form sends; the API's JSON bodies are
    typed, so what the schema calls a boolean is exactly what is accepted.
    """

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        self.fail("invalid")
