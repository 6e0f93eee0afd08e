"""Direct user-to-user messages with inline attachments, per-user soft deletes, reports and blocks."""

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Value
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from .attachments import sanitize_filename

if TYPE_CHECKING:
    from users.models import Person, User

# The visibility rule, in its parts: a message is visible to its sender while the sender keeps it, to its
# recipient while the recipient keeps it, and to nobody once a moderator hides it. The querysets below and the
# partial indexes that serve them (`Message.Meta.indexes`) are built from these; `Message.is_visible_to` states
# the same rule in Python.
NOT_HIDDEN = Q(hidden_at__isnull=True)
KEPT_BY_SENDER = Q(sender_deleted_at__isnull=True)
KEPT_BY_RECIPIENT = Q(recipient_deleted_at__isnull=True)


def short_time(moment: datetime) -> str:
    """A time as people read it in lists: `1 Dec 14:00` this year, `1 Dec 2023 14:00` before (local time)."""
    local = timezone.localtime(moment)
    year = "" if local.year == timezone.localtime().year else f" {local.year}"
    return f"{local.day} {local:%b}{year} {local:%H:%M}"


# Each half of the rule for every user at once: a sent message as its sender sees it, a received one as its
# recipient does.
SENT_VISIBLE = NOT_HIDDEN & KEPT_BY_SENDER
RECEIVED_VISIBLE = NOT_HIDDEN & KEPT_BY_RECIPIENT


def _sent_kept(user: "User") -> Q:
    return Q(sender=user) & KEPT_BY_SENDER


def _received_kept(user: "User") -> Q:
    return Q(recipient=user) & KEPT_BY_RECIPIENT


def _sent_visible(user: "User") -> Q:
    return NOT_HIDDEN & _sent_kept(user)


def _received_visible(user: "User") -> Q:
    return NOT_HIDDEN & _received_kept(user)


def _visible(user: "User", *, with_removed: bool = False) -> Q:
    """The rule for `user`; `with_removed`: all of it but NOT_HIDDEN (the thread page's placeholders)."""
    if with_removed:
        return _sent_kept(user) | _received_kept(user)
    return _sent_visible(user) | _received_visible(user)


# A reply quotes this much of the message it answers.
PREVIEW_CHARS = 100


