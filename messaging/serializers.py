"""Shapes of messages, conversations and participants on the API, and the input of each write."""

import base64
import binascii
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import orjson
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from config.serializers import InputSerializer, StrictBooleanField
from users.models import Person, User
from users.serializers import UserSerializer, once_per_person, user_data

from .list_reads import AnyMessage
from .models import Message
from .selectors import ANCHOR_FIRST_UNREAD, ANCHOR_NEWEST, LARGEST_ID, MAX_WINDOW_SIDE, Conversation
from .services import CONTENT_TYPE_ERROR, AttachmentInput, check_attachment_size

if TYPE_CHECKING:
    from typing import TypedDict

    from django_stubs_ext import WithAnnotations

    class _ParticipantAnnotations(TypedDict):
        last_activity_at: datetime | None

    # A user as `selectors.participants_for` annotates them.
    Participant = WithAnnotations[User, _ParticipantAnnotations]


class ReplyToSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sender_id = serializers.IntegerField()
    body_preview = serializers.SerializerMethodField()

    def get_body_preview(self, message: Message) -> str | None:
        # None when the replied-to message is hidden or deleted by the viewer: its text is not theirs to see.
        # (A comment, not a docstring: drf-spectacular would publish a docstring as the field's description.)
        return message.preview_for(self.context.get("viewer"))

    unsent = serializers.BooleanField(
        source="is_unsent",
        help_text="Its sender unsent the quoted message (deleted it for everyone): show that it was removed.",
    )


class AttachmentMetaSerializer(serializers.Serializer):
    name = serializers.CharField(source="safe_attachment_name")
    content_type = serializers.CharField(source="attachment_content_type")
    size = serializers.IntegerField(source="attachment_size")
    url = serializers.SerializerMethodField()

    def get_attribute(self, instance: Message) -> Message | None:
        # As a message's field: the message itself, or None when it has no attachment.
        return instance if instance.has_attachment else None

    def get_url(self, message: Message) -> str:
        return f"/api/messages/{message.pk}/attachment"


def api_time(value: datetime) -> str:
    """A time as the API writes it: what DRF's `DateTimeField` writes in UTC (settings.TIME_ZONE, which nothing
    activates another zone over), ISO 8601 with `Z` for UTC (`2026-11-20T09:14:03.120000Z`; without the
    fraction when the microseconds are zero, as `isoformat` writes it).

    Written out, as the shapes below are: a page of 11 conversations writes 14 times or more, and the field's
    own path (the current zone's look-up avoided, its settings read, its `format` looked up and missed, an
    exception each time) cost a third more than `isoformat`. orjson's writer of the same text (RFC 3339, the
    lists' renderer's library) costs a third of `isoformat`'s instructions (4 K against 13 K a time, counted
    under valgrind). A plain `datetime`, as the database and `timezone.now()` give (orjson writes no subclass
    of it). `test_message_shapes.py` holds it equal to the field.
    """
    return orjson.dumps(value.astimezone(UTC), option=orjson.OPT_UTC_Z)[1:-1].decode()


class MessageSerializer(serializers.Serializer):
    """A message as `viewer` (the context's) sees it: a read it may not know of is not shown
    (`Message.read_at_for`).
    """

    id = serializers.IntegerField()
    sender = UserSerializer()
    recipient = UserSerializer()
    body = serializers.CharField()
    reply_to = ReplyToSerializer(allow_null=True, read_only=True)
    attachment = AttachmentMetaSerializer(source="*", allow_null=True, read_only=True)
    created_at = serializers.DateTimeField()
    read_at = serializers.SerializerMethodField()
    is_read = serializers.SerializerMethodField()
    edited_at = serializers.DateTimeField(
        allow_null=True, help_text="When its sender last edited the body; null when never edited."
    )

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_read_at(self, message: Message) -> str | None:
        read_at = message.read_at_for(self.context.get("viewer"))
        return None if read_at is None else api_time(read_at)

    def get_is_read(self, message: Message) -> bool:
        return message.read_at_for(self.context.get("viewer")) is not None

    def to_representation(self, instance):
        # The declarations above state the shape (and the schema); `message_data` renders it.
        return message_data(instance, viewer=self.context.get("viewer"))


class ConversationSerializer(serializers.Serializer):
    participant = UserSerializer()
    last_message = MessageSerializer()
    unread_count = serializers.IntegerField()
    last_activity_at = serializers.DateTimeField()
    muted = serializers.BooleanField(help_text="The caller muted it: its unread messages are not in `badge_count`.")

    def to_representation(self, instance):
        # The declarations above state the shape (and the schema); `conversation_data` renders it.
        return conversation_data(instance, viewer=self.context.get("viewer"))


