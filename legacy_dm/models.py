"""The old system's tables (described exactly as they exist in production) and what the legacy API needs.

The old tables (`users`, `conversations`, `conversation_participants`, `direct_messages`) are read-only
from the day of the move: the data migration copies them into `users.User` and `messaging.Message`.
Their initial migration lets a fresh database get empty ones, and an existing database be taken over with
`migrate --fake-initial`.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone

from legacy_dm.migrations._fields import NaiveUTCDateTimeField


class OldUser(models.Model):
    """The old `users` table."""

    id = models.AutoField(primary_key=True)
    username = models.CharField(max_length=50, unique=True)
    email = models.CharField(max_length=255, unique=True)
    hashed_password = models.CharField(max_length=255)
    full_name = models.CharField(max_length=100, null=True)
    is_active = models.BooleanField(default=True, db_default=True)
    is_superuser = models.BooleanField(default=False, db_default=False)
    created_at = NaiveUTCDateTimeField(db_default=Now())

    class Meta:
        db_table = "users"

    def __str__(self):
        return self.username


class OldConversation(models.Model):
    """The old `conversations` table."""

    id = models.AutoField(primary_key=True)
    created_at = NaiveUTCDateTimeField(db_default=Now())
    updated_at = NaiveUTCDateTimeField(null=True)

    class Meta:
        db_table = "conversations"

    def __str__(self):
        return f"Old conversation {self.pk}"


class OldConversationParticipant(models.Model):
    """The old `conversation_participants` table."""

    id = models.AutoField(primary_key=True)
    conversation = models.ForeignKey(OldConversation, on_delete=models.DO_NOTHING, db_constraint=True)
    user = models.ForeignKey(OldUser, on_delete=models.DO_NOTHING, db_constraint=True)
    joined_at = NaiveUTCDateTimeField(db_default=Now())
    last_read_at = NaiveUTCDateTimeField(null=True)

    class Meta:
        db_table = "conversation_participants"

    def __str__(self):
        return f"{self.user_id} in {self.conversation_id}"


class OldDirectMessage(models.Model):
    """The old `direct_messages` table (no foreign keys: the old code dropped them)."""

    id = models.AutoField(primary_key=True)
    sender_id = models.IntegerField()
    receiver_id = models.IntegerField()
    conversation_id = models.IntegerField(null=True)
    content = models.TextField(null=True)
    file_data = models.BinaryField(null=True)
    file_name = models.CharField(max_length=255, null=True)
    file_type = models.CharField(max_length=100, null=True)
    reply_to_id = models.IntegerField(null=True)
    is_read = models.BooleanField(default=False, db_default=False)
    read_at = NaiveUTCDateTimeField(null=True)
    is_deleted_by_sender = models.BooleanField(default=False, db_default=False)
    is_deleted_by_receiver = models.BooleanField(default=False, db_default=False)
    created_at = NaiveUTCDateTimeField(db_default=Now())
    updated_at = NaiveUTCDateTimeField(null=True)

    class Meta:
        db_table = "direct_messages"

    def __str__(self):
        return f"Old DM {self.pk}"


class LegacyConversation(models.Model):
    """A stable id for a pair of users, as the conversation-based legacy API (`/api/messaging/*`) names it.

    Old ids from `conversations` keep naming the same pair; a pair that never had one gets a new id the first
    time it is asked for. Each pair has one canonical id (`alias_of` NULL), the one lists and get-or-create
    answer with. When the old system had several conversations of the same two people, the later old ids are
    aliases: rows with the same pair and `alias_of` pointing at the canonical row, so an old client holding
    such an id is served the pair's conversation under the id it asked for. An old conversation that did not
    have exactly two participants keeps its id but maps to no pair (`user_low`/`user_high` NULL): the legacy
    API answers 404 for it.
    """

    id = models.AutoField(primary_key=True)
    user_low = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user_high = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    alias_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="aliases"
    )  # the pair's canonical conversation, for a later old id of the same pair
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "legacy_dm_conversation"
        constraints = [
            models.UniqueConstraint(
                fields=["user_low", "user_high"],
                condition=Q(alias_of__isnull=True),
                name="legacy_conversation_one_canonical_id_per_pair",
            ),
            models.CheckConstraint(
                condition=Q(alias_of__isnull=True) | Q(user_low__isnull=False, user_high__isnull=False),
                name="legacy_conversation_alias_has_pair",
            ),
            models.CheckConstraint(
                condition=Q(user_low__isnull=True, user_high__isnull=True)
                | Q(user_low__isnull=False, user_high__isnull=False, user_low__lt=F("user_high")),
                name="legacy_conversation_ordered_pair",
            ),
        ]

    def __str__(self):
        return f"Conversation {self.pk} ({self.user_low_id}, {self.user_high_id})"


class LegacyEndpointUsage(models.Model):
    """How often each legacy endpoint is still called, so operators see when traffic reaches zero."""

    endpoint = models.CharField(max_length=200, unique=True)
    calls = models.PositiveBigIntegerField(default=0)
    first_called_at = models.DateTimeField(default=timezone.now)
    last_called_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "legacy_dm_endpoint_usage"
        ordering = ["-last_called_at"]
        verbose_name_plural = "legacy endpoint usage"

    def __str__(self):
        return f"{self.endpoint}: {self.calls}"


class OpenedConversation(models.Model):
    """A conversation a user asked for with `POST /api/messaging/conversations`.

    The conversation list shows every pair in which the caller sees a message, plus the pairs they opened this
    way, even before a message is sent. Deleting the conversation removes the opening: the row disappears
    from the caller's list until a new message arrives.
    """

    conversation = models.ForeignKey(LegacyConversation, on_delete=models.CASCADE, related_name="openings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "legacy_dm_opened_conversation"
        constraints = [
            models.UniqueConstraint(fields=["user", "conversation"], name="legacy_opened_once_per_user"),
        ]

    def __str__(self):
        return f"{self.user_id} opened conversation {self.conversation_id}"


class SyncEvent(models.Model):
    """An old server's write that Relay's clients should hear of: the live sync's outbox.

    Old servers write the old tables with raw SQL, so no Relay code runs for their writes. While the sync is
    on, a trigger on `direct_messages` (`legacy_dm.sync.outbox`) adds a row here in the old server's
    transaction and notifies `legacy_sync_events`, which publishes the same events the services publish
    (`messaging.events`) and deletes the row (`legacy_dm.sync.events`). Rows wait here while no worker runs.
    """

    class Kind(models.TextChoices):
        SENT = "sent", "message sent"
        READ = "read", "message read by its recipient"
        DELETED = "deleted", "message deleted by one party"
        UNREAD = "unread", "unread count changed"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    message_id = models.BigIntegerField()
    # Whose action it was: the reader, the deleting party, the recipient whose count changed; none for a send.
    user_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        db_table = "legacy_dm_sync_event"

    def __str__(self):
        return f"{self.kind} {self.message_id}"
