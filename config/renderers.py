"""The JSON renderer of the conversation lists: DRF's `JSONRenderer`, its output written by orjson.

The lists (`GET /api/messages/conversations` and the two old ones) answer a page of conversations on every
inbox poll, and the standard library's encoder took a sixth of such a request's Python (0.63 M of 5.5 M
instructions for 11 conversations; orjson: 0.05 M). Their bodies are made by the hand renderers of
`messaging.serializers` and `legacy_dm.serializers`: dicts, lists, strings, integers, booleans and None, for
which orjson writes the same bytes as DRF's renderer under the project's settings (compact, UTF-8 rather than
`\\u` escapes; U+2028 and U+2029 escaped after, as DRF escapes them). Anything orjson refuses once told to
(an error's `ErrorDetail` and other subclasses, a lazy translation, a time, a number past 64 bits), an
indented answer or other JSON settings go to DRF's own `render`. Not a floating-point number, which orjson
writes its own way (`1e16` where Python writes `1e+16`): hence a renderer of these views only, whose bodies
hold none. `config/tests/test_renderers.py` holds the two equal.
"""

from collections.abc import Mapping
from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer

# Types orjson would write its own way instead of refusing (then DRF's renderer writes them).
_PASSTHROUGH = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class ListJSONRenderer(JSONRenderer):
    """`JSONRenderer`'s bytes, written by orjson when the data are JSON's own types (see the module)."""

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Mapping[str, Any] | None = None
    ) -> bytes:
        if (
            data is None
            or self.ensure_ascii
            or not self.compact
            or self.get_indent(accepted_media_type or "", renderer_context or {}) is not None
        ):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            written = orjson.dumps(data, option=_PASSTHROUGH)
        except TypeError:  # orjson.JSONEncodeError: a type it does not write as DRF does
            return super().render(data, accepted_media_type, renderer_context)
        # DRF escapes these two (valid JSON, but not JavaScript before ES2019); they are rare.
        return written.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