def message_data(
    message: AnyMessage, *, viewer: User | None, person: Callable[[Person], dict[str, Any]] = user_data
) -> dict[str, Any]:
    """`MessageSerializer`'s rendering of `message` for `viewer`, written out; its people by `person` (`user_data`,
    or a page's `once_per_person(user_data)`).

    Lists render up to 100 messages, and DRF's loop over the declared fields (an attribute lookup, a
    `to_representation` and a `None` check per field, and the same again in each nested serializer) took
    about twice as long as the whole rest of a thread page's Python. `test_message_shapes.py` holds this
    equal to DRF's rendering of the declarations.
    """
    read_at = message.read_at_for(viewer)
    reply = message.reply_to
    return {
        "id": message.id,
        "sender": person(message.sender),
        "recipient": person(message.recipient),
        "body": message.body,
        "reply_to": None
        if reply is None
        else {
            "id": reply.id,
            "sender_id": reply.sender_id,
            "body_preview": reply.preview_for(viewer),
            "unsent": reply.is_unsent,
        },
        "attachment": {
            "name": message.safe_attachment_name,
            "content_type": message.attachment_content_type,
            "size": message.attachment_size,
            "url": f"/api/messages/{message.id}/attachment",
        }
        if message.has_attachment
        else None,
        "created_at": api_time(message.created_at),
        "read_at": None if read_at is None else api_time(read_at),
        "is_read": read_at is not None,
        "edited_at": None if message.edited_at is None else api_time(message.edited_at),
    }


def conversation_data(
    conversation: Conversation, *, viewer: User | None, person: Callable[[Person], dict[str, Any]] = user_data
) -> dict[str, Any]:
    """`ConversationSerializer`'s rendering of a conversation for `viewer`, written out (as `message_data`)."""
    last_message = conversation.last_message
    last_message_data = message_data(last_message, viewer=viewer, person=person)
    activity = conversation.last_activity_at
    return {
        "participant": person(conversation.participant),
        "last_message": last_message_data,
        "unread_count": conversation.unread_count,
        # The activity is the last message's time (the summary's rule), written once for both.
        "last_activity_at": last_message_data["created_at"]
        if activity == last_message.created_at
        else api_time(activity),
        "muted": conversation.muted,
    }


def conversations_data(conversations: Iterable[Conversation], *, viewer: User) -> list[dict[str, Any]]:
    """`ConversationSerializer(many=True)`'s rendering of a page of conversations for `viewer`: each
    `conversation_data`, each person of the page rendered once (`once_per_person`)."""
    person = once_per_person(user_data)
    return [conversation_data(conversation, viewer=viewer, person=person) for conversation in conversations]


class ParticipantSerializer(UserSerializer):
    has_conversation = serializers.SerializerMethodField()
    last_activity_at = serializers.DateTimeField(allow_null=True, read_only=True)

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "has_conversation", "last_activity_at"]
        read_only_fields = fields

    def get_has_conversation(self, user: User) -> bool:
        return _last_activity_at(user) is not None

    def to_representation(self, instance: User) -> dict[str, Any]:
        # The declarations above state the shape (and the schema); `participant_data` renders it.
        return participant_data(instance)


def _last_activity_at(user: User) -> datetime | None:
    # The serializer's users are those of `selectors.participants_for`, which annotates each (the method
    # fields and `to_representation` take the plain `User` of `UserSerializer`, and drf-spectacular reads
    # their hints at run time, where the annotated type does not exist): hence the cast.
    return cast("Participant", user).last_activity_at


def participant_data(user: User) -> dict[str, Any]:
    """`ParticipantSerializer`'s rendering of a user of `selectors.participants_for`, written out (as
    `user_data`, whose reason applies: DRF's field loop took ten times as long on a page of 20)."""
    last_activity_at = _last_activity_at(user)
    return {
        **user_data(user),
        "has_conversation": last_activity_at is not None,
        "last_activity_at": None if last_activity_at is None else api_time(last_activity_at),
    }


@extend_schema_field(OpenApiTypes.BYTE)
class Base64Field(serializers.CharField):
    """Base64 text (`format: byte`); `AttachmentField` decodes it."""


class Base64AttachmentSerializer(serializers.Serializer):
    """A file in a JSON body: `{name, content_type?, data}` with base64 `data` (the schema's shape of it)."""

    name = serializers.CharField(max_length=255)
    content_type = serializers.CharField(max_length=100, required=False, allow_blank=True, allow_null=True)
    # The input is named `data`, as is `Serializer.data`: DRF's metaclass moves declared fields off the class,
    # so the property stays, which the stubs cannot express.
    data = Base64Field(help_text="The file's bytes, base64.")  # type: ignore[assignment]


