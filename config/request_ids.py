"""A request id on every request: the proxy's `X-Request-ID` when it looks like one, else a new one.

The response returns it in `X-Request-ID`, and every log line written while the request is served carries it
(`RequestIdFilter`, `config.logging.JsonFormatter`), so one request can be followed from the proxy's access log
to the app's lines.
"""

import logging
import re
import uuid
from contextvars import ContextVar

from asgiref.sync import iscoroutinefunction, markcoroutinefunction

HEADER = "X-Request-ID"
# What a proxy's id may look like (nginx's $request_id is 32 hex digits; a uuid with dashes fits too). Anything
# else (too long, spaces, control characters that could forge a log line) is replaced, not trusted.
SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def request_id_for(header_value: str | None) -> str:
    """The proxy's id if it is sane, else a new uuid4 (32 hex digits)."""
    if header_value and SANE_ID.fullmatch(header_value):
        return header_value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE: every answer, a redirect or a refusal by later middleware included, carries the id.

    Sync and async (uvicorn serves the event stream): it never forces an async view onto a thread.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        token = self._begin(request)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[HEADER] = request.request_id
        return response

    async def __acall__(self, request):
        token = self._begin(request)
        try:
            response = await self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[HEADER] = request.request_id
        return response

    @staticmethod
    def _begin(request):
        request.request_id = request_id_for(request.headers.get(HEADER))
        return current_request_id.set(request.request_id)


class RequestIdFilter:
    """Puts `request_id` on every log record: the id of the request being served, or None.

    Django logs a 4xx/5xx answer ("Not Found: /x") after the middleware has returned; those records carry the
    request itself, whose id is used then.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        request_id = current_request_id.get()
        if request_id is None:
            request_id = getattr(getattr(record, "request", None), "request_id", None)
        record.request_id = request_id
        return True