class MessageQuerySet(models.QuerySet["Message"]):
    def visible_to(self, user: "User") -> "MessageQuerySet":
        """The one visibility rule: what `user` may see.

        A message is visible to its sender unless the sender deleted it, and to its recipient unless the
        recipient deleted it; a message hidden by a moderator is visible to nobody.
        """
        return self.filter(_visible(user))

    def sent_visible(self) -> "MessageQuerySet":
        """Every message as its sender sees it: the sent half of the rule, for all senders at once."""
        return self.filter(SENT_VISIBLE)

    def received_visible(self) -> "MessageQuerySet":
        """Every message as its recipient sees it: the received half of the rule, for all recipients."""
        return self.filter(RECEIVED_VISIBLE)

    def sent_visible_to(self, user: "User") -> "MessageQuerySet":
        """The half of `visible_to(user)` that `user` sent (served by an index-only scan on PostgreSQL)."""
        return self.filter(_sent_visible(user))

    def received_visible_to(self, user: "User") -> "MessageQuerySet":
        """The half of `visible_to(user)` that `user` received (served by an index-only scan on PostgreSQL)."""
        return self.filter(_received_visible(user))

    def unread_for(self, user: "User") -> "MessageQuerySet":
        """Received by `user`, visible to them and not read."""
        return self.received_visible_to(user).filter(read_at__isnull=True)

    def between(self, user: "User | int", other: "User | int") -> "MessageQuerySet":
        return self.filter(Q(sender=user, recipient=other) | Q(sender=other, recipient=user))

    def in_pair(self, user_id: int, other_id: "int | OuterRef") -> "MessageQuerySet":
        """The messages of the pair {user_id, other_id}, either direction: the same rows as `between`.

        Written on (least, greatest) of the two ids so that one index (`msg_pair_time_idx`) holds both
        directions in time order: a page of a thread is a short ordered index scan, not a sort of the
        whole thread. The ids may be expressions (`OuterRef("pk")`).
        """
        return self.alias(
            pair_low=Least("sender_id", "recipient_id"), pair_high=Greatest("sender_id", "recipient_id")
        ).filter(pair_low=Least(Value(user_id), other_id), pair_high=Greatest(Value(user_id), other_id))

    def thread_visible_to(
        self, user: "User", other_id: "int | OuterRef", *, with_removed: bool = False
    ) -> "MessageQuerySet":
        """`visible_to(user)` within the pair {user, other_id}, newest-first ready: exactly the same rows.

        Inside one pair every message is either sent or received by `user`, so the rule reads "not hidden,
        not deleted by `user` on their side". PostgreSQL estimates that form right (nearly every message of
        the pair), where it takes the OR-ed form of `visible_to` for a rare match and sorts a bitmap of the
        whole thread instead of reading the first page from `msg_pair_time_idx`. A message to oneself (the
        old system allowed it) is sent *and* received, so that pair keeps the plain rule. `other_id` may be
        an expression (`OuterRef("pk")`) only when it can never be `user`.

        `with_removed`: also the messages a moderator hid (all of the rule but NOT_HIDDEN), which the thread
        page shows as placeholders; nothing else reads them.
        """
        if other_id == user.pk:
            return self.filter(_visible(user, with_removed=with_removed)).in_pair(user.pk, other_id)
        kept = self.in_pair(user.pk, other_id).filter(
            ~(Q(sender=user) & ~KEPT_BY_SENDER), ~(Q(recipient=user) & ~KEPT_BY_RECIPIENT)
        )
        return kept if with_removed else kept.filter(NOT_HIDDEN)

    def without_attachment_bytes(self) -> "MessageQuerySet":
        """Lists never load attachment bytes; only the detail download does."""
        return self.defer("attachment_data")


class QuoteRules:
    """What a person may see of a message quoted in a reply, stated over its values: the rules of a `Message`
    and of the lists' rows of a quoted one (`messaging.list_reads.QuotedRow`), written once (`MessageRules`
    adds the rest of a message's). The rows are tuples, whose own names (`count`, `index`, the dunders such as
    `__eq__` and `__str__`) come before a mixin's: a rule takes none of them."""

    __slots__ = ()  # the rows' tuples stay without a `__dict__`

    if TYPE_CHECKING:
        id: int
        sender_id: int
        recipient_id: int
        body: str
        sender_deleted_at: datetime | None
        recipient_deleted_at: datetime | None
        unsent_at: datetime | None
        hidden_at: datetime | None

    def is_visible_to(self, user: "User | int") -> bool:
        """`MessageQuerySet.visible_to` for one loaded message, without a query: not hidden, and `user` is its
        sender who keeps it or its recipient who keeps it (`test_visibility_rule.py` holds the two equal)."""
        if self.hidden_at is not None:
            return False
        user_id = user if isinstance(user, int) else user.id
        return (self.sender_id == user_id and self.sender_deleted_at is None) or (
            self.recipient_id == user_id and self.recipient_deleted_at is None
        )

    def preview_for(self, viewer: "User | int | None") -> str | None:
        """The first characters of the body as quoted in a reply; None where `viewer` may not see the message."""
        if viewer is None or not self.is_visible_to(viewer):
            return None
        return self.body[:PREVIEW_CHARS]

    @property
    def is_unsent(self) -> bool:
        """Its sender took it back (`services.unsend_message`): gone for both people."""
        return self.unsent_at is not None