@extend_schema_field(Base64AttachmentSerializer(allow_null=True))
class AttachmentField(serializers.Field):
    """A multipart file, or `{name, content_type, data}` with base64 `data` in JSON."""

    default_error_messages = {
        "invalid": "Send a file (multipart) or an object {{name, content_type, data}} with base64 data.",
        "name": "`name` must be a non-empty string of at most 255 characters.",
        "content_type": CONTENT_TYPE_ERROR,
        "base64": "`data` is not valid base64.",
    }

    def to_internal_value(self, value):
        if isinstance(value, UploadedFile):
            check_attachment_size(value.size or 0)
            return AttachmentInput(name=value.name or "", content_type=value.content_type or "", data=value.read())
        if not isinstance(value, dict):
            self.fail("invalid")
        name, content_type, data = value.get("name"), value.get("content_type", ""), value.get("data")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            self.fail("name")
        if content_type is None:
            content_type = ""
        if not isinstance(content_type, str):  # its length is checked by the service, as a multipart file's is
            self.fail("content_type")
        if not isinstance(data, str):
            self.fail("base64")
        # Refuse an oversized file from the length of its encoding, before decoding it.
        check_attachment_size(len(data.rstrip("=")) * 3 // 4)
        try:
            decoded = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            self.fail("base64")
        check_attachment_size(len(decoded))
        return AttachmentInput(name=name, content_type=content_type, data=decoded)

    def to_representation(self, value):
        return None


@extend_schema_field({"type": "string", "format": "binary", "description": "The file, as a multipart part."})
class AttachmentUploadField(AttachmentField):
    """`AttachmentField` as a multipart body documents it: a file part."""


class SendMessageSerializer(InputSerializer):
    """`POST /api/messages/send` in JSON: the attachment, if any, as base64 (`Base64Attachment`)."""

    recipient_id = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    body = serializers.CharField(required=False, allow_blank=True, default="", max_length=10_000)
    reply_to_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**31 - 1)
    attachment = AttachmentField(required=False, allow_null=True)

    def validate_body(self, value):
        if len(value) > settings.MESSAGING_MAX_BODY_CHARS:
            raise serializers.ValidationError(
                f"Ensure this field has no more than {settings.MESSAGING_MAX_BODY_CHARS} characters."
            )
        return value


class EditMessageSerializer(InputSerializer):
    """`PATCH /api/messages/{id}`: the new body (the body rules of a send, `services.clean_body`)."""

    whole_on_patch = True  # `body` is required on a PATCH too (config.schema.RelayAutoSchema)

    body = serializers.CharField(allow_blank=True, max_length=10_000)


class SendMessageMultipartSerializer(SendMessageSerializer):
    """`POST /api/messages/send` as `multipart/form-data`: the same fields, the attachment as a file part."""

    attachment = AttachmentUploadField(required=False, allow_null=True)


class SearchSerializer(InputSerializer):
    query = serializers.CharField(max_length=200)
    with_user_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=2**31 - 1)
    since = serializers.DateTimeField(required=False, allow_null=True)
    until = serializers.DateTimeField(required=False, allow_null=True)
    has_attachment = StrictBooleanField(required=False, allow_null=True, default=None)
    unread = StrictBooleanField(required=False, allow_null=True, default=None)

    def validate(self, attrs):
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": ["`until` must not be before `since`."]})
        return attrs

    def filters(self) -> dict:
        """The validated narrowing filters, as django-filter's FilterSet takes them."""
        return {
            key: (value.isoformat() if hasattr(value, "isoformat") else value)
            for key, value in self.validated_data.items()
            if key != "query" and value is not None
        }


class ParticipantQuerySerializer(InputSerializer):
    """`?search=`: a username or display name fragment (DRF refuses NUL characters, which PostgreSQL cannot take)."""

    search = serializers.CharField(required=False, allow_blank=True, max_length=150, default="")


# The most messages an anchored read gives on each side of its anchor, and how many without `num_before` or
# `num_after`.

DEFAULT_WINDOW_SIDE = 20


@extend_schema_field({"type": "string", "pattern": r"^(newest|first_unread|[0-9]+)$"})
class AnchorField(serializers.Field):
    """`newest`, `first_unread` or a message id (a whole number; one past every id settles as any id past the
    newest message does)."""

    default_error_messages = {"invalid": "Must be `newest`, `first_unread` or a message id (a whole number)."}

    def to_internal_value(self, data: Any) -> int | str:
        if data in (ANCHOR_NEWEST, ANCHOR_FIRST_UNREAD):
            return cast("str", data)
        if not (isinstance(data, str) and data.isascii() and data.isdigit()):
            self.fail("invalid")
        return LARGEST_ID if len(data) > len(str(LARGEST_ID)) else min(int(data), LARGEST_ID)

    def to_representation(self, value: int | str) -> str:
        return str(value)


