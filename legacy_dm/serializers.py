"""The old service's JSON shapes over `messaging.Message` and `users.User`, and the input of its writes.

Old names on the outside (`content`, `receiver_id`, `is_read`, `file_data`, `full_name`...), the new models
inside. Times are naive UTC (`2026-11-20T09:14:03.120000`), as the old service wrote them.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import InputSerializer
from messaging.list_reads import AnyMessage
from messaging.models import Message
from messaging.selectors import Conversation
from messaging.serializers import AttachmentField, MarkedReadSerializer, api_time
from users.display_names import shown_display_name
from users.models import Person, User
from users.serializers import once_per_person

from .conversations import ConversationView

# What `OldTimeField` writes, for the schema: not an RFC 3339 `date-time`, which needs a zone.
OLD_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$"


@extend_schema_field(
    {
        "type": "string",
        "pattern": OLD_TIME_PATTERN,
        "example": "2026-11-20T09:14:03.120000",
        "description": "Naive UTC time, without a zone suffix.",
    }
)
class OldTimeField(serializers.DateTimeField):
    """A time as the old service showed it: naive UTC in `datetime.isoformat()` (what pydantic emitted).

    `2026-11-20T09:14:03.120000`, or `2026-11-20T09:14:03` when the microseconds are zero; no zone suffix.
    """

    # Stub gap: DRF's own DateTimeField.to_representation returns None for no value; the stubs say `str`.
    def to_representation(self, value: datetime | None) -> str | None:  # type: ignore[override]
        return old_time(value)


def old_time(value: datetime | None) -> str | None:
    """`OldTimeField`'s rendering of `value`: its UTC time without the zone: the new API's (`api_time`) without
    its `Z`."""
    if value is None:
        return None
    return api_time(value)[:-1]


class LegacyUserSerializer(serializers.Serializer):
    """`{"id", "username", "full_name"}`: `full_name` is the display name, or null when none was set."""

    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.SerializerMethodField()

    def get_full_name(self, user: User) -> str | None:
        return shown_display_name(user.display_name) or None


class DirectMessageSerializer(serializers.Serializer):
    """A DM in the old shape, as `viewer` (the context's) sees it: a read the recipient does not share and
    the other party's delete are not shown, nor the `updated_at` they set (`Message.read_at_for`,
    `Message.updated_at_for`, the new API's rule).
    """

    id = serializers.IntegerField()
    sender_id = serializers.IntegerField()
    receiver_id = serializers.IntegerField(source="recipient_id")
    content = serializers.CharField(source="body")
    reply_to_id = serializers.SerializerMethodField()
    is_read = serializers.SerializerMethodField()
    read_at = serializers.SerializerMethodField()
    file_name = serializers.SerializerMethodField()
    file_type = serializers.SerializerMethodField()
    has_attachment = serializers.BooleanField()
    created_at = OldTimeField()
    updated_at = serializers.SerializerMethodField()
    sender = LegacyUserSerializer()
    receiver = LegacyUserSerializer(source="recipient")

    def get_is_read(self, message: Message) -> bool:
        return message.read_at_for(self.context["viewer"]) is not None

    @extend_schema_field(OldTimeField(allow_null=True))
    def get_read_at(self, message: Message) -> str | None:
        return old_time(message.read_at_for(self.context["viewer"]))

    @extend_schema_field(OldTimeField(allow_null=True))
    def get_updated_at(self, message: Message) -> str | None:
        return old_time(message.updated_at_for(self.context["viewer"]))

    def get_reply_to_id(self, message: Message) -> int | None:
        """The replied-to id; for a carried row whose target no longer existed, the old id it named."""
        return message.reply_to_id if message.reply_to_id is not None else message.legacy_reply_to_id

    def get_file_name(self, message: Message) -> str | None:
        """The attachment's name; a carried row that named a file without its bytes keeps that name."""
        if message.has_attachment:
            return message.attachment_name
        return message.legacy_file_name or None

    def get_file_type(self, message: Message) -> str | None:
        return message.attachment_content_type if message.has_attachment else None

    def to_representation(self, instance: Message) -> dict[str, Any]:
        # The declarations above state the shape (and the schema); `direct_message_data` renders it.
        return direct_message_data(instance, viewer=self.context["viewer"])


class ConversationPartnerSerializer(serializers.Serializer):
    """A row of `GET /api/direct-messages/conversations` (from `messaging.selectors.Conversation`)."""

    user = LegacyUserSerializer(source="participant")
    last_message = DirectMessageSerializer()
    unread_count = serializers.IntegerField()

    def to_representation(self, instance: Conversation) -> dict[str, Any]:
        # The declarations above state the shape (and the schema); `conversation_partner_data` renders it.
        return conversation_partner_data(instance, viewer=self.context["viewer"])


class MessageRowSerializer(serializers.Serializer):
    """A message of the conversation-based API: `{id, conversation_id, sender_id, content, created_at, is_read}`.

    `conversation_id` comes from the context: every message of a pair belongs to the pair's conversation.
    """

    id = serializers.IntegerField()
    conversation_id = serializers.SerializerMethodField()
    sender_id = serializers.IntegerField()
    content = serializers.CharField(source="body")
    created_at = OldTimeField()
    is_read = serializers.SerializerMethodField()

    def get_conversation_id(self, message: Message) -> int:
        conversation_id: int = self.context["conversation_id"]
        return conversation_id

    def get_is_read(self, message: Message) -> bool:
        """As `viewer` (the context's) may know it (`Message.read_at_for`)."""
        return message.read_at_for(self.context["viewer"]) is not None

    def to_representation(self, instance: Message) -> dict[str, Any]:
        # The declarations above state the shape (and the schema); `message_row_data` renders it.
        return message_row_data(
            instance, conversation_id=self.context["conversation_id"], viewer=self.context["viewer"]
        )


class LegacyConversationSerializer(serializers.Serializer):
    """A conversation of `/api/messaging/*` (from `legacy_dm.conversations.ConversationView`)."""

    id = serializers.IntegerField()
    participants = LegacyUserSerializer(many=True)
    last_message = serializers.SerializerMethodField()
    unread_count = serializers.IntegerField()
    created_at = OldTimeField()
    updated_at = OldTimeField(allow_null=True)

    @extend_schema_field(MessageRowSerializer(allow_null=True))
    def get_last_message(self, row: ConversationView) -> dict[str, Any] | None:
        if row.last_message is None:
            return None
        # Every message of a pair belongs to the pair's conversation: the row's, not one from the context.
        return message_row_data(row.last_message, conversation_id=row.id, viewer=self.context["viewer"])

    def to_representation(self, instance: ConversationView) -> dict[str, Any]:
        # The declarations above state the shape (and the schema); `legacy_conversation_data` renders it.
        return legacy_conversation_data(instance, viewer=self.context["viewer"])


# The old shapes of a message and of a conversation (of either list), written out: the old lists render up to 100 of them, and
# DRF's loop over the declared fields (an attribute lookup, a `to_representation` and a `None` check per
# field, method fields, nested serializers) took about as long again as the rest of a list's request.
# `test_legacy_shapes.py` holds each equal to DRF's rendering of its declarations.


def _legacy_user(user: Person) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "full_name": shown_display_name(user.display_name) or None}


