"""The /api/messages/* endpoints: parse input, call one selector or service, shape the output."""

from functools import partial
from typing import Any, TypeVar, cast

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import BasePagination
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from config.parsers import JSONParser
from config.renderers import ListJSONRenderer
from config.throttles import SendRateThrottle
from users.requests import AuthenticatedRequest

from . import selectors, services
from .attachments import attachment_response
from .models import Message
from .pagination import MAX_PAGE_SIZE, NewestFirstCursorPagination, PageNumberPagination
from .schema import ATTACHMENT_HEADERS, ATTACHMENT_RESPONSES
from .serializers import (
    DEFAULT_WINDOW_SIDE,
    DELETE_FOR_EVERYONE,
    BlockSerializer,
    ConversationSerializer,
    CursorMessagePageSerializer,
    DeleteQuerySerializer,
    EditMessageSerializer,
    MarkedReadSerializer,
    MarkedUnreadSerializer,
    MessageSerializer,
    MuteSerializer,
    ParticipantQuerySerializer,
    ParticipantSerializer,
    ReportInputSerializer,
    ReportSerializer,
    SearchSerializer,
    SendMessageMultipartSerializer,
    SendMessageSerializer,
    ThreadQuerySerializer,
    ThreadWindowSerializer,
    UnreadCountsSerializer,
    conversations_data,
    message_data,
)

PaginatorKind = TypeVar("PaginatorKind", bound=BasePagination)


USER_ID = OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH)
MESSAGE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)  # `lookup_value_regex`: digits
NOT_FOUND = OpenApiResponse(description="No such message or user, or not visible to the caller.")
# The thread's cursor pagination (`NewestFirstCursorPagination`), as its own parameters say it; declared here
# because the thread's answer is one of two shapes, which drf-spectacular does not page by itself.
THREAD_CURSOR = OpenApiParameter(
    "cursor", OpenApiTypes.STR, description="Without `anchor`: the pagination cursor value (from `next`, `previous`)."
)
THREAD_PAGE_SIZE = OpenApiParameter(
    "page_size",
    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
    description="Without `anchor`: number of results to return per page.",
)


