"""Writes: sending, reading, per-user deletes, unsending, reports, moderation and blocks. Each is one transaction.

Services raise Django's `ValidationError` (a client error, keyed by the API field it concerns),
`PermissionDenied`, `Http404` (via the selectors) or `AttachmentTooLarge`; every surface (the API, the
legacy API, the pages) maps them to its own error shape.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Model, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from users.models import User

from . import events, selectors
from .attachments import checked_content_type, sanitize_filename
from .models import ConversationMute, Message, MessageAccessLog, MessageEdit, MessageReport, UserBlock

# Queries go to the configured user model (AUTH_USER_MODEL); `User` is its type.
UserModel = get_user_model()


class AttachmentTooLarge(Exception):
    """The attachment exceeds `MESSAGING_MAX_ATTACHMENT_BYTES` (HTTP 413)."""

    def __init__(self, size: int | None = None):
        self.limit = settings.MESSAGING_MAX_ATTACHMENT_BYTES
        self.size = size
        super().__init__(f"The attachment is larger than the limit of {self.limit} bytes.")


@dataclass(frozen=True)
class AttachmentInput:
    name: str
    content_type: str
    data: bytes


# PostgreSQL takes at most 65,535 parameters in a statement bound by the server (DB_PREPARED_STATEMENTS), and
# Django does not split an `__in` lookup: actions on many objects (a moderator hiding a spam wave) go in batches.
BATCH_SIZE = 5_000


def pk_batches(objects: Iterable[Model], size: int = BATCH_SIZE) -> Iterator[list[int]]:
    """The primary keys of `objects` in lists of at most `size`."""
    pks = [obj.pk for obj in objects]
    for start in range(0, len(pks), size):
        yield pks[start : start + size]


def check_attachment_size(size: int) -> None:
    """Refuse an attachment over the limit, before its bytes are read or decoded where possible."""
    if size > settings.MESSAGING_MAX_ATTACHMENT_BYTES:
        raise AttachmentTooLarge(size)


# The longest content type a client may claim (in JSON or as a multipart part's header): the column's width.
# (The stubs type `get_field` as any field, whose `max_length` may be None; a CharField always has one.)
MAX_CONTENT_TYPE_CHARS: int = Message._meta.get_field("attachment_content_type").max_length  # type: ignore[assignment]
CONTENT_TYPE_ERROR = f"`content_type` must be a string of at most {MAX_CONTENT_TYPE_CHARS} characters."


EMPTY_MESSAGE_ERROR = "A message needs a body or an attachment."

_MAX_ID = 2**63 - 1  # a bigint primary key


def clean_body(body: str | None, *, has_attachment: bool) -> str:
    """The body a message is stored with, by the rules of a send and of an edit: stripped, no NUL character,
    at most `MESSAGING_MAX_BODY_CHARS`, and not empty unless the message has an attachment."""
    body = (body or "").strip()
    if "\x00" in body:
        raise ValidationError({"body": ["The body cannot contain NUL characters."]})
    if len(body) > settings.MESSAGING_MAX_BODY_CHARS:
        raise ValidationError(
            {"body": [f"Ensure this field has no more than {settings.MESSAGING_MAX_BODY_CHARS} characters."]}
        )
    if not body and not has_attachment:
        raise ValidationError({"body": [EMPTY_MESSAGE_ERROR]})
    return body


def _recipient_pk(recipient_id: Any) -> int | None:
    """`recipient_id` as the client sent it (any JSON value) as a user id, or None when it cannot be one."""
    try:
        pk = int(recipient_id)
    except (TypeError, ValueError, OverflowError):
        return None
    return pk if 0 < pk <= _MAX_ID else None


def _may_receive(*, sender: User, found: tuple[User, bool] | None) -> User:
    """The person of `selectors.recipient_for_send`'s answer `found` if `sender` may message them: active (found),
    not `sender`, not blocking `sender`; else the error to show. (`_SEND_SQL` inserts on the same terms.)"""
    if found is None:
        raise ValidationError({"recipient_id": ["No active user with this id."]})
    recipient, blocks_sender = found
    if recipient.pk == sender.pk:
        raise ValidationError({"recipient_id": ["You cannot send a message to yourself."]})
    if blocks_sender:
        raise PermissionDenied("This user does not accept messages from you.")
    return recipient


def active_recipient(*, sender: User, recipient_id: Any) -> User:
    """The user `sender` may message (`_may_receive`); `recipient_id` is what the client sent (any JSON value):
    anything but an id is a validation error."""
    pk = _recipient_pk(recipient_id)
    # The block is read with the recipient: one query, not two.
    found = None if pk is None else selectors.recipient_for_send(sender_id=sender.pk, recipient_id=pk)
    return _may_receive(sender=sender, found=found)


# A send in one statement: the person it goes to, read as `selectors.RECIPIENT_SQL` reads them, and the message
# inserted from that row only if it may go to them, on `_may_receive`'s terms (the row exists: an active person;
# not the sender; not blocking the sender). The answer is the person's row, the flag and the new message's id
# (NULL when nothing was inserted; then `_may_receive` says why). One round trip where a read and then the ORM's
# INSERT took two, and the INSERT's compiling: on every send. Its columns are those the model's save stores for a
# new message (the others are NULL); `test_send_sql.py` holds the row equal to a saved one, and the two
# statements' decisions equal to `_may_receive`'s.
_SEND_SQL = f"""
WITH person AS ({selectors.RECIPIENT_SQL}),
sent AS (
    INSERT INTO messaging_message (
        sender_id, recipient_id, body, reply_to_id, attachment_name, attachment_content_type,
        attachment_size, attachment_data, created_at, hidden_reason, legacy_file_name
    )
    SELECT %(sender)s, person.id, %(body)s, %(reply_to)s::bigint, %(attachment_name)s,
           %(attachment_content_type)s, %(attachment_size)s::integer, %(attachment_data)s::bytea,
           %(created_at)s::timestamptz, '', ''
    FROM person
    WHERE person.id <> %(sender)s AND NOT person.blocks_sender
    RETURNING id
)
SELECT person.*, sent.id FROM person LEFT JOIN sent ON true
"""


def send_message(
    *,
    sender: User,
    recipient_id: int,
    body: str = "",
    reply_to_id: int | None = None,
    attachment: AttachmentInput | None = None,
) -> Message:
    """Send a direct message from `sender`, checking every rule of the contract.

    Its one write is one statement (`_SEND_SQL`: the INSERT, with the summary's and the live sync's triggers),
    so it is its own transaction, committed as it runs: no BEGIN and COMMIT around it, and the locks its
    triggers take on the conversation's summary rows are held only while PostgreSQL runs it, not while this
    process goes on to the COMMIT (under load, concurrent sends into one conversation waited on each other's
    round trip). Inside a caller's transaction it is part of that one."""
    body = clean_body(body, has_attachment=attachment is not None)
    if attachment is not None and len(attachment.content_type) > MAX_CONTENT_TYPE_CHARS:
        raise ValidationError({"attachment": [CONTENT_TYPE_ERROR]})
    pk = _recipient_pk(recipient_id)
    if pk is None:
        _may_receive(sender=sender, found=None)

    message = Message(sender=sender, body=body)
    if reply_to_id is not None:
        # The quoted message must be of this conversation: the recipient first (their errors come first).
        recipient = active_recipient(sender=sender, recipient_id=pk)
        reply_to = (
            selectors.message_of_thread(user=sender, other=recipient, message_id=reply_to_id)
            if isinstance(reply_to_id, int)
            else None
        )
        if reply_to is None:
            raise ValidationError({"reply_to_id": ["No message of this conversation with this id."]})
        message.reply_to = reply_to
    if attachment is not None:
        check_attachment_size(len(attachment.data))
        message.attachment_name = sanitize_filename(attachment.name)
        message.attachment_content_type = checked_content_type(attachment.content_type, attachment.data)
        message.attachment_size = len(attachment.data)
        message.attachment_data = attachment.data
    with connection.cursor() as cursor:
        cursor.execute(
            _SEND_SQL,
            {
                "sender": sender.pk,
                "recipient": pk,
                "body": message.body,
                "reply_to": message.reply_to_id,
                "attachment_name": message.attachment_name,
                "attachment_content_type": message.attachment_content_type,
                "attachment_size": message.attachment_size,
                "attachment_data": None if attachment is None else attachment.data,
                "created_at": message.created_at,
            },
        )
        row = cursor.fetchone()
    message.recipient = _may_receive(
        sender=sender, found=selectors.recipient_from_row(None if row is None else row[:-1])
    )
    if row is None or row[-1] is None:  # `_may_receive` refused it above; a row that could go was inserted
        raise AssertionError("the send's statement and _may_receive disagree")
    message.pk = row[-1]
    message._state.adding = False
    message._state.db = connection.alias
    events.message_sent(message)
    return message