# How a renderer below shapes a person: `_legacy_user`, or for a page `once_per_person(_legacy_user)`.
PersonShape = Callable[[Person], dict[str, Any]]


def direct_message_data(message: AnyMessage, *, viewer: User, person: PersonShape = _legacy_user) -> dict[str, Any]:
    """`DirectMessageSerializer`'s rendering of `message` for `viewer`."""
    read_at = message.read_at_for(viewer)
    has_attachment = message.has_attachment
    return {
        "id": message.id,
        "sender_id": message.sender_id,
        "receiver_id": message.recipient_id,
        "content": message.body,
        "reply_to_id": message.reply_to_id if message.reply_to_id is not None else message.legacy_reply_to_id,
        "is_read": read_at is not None,
        "read_at": old_time(read_at),
        "file_name": message.attachment_name if has_attachment else (message.legacy_file_name or None),
        "file_type": message.attachment_content_type if has_attachment else None,
        "has_attachment": has_attachment,
        "created_at": old_time(message.created_at),
        "updated_at": old_time(message.updated_at_for(viewer)),
        "sender": person(message.sender),
        "receiver": person(message.recipient),
    }


def conversation_partner_data(
    conversation: Conversation, *, viewer: User, person: PersonShape = _legacy_user
) -> dict[str, Any]:
    """`ConversationPartnerSerializer`'s rendering of a conversation for `viewer`."""
    return {
        "user": person(conversation.participant),
        "last_message": direct_message_data(conversation.last_message, viewer=viewer, person=person),
        "unread_count": conversation.unread_count,
    }


def conversation_partners_data(conversations: Iterable[Conversation], *, viewer: User) -> list[dict[str, Any]]:
    """`ConversationPartnerSerializer(many=True)`'s rendering of a page for `viewer`, each person of the page
    rendered once (`once_per_person`)."""
    person = once_per_person(_legacy_user)
    return [conversation_partner_data(conversation, viewer=viewer, person=person) for conversation in conversations]


def message_row_data(message: AnyMessage, *, conversation_id: int, viewer: User) -> dict[str, Any]:
    """`MessageRowSerializer`'s rendering of `message` of the conversation `conversation_id` for `viewer`."""
    return {
        "id": message.id,
        "conversation_id": conversation_id,
        "sender_id": message.sender_id,
        "content": message.body,
        "created_at": old_time(message.created_at),
        "is_read": message.read_at_for(viewer) is not None,
    }