class MessageViewSet(viewsets.GenericViewSet[Message]):
    """Direct messages of the authenticated user."""

    request: AuthenticatedRequest  # every action is behind `IsAuthenticated` (the API's default)
    serializer_class = MessageSerializer
    lookup_value_regex = r"\d+"
    # Every list by page number; threads by cursor (`with_user`: stable while messages arrive).
    pagination_class = PageNumberPagination

    def get_queryset(self) -> QuerySet[Message]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Message.objects.none()
        return selectors.visible_messages(user=self.request.user)

    def get_throttles(self) -> list[BaseThrottle]:
        if self.action in ("send", "partial_update"):  # an edit writes a message too (and keeps the old one)
            return [SendRateThrottle()]
        return super().get_throttles()

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "viewer": self.request.user}

    def _message_response(self, message: Message, status_code: int = status.HTTP_200_OK) -> Response:
        # `MessageSerializer`'s rendering (its `to_representation` is `message_data`), without building it.
        return Response(message_data(message, viewer=self.request.user), status=status_code)

    def _list_paginator(self) -> BasePagination:
        if self.paginator is None:
            raise ImproperlyConfigured("MessageViewSet pages every list (pagination_class).")
        return self.paginator

    def _paginator_of(self, kind: type[PaginatorKind]) -> PaginatorKind:
        """This action's paginator, of the class that its list is read with."""
        paginator = self._list_paginator()
        if not isinstance(paginator, kind):
            raise ImproperlyConfigured(f"{self.action} pages with {kind.__name__}.")
        return paginator

    def _page(self, items: object) -> list[Any]:
        """The page of `items` that the request asks for.

        DRF's paginators take a QuerySet or anything with `count()` (or `len()`) and slices, such as the page
        sources of `messaging.selectors`; its stubs name only QuerySets and sequences, hence the cast.
        """
        return self._list_paginator().paginate_queryset(cast("QuerySet[Any]", items), self.request, view=self) or []

    def _paginated_response(self, data: Any) -> Response:
        return self._list_paginator().get_paginated_response(data)

    def _paginated(self, items: object, serializer_class: type[BaseSerializer[Any]]) -> Response:
        data = serializer_class(self._page(items), many=True, context=self.get_serializer_context()).data
        return self._paginated_response(data)

    @extend_schema(summary="List conversations", responses=ConversationSerializer(many=True))
    @action(
        detail=False,
        methods=["get"],
        url_path="conversations",
        # The API's renderers with the lists' JSON renderer (`config.renderers`: the same bytes, written faster).
        renderer_classes=[ListJSONRenderer, BrowsableAPIRenderer],
    )
    def conversations(self, request: AuthenticatedRequest) -> Response:
        """One row per person the caller has messages with, newest activity first."""
        conversations = self._paginator_of(PageNumberPagination).paginate_counted(
            partial(selectors.conversations_page, user=request.user), request, view=self
        )
        # None only from a paginator without a page size, which the API's never is (`_page` reads it so too).
        # `ConversationSerializer(many=True)`'s rendering, without building DRF's list serializer and its child
        # on every request: a quarter of the page's rendering.
        return self._paginated_response(conversations_data(conversations or [], viewer=request.user))

    @extend_schema(
        summary="Read the thread with a user",
        operation_id="api_messages_with_list",
        parameters=[USER_ID, THREAD_CURSOR, THREAD_PAGE_SIZE, ThreadQuerySerializer],
        responses={
            200: PolymorphicProxySerializer(
                component_name="ThreadRead",
                serializers=[CursorMessagePageSerializer, ThreadWindowSerializer],
                resource_type_field_name=None,
            ),
            404: NOT_FOUND,
        },
        description="The thread with that user. Without `anchor`: newest first, a page by cursor (`next`,"
        " `previous`). With `anchor` (Zulip's model): `{messages, anchor, found_anchor, found_oldest,"
        " found_newest}`, the messages oldest first, the anchor message with up to `num_before` messages before"
        " it and `num_after` after it.",
    )
    @action(
        detail=False, methods=["get"], url_path=r"with/(?P<user_id>\d+)", pagination_class=NewestFirstCursorPagination
    )
    def with_user(self, request: AuthenticatedRequest, user_id: str) -> Response:
        other = selectors.get_user_or_404(user_id=user_id)
        query = ThreadQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if "anchor" in query.validated_data:
            window = selectors.thread_window(
                user=request.user,
                other=other,
                anchor=query.validated_data["anchor"],
                num_before=query.validated_data.get("num_before", DEFAULT_WINDOW_SIDE),
                num_after=query.validated_data.get("num_after", DEFAULT_WINDOW_SIDE),
            )
            return Response(ThreadWindowSerializer(window, context=self.get_serializer_context()).data)
        page = self._paginator_of(NewestFirstCursorPagination).paginate_thread(
            partial(selectors.thread_page, user=request.user, other=other), request, view=self
        )
        data = MessageSerializer(page, many=True, context=self.get_serializer_context()).data
        return self._paginated_response(data)

    @extend_schema(
        summary="Delete a whole conversation for yourself",
        parameters=[USER_ID],
        request=None,
        responses={204: None, 404: NOT_FOUND},
        description="Delete the whole conversation with that user for the caller only; it comes back, holding"
        " only new messages, when either side writes again.",
    )
    @with_user.mapping.delete
    def delete_conversation(self, request: AuthenticatedRequest, user_id: str) -> Response:
        other = selectors.get_user_or_404(user_id=user_id)
        services.delete_conversation_for_user(user=request.user, other=other)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Send a message",
        request={"application/json": SendMessageSerializer, "multipart/form-data": SendMessageMultipartSerializer},
        responses={201: MessageSerializer, 400: None, 403: None, 413: None, 429: None},
        description="JSON, with a file as base64 `attachment: {name, content_type, data}` if any; or"
        " `multipart/form-data` with the file as the `attachment` part.",
    )
    @action(detail=False, methods=["post"], url_path="send", parser_classes=[JSONParser, MultiPartParser])
    def send(self, request: AuthenticatedRequest) -> Response:
        serializer = SendMessageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.send_message(sender=request.user, **serializer.validated_data)
        return self._message_response(message, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Mark a conversation read",
        parameters=[USER_ID],
        request=None,
        responses={200: MarkedReadSerializer, 404: NOT_FOUND},
    )
    @action(detail=False, methods=["put"], url_path=r"mark-conversation-read/(?P<user_id>\d+)")
    def mark_conversation_read(self, request: AuthenticatedRequest, user_id: str) -> Response:
        marked = services.mark_conversation_read(user=request.user, other_id=user_id)
        return Response({"marked_read": marked})

    @extend_schema(summary="Search messages", request=SearchSerializer, responses=MessageSerializer(many=True))
    @action(detail=False, methods=["post"], url_path="search")
    def search(self, request: AuthenticatedRequest) -> Response:
        """Messages visible to the caller matching `query`, best match first."""
        serializer = SearchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        results = selectors.search_messages(
            user=request.user, query=serializer.validated_data["query"], filters=serializer.filters()
        )
        return self._paginated(results, MessageSerializer)

    @extend_schema(
        summary="List people to write to",
        parameters=[ParticipantQuerySerializer],
        responses=ParticipantSerializer(many=True),
    )
    @action(detail=False, methods=["get"], url_path="participants")
    def participants(self, request: AuthenticatedRequest) -> Response:
        query = ParticipantQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        people = selectors.participants_for(user=request.user, search=query.validated_data["search"])
        return self._paginated(people, ParticipantSerializer)

    @extend_schema(
        summary="Mute a conversation",
        parameters=[USER_ID],
        request=None,
        responses={
            200: MuteSerializer,
            400: OpenApiResponse(description="You cannot mute a conversation with yourself."),
            404: NOT_FOUND,
        },
        description="Its messages still arrive and count in `unread_count`, but not in `badge_count`."
        " Idempotent; the caller need not have a message with that user yet.",
    )
    @action(detail=False, methods=["put"], url_path=r"with/(?P<user_id>\d+)/mute")
    def mute(self, request: AuthenticatedRequest, user_id: str) -> Response:
        services.mute_conversation(user=request.user, other_id=user_id)
        return Response({"user_id": int(user_id), "muted": True})

    @extend_schema(
        summary="Unmute a conversation",
        parameters=[USER_ID],
        responses={204: None, 404: NOT_FOUND},
        description="Lift the mute (204 whether or not there was one).",
    )
    @mute.mapping.delete
    def unmute(self, request: AuthenticatedRequest, user_id: str) -> Response:
        services.unmute_conversation(user=request.user, other_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Count unread messages", responses=UnreadCountsSerializer)
    @action(detail=False, methods=["get"], url_path="unread-count")
    def unread_count(self, request: AuthenticatedRequest) -> Response:
        counts = selectors.unread_counts(user=request.user)
        return Response({"unread_count": counts.unread, "badge_count": counts.badge})

    @extend_schema(
        summary="Read a message", parameters=[MESSAGE_ID], responses={200: MessageSerializer, 404: NOT_FOUND}
    )
    def retrieve(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self._message_response(selectors.access_message(user=request.user, message_id=pk))

    @extend_schema(
        summary="Edit a message you sent",
        parameters=[MESSAGE_ID],
        request=EditMessageSerializer,
        responses={
            200: MessageSerializer,
            400: OpenApiResponse(
                description="The body breaks a send's rules (empty without an attachment, too long), or the edit"
                " window (`MESSAGING_EDIT_WINDOW_SECONDS` after sending) has closed."
            ),
            403: OpenApiResponse(
                description="The caller received this message (only its sender may edit it), or its recipient"
                " blocks the caller (as a send)."
            ),
            404: NOT_FOUND,
        },
        description="Replace the body of a message the caller sent, within the edit window after sending (an"
        " hour by default). The answer is the message, its `edited_at` the edit's time; both parties' streams"
        " get `message.updated`. The same body again changes nothing. The earlier bodies are kept for the"
        " moderators; the attachment cannot be changed.",
    )
    def partial_update(self, request: AuthenticatedRequest, pk: str) -> Response:
        serializer = EditMessageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = services.edit_message(user=request.user, message_id=pk, body=serializer.validated_data["body"])
        return self._message_response(message)

    @extend_schema(
        summary="Delete a message for yourself, or unsend it",
        parameters=[MESSAGE_ID, DeleteQuerySerializer],
        responses={
            204: None,
            400: OpenApiResponse(
                description="`for` is neither `me` nor `everyone`; or, unsending, the message was sent longer ago"
                " than `MESSAGING_UNSEND_WINDOW_SECONDS`."
            ),
            403: OpenApiResponse(description="Unsending a message the caller received: only its sender may."),
            404: NOT_FOUND,
        },
        description="Without `for` (or `for=me`): delete the message for the caller only; the other person still"
        " sees it. With `for=everyone` (unsend): the sender removes it for both people on every surface, within"
        ' `MESSAGING_UNSEND_WINDOW_SECONDS` of sending it; both get `message.deleted` `{id, for: "everyone"}`,'
        " and a reply to it shows `reply_to.unsent`. Unsending a message already unsent answers 204 again.",
    )
    def destroy(self, request: AuthenticatedRequest, pk: str) -> Response:
        query = DeleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        if query.validated_data["for"] == DELETE_FOR_EVERYONE:
            services.unsend_message(user=request.user, message_id=pk)
        else:
            services.delete_for_user(user=request.user, message_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Mark a message read",
        parameters=[MESSAGE_ID],
        request=None,
        responses={200: MessageSerializer, 403: None, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="read")
    def read(self, request: AuthenticatedRequest, pk: str) -> Response:
        return self._message_response(services.mark_message_read(user=request.user, message_id=pk))

    @extend_schema(
        summary="Mark a message unread, and every later one",
        parameters=[MESSAGE_ID],
        request=None,
        responses={
            200: MarkedUnreadSerializer,
            400: OpenApiResponse(description="The caller sent this message: only a received one can be unread."),
            404: NOT_FOUND,
        },
        description="Put this received message and every later message from the same person back to unread"
        ' ("mark unread from here"): the conversation counts them again, and the sender no longer sees them'
        " read. Idempotent.",
    )
    @action(detail=True, methods=["post"], url_path="unread")
    def unread(self, request: AuthenticatedRequest, pk: str) -> Response:
        return Response({"marked_unread": services.mark_unread(user=request.user, message_id=pk)})

    @extend_schema(
        summary="Download a message's attachment",
        parameters=[MESSAGE_ID, *ATTACHMENT_HEADERS],
        responses={**ATTACHMENT_RESPONSES, 404: NOT_FOUND},
        description="The file as a download, with the content type it was stored with (checked against its bytes).",
    )
    @action(detail=True, methods=["get"], url_path="attachment")
    def attachment(self, request: AuthenticatedRequest, pk: str) -> HttpResponse:
        message = selectors.access_message(user=request.user, message_id=pk, with_attachment=True)
        return attachment_response(message)

    @extend_schema(
        summary="Report a message to the moderators",
        parameters=[MESSAGE_ID],
        request=ReportInputSerializer,
        responses={201: ReportSerializer, 200: ReportSerializer},
    )
    @action(detail=True, methods=["post"], url_path="report")
    def report(self, request: AuthenticatedRequest, pk: str) -> Response:
        serializer = ReportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report, created = services.report_message(
            user=request.user, message_id=pk, reason=serializer.validated_data["reason"]
        )
        return Response(
            ReportSerializer(report).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class BlockView(APIView):
    """`/api/users/{user_id}/block`: the caller blocks (POST) or unblocks (DELETE) that user.

    A blocked user cannot send messages to the caller (403); the caller can still write to them, and
    their participants list them.
    """

    @extend_schema(
        summary="Block a user",
        parameters=[USER_ID],
        request=None,
        responses={
            201: BlockSerializer,
            200: OpenApiResponse(BlockSerializer, description="Already blocked."),
            400: OpenApiResponse(description="You cannot block yourself."),
            404: OpenApiResponse(description="No such user."),
        },
        operation_id="users_block_create",
    )
    def post(self, request: AuthenticatedRequest, user_id: str) -> Response:
        block, created = services.block_user(user=request.user, blocked_id=user_id)
        return Response(BlockSerializer(block).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        summary="Unblock a user",
        parameters=[USER_ID],
        responses={204: None, 404: OpenApiResponse(description="No such user.")},
        description="Lift the block (204 whether or not there was one).",
        operation_id="users_block_destroy",
    )
    def delete(self, request: AuthenticatedRequest, user_id: str) -> Response:
        services.unblock_user(user=request.user, blocked_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