class MessageRules(QuoteRules):
    """What a person may see of a message, stated over its values: the rules of a `Message` and of the lists'
    rows of one (`messaging.list_reads.MessageRow`), written once. Each reads the message's fields (and its
    recipient's `read_receipts`) as attributes."""

    __slots__ = ()

    if TYPE_CHECKING:
        attachment_name: str
        attachment_size: int | None
        updated_at: datetime | None
        read_at: datetime | None
        edited_at: datetime | None

        @property
        def recipient(self) -> "Person": ...

    def is_unread_for(self, user: "User | int") -> bool:
        """`MessageQuerySet.unread_for` for one loaded message, without a query: received by `user`, visible to
        them, not read (`test_visibility_rule.py` holds the two equal)."""
        user_id = user if isinstance(user, int) else user.pk
        return self.recipient_id == user_id and self.read_at is None and self.is_visible_to(user_id)

    @property
    def has_attachment(self) -> bool:
        return self.attachment_size is not None

    @property
    def safe_attachment_name(self) -> str:
        """The name the attachment is shown and downloaded under, on the API and the pages.

        New attachments are stored under this name already; rows carried from the old system kept the name
        the old clients claimed (`../../etc/passwd`), which the legacy API still shows as the old service did.
        """
        return sanitize_filename(self.attachment_name)

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def read_at_for(self, viewer: "User | None") -> datetime | None:
        """When the message was read, as `viewer` may know it: its recipient always; anyone else (the sender)
        only while the recipient shares read receipts (`User.read_receipts`). No viewer: the admin's view.
        """
        if self.read_at is None or viewer is None or viewer.id == self.recipient_id:
            return self.read_at
        return self.read_at if self.recipient.read_receipts else None

    def updated_at_for(self, viewer: "User | None") -> datetime | None:
        """When the message last changed, as `viewer` may know it. A change that is the other party's own
        (their delete for themselves; their read, unless `read_at_for` shows it to `viewer`) does not show:
        when it is the last change, the last one `viewer` may know of is given instead (the read they may see,
        or its sender's edit, whichever is later; else None). No viewer: the admin's view.
        """
        if self.updated_at is None or viewer is None:
            return self.updated_at
        shown_read = self.read_at_for(viewer)
        others_delete = self.recipient_deleted_at if viewer.id == self.sender_id else self.sender_deleted_at
        private = {others_delete, None if shown_read is not None else self.read_at} - {None}
        if viewer.id == self.sender_id == self.recipient_id or self.updated_at not in private:
            return self.updated_at
        return max((known for known in (shown_read, self.edited_at) if known is not None), default=None)


