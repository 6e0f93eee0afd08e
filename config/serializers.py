"""Serializer fields shared by the apps."""

from rest_framework import serializers


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