def edit_window_closes_at(message: Message) -> datetime | None:
    """Until when its sender may edit `message`: `MESSAGING_EDIT_WINDOW_SECONDS` after it was sent; None when
    the setting is 0 (no limit)."""
    seconds = settings.MESSAGING_EDIT_WINDOW_SECONDS
    return None if seconds <= 0 else message.created_at + timedelta(seconds=seconds)


def _window_words(seconds: int) -> str:
    """`an hour`, `2 hours`, `15 minutes`, `90 seconds`: the edit window as the refusal says it."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return ("an hour" if unit == "hour" else "a minute") if count == 1 else f"{count} {unit}s"
    return "a second" if seconds == 1 else f"{seconds} seconds"


def edit_refusal(*, user: User, message: Message, now: datetime | None = None) -> Exception | None:
    """Why `user` may not edit `message`, a message they see (`selectors.access_message`, so neither hidden
    nor deleted by them): not its sender (`PermissionDenied`), or the edit window has closed
    (`ValidationError`); None when they may. The one statement of the rule: the API and the pages' edit
    (`edit_message`) and the pages' Edit item (`may_edit`)."""
    if message.sender_id != user.pk:
        return PermissionDenied("Only the sender can edit a message.")
    closes_at = edit_window_closes_at(message)
    if closes_at is not None and (now or timezone.now()) > closes_at:
        window = _window_words(settings.MESSAGING_EDIT_WINDOW_SECONDS)
        return ValidationError(
            f"This message can no longer be edited: a message can be edited for {window} after it is sent."
        )
    return None