class Message(MessageRules, models.Model):
    """One direct message from `sender` to `recipient`; carried rows of the old system keep their id."""

    # Each is the leading column of a composite index below, which serves plain lookups too.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sent_messages", db_index=False
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="received_messages", db_index=False
    )
    body = models.TextField(blank=True, default="")
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies", db_index=False
    )
    attachment_name = models.CharField(max_length=255, blank=True, default="")
    attachment_content_type = models.CharField(max_length=100, blank=True, default="")
    attachment_size = models.PositiveIntegerField(null=True, blank=True)
    attachment_data = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    sender_deleted_at = models.DateTimeField(null=True, blank=True)
    recipient_deleted_at = models.DateTimeField(null=True, blank=True)
    # The sender took the message back ("unsend", `services.unsend_message`): it is deleted on both sides (the
    # two marks above), and this says so to moderators, who still see it with its body in the admin.
    unsent_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hidden_reason = models.CharField(max_length=1000, blank=True, default="")
    # Carried rows of the old `direct_messages` table (see legacy_dm).
    legacy_id = models.IntegerField(null=True, blank=True, unique=True)
    legacy_reply_to_id = models.IntegerField(null=True, blank=True)
    legacy_file_name = models.CharField(max_length=255, blank=True, default="")
    # When its sender last edited the body (`services.edit_message`); None: never. Each earlier body is a
    # `MessageEdit`.
    edited_at = models.DateTimeField(null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        db_table = "messaging_message"
        ordering = ["-created_at", "-id"]
        # Moderators hide and unhide messages without the right to change them (see messaging.admin).
        permissions = [("hide_message", "Can hide and unhide messages")]
        indexes = [
            # Threads and conversation lists: both directions of a pair, newest first.
            models.Index(fields=["sender", "recipient", "-created_at", "-id"], name="msg_sender_pair_idx"),
            models.Index(fields=["recipient", "sender", "-created_at", "-id"], name="msg_recipient_pair_idx"),
            # Unread counts: a small partial index of what is still unread.
            models.Index(
                fields=["recipient", "sender"],
                name="msg_unread_idx",
                condition=NOT_HIDDEN & Q(read_at__isnull=True) & KEPT_BY_RECIPIENT,
            ),
            # Both directions of a pair in one time order: thread pages and "last message with" lookups.
            models.Index(
                Least("sender", "recipient"),
                Greatest("sender", "recipient"),
                F("created_at").desc(),
                F("id").desc(),
                name="msg_pair_time_idx",
            ),
            # The two halves of `visible_to`, covering what conversation lists read: index-only scans on
            # PostgreSQL instead of one heap visit per message of the user.
            models.Index(
                fields=["sender", "recipient", "created_at"],
                name="msg_sent_visible_idx",
                condition=SENT_VISIBLE,
            ),
            models.Index(
                fields=["recipient", "sender", "created_at", "read_at"],
                name="msg_received_visible_idx",
                condition=RECEIVED_VISIBLE,
            ),
            models.Index(fields=["reply_to"], name="msg_reply_to_idx", condition=Q(reply_to__isnull=False)),
            models.Index(fields=["hidden_at"], name="msg_hidden_idx", condition=Q(hidden_at__isnull=False)),
            models.Index(fields=["unsent_at"], name="msg_unsent_idx", condition=Q(unsent_at__isnull=False)),
            # The moderators' list (newest first, LIMIT 50), its date hierarchy and date filters.
            models.Index(fields=["-created_at", "-id"], name="msg_created_idx"),
        ]
        constraints = [
            # An attachment is whole (name, size and bytes) or absent.
            models.CheckConstraint(
                condition=(
                    Q(attachment_size__isnull=True, attachment_data__isnull=True, attachment_name="")
                    | (Q(attachment_size__isnull=False, attachment_data__isnull=False) & ~Q(attachment_name=""))
                ),
                name="msg_attachment_whole_or_absent",
            ),
            # New messages say something; carried rows of the old system may be empty.
            models.CheckConstraint(
                condition=~Q(body="") | Q(attachment_size__isnull=False) | Q(legacy_id__isnull=False),
                name="msg_body_or_attachment",
            ),
            # Nobody messages themselves; the old system allowed it, so carried rows are exempt.
            models.CheckConstraint(
                condition=~Q(sender=F("recipient")) | Q(legacy_id__isnull=False),
                name="msg_not_to_self",
            ),
            models.CheckConstraint(
                condition=Q(hidden_at__isnull=True) | ~Q(hidden_reason=""), name="msg_hidden_has_reason"
            ),
            # An unsent message is deleted for both people: every surface that honours a per-user delete
            # (the visibility rule, the summary's triggers, the live sync's) leaves it out without a rule of
            # its own.
            models.CheckConstraint(
                condition=Q(unsent_at__isnull=True)
                | Q(sender_deleted_at__isnull=False, recipient_deleted_at__isnull=False),
                name="msg_unsent_deleted_for_both",
            ),
        ]

    def __str__(self):
        """`alice → bob, 1 Dec 14:00`: who wrote to whom, when (loads both people unless they are joined)."""
        return f"{self.sender} → {self.recipient}, {short_time(self.created_at)}"

    def partner_of(self, user: "User") -> "User":
        """The other party of this message, seen from `user`."""
        return self.recipient if self.sender_id == user.id else self.sender


class MessageEdit(models.Model):
    """A body a message had before its sender edited it (`services.edit_message`): every earlier version is
    kept, for moderators (the admin shows them on the message's page); people see only that it was edited."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="edits", db_index=False)
    body = models.TextField(blank=True, default="")  # the body before this edit
    edited_at = models.DateTimeField(default=timezone.now)  # when this edit replaced it

    class Meta:
        db_table = "messaging_message_edit"
        ordering = ["message", "edited_at", "id"]
        indexes = [models.Index(fields=["message", "edited_at"], name="msg_edit_message_idx")]

    def __str__(self):
        return f"edit of message {self.message_id} on {short_time(self.edited_at)}"


class MessageReport(models.Model):
    """A user's flag on a message, for moderators."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=1000)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        db_table = "messaging_report"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["message", "reporter"], name="report_once_per_user"),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="report_status_idx")]

    def __str__(self):
        return f"{self.reporter} reported {self.message}"


class UserBlock(models.Model):
    """`blocker` does not want messages from `blocked`."""

    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks")
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocked_by")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "messaging_block"
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")), name="block_not_self"),
        ]

    def __str__(self):
        return f"{self.blocker} blocks {self.blocked}"


