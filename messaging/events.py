"""Live events: what each write tells whom, published once its transaction commits.

The services call these functions, so every surface that writes through them (the new API, the legacy
API, the pages, the admin's hide action) produces the same events; so does `legacy_dm.sync.events` for the
writes old servers make while the live sync is on. Each goes to the per-user logs of
`messaging.broker`, from which `GET /api/messages/events` streams them. Events name only what their reader
may see: a user's log holds events about their own messages, and a hidden message's event has no body.

| event | to | data |
|---|---|---|
| `message.created` | the recipient, and the sender's other devices | the message in the API's shape, as the reader sees it when it is delivered |
| `message.updated` | both parties' devices: its sender edited it | the message in the API's shape, as the reader sees it when it is delivered |
| `message.read` | the sender, if the reader shares read receipts | `{id, read_at}` |
| `conversation.read` | the reader's devices; the other person, if the reader shares read receipts | `{user_id, marked_read}` / `{user_id, read_at}` |
| `conversation.unread` | the reader's devices; the other person, if the reader shares read receipts | `{user_id, marked_unread, from_id}` / `{user_id, from_id}` |
| `message.deleted` | the deleting user's devices (`for: me`); both parties when its sender unsent it (`for: everyone`) | `{id, for}` |
| `conversation.deleted` | the deleting user's devices: one for a whole conversation | `{user_id, deleted}` |
| `message.hidden` | both parties | `{id}` |
| `message.unhidden` | each party who sees the message again | `{id, user_id}` (the other party) |
| `unread_count` | whoever's count changed (or badge: a mute) | `{unread_count, badge_count}` (`selectors.unread_counts`), as they are when it is delivered |

The log keeps what happened, not what the reader sees: a `message.created` or `message.updated` entry is the
message's id, and `as_delivered` renders it for the reader when the stream delivers it, under the visibility
rule as it is then: a message hidden or deleted since is never shown, an edited one is shown as it reads
then (a replay of two edits shows the last body twice, never the one it replaced), and the log holds no
message bodies. Reads and unreads are shown under the read-receipt rule as it is then: a reader who stopped
sharing them is not replayed. An `unread_count` entry says only that the counts changed: the stream reads
them when it delivers it, once per read of the log, on the read's last such entry (the earlier ones would
repeat it), so a write costs no count and a user with no open stream none at all. Two more entries never
reach a client: `auth.changed` (the user's credentials changed: each open stream checks its
own, `stream.py`) and `stream.closed` (a stream over the per-user cap is told to end). The stream itself
adds what no log holds: its opening `unread_count`, `resync` and `stream.ended` (`stream.py`).

Publishing never fails a write: a broker that is down is logged (`on_commit(robust=True)`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction

from config import metrics

from .broker import Event, broker

if TYPE_CHECKING:
    from users.models import User

    from .models import Message
    from .selectors import UnreadCounts


ANNOUNCE_BATCH = 1_000  # messages read per query when announcing many (a moderator's unhide of a spam wave)


Published = tuple[int, str, dict[str, Any]]  # to whom, the event's type, its data


def _unread(user_id: int) -> Published:
    """The user's counts changed: the stream reads them when it delivers this (`as_delivered`)."""
    return (user_id, "unread_count", {})


def unread_data(counts: UnreadCounts) -> dict[str, int]:
    """The data of an `unread_count` event (also a new stream's first)."""
    return {"unread_count": counts.unread, "badge_count": counts.badge}


def _later(builder: Callable[[], list[Published]]) -> None:
    """Build the events after the commit (they read what the transaction wrote), then publish them."""

    def send() -> None:
        if published := list(builder()):
            broker().publish_many(published)
            for _, type_, _ in published:
                metrics.EVENTS_PUBLISHED.labels(type_).inc()

    transaction.on_commit(send, robust=True)


def message_sent(message: Message, *, origin: str = "relay") -> None:
    """To each party who may see the message as it is: a service's new message is visible to both, a write
    an old server made (`legacy_dm.sync.events`, published later, `origin="old_server"`) may be deleted or
    hidden by then. Counted in `relay_messages_sent_total` once the send commits (config/metrics.py).
    """

    def build():
        metrics.MESSAGES_SENT.labels(origin).inc()  # after the commit, with its events: one callback per write
        for viewer in (message.recipient, message.sender):
            if message.is_visible_to(viewer):
                yield viewer.pk, "message.created", {"id": message.pk}
        yield _unread(message.recipient_id)

    _later(build)


