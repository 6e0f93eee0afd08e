"""The old service's endpoints (`/api/direct-messages/*`, `/api/messaging/*`) on the messaging core.

Each view parses the old input, calls the same `messaging` selector or service as the new API, and answers
in the old shape: bare arrays with `skip`/`limit` paging, naive UTC times, FastAPI's error shapes
(`legacy_dm.errors`). Every response, errors included, carries the deprecation headers; each call of a
logged-in caller is counted (`legacy_dm.usage`).
"""

from typing import cast

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from config.renderers import ListJSONRenderer
from messaging import selectors, services
from messaging.attachments import attachment_response
from messaging.models import Message
from messaging.schema import ATTACHMENT_HEADERS, ATTACHMENT_RESPONSES
from messaging.serializers import MarkedReadSerializer, UnreadCountSerializer
from users.models import User

from . import conversations
from .endpoint import LegacyView, OptionalBearerAuthentication
from .errors import paging, validated
from .models import LegacyConversation
from .schema import legacy_schema
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
    conversation_partners_data,
    direct_message_data,
    legacy_conversations_data,
)

# --- /api/direct-messages/* ----------------------------------------------------------------------------------

DM_ERROR_LOCS = {
    "recipient_id": ("body", "receiver_id"),
    "body": ("body", "content"),
    "reply_to_id": ("body", "reply_to_id"),
    "attachment": ("body", "file_data"),
}


def _dm(message: Message, viewer: User, status_code: int = status.HTTP_200_OK) -> Response:
    # `DirectMessageSerializer`'s rendering (its `to_representation` is `direct_message_data`), without building it.
    return Response(direct_message_data(message, viewer=viewer), status=status_code)


class DirectMessagesView(LegacyView):
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
    successors = {"GET": "/api/messages/conversations"}
    renderer_classes = [ListJSONRenderer]  # the same bytes, written faster (`config.renderers`)

    @legacy_schema(
        operation_id="legacy_dm_conversations",
        summary="List the people you have messages with",
        paged=True,
        responses={200: ConversationPartnerSerializer(many=True)},
    )
    def get(self, request):
        """`[{user, last_message, unread_count}]`, newest first."""
        skip, limit = paging(request.query_params)
        conversations = selectors.conversations_page(user=request.user, offset=skip, limit=limit).conversations
        # `ConversationPartnerSerializer(many=True)`'s rendering, without building DRF's list serializer and its
        # child on every request: a quarter of the page's rendering.
        return Response(conversation_partners_data(conversations, viewer=request.user))


class DirectMessageThreadView(LegacyView):
    successors = {"GET": "/api/messages/with/{user_id}"}
    not_found_detail = "User not found"

    @legacy_schema(
        operation_id="legacy_dm_thread",
        summary="Read the thread with a user",
        paged=True,
        responses={200: DirectMessageSerializer(many=True)},
    )
    def get(self, request, user_id):
        """The thread with that user, oldest first."""
        other = selectors.get_user_or_404(user_id=self.path_int("user_id"))
        skip, limit = paging(request.query_params)
        page = selectors.thread_page(user=request.user, other=other, newest_first=False, offset=skip, limit=limit)
        return Response(DirectMessageSerializer(page, many=True, context={"viewer": request.user}).data)


class DirectMessageThreadReadView(LegacyView):
    successors = {"PUT": "/api/messages/mark-conversation-read/{user_id}"}
    not_found_detail = "User not found"

    @legacy_schema(
        operation_id="legacy_dm_thread_read",
        summary="Mark the thread with a user read",
        responses={200: MarkedReadSerializer},
    )
    def put(self, request, user_id):
        marked = services.mark_conversation_read(user=request.user, other_id=self.path_int("user_id"))
        return Response({"marked_read": marked})


class UnreadCountView(LegacyView):
    successors = {"GET": "/api/messages/unread-count"}

    @legacy_schema(
        operation_id="legacy_dm_unread_count", summary="Count unread messages", responses={200: UnreadCountSerializer}
    )
    def get(self, request):
        return Response({"unread_count": selectors.unread_count(user=request.user)})


class DirectMessageView(LegacyView):
    successors = {"GET": "/api/messages/{message_id}", "DELETE": "/api/messages/{message_id}"}
    not_found_detail = "Message not found"

    @legacy_schema(
        operation_id="legacy_dm_retrieve",
        summary="Read a message",
        responses={200: DirectMessageSerializer},
    )
    def get(self, request, message_id):
        return _dm(selectors.access_message(user=request.user, message_id=self.path_int("message_id")), request.user)

    @legacy_schema(
        operation_id="legacy_dm_delete",
        summary="Delete a message for yourself",
        responses={200: OkSerializer},
    )
    def delete(self, request, message_id):
        """Delete for the caller only."""
        services.delete_for_user(user=request.user, message_id=self.path_int("message_id"))
        return Response({"ok": True})


class DirectMessageReadView(LegacyView):
    successors = {"PUT": "/api/messages/{message_id}/read"}
    not_found_detail = "Message not found"

    @legacy_schema(
        operation_id="legacy_dm_read",
        summary="Mark a message read",
        responses={200: DirectMessageSerializer, 403: DetailSerializer},
    )
    def put(self, request, message_id):
        return _dm(services.mark_message_read(user=request.user, message_id=self.path_int("message_id")), request.user)


class DirectMessageAttachmentView(LegacyView):
    successors = {"GET": "/api/messages/{message_id}/attachment"}
    not_found_detail = "Message not found"

    @legacy_schema(
        operation_id="legacy_dm_attachment",
        summary="Download a message's attachment",
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
    successors = {"GET": "/api/messages/conversations", "POST": "/api/messages/with/{user_id}"}
    renderer_classes = [ListJSONRenderer]  # the same bytes, written faster (`config.renderers`)
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
        # `LegacyConversationSerializer(many=True)`'s rendering, as the direct-messages list's.
        return Response(legacy_conversations_data(rows, viewer=request.user))

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
    successors = {"GET": "/api/messages/with/{user_id}", "DELETE": "/api/messages/with/{user_id}"}

    @legacy_schema(
        operation_id="legacy_conversation_retrieve",
        summary="Read a conversation",
        responses={200: LegacyConversationSerializer},
    )
    def get(self, request, conversation_id):
        view = conversations.conversation_view(user=request.user, conversation=self.get_conversation())
        return Response(LegacyConversationSerializer(view, context={"viewer": request.user}).data)

    @legacy_schema(
        operation_id="legacy_conversation_delete",
        summary="Delete a conversation for yourself",
        responses={200: OkSerializer},
    )
    def delete(self, request, conversation_id):
        """Delete the whole conversation for the caller only."""
        conversations.delete_conversation(user=request.user, conversation=self.get_conversation())
        return Response({"ok": True})


class ConversationMessagesView(ConversationMixin, LegacyView):
    successors = {"GET": "/api/messages/with/{user_id}", "POST": "/api/messages/send"}
    error_locs = {"recipient_id": ("path", "conversation_id"), "body": ("body", "content")}
    throttled_methods = frozenset({"POST"})

    @legacy_schema(
        operation_id="legacy_conversation_messages",
        summary="Read a conversation's messages",
        paged=True,
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
    successors = {"PUT": "/api/messages/mark-conversation-read/{user_id}"}

    @legacy_schema(
        operation_id="legacy_conversation_read",
        summary="Mark a conversation read",
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