def _window_side(which: str) -> serializers.IntegerField:
    # No `default`: a generated client would send it, without `anchor` too (the view applies it).
    return serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_WINDOW_SIDE,
        help_text=f"With `anchor`: how many messages {which} it, 0 to {MAX_WINDOW_SIDE}"
        f" (default {DEFAULT_WINDOW_SIDE}).",
    )


class ThreadQuerySerializer(InputSerializer):
    """A thread is read by cursor (`cursor`, `page_size`: the pagination's own parameters) or, given
    `anchor`, around a message (`num_before`, `num_after`); a query mixing the two is refused."""

    anchor = AnchorField(
        required=False,
        help_text="Read around a message instead of by cursor: `newest`, `first_unread` (the oldest message"
        " from the other person you have not read; the newest if none) or a message id (a message the thread"
        " does not hold for you settles on its first message by id after it, else on the newest, with"
        " `found_anchor` false).",
    )
    num_before = _window_side("before")
    num_after = _window_side("after")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = set(self.initial_data)
        if "anchor" in attrs:
            mixed = sorted(given & {"cursor", "page_size"})
            if mixed:
                raise serializers.ValidationError(
                    {
                        name: ["Not with `anchor`: an anchored read takes `num_before` and `num_after`."]
                        for name in mixed
                    }
                )
        else:
            alone = sorted(given & {"num_before", "num_after"})
            if alone:
                raise serializers.ValidationError(
                    {name: ["Only with `anchor`: without it the thread is read by cursor."] for name in alone}
                )
        return attrs


@extend_schema_serializer(component_name="CursorPaginatedMessageList")
class CursorMessagePageSerializer(serializers.Serializer):
    """A page of a thread by cursor (DRF's cursor page): newest first, links to the next (older) and previous
    (newer) pages, null at the ends."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = MessageSerializer(many=True)


class ThreadWindowSerializer(serializers.Serializer):
    """A thread read around one of its messages (`selectors.ThreadWindow`)."""

    messages = MessageSerializer(many=True, help_text="Oldest first.")
    anchor = serializers.IntegerField(
        allow_null=True, help_text="The id of the message the read settled on; null when the thread is empty."
    )
    found_anchor = serializers.BooleanField(
        help_text="Whether that is the message asked for: the id, the first unread, the newest."
    )
    found_oldest = serializers.BooleanField(help_text="Whether `messages` reach the thread's oldest message.")
    found_newest = serializers.BooleanField(help_text="Whether `messages` reach the thread's newest message.")


# Whom `DELETE /api/messages/{id}` deletes the message for.
DELETE_FOR_ME = "me"
DELETE_FOR_EVERYONE = "everyone"


class DeleteQuerySerializer(serializers.Serializer):
    """`?for=`: `me` (the default: the caller only) or `everyone` (unsend: the sender, within the window)."""

    error = "Must be `me` or `everyone`."

    def get_fields(self) -> dict[str, serializers.Field]:
        # `for` is a Python keyword: it cannot be declared as a class attribute.
        return {
            "for": serializers.ChoiceField(
                choices=[DELETE_FOR_ME, DELETE_FOR_EVERYONE],
                required=False,
                default=DELETE_FOR_ME,
                help_text="`me` (default): delete the message for yourself only; the other person still sees it."
                " `everyone`: unsend a message you sent (within `MESSAGING_UNSEND_WINDOW_SECONDS` of sending it,"
                " default one hour): it is removed for both of you.",
                error_messages={"invalid_choice": self.error},
            )
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # DRF reads an empty query value as absent (the default, `me`); `?for=` says neither, so it is refused.
        if self.initial_data.get("for") == "":
            raise serializers.ValidationError({"for": [self.error]})
        return attrs


class MarkedReadSerializer(serializers.Serializer):
    marked_read = serializers.IntegerField()


class MarkedUnreadSerializer(serializers.Serializer):
    marked_unread = serializers.IntegerField(help_text="How many messages went back to unread (0: none was read).")


class UnreadCountSerializer(serializers.Serializer):
    """`{unread_count}`, as the legacy API shows it."""

    unread_count = serializers.IntegerField(help_text="Every message the caller has not read.")


class UnreadCountsSerializer(UnreadCountSerializer):
    """`{unread_count, badge_count}` of `GET /api/messages/unread-count`."""

    badge_count = serializers.IntegerField(help_text="Those outside the conversations the caller muted.")


class MuteSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    muted = serializers.BooleanField()


class ReportInputSerializer(InputSerializer):
    reason = serializers.CharField(max_length=1000)


class ReportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class BlockSerializer(serializers.Serializer):
    """A block of the caller: whom, since when."""

    blocked = UserSerializer()
    created_at = serializers.DateTimeField()
