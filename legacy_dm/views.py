"""The old service's endpoints (`/api/direct-messages/*`, `/api/messaging/*`) on the messaging core.

Each view parses the old input, calls the same `messaging` selector or service as the new API, and answers
in the old shape: bare arrays with `skip`/`limit` paging, naive UTC times, FastAPI's error shapes
(`legacy_dm.errors`). Every response, errors included, carries the deprecation headers; each call of a
logged-in caller is counted (`legacy_dm.usage`).
"""

from typing import cast

from django.http import Http404
from django.utils.functional import classproperty
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.parsers import JSONParser
from config.throttles import SendRateThrottle
from messaging import selectors, services
from messaging.attachments import attachment_response
from messaging.models import Message
from messaging.schema import ATTACHMENT_HEADERS, ATTACHMENT_RESPONSES
from messaging.serializers import MarkedReadSerializer, UnreadCountSerializer
from users.authentication import JWTAuthentication
from users.models import User

from . import conversations
from .errors import exception_handler, paging, parse_int, validated
from .models import LegacyConversation
from .schema import LegacyAutoSchema, legacy_schema
from .serializers import (
    ConversationMessageInputSerializer,
    ConversationPartnerSerializer,
    ConversationReadSerializer,
    DetailSerializer,
    DirectMessageInputSerializer,
    DirectMessageSerializer,
    LegacyConversationSerializer,
    MessageRowSerializer,
    OkSerializer,
    OpenConversationInputSerializer,
)
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
    path = ""
    successors: dict[str, str] = {}
    successor_index = "/api/messages/conversations"
    # The 404 text of the old service, and where the services' field errors are reported.
    not_found_detail = "Not Found"
    error_locs: dict[str, tuple] = {}
    throttled_methods: frozenset = frozenset()

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


# --- /api/direct-messages/* ----------------------------------------------------------------------------------

DM_ERROR_LOCS = {
    "recipient_id": ("body", "receiver_id"),
    "body": ("body", "content"),
    "reply_to_id": ("body", "reply_to_id"),
    "attachment": ("body", "file_data"),
}