def may_edit(*, user: User, message: Message, now: datetime | None = None) -> bool:
    """Whether `user` may edit `message` now (`edit_refusal`), for a message they see."""
    return edit_refusal(user=user, message=message, now=now) is None


@transaction.atomic
def edit_message(*, user: User, message_id: Any, body: str) -> Message:
    """Replace the body of a message `user` sent, by the rules of `edit_refusal` and the body rules of a send
    (`clean_body`: an attachment-only message may get a body, a message with an attachment may lose its
    body, one without may not). The earlier body is kept (`MessageEdit`); the message's `edited_at` and
    `updated_at` are the edit's time; both parties' open streams hear `message.updated`. The same body changes
    nothing. A message `user` does not see (another's, hidden, deleted by them) is a 404.

    The message's row is locked while it is read and changed: two edits at once each keep the body the other
    left, and a moderator's hide waits for the edit or makes it a 404."""
    message = selectors.access_message(user=user, message_id=message_id, for_update=True)
    now = timezone.now()
    refusal = edit_refusal(user=user, message=message, now=now)
    if refusal is not None:
        raise refusal
    body = clean_body(body, has_attachment=message.has_attachment)
    if body == message.body:
        return message
    MessageEdit.objects.create(message=message, body=message.body, edited_at=now)
    Message.objects.filter(pk=message.pk).update(body=body, edited_at=now, updated_at=now)
    message.body, message.edited_at, message.updated_at = body, now, now
    events.message_edited(message)
    return message


def mark_conversation_read(
    *, user: User, other_id: Any = None, other: User | None = None, through: Message | None = None
) -> int:
    """Mark every unread message from the other person to `user` read; the number marked. Idempotent.

    `other`: that person, when the caller has looked them up already; else `other_id` (a 404 if unknown).
    `through`: only the messages up to this one in the thread's order (what a page showed), not later ones.
    """
    if other is None:
        other = selectors.get_user_or_404(user_id=other_id)
    now = timezone.now()
    unread = Message.objects.unread_for(user).filter(sender=other)
    if through is not None:
        unread = unread.filter(
            Q(created_at__lt=through.created_at) | Q(created_at=through.created_at, pk__lte=through.pk)
        )
    marked = unread.update(read_at=now, updated_at=now)
    events.conversation_read(reader=user, other=other, marked=marked, read_at=now)
    return marked


def mark_shown_read(*, user: User, other: User, shown: Iterable[Message]) -> int:
    """A person opened their conversation with `other` and was shown `shown` (oldest first): when it holds a
    message from `other` that `user` has not read, mark the conversation read up to the last one shown (later
    messages, beyond the page, stay unread); else write nothing (a thread with nothing unread costs no
    statement). The number marked."""
    shown = list(shown)
    if any(m.sender_id == other.pk and m.is_unread_for(user) for m in shown):
        return mark_conversation_read(user=user, other=other, through=shown[-1])
    return 0