def legacy_conversation_data(
    row: ConversationView, *, viewer: User, person: PersonShape = _legacy_user
) -> dict[str, Any]:
    """`LegacyConversationSerializer`'s rendering of a conversation for `viewer`."""
    last = row.last_message
    if last is None:
        last_data, updated_at = None, old_time(row.updated_at)
    else:
        last_data = message_row_data(last, conversation_id=row.id, viewer=viewer)
        # A conversation's activity is its last message's time (the summary's rule), written once for both.
        updated_at = last_data["created_at"] if row.updated_at == last.created_at else old_time(row.updated_at)
    return {
        "id": row.id,
        "participants": [person(participant) for participant in row.participants],
        "last_message": last_data,
        "unread_count": row.unread_count,
        "created_at": old_time(row.created_at),
        "updated_at": updated_at,
    }


def legacy_conversations_data(rows: Iterable[ConversationView], *, viewer: User) -> list[dict[str, Any]]:
    """`LegacyConversationSerializer(many=True)`'s rendering of a page for `viewer`, each person of the page
    rendered once (`once_per_person`)."""
    person = once_per_person(_legacy_user)
    return [legacy_conversation_data(row, viewer=viewer, person=person) for row in rows]


# --- input ---------------------------------------------------------------------------------------------------


class DirectMessageInputSerializer(InputSerializer):
    """`POST /api/direct-messages/`: `{receiver_id, content, reply_to_id?, file_data?, file_name?, file_type?}`.

    `file_data` is base64; it is checked and decoded by the new API's attachment field (size limit, base64,
    name and type hygiene), so both APIs accept and refuse the same files. Without `file_data`, `file_name`
    and `file_type` describe nothing and are ignored, as the old service stored them without effect.
    """

    receiver_id = serializers.IntegerField()
    content = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, default="", trim_whitespace=False
    )
    reply_to_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    file_data = serializers.CharField(required=False, allow_null=True, allow_blank=True, trim_whitespace=False)
    file_name = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255)
    file_type = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=100)

    # The attachment field's error codes, and the old field each one is about.
    _ATTACHMENT_ERROR_FIELDS = {"name": "file_name", "content_type": "file_type"}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attachment = None
        if attrs.get("file_data"):
            raw = {
                "name": attrs.get("file_name") or "attachment",
                "content_type": attrs.get("file_type") or "",
                "data": attrs["file_data"],
            }
            try:
                attachment = AttachmentField().to_internal_value(raw)
            except serializers.ValidationError as exc:
                codes = exc.get_codes()
                code = codes[0] if isinstance(codes, list) and isinstance(codes[0], str) else "invalid"
                raise serializers.ValidationError(
                    {self._ATTACHMENT_ERROR_FIELDS.get(code, "file_data"): exc.detail}
                ) from None
        return {
            "recipient_id": attrs["receiver_id"],
            "body": attrs.get("content") or "",
            "reply_to_id": attrs.get("reply_to_id"),
            "attachment": attachment,
        }


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 1,
        "maxItems": 1,
        "description": "Exactly one other user's id (the caller is implied; the same id twice counts once).",
    }
)
class ParticipantIdsField(serializers.ListField):
    """The ids of the other participants: exactly one, as `OpenConversationInputSerializer` checks."""


class OpenConversationInputSerializer(serializers.Serializer):
    """`POST /api/messaging/conversations`: `{participant_ids: [user_id]}`, exactly one other user."""

    participant_ids = ParticipantIdsField(child=serializers.IntegerField(), allow_empty=False)

    def validate_participant_ids(self, value: list[int]) -> int:
        others = set(value)
        if self.context["user"].pk in others:
            raise serializers.ValidationError("A conversation cannot include yourself.", code="self")
        if len(others) != 1:
            raise serializers.ValidationError(
                "A conversation has exactly one other participant.", code="one_participant"
            )
        return others.pop()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return {"participant_id": attrs["participant_ids"]}


class ConversationMessageInputSerializer(InputSerializer):
    """`POST /api/messaging/conversations/{id}/messages`: `{content}`."""

    content = serializers.CharField(allow_blank=True, trim_whitespace=False)


class OkSerializer(serializers.Serializer):
    ok = serializers.BooleanField()


class ConversationReadSerializer(MarkedReadSerializer):
    status = serializers.CharField()


# --- error shapes, for the schema ------------------------------------------------------------------------------


@extend_schema_field({"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}})
class LocField(serializers.ListField):
    """Where the error is: `["body", "receiver_id"]`, `["query", "limit"]`, `["body", "participant_ids", 0]`."""


class ErrorEntrySerializer(serializers.Serializer):
    loc = LocField()
    msg = serializers.CharField()
    type = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    """422: `{"detail": [{loc, msg, type}, ...]}`."""

    detail = ErrorEntrySerializer(many=True)


class DetailSerializer(serializers.Serializer):
    """401, 403, 404, 405, 413, 429: `{"detail": "..."}`."""

    detail = serializers.CharField()
