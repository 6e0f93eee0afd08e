"""The missed-message email: one mail per conversation telling its reader what they missed while away.

A message is *missed* once it has stayed unread `NOTIFY_EMAIL_AFTER_MINUTES` while its recipient has no open
event stream (every inbox page holds one, visible or in a background tab, which shows desktop
notifications instead: `messaging/static/messaging/notify.js`). Its recipient then gets one mail for that
conversation listing every unread message of it the mails have not covered yet (sender, time in the reader's
time zone, a preview, a link to the thread at the first unread), unless:

- they turned the mail off (`User.email_notifications`: the settings page, `PATCH /api/auth/me/`, or the
  unsubscribe link of any such mail), have no address, or are deactivated;
- they muted the conversation (`ConversationMute`);
- a mail about that conversation went less than `NOTIFY_EMAIL_EVERY_MINUTES` ago (the messages wait for the
  next one);
- the messages are more than `LOOKBACK` old (a worker stopped that long: the mail would be news to nobody).

No message is mailed about twice: `MissedMessageNotice.notified_through_id` is the newest one a mail covered.
`python manage.py send_missed_message_emails` runs `send_missed_message_emails` once, or as a worker.

Several runs at once (a worker on each of several machines) send each mail once: a run finds the due
conversations (`DUE_SQL`, no lock), then takes each one's notice row with `SELECT ... FOR UPDATE SKIP LOCKED`
(`CLAIM_SQL`) and decides again under that lock; a conversation another run holds is skipped, and the next
run finds it done. The mail is sent while the lock is held and the notice written in the same transaction:
a mail whose commit then fails (the database went away after the SMTP server took it) would be sent again,
the only case of a second mail (at least once, never lost).
"""

from __future__ import annotations

import logging
import smtplib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import formataddr
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from users.models import User

from .broker import UNREACHABLE, broker
from .models import PREVIEW_CHARS, ConversationMute, Message, MissedMessageNotice

logger = logging.getLogger(__name__)

# Messages older than this are not mailed about (see the module's docstring); it also bounds `DUE_SQL`'s scan.
LOOKBACK = timedelta(days=1)
# The most messages one mail lists; the rest are "and N more" behind the link.
LISTED = 10
# A stream counts as open while it was seen this recently (it marks itself seen at each credential check,
# about every `EVENTS_HEARTBEAT_SECONDS`, at most two apart: `stream._still_open`).
SEEN_HEARTBEATS = 3
UNSUBSCRIBE_SALT = "relay.missed-message-email.unsubscribe"

# The conversations with a missed message, oldest first: (recipient, sender) pairs with a message unread
# (`MessageQuerySet.unread_for`'s rule, written out: received, not hidden, not deleted by the recipient, not
# read) since before %(due)s and after %(oldest)s, newer than what the pair's notice covered, whose notice
# is quiet (no mail since %(quiet_since)s), to someone who wants the mail, in a conversation not muted.
# Messages to oneself (carried from the old system) are no news. PostgreSQL reads it as a bitmap AND of the
# partial index `msg_unread_idx` (unread messages only) and `msg_created_idx` (the window), so its cost follows
# what is unread and recent, not the table. No lock: `notify` decides again under one (`CLAIM_SQL`).
DUE_SQL = """
SELECT m.recipient_id, m.sender_id
FROM messaging_message m
JOIN users_user u ON u.id = m.recipient_id
LEFT JOIN messaging_missed_message_notice n ON n.user_id = m.recipient_id AND n.partner_id = m.sender_id
WHERE m.read_at IS NULL AND m.hidden_at IS NULL AND m.recipient_deleted_at IS NULL
  AND m.sender_id <> m.recipient_id
  AND m.created_at > %(oldest)s AND m.created_at <= %(due)s
  AND m.id > COALESCE(n.notified_through_id, 0)
  AND (n.sent_at IS NULL OR n.sent_at <= %(quiet_since)s)
  AND u.email_notifications AND u.is_active AND u.email <> ''
  AND NOT EXISTS (
    SELECT 1 FROM messaging_conversation_mute cm WHERE cm.user_id = m.recipient_id AND cm.partner_id = m.sender_id
  )
GROUP BY m.recipient_id, m.sender_id
ORDER BY min(m.created_at), m.recipient_id, m.sender_id
"""