def mark_message_read(*, user: User, message_id: Any) -> Message:
    """Mark one received message read (recipient only); reading it again changes nothing."""
    message = selectors.access_message(user=user, message_id=message_id)
    if message.recipient_id != user.pk:
        raise PermissionDenied("Only the recipient can mark a message read.")
    if message.read_at is None:
        now = timezone.now()
        if Message.objects.filter(pk=message.pk, read_at__isnull=True).update(read_at=now, updated_at=now):
            events.messages_read(reader=user, messages=[message], read_at=now)
        message.read_at = message.updated_at = now
    return message


def mark_unread(*, user: User, message_id: Any) -> int:
    """Put a received message and every later one from the same person back to unread ("mark unread from
    here"); the number changed. Idempotent.

    Only what `user` received and still sees: another user's message is a 404 (`access_message`), a message
    `user` sent a `ValidationError`. "Later" is the thread's order (`created_at`, then id).

    The read is taken back, not followed by a change of its own: where the read was a message's last change,
    its `updated_at` goes back to its sender's edit, or to none, so a sender who never saw the read
    (`Message.updated_at_for`) learns nothing from it now either.
    """
    message = selectors.access_message(user=user, message_id=message_id)
    if message.recipient_id != user.pk:
        raise ValidationError({"id": ["Only a message you received can be marked unread; you sent this one."]})
    later = Q(created_at__gt=message.created_at) | Q(created_at=message.created_at, pk__gte=message.pk)
    marked = (
        Message.objects.received_visible_to(user)
        .filter(later, sender_id=message.sender_id, read_at__isnull=False)
        .update(
            read_at=None,
            updated_at=Case(When(updated_at=F("read_at"), then=F("edited_at")), default=F("updated_at")),
        )
    )
    events.conversation_unread(reader=user, other=message.sender, marked=marked, first_id=message.pk)
    return marked


def delete_for_user(*, user: User, message_id: Any) -> None:
    """Delete a message for `user` only; the other party still sees it."""
    message = selectors.access_message(user=user, message_id=message_id)
    now = timezone.now()
    changes = {"updated_at": now}
    if message.sender_id == user.pk:
        changes["sender_deleted_at"] = now
    if message.recipient_id == user.pk:
        changes["recipient_deleted_at"] = now
    Message.objects.filter(pk=message.pk).update(**changes)
    events.messages_deleted(user=user, ids=[message.pk])


def _window_text(seconds: int) -> str:
    """`3600` as people read it: `1 hour`; `90`: `90 seconds`."""
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise AssertionError("a whole number of seconds")


def check_unsend(*, user: User, message: Message, at: datetime) -> None:
    """Why `user` may not unsend `message` (one they see) at `at`, raised: `PermissionDenied` when they did not
    send it, `ValidationError` past `MESSAGING_UNSEND_WINDOW_SECONDS`. (`Message.is_unsendable_by` is the same
    rule as a yes or no.)"""
    if message.sender_id != user.pk:
        raise PermissionDenied("Only the sender can unsend a message; you can delete it for yourself.")
    if not message.unsend_window_open(at):
        window = _window_text(settings.MESSAGING_UNSEND_WINDOW_SECONDS)
        raise ValidationError(
            {"id": [f"This message was sent more than {window} ago: it can no longer be unsent, only deleted for you."]}
        )


def unsend_message(*, user: User, message_id: Any) -> bool:
    """Take back a message `user` sent, for everyone ("delete for everyone"): whether it was unsent now (False:
    it was already, and this changes nothing).

    Only its sender (`PermissionDenied` for its recipient; a 404 for anyone who does not see it, as always), and
    only within `MESSAGING_UNSEND_WINDOW_SECONDS` of sending it (a `ValidationError` after). One UPDATE sets both
    per-user delete marks (where not set already) and `unsent_at`, the moderators' marker: every surface that
    honours a per-user delete (the visibility rule and its reads, search, the counts, the summary's triggers, the
    live sync's copy into the old tables) leaves the message out for both people with no rule of its own, and
    the admin still shows it, marked unsent, with its body.
    """
    message = selectors.message_to_unsend(user=user, message_id=message_id)
    if message.unsent_at is not None:
        return False
    now = timezone.now()
    check_unsend(user=user, message=message, at=now)
    unsent = Message.objects.filter(pk=message.pk, unsent_at__isnull=True).update(
        unsent_at=now,
        updated_at=now,
        sender_deleted_at=Coalesce(F("sender_deleted_at"), Value(now)),
        recipient_deleted_at=Coalesce(F("recipient_deleted_at"), Value(now)),
    )
    if unsent:  # else a concurrent call unsent it, and told both people
        events.message_unsent(message)
    return bool(unsent)