def message_edited(message: Message) -> None:
    """Its sender edited `message`: to each party who sees it (the recipient, the sender's devices), its id;
    the stream renders it as they see it when it delivers it. No count changes."""
    viewers = dict.fromkeys((message.recipient_id, message.sender_id))  # once for a carried message to oneself
    events = [(viewer, "message.updated", {"id": message.pk}) for viewer in viewers if message.is_visible_to(viewer)]
    _later(lambda: events)


def messages_read(*, reader: User, messages: Iterable[Message], read_at: datetime) -> None:
    shown = reader.read_receipts
    events = [(m.sender_id, "message.read", {"id": m.pk, "read_at": _time(read_at)}) for m in messages if shown]
    _later(lambda: [*events, _unread(reader.pk)])


def conversation_read(*, reader: User, other: User, marked: int, read_at: datetime) -> None:
    if not marked:
        return
    events: list[Published] = [(reader.pk, "conversation.read", {"user_id": other.pk, "marked_read": marked})]
    if reader.read_receipts:
        events.append((other.pk, "conversation.read", {"user_id": reader.pk, "read_at": _time(read_at)}))
    _later(lambda: [*events, _unread(reader.pk)])


def conversation_unread(*, reader: User, other: User, marked: int, first_id: int) -> None:
    """`reader` put messages from `other` back to unread, from `first_id` on: their devices update the thread
    and the badge; `other`, who saw those messages read only if `reader` shares read receipts, sees the read
    marks go (while `reader` shares them when it is delivered, as for `conversation.read`)."""
    if not marked:
        return
    events: list[Published] = [
        (reader.pk, "conversation.unread", {"user_id": other.pk, "marked_unread": marked, "from_id": first_id})
    ]
    if reader.read_receipts:
        events.append((other.pk, "conversation.unread", {"user_id": reader.pk, "from_id": first_id}))
    _later(lambda: [*events, _unread(reader.pk)])


def messages_deleted(*, user: User, ids: Iterable[int]) -> None:
    """`user` deleted messages for themselves: their devices drop them."""
    events = [(user.pk, "message.deleted", {"id": message_id, "for": "me"}) for message_id in ids]
    _later(lambda: [*events, _unread(user.pk)])


def message_unsent(message: Message) -> None:
    """Its sender unsent `message` (as loaded before: its delete marks as they were): each party who still saw it
    drops it (a recipient who had deleted it for themselves is told nothing), then the recipient's counts."""
    viewers = [message.sender_id]
    if message.recipient_deleted_at is None and message.recipient_id != message.sender_id:
        viewers.append(message.recipient_id)
    events = [(viewer, "message.deleted", {"id": message.pk, "for": "everyone"}) for viewer in viewers]
    _later(lambda: [*events, _unread(message.recipient_id)])


def conversation_deleted(*, user: User, other: User, deleted: int) -> None:
    """To the deleter's devices: one event for the whole conversation, however many messages it held."""
    if not deleted:
        return
    events = [(user.pk, "conversation.deleted", {"user_id": other.pk, "deleted": deleted})]
    _later(lambda: [*events, _unread(user.pk)])


def messages_hidden(hidden: Iterable[tuple[int, int, int]]) -> None:
    """`hidden`: (id, sender_id, recipient_id) of each message a moderator hid."""
    events = []
    recipients = set()
    for message_id, sender_id, recipient_id in hidden:
        events += [(sender_id, "message.hidden", {"id": message_id})]
        events += [(recipient_id, "message.hidden", {"id": message_id})]
        recipients.add(recipient_id)
    _later(lambda: [*events, *(_unread(user_id) for user_id in sorted(recipients))])