class ConversationMute(models.Model):
    """`user` muted their conversation with `partner`: its messages still arrive and count as unread, but
    not toward `user`'s badge (`selectors.unread_counts`). User state, not derived: the summary's rebuild
    leaves it alone."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    partner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    muted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "messaging_conversation_mute"
        constraints = [
            models.UniqueConstraint(fields=["user", "partner"], name="mute_once"),
            models.CheckConstraint(condition=~Q(user=F("partner")), name="mute_not_self"),
        ]

    def __str__(self):
        return f"{self.user} muted {self.partner}"


class MissedMessageNotice(models.Model):
    """Per (user, partner): what the missed-message email (`messaging.notifications`) last told `user` about
    their conversation with `partner`. The row is also the claim: a run sends the mail of a pair only while
    it holds this row locked (`SELECT ... FOR UPDATE SKIP LOCKED`), so several runs at once send it once.

    `notified_through_id`: the newest message of `partner` the mails have covered (0: none yet); the next
    mail covers only later ones. `sent_at`: when the last mail went; none goes again before
    `NOTIFY_EMAIL_EVERY_MINUTES` have passed.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    partner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    notified_through_id = models.BigIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "messaging_missed_message_notice"
        constraints = [models.UniqueConstraint(fields=["user", "partner"], name="notice_one_per_pair")]

    def __str__(self):
        return f"{self.user_id} told of {self.partner_id}'s messages through {self.notified_through_id}"


class MessageAccessLog(models.Model):
    """A moderator opened a private message in the admin: who, what, when."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="access_log")
    moderator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    accessed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "messaging_access_log"
        ordering = ["-accessed_at"]

    def __str__(self):
        return f"{self.moderator} read {self.message} on {short_time(self.accessed_at)}"


class ConversationSummary(models.Model):
    """One row per (user, partner) with a message visible to `user`: when the last of them was sent, and how
    many of the partner's `user` has not read. Derived state: `messaging.conversations` keeps it in step
    with the messages (database triggers, in the writing statement) and can always rebuild and verify it.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    partner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_activity_at = models.DateTimeField()
    unread_count = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "messaging_conversation_summary"
        constraints = [models.UniqueConstraint(fields=["user", "partner"], name="summary_one_per_pair")]
        indexes = [
            # An inbox page: one range of this index, newest activity first.
            models.Index(fields=["user", "-last_activity_at", "-partner"], name="summary_recent_idx"),
        ]

    def __str__(self):
        return f"{self.user_id} with {self.partner_id}: {self.unread_count} unread"


class InboxTotals(models.Model):
    """Per user, the sums of their `ConversationSummary` rows: how many conversations, how many unread
    messages. Derived like the summary, by the same triggers (`messaging.conversations`); no row is zeros."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+")
    conversations = models.PositiveIntegerField(default=0)
    unread = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "messaging_inbox_totals"

    def __str__(self):
        return f"{self.user_id}: {self.conversations} conversations, {self.unread} unread"
