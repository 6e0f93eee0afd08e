"""What the OpenAPI schema says of the answers that are not JSON: an attachment download and the event stream.

The download's type is the one the file was stored with, so any type may come (`*/*`); it is listed after
`application/octet-stream`, the type of a file whose bytes announce none, which is also the one a generated
client reads as bytes. The event stream is a plain async view (`messaging.stream.events`), not a DRF view,
so drf-spectacular does not see it; `document_event_stream` adds its operation.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

_FILE = OpenApiResponse(
    OpenApiTypes.BINARY,
    description="The file, with the content type it was stored with (checked against its bytes; "
    "`application/octet-stream` when they announce none).",
)
# The 200 of a download, for `extend_schema(responses=...)`.
ATTACHMENT_RESPONSES = {(200, "application/octet-stream"): _FILE, (200, "*/*"): _FILE}
# Its headers, for `extend_schema(parameters=...)`.
ATTACHMENT_HEADERS = [
    OpenApiParameter(
        "Content-Disposition",
        {"type": "string", "pattern": r"^attachment; filename="},
        OpenApiParameter.HEADER,
        required=True,
        response=[200],
        description="`attachment` with an ASCII `filename` and the exact UTF-8 `filename*` (RFC 6266).",
    ),
    OpenApiParameter(
        "X-Content-Type-Options",
        {"type": "string", "enum": ["nosniff"]},
        OpenApiParameter.HEADER,
        required=True,
        response=[200],
        description="The browser must not guess another type.",
    ),
]

EVENTS_PATH = "/api/messages/events"
_RETRY_AFTER = {"schema": {"type": "integer"}, "description": "Seconds to wait."}
EVENTS_OPERATION = {
    "operationId": "messages_events_retrieve",
    "summary": "Stream your live events",
    "description": (
        "Server-Sent Events (`text/event-stream`), open until the client or the server closes it. The stream"
        " begins with a `retry:` line (the reconnection delay in milliseconds), then events: `event: <type>`,"
        " `data: <JSON>` and `id: <position>` (an `id:`-only frame moves the position past an event the reader"
        " may no longer see); a comment line (`:`) is a heartbeat. The events: `message.created` and"
        " `message.updated` (its sender edited it), whose data is the message as the reader sees it"
        " (`Message`); `message.deleted` `{id, for}` (`for`: `me` when the caller deleted it for themselves,"
        " `everyone` when its sender unsent it, told to both people); `message.read`, `message.hidden`,"
        " `message.unhidden`, `conversation.read`, `conversation.unread`, `conversation.deleted` and"
        " `unread_count` (docs/live-events.md). Reconnect with `Last-Event-ID` (or"
        " `?last_event_id=`) to get what came after that id, or a `resync` event when it cannot be resumed"
        " from: reload through the REST API, then carry on. The server ends a stream with `stream.ended`"
        " `{reason}` when its credential ends (`credentials_ended`, `token_expired`: sign in or refresh, then"
        " resume), when a newer stream of the user takes its place (`too_many_streams`) or when it restarts"
        " (`server_restarting`). Served by the ASGI server only: a WSGI server answers 503."
    ),
    "tags": ["messages"],
    "parameters": [
        {
            "name": "Last-Event-ID",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": "The id of the last event received (what `EventSource` sends on reconnect).",
        },
        {
            "name": "last_event_id",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
            "description": "The same, for a client that cannot set the header.",
        },
    ],
    "security": [{"jwtAuth": []}, {"cookieAuth": []}],
    "responses": {
        "200": {
            "description": "The open stream of the caller's events.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        "401": {
            "description": "Not authenticated, or an invalid or expired token (`code: token_not_valid`: refresh"
            " it and reconnect).",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DetailError"}}},
        },
        "503": {
            "description": "Live events are unavailable right now (the event broker cannot be reached:"
            " `Retry-After`), or this is a WSGI server, which does not serve the stream"
            " (`code: stream_not_served_here`).",
            "headers": {"Retry-After": _RETRY_AFTER},
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DetailError"}}},
        },
    },
}


def document_event_stream(result, **kwargs):
    """Add `GET /api/messages/events` to the schema (a `POSTPROCESSING_HOOKS` hook)."""
    result["paths"][EVENTS_PATH] = {"get": EVENTS_OPERATION}
    result["paths"] = dict(sorted(result["paths"].items()))
    return result