def messages_unhidden(ids: Iterable[int]) -> None:
    """A moderator's unhide: to each party who sees the message again, its id and the other party's (a page
    showing that conversation reloads); then the recipients' counts."""
    ids = sorted(set(ids))

    def build():
        from users.models import User

        from .selectors import messages_to_announce

        recipients = set()
        for start in range(0, len(ids), ANNOUNCE_BATCH):
            messages = messages_to_announce(ids=ids[start : start + ANNOUNCE_BATCH], using="default")
            for message in messages.values():
                for viewer, other in (
                    (message.sender_id, message.recipient_id),
                    (message.recipient_id, message.sender_id),
                ):
                    if message.is_visible_to(User(pk=viewer)):
                        yield viewer, "message.unhidden", {"id": message.pk, "user_id": other}
                recipients.add(message.recipient_id)
        yield from (_unread(user_id) for user_id in sorted(recipients))

    _later(build)


def unread_changed(user_ids: Iterable[int]) -> None:
    ids = sorted(set(user_ids))
    _later(lambda: [_unread(user_id) for user_id in ids])


def credentials_changed(user_id: int) -> None:
    """The user logged out, changed or reset the password, was deactivated or deleted: each open stream of
    theirs checks its own credential before it delivers anything more."""
    _later(lambda: [(user_id, "auth.changed", {})])


# The events whose data is the message as the reader sees it when it is delivered, and those that read the
# message to say anything.
_RENDERED = frozenset({"message.created", "message.updated"})
_ABOUT_A_MESSAGE = _RENDERED | {"message.read"}

# What a stream reads from the log but never sends on (see the module's docstring).
CONTROL = frozenset({"auth.changed", "stream.closed"})


def as_delivered(
    *, user: User, events: list[Event], counts_on: str | None = None
) -> list[tuple[str, str | None, dict[str, Any] | None]]:
    """Each event as `user` is told it now: `(id, type, data)`, with type and data None where it tells them
    nothing now (a control entry, a message they can no longer see, a read its reader no longer shares, an
    `unread_count` but the one the counts go on): its id still moves their position on.

    `counts_on`: the id of the `unread_count` entry that carries the counts, when `events` are part of a
    longer read (the stream renders a read a few events at a time, `counts_entry` of the whole read); by
    default `counts_entry(events)`.
    """
    from users.models import User as UserModel

    from .selectors import unread_counts, visible_messages
    from .serializers import message_data

    about = [event.data["id"] for event in events if event.type in _ABOUT_A_MESSAGE]
    messages = visible_messages(user=user).in_bulk(about) if about else {}
    readers = {event.data["user_id"] for event in events if _receipt(event)}
    sharing = (
        set(UserModel.objects.filter(pk__in=readers, read_receipts=True).values_list("pk", flat=True))
        if readers
        else set()
    )

    # The counts as they are now, once, on the batch's last `unread_count` (an earlier one would say the same).
    if counts_on is None:
        counts_on = counts_entry(events)
    counted = any(event.id == counts_on for event in events)
    counts = unread_data(unread_counts(user=user)) if counted else None

    def shown(event: Event) -> dict[str, Any] | None:
        if event.type in CONTROL:
            return None
        if event.type == "unread_count":
            return counts if event.id == counts_on else None
        if event.type in _RENDERED:
            message = messages.get(event.data["id"])
            return None if message is None else message_data(message, viewer=user)  # `MessageSerializer`'s shape
        if event.type == "message.read":
            message = messages.get(event.data["id"])
            read_at = None if message is None else message.read_at_for(user)
            return None if message is None or read_at is None else {"id": message.pk, "read_at": _time(read_at)}
        if _receipt(event) and event.data["user_id"] not in sharing:
            return None
        return event.data

    delivered: list[tuple[str, str | None, dict[str, Any] | None]] = []
    for event in events:
        data = shown(event)
        delivered.append((event.id, None if data is None else event.type, data))
    return delivered


def _receipt(event: Event) -> bool:
    """Whether `event` is a read receipt: a reader's `conversation.read` or `conversation.unread` as the other
    person sees it (the reader's own carries `marked_read` / `marked_unread`), shown while the reader
    (`user_id`) shares read receipts."""
    if event.type == "conversation.read":
        return "read_at" in event.data
    return event.type == "conversation.unread" and "marked_unread" not in event.data


def counts_entry(events: list[Event]) -> str | None:
    """The id of the last `unread_count` of `events`: the one entry of a read that carries the counts."""
    return next((event.id for event in reversed(events) if event.type == "unread_count"), None)


def _time(value: datetime) -> str:
    from rest_framework.fields import DateTimeField

    return DateTimeField().to_representation(value)
