"""Serializer fields and the input serializers' base, shared by the apps."""

import threading
from collections.abc import Iterable

from rest_framework import serializers
from rest_framework.utils.formatting import lazy_format


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


def _copy(field: serializers.Field) -> serializers.Field:
    """A shallow copy of `field`: a new instance with the same attributes (`copy.copy`'s, without its pickling path)."""
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


class InputSerializer(serializers.Serializer):
    """A serializer of a request's input (a body or a query) that every request builds afresh.

    DRF gives each serializer deep copies of the declared fields, which builds every field again with its
    validators and error messages: for a send's four fields, half a million instructions of its five million
    (`bench.instructions`). Here each serializer gets shallow copies: fields of its own to bind, sharing the
    declaration's validators, messages and default, which nothing changes after a field is made. So the
    declared fields must hold no other field or serializer (a list's `child`, a nested serializer), which a
    shallow copy would share with its binding; such a class is refused when it is defined.

    One thing in a field changes after it is made: the message of a length or bounds validator is DRF's
    `lazy_format`, which formats itself on first use and then drops its arguments, unsafely when two threads
    use it at once (one formats with the arguments the other has just dropped: a 500 in a threaded worker).
    Shared by every request of the process, those messages are formatted once, under a lock, when the class
    first makes its fields (not when it is defined: the translation machinery is not ready at import). They
    are then fixed in the language of that moment: the project has one (`LANGUAGE_CODE`).
    """

    _messages_formatted = False  # this class's declared validators' messages (set per class, not inherited)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, field in cls._declared_fields.items():
            if (
                isinstance(field, serializers.BaseSerializer)
                or hasattr(field, "child")
                or hasattr(field, "child_relation")
            ):
                raise TypeError(
                    f"{cls.__name__}.{name} holds a field or serializer of its own: an InputSerializer copies its"
                    " fields shallowly, so declare it on a serializers.Serializer."
                )

    def get_fields(self) -> dict[str, serializers.Field]:
        cls = type(self)
        if not cls.__dict__.get("_messages_formatted"):
            with _formatting:
                if not cls.__dict__.get("_messages_formatted"):
                    _format_messages(self._declared_fields.values())
                    cls._messages_formatted = True
        return {name: _copy(field) for name, field in self._declared_fields.items()}


_formatting = threading.Lock()


def _format_messages(fields: Iterable[serializers.Field]) -> None:
    """Format every `lazy_format` message of `fields`' validators now, so that it is never formatted again."""
    for field in fields:
        for validator in field.validators:
            message = getattr(validator, "message", None)
            if isinstance(message, lazy_format):
                str(message)