# The pair's notice row, made once (its own short transaction: an INSERT that meets another run's
# uncommitted row of the same pair waits for that run's commit, which `CLAIM_SQL` must not do).
ENSURE_NOTICE_SQL = """
INSERT INTO messaging_missed_message_notice (user_id, partner_id, notified_through_id, sent_at)
VALUES (%(user_id)s, %(partner_id)s, 0, NULL)
ON CONFLICT (user_id, partner_id) DO NOTHING
"""

# The claim: the pair's notice, locked until this transaction ends; no row when another run holds it.
CLAIM_SQL = """
SELECT id, notified_through_id, sent_at
FROM messaging_missed_message_notice
WHERE user_id = %(user_id)s AND partner_id = %(partner_id)s
FOR UPDATE SKIP LOCKED
"""


@dataclass
class Run:
    """What one run did: mails sent, conversations left to a later run (a reader came back, another run
    held them, ...), mails the SMTP server refused (tried again next run)."""

    sent: int = 0
    skipped: int = 0
    failed: int = 0


def send_missed_message_emails(*, now: datetime | None = None, stop: threading.Event | None = None) -> Run:
    """Mail every reader what they missed, one mail per conversation (the module's docstring says when).

    `stop`: set, the run ends after the conversation at hand (a worker told to stop sends nothing twice).
    """
    now = now or timezone.now()
    run = Run()
    pairs = due_conversations(now=now)
    present = _present(sorted({user_id for user_id, _ in pairs}))
    mail = get_connection()
    try:
        for user_id, partner_id in pairs:
            if stop is not None and stop.is_set():
                break
            if user_id in present:
                run.skipped += 1
                continue
            try:
                sent = notify(user_id=user_id, partner_id=partner_id, now=now, mail=mail)
            except (smtplib.SMTPException, OSError):
                logger.warning("A missed-message email to user %s was not sent", user_id, exc_info=True)
                mail.close()  # a fresh SMTP connection for the next one
                run.failed += 1
                continue
            if sent:
                run.sent += 1
            else:
                run.skipped += 1
    finally:
        mail.close()
    return run


def due_conversations(*, now: datetime) -> list[tuple[int, int]]:
    """(recipient, sender) of each conversation with a missed message (`DUE_SQL`)."""
    with connection.cursor() as cursor:
        cursor.execute(DUE_SQL, _bounds(now))
        return [(user_id, partner_id) for user_id, partner_id in cursor.fetchall()]


def _bounds(now: datetime) -> dict[str, datetime]:
    return {
        "due": now - timedelta(minutes=settings.NOTIFY_EMAIL_AFTER_MINUTES),
        "oldest": now - LOOKBACK,
        "quiet_since": now - timedelta(minutes=settings.NOTIFY_EMAIL_EVERY_MINUTES),
    }


def _present(user_ids: list[int]) -> set[int]:
    """Those of `user_ids` with an open event stream (the broker's registry). When the broker cannot be
    reached, everyone: no mail rather than mail to people who may be reading."""
    if not user_ids:
        return set()
    since = timezone.now().timestamp() - SEEN_HEARTBEATS * settings.EVENTS_HEARTBEAT_SECONDS
    try:
        return broker().seen_since(user_ids, since)
    except UNREACHABLE:
        logger.warning("The event broker is unreachable: no missed-message email this run", exc_info=True)
        return set(user_ids)