@transaction.atomic
def delete_conversation_for_user(*, user: User, other: User) -> int:
    """Delete every message of the conversation with `other` for `user` only; the number deleted."""
    now = timezone.now()
    sent = Message.objects.filter(sender=user, recipient=other, sender_deleted_at__isnull=True).update(
        sender_deleted_at=now, updated_at=now
    )
    received = Message.objects.filter(sender=other, recipient=user, recipient_deleted_at__isnull=True).update(
        recipient_deleted_at=now, updated_at=now
    )
    events.conversation_deleted(user=user, other=other, deleted=sent + received)
    return sent + received


def report_message(*, user: User, message_id: Any, reason: str) -> tuple[MessageReport, bool]:
    """Flag a message for moderators, once per user: (the report, whether it is new)."""
    message = selectors.access_message(user=user, message_id=message_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["This field may not be blank."]})
    try:
        with transaction.atomic():
            return MessageReport.objects.create(message=message, reporter=user, reason=reason[:1000]), True
    except IntegrityError:
        return MessageReport.objects.get(message=message, reporter=user), False


@transaction.atomic
def hide_messages(*, moderator: User, messages: Iterable[Message], reason: str) -> int:
    """Hide messages from both users on every surface (they stay in the admin)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why the message is hidden."]})
    now = timezone.now()
    hidden: list[tuple[int, int, int]] = []
    for ids in pk_batches(messages):
        batch = Message.objects.filter(pk__in=ids, hidden_at__isnull=True)
        hidden += batch.values_list("pk", "sender_id", "recipient_id")
        batch.update(hidden_at=now, hidden_by=moderator, hidden_reason=reason[:1000], updated_at=now)
    events.messages_hidden(hidden)
    return len(hidden)


@transaction.atomic
def unhide_messages(*, moderator: User, messages: Iterable[Message]) -> int:
    now = timezone.now()
    unhidden: list[int] = []
    for ids in pk_batches(messages):
        batch = Message.objects.filter(pk__in=ids, hidden_at__isnull=False)
        unhidden += batch.values_list("pk", flat=True)
        batch.update(hidden_at=None, hidden_by=None, hidden_reason="", updated_at=now)
    events.messages_unhidden(unhidden)
    return len(unhidden)


@transaction.atomic
def resolve_reports(
    *, moderator: User, reports: Iterable[MessageReport], status: str = MessageReport.Status.RESOLVED
) -> int:
    now = timezone.now()
    return sum(
        MessageReport.objects.filter(pk__in=ids, status=MessageReport.Status.OPEN).update(
            status=status, resolved_at=now, resolved_by=moderator
        )
        for ids in pk_batches(reports)
    )


def record_moderator_access(*, moderator: User, message: Message) -> MessageAccessLog:
    """Audit trail: a moderator read a private message."""
    return MessageAccessLog.objects.create(moderator=moderator, message=message)


def block_user(*, user: User, blocked_id: Any) -> tuple[UserBlock, bool]:
    """`user` stops receiving messages from `blocked_id`: (the block, whether it is new)."""
    blocked = selectors.get_user_or_404(user_id=blocked_id)
    if blocked.pk == user.pk:
        raise ValidationError({"user_id": ["You cannot block yourself."]})
    return UserBlock.objects.get_or_create(blocker=user, blocked=blocked)


def unblock_user(*, user: User, blocked_id: Any) -> bool:
    """Lift a block; whether there was one."""
    blocked = selectors.get_user_or_404(user_id=blocked_id)
    deleted, _ = UserBlock.objects.filter(blocker=user, blocked=blocked).delete()
    return deleted > 0


@transaction.atomic
def mute_conversation(*, user: User, other_id: Any) -> bool:
    """`user` mutes their conversation with `other_id`: its messages still arrive and count as unread, but not
    toward their badge. Whether it is new (muting twice is a no-op). They need not have a message yet."""
    other = selectors.get_user_or_404(user_id=other_id)
    if other.pk == user.pk:
        raise ValidationError({"user_id": ["You cannot mute a conversation with yourself."]})
    _, created = ConversationMute.objects.get_or_create(user=user, partner=other)
    if created:
        events.unread_changed([user.pk])  # the badge may change
    return created


@transaction.atomic
def unmute_conversation(*, user: User, other_id: Any) -> bool:
    """Lift a mute; whether there was one."""
    other = selectors.get_user_or_404(user_id=other_id)
    deleted, _ = ConversationMute.objects.filter(user=user, partner=other).delete()
    if deleted:
        events.unread_changed([user.pk])
    return deleted > 0