def _dm(message: Message, viewer: User, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(DirectMessageSerializer(message, context={"viewer": viewer}).data, status=status_code)


class DirectMessagesView(LegacyView):
    path = "/api/direct-messages/"
    successors = {"GET": "/api/messages/conversations", "POST": "/api/messages/send"}
    error_locs = DM_ERROR_LOCS
    throttled_methods = frozenset({"POST"})

    @legacy_schema(
        operation_id="legacy_dm_list",
        summary="List your messages",
        paged=True,
        responses={200: DirectMessageSerializer(many=True)},
    )
    def get(self, request):
        """The caller's messages, sent and received, newest first."""
        skip, limit = paging(request.query_params)
        messages = selectors.visible_messages(user=request.user).order_by("-created_at", "-id")
        page = messages[skip : skip + limit]
        return Response(DirectMessageSerializer(page, many=True, context={"viewer": request.user}).data)

    @legacy_schema(
        operation_id="legacy_dm_send",
        summary="Send a message",
        request=DirectMessageInputSerializer,
        responses={201: DirectMessageSerializer, 403: DetailSerializer},
    )
    def post(self, request):
        data = validated(DirectMessageInputSerializer, request.data)
        message = services.send_message(sender=request.user, **data)
        return _dm(message, request.user, status.HTTP_201_CREATED)


class DirectMessageConversationsView(LegacyView):
    path = "/api/direct-messages/conversations"
    successors = {"GET": "/api/messages/conversations"}

    @legacy_schema(
        operation_id="legacy_dm_conversations",
        summary="List the people you have messages with",
        paged=True,
        responses={200: ConversationPartnerSerializer(many=True)},
    )
    def get(self, request):
        """`[{user, last_message, unread_count}]`, newest first."""
        skip, limit = paging(request.query_params)
        rows = selectors.conversation_page(user=request.user, offset=skip, limit=limit)
        conversations = selectors.attach_last_messages(user=request.user, rows=rows)
        return Response(ConversationPartnerSerializer(conversations, many=True, context={"viewer": request.user}).data)


class DirectMessageThreadView(LegacyView):
    path = "/api/direct-messages/conversation/{user_id}"
    successors = {"GET": "/api/messages/with/{user_id}"}
    not_found_detail = "User not found"

    @legacy_schema(
        operation_id="legacy_dm_thread",
        summary="Read the thread with a user",
        paged=True,
        path=["user_id"],
        responses={200: DirectMessageSerializer(many=True)},
    )
    def get(self, request, user_id):
        """The thread with that user, oldest first."""
        other = selectors.get_user_or_404(user_id=self.path_int("user_id"))
        skip, limit = paging(request.query_params)
        page = selectors.thread_page(user=request.user, other=other, newest_first=False, offset=skip, limit=limit)
        return Response(DirectMessageSerializer(page, many=True, context={"viewer": request.user}).data)


class DirectMessageThreadReadView(LegacyView):
    path = "/api/direct-messages/conversation/{user_id}/read"
    successors = {"PUT": "/api/messages/mark-conversation-read/{user_id}"}
    not_found_detail = "User not found"

    @legacy_schema(
        operation_id="legacy_dm_thread_read",
        summary="Mark the thread with a user read",
        path=["user_id"],
        responses={200: MarkedReadSerializer},
    )
    def put(self, request, user_id):
        marked = services.mark_conversation_read(user=request.user, other_id=self.path_int("user_id"))
        return Response({"marked_read": marked})


class UnreadCountView(LegacyView):
    path = "/api/direct-messages/unread-count"
    successors = {"GET": "/api/messages/unread-count"}

    @legacy_schema(
        operation_id="legacy_dm_unread_count", summary="Count unread messages", responses={200: UnreadCountSerializer}
    )
    def get(self, request):
        return Response({"unread_count": selectors.unread_count(user=request.user)})


class DirectMessageView(LegacyView):
    path = "/api/direct-messages/{message_id}"
    successors = {"GET": "/api/messages/{message_id}", "DELETE": "/api/messages/{message_id}"}
    not_found_detail = "Message not found"

    @legacy_schema(
        operation_id="legacy_dm_retrieve",
        summary="Read a message",
        path=["message_id"],
        responses={200: DirectMessageSerializer},
    )
    def get(self, request, message_id):
        return _dm(selectors.access_message(user=request.user, message_id=self.path_int("message_id")), request.user)

    @legacy_schema(
        operation_id="legacy_dm_delete",
        summary="Delete a message for yourself",
        path=["message_id"],
        responses={200: OkSerializer},
    )
    def delete(self, request, message_id):
        """Delete for the caller only."""
        services.delete_for_user(user=request.user, message_id=self.path_int("message_id"))
        return Response({"ok": True})


class DirectMessageReadView(LegacyView):
    path = "/api/direct-messages/{message_id}/read"
    successors = {"PUT": "/api/messages/{message_id}/read"}
    not_found_detail = "Message not found"

    @legacy_schema(
        operation_id="legacy_dm_read",
        summary="Mark a message read",
        path=["message_id"],
        responses={200: DirectMessageSerializer, 403: DetailSerializer},
    )
    def put(self, request, message_id):
        return _dm(services.mark_message_read(user=request.user, message_id=self.path_int("message_id")), request.user)


class DirectMessageAttachmentView(LegacyView):
    path = "/api/direct-messages/{message_id}/attachment"
    successors = {"GET": "/api/messages/{message_id}/attachment"}
    not_found_detail = "Message not found"

    @legacy_schema(
        operation_id="legacy_dm_attachment",
        summary="Download a message's attachment",
        path=["message_id"],
        headers=ATTACHMENT_HEADERS,
        responses=ATTACHMENT_RESPONSES,
        description="The file as a download, with the content type it was stored with.",
    )
    def get(self, request, message_id):
        message = selectors.access_message(
            user=request.user, message_id=self.path_int("message_id"), with_attachment=True
        )
        if not message.has_attachment:
            raise NotFound("Attachment not found")
        return attachment_response(message)


# --- /api/messaging/* ----------------------------------------------------------------------------------------


class ConversationMixin(LegacyView):
    """Views of one conversation: the caller's, else 404; its partner names the successor endpoint."""

    not_found_detail = "Conversation not found"

    def get_conversation(self) -> LegacyConversation:
        user = cast(User, self.request.user)  # never anonymous here: `permission_classes` is IsAuthenticated
        conversation = conversations.access_conversation(user=user, conversation_id=self.path_int("conversation_id"))
        self.link_params["user_id"] = conversations.partner_in(conversation, user=user).pk
        return conversation


class ConversationsView(LegacyView):
    path = "/api/messaging/conversations"
    successors = {"GET": "/api/messages/conversations", "POST": "/api/messages/with/{user_id}"}
    error_locs = {"recipient_id": ("body", "participant_ids")}

    @legacy_schema(
        operation_id="legacy_conversation_list",
        summary="List your conversations",
        paged=True,
        responses={200: LegacyConversationSerializer(many=True)},
    )
    def get(self, request):
        """Pairs in which the caller sees a message, and those they opened; newest activity first."""
        skip, limit = paging(request.query_params)
        rows = conversations.conversation_list(user=request.user, skip=skip, limit=limit)
        return Response(LegacyConversationSerializer(rows, many=True, context={"viewer": request.user}).data)

    @legacy_schema(
        operation_id="legacy_conversation_open",
        summary="Open the conversation with a user",
        request=OpenConversationInputSerializer,
        responses={200: LegacyConversationSerializer, 201: LegacyConversationSerializer},
    )
    def post(self, request):
        """Get or create the conversation with one other user: 201 when the pair had no id yet, else 200."""
        data = validated(OpenConversationInputSerializer, request.data, context={"user": request.user})
        conversation, created = conversations.open_conversation(user=request.user, **data)
        self.link_params["user_id"] = data["participant_id"]
        view = conversations.conversation_view(user=request.user, conversation=conversation)
        return Response(
            LegacyConversationSerializer(view, context={"viewer": request.user}).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ConversationView(ConversationMixin, LegacyView):
    path = "/api/messaging/conversations/{conversation_id}"
    successors = {"GET": "/api/messages/with/{user_id}", "DELETE": "/api/messages/with/{user_id}"}

    @legacy_schema(
        operation_id="legacy_conversation_retrieve",
        summary="Read a conversation",
        path=["conversation_id"],
        responses={200: LegacyConversationSerializer},
    )
    def get(self, request, conversation_id):
        view = conversations.conversation_view(user=request.user, conversation=self.get_conversation())
        return Response(LegacyConversationSerializer(view, context={"viewer": request.user}).data)

    @legacy_schema(
        operation_id="legacy_conversation_delete",
        summary="Delete a conversation for yourself",
        path=["conversation_id"],
        responses={200: OkSerializer},
    )
    def delete(self, request, conversation_id):
        """Delete the whole conversation for the caller only."""
        conversations.delete_conversation(user=request.user, conversation=self.get_conversation())
        return Response({"ok": True})


class ConversationMessagesView(ConversationMixin, LegacyView):
    path = "/api/messaging/conversations/{conversation_id}/messages"
    successors = {"GET": "/api/messages/with/{user_id}", "POST": "/api/messages/send"}
    error_locs = {"recipient_id": ("path", "conversation_id"), "body": ("body", "content")}
    throttled_methods = frozenset({"POST"})

    @legacy_schema(
        operation_id="legacy_conversation_messages",
        summary="Read a conversation's messages",
        paged=True,
        path=["conversation_id"],
        responses={200: MessageRowSerializer(many=True)},
    )
    def get(self, request, conversation_id):
        """The messages of the conversation, oldest first."""
        conversation = self.get_conversation()
        skip, limit = paging(request.query_params)
        other = conversations.partner_in(conversation, user=request.user)
        thread = selectors.thread_page(user=request.user, other=other, newest_first=False, offset=skip, limit=limit)
        context = {"conversation_id": conversation.pk, "viewer": request.user}
        return Response(MessageRowSerializer(thread, many=True, context=context).data)

    @legacy_schema(
        operation_id="legacy_conversation_send",
        summary="Send a message in a conversation",
        path=["conversation_id"],
        request=ConversationMessageInputSerializer,
        responses={201: MessageRowSerializer, 403: DetailSerializer},
    )
    def post(self, request, conversation_id):
        conversation = self.get_conversation()
        data = validated(ConversationMessageInputSerializer, request.data)
        message = services.send_message(
            sender=request.user,
            recipient_id=conversations.partner_in(conversation, user=request.user).pk,
            body=data["content"],
        )
        return Response(
            MessageRowSerializer(message, context={"conversation_id": conversation.pk, "viewer": request.user}).data,
            status=status.HTTP_201_CREATED,
        )


class ConversationReadView(ConversationMixin, LegacyView):
    path = "/api/messaging/conversations/{conversation_id}/read"
    successors = {"PUT": "/api/messages/mark-conversation-read/{user_id}"}

    @legacy_schema(
        operation_id="legacy_conversation_read",
        summary="Mark a conversation read",
        path=["conversation_id"],
        responses={200: ConversationReadSerializer},
    )
    def put(self, request, conversation_id):
        other = conversations.partner_in(self.get_conversation(), user=request.user)
        marked = services.mark_conversation_read(user=request.user, other=other)
        return Response({"status": "ok", "marked_read": marked})


@extend_schema(exclude=True)
class UnknownLegacyPathView(LegacyView):
    """Any other path under the legacy prefixes: the old service's JSON 404, never an HTML page."""

    authentication_classes = [OptionalBearerAuthentication]  # any caller gets the 404; users are counted
    permission_classes = [AllowAny]
    path = "(unknown path)"

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise Http404


LEGACY_VIEWS = [
    DirectMessagesView,
    DirectMessageConversationsView,
    DirectMessageThreadView,
    DirectMessageThreadReadView,
    UnreadCountView,
    DirectMessageView,
    DirectMessageReadView,
    DirectMessageAttachmentView,
    ConversationsView,
    ConversationView,
    ConversationMessagesView,
    ConversationReadView,
]


def endpoints() -> list[tuple[str, str]]:
    """Every legacy endpoint as `(method, path)`, with the successor it names: what `legacy_usage` reports on."""
    return [
        (f"{method} {view.path}", successor) for view in LEGACY_VIEWS for method, successor in view.successors.items()
    ]
