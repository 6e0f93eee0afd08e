"""What every endpoint of the old service is: `LegacyView`, and its reading of a request.

Bearer tokens read as the old service read them, any body read as JSON, JSON answers whatever `Accept`
says, FastAPI's error shapes (`legacy_dm.errors`), the deprecation headers on every response, and each call
of a logged-in caller counted (`legacy_dm.usage`) under the endpoint's path as the URLconf declares it.
"""

from django.utils.functional import classproperty
from rest_framework.exceptions import APIException
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from config.parsers import JSONParser
from config.throttles import SendRateThrottle
from users.authentication import JWTAuthentication

from .errors import exception_handler, parse_int
from .schema import LegacyAutoSchema
from .usage import deprecation_headers, record_call

_COUNTED_METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}


class BearerAuthentication(JWTAuthentication):
    """simplejwt's access tokens, with the old service's reading of a header without a token.

    `Authorization: Bearer` alone was "Not authenticated" for the old service (no credentials at all),
    not a bad credential.
    """

    def get_raw_token(self, header):
        if len(header.split()) == 1:
            return None
        return super().get_raw_token(header)


class OptionalBearerAuthentication(BearerAuthentication):
    """The caller of a token that is accepted, else nobody (no 401): for paths that answer anyone alike."""

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except APIException:
            return None


class UntypedJSONParser(JSONParser):
    """A body sent without a JSON content type is read as JSON, as FastAPI read it (else a 422, not a 415)."""

    media_type = "*/*"


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """The old service answered JSON whatever the `Accept` header said: never an HTML page, never a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class LegacyView(APIView):
    """An endpoint of the old service: its path, its successors in the new API, its error shapes.

    `successors` maps a method to the new endpoint that replaces it; `{message_id}`/`{user_id}` in it are
    filled from the path or from what the view found (`self.link_params`), else `successor_index` is named.
    """

    authentication_classes = [BearerAuthentication]  # old clients send `Authorization: Bearer <access>`
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser, UntypedJSONParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONOnlyNegotiation
    # The old service answered OPTIONS like any method an endpoint lacks (405), not with DRF's metadata.
    http_method_names = [name for name in APIView.http_method_names if name != "options"]
    schema = LegacyAutoSchema()
    successors: dict[str, str] = {}
    successor_index = "/api/messages/conversations"
    # The 404 text of the old service, and where the services' field errors are reported.
    not_found_detail = "Not Found"
    error_locs: dict[str, tuple] = {}
    throttled_methods: frozenset = frozenset()

    @classproperty
    def path(cls: "type[LegacyView]") -> str:
        """The old service's spelling of the endpoint's path (`/api/direct-messages/{message_id}`), as the
        URLconf declares it: the name its calls are counted under, and where the schema documents it."""
        from .urls import OLD_PATHS  # here, not at the top: the URLconf imports the views

        return OLD_PATHS[cls]

    @classproperty
    def schema_path(cls) -> str | None:
        """The old service's spelling of the path, for the OpenAPI schema (`config.schema.document_schema_paths`)."""
        return cls.path if cls.path.startswith("/") else None

    def initial(self, request, *args, **kwargs):
        self.link_params: dict[str, int] = {}
        super().initial(request, *args, **kwargs)

    def get_exception_handler(self):
        return exception_handler

    def get_authenticate_header(self, request):
        return "Bearer"

    def get_throttles(self):
        if self.request.method in self.throttled_methods:
            return [SendRateThrottle()]
        return super().get_throttles()

    def path_int(self, name: str) -> int:
        return parse_int(self.kwargs[name], loc=("path", name))

    def successor(self, method: str) -> str:
        template = self.successors.get(method) or next(iter(self.successors.values()), self.successor_index)
        params = {**self.kwargs, **getattr(self, "link_params", {})}
        params = {key: value for key, value in params.items() if str(value).isdigit()}
        try:
            return template.format(**params)
        except (KeyError, IndexError):
            return self.successor_index

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        method = request.method.upper()
        for header, value in deprecation_headers(self.successor(method)).items():
            response[header] = value
        # Only callers who logged in are counted: the counts are of old clients still in use (which all log
        # in), and an anonymous request must not cost a database write (anyone could send millions).
        if _authenticated(request):
            record_call(f"{method if method in _COUNTED_METHODS else 'OTHER'} {self.path}")
        return response


def _authenticated(request: Request) -> bool:
    """Whether the request came from a logged-in user; a credential that failed is no user."""
    try:
        return bool(request.user and request.user.is_authenticated)
    except APIException:
        return False