def notify(*, user_id: int, partner_id: int, now: datetime, mail: BaseEmailBackend | None = None) -> bool:
    """Claim the conversation of `user_id` with `partner_id` and, if it is still due, send its mail and
    record it; False when there is nothing to send (or another run holds it)."""
    bounds = _bounds(now)
    params = {"user_id": user_id, "partner_id": partner_id}
    with connection.cursor() as cursor:
        cursor.execute(ENSURE_NOTICE_SQL, params)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(CLAIM_SQL, params)
            claimed = cursor.fetchone()
        if claimed is None:
            return False
        notice_id, notified_through_id, sent_at = claimed
        if sent_at is not None and sent_at > bounds["quiet_since"]:
            return False
        user = User.objects.filter(pk=user_id, is_active=True, email_notifications=True).exclude(email="").first()
        if user is None or ConversationMute.objects.filter(user_id=user_id, partner_id=partner_id).exists():
            return False
        missed = list(
            Message.objects.unread_for(user)
            .filter(sender_id=partner_id, id__gt=notified_through_id, created_at__gt=bounds["oldest"])
            .select_related("sender")
            .without_attachment_bytes()
            .order_by("created_at", "id")
        )
        if not any(message.created_at <= bounds["due"] for message in missed):
            return False
        missed_message_email(user=user, messages=missed, connection=mail).send()
        MissedMessageNotice.objects.filter(pk=notice_id).update(
            notified_through_id=max(message.pk for message in missed), sent_at=now
        )
    return True


def missed_message_email(
    *, user: User, messages: list[Message], connection: BaseEmailBackend | None = None
) -> EmailMultiAlternatives:
    """The mail to `user` about `messages` (unread, from one person, oldest first), with its one-click
    unsubscribe headers (RFC 2369 `List-Unsubscribe`, RFC 8058 `List-Unsubscribe-Post`)."""
    sender = messages[0].sender
    zone = _zone_of(user)
    thread_url = f"{settings.SITE_URL}{reverse('messaging-web:thread', args=[sender.pk])}?anchor=first_unread"
    unsubscribe = unsubscribe_url(user)
    context = {
        "user": user,
        "sender": sender,
        "messages": [
            {"time": _local(message.created_at, zone), "preview": preview(message)} for message in messages[:LISTED]
        ],
        "more": max(0, len(messages) - LISTED),
        "count": len(messages),
        "zone": zone.key,
        "thread_url": thread_url,
        "unsubscribe_url": unsubscribe,
        "settings_url": f"{settings.SITE_URL}{reverse('accounts-settings')}",
    }
    count = len(messages)
    what = "a message" if count == 1 else f"{count} messages"
    name = " ".join(sender.public_name.split())  # one line: a header cannot hold a line break
    email = EmailMultiAlternatives(
        subject=f"{name} sent you {what} on Relay",
        body=render_to_string("messaging/email/missed_messages.txt", context),
        to=[formataddr((user.public_name, user.email))],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",  # RFC 3834: no vacation replies to it
        },
        connection=connection,
    )
    email.attach_alternative(render_to_string("messaging/email/missed_messages.html", context), "text/html")
    return email


def preview(message: Message) -> str:
    """What a mail shows of a message: its first `PREVIEW_CHARS` characters on one line, or its attachment."""
    text = " ".join(message.body.split())
    if len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 1].rstrip() + "…"
    if message.has_attachment:
        attached = f"[attachment: {message.safe_attachment_name}]"
        text = f"{text} {attached}" if text else attached
    return text


def _zone_of(user: User) -> ZoneInfo:
    """The reader's time zone (`User.time_zone`, checked when set), UTC when blank."""
    try:
        return ZoneInfo(user.time_zone or "UTC")
    except (ValueError, KeyError):  # a zone the system no longer knows
        return ZoneInfo("UTC")


def _local(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.day} {local:%b %Y, %H:%M}"


# --- Unsubscribing ----------------------------------------------------------------------------------------


def unsubscribe_token(user: User) -> str:
    """A signed token naming `user`, for the unsubscribe link: whoever holds it may turn their mail off,
    and nothing else. It does not expire (an old mail's link still works)."""
    return signing.dumps(user.pk, salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(user: User) -> str:
    return f"{settings.SITE_URL}{reverse('notifications-unsubscribe', args=[unsubscribe_token(user)])}"


def user_for_unsubscribe_token(token: str) -> User | None:
    """The user `token` names, or None for a token that is not one of ours (tampered, truncated, another
    salt's) or whose user is gone."""
    try:
        user_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(user_id, int):
        return None
    return User.objects.filter(pk=user_id).first()


def unsubscribe(*, user: User) -> None:
    """Turn the missed-message email off for `user` (as the setting does)."""
    from users.services import update_profile

    update_profile(user=user, email_notifications=False)
