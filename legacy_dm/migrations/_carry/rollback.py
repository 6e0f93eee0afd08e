"""Undo the carry: remove carried rows (never the old tables' rows, nor what the new system wrote since)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import ProtectedError, Q, QuerySet

from . import deferred
from .batches import id_range
from .statements import PLACEHOLDER_PASSWORD, PLACEHOLDER_USERNAME_PREFIX

if TYPE_CHECKING:
    from django.apps.registry import Apps
    from django.db.backends.base.base import BaseDatabaseWrapper


def remove_carried_data(
    apps: Apps,
    connection: BaseDatabaseWrapper,
    *,
    batch_size: int,
    lock_timeout_ms: int = 5_000,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Undo the copy: remove carried messages, the carried conversation map and carried users.

    Uses the migration's historical models (`apps`), so that whatever else points at these rows at that
    point of history is handled by Django's own delete rules (reports of a carried message go with it,
    a new reply to it loses its link). Carried users are removed unless something new still needs them
    (a message of the new system, a protected row): rolling back must not destroy what was written since.
    The old tables are only read.
    """
    # An interrupted carry may have left indexes and foreign keys set aside: the schema comes back first (and
    # the deletes below need the indexes of the rows that point at carried ones).
    deferred.rebuild(connection, lock_timeout_ms=lock_timeout_ms)
    message_model = apps.get_model("messaging", "Message")
    conversation_model = apps.get_model("legacy_dm", "LegacyConversation")
    user_model = apps.get_model("users", "User")
    alias = connection.alias

    def say(text: str) -> None:
        if progress is not None:
            progress(text)

    def walk(table: str, handle: Callable[[int, int], int], column: str = "id") -> int:
        bounds = id_range(connection, table, column)
        if bounds is None:
            return 0
        removed = 0
        for low in range(bounds[0], bounds[1] + 1, batch_size):
            with transaction.atomic(using=alias):
                removed += handle(low, low + batch_size)
        return removed

    def messages(low: int, high: int) -> int:
        count, _ = (
            message_model._base_manager.using(alias).filter(legacy_id__gte=low, legacy_id__lt=high).only("id").delete()
        )
        return count

    say(f"removed {walk('messaging_message', messages, 'legacy_id')} rows with carried messages")

    def conversations(low: int, high: int) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM conversations WHERE id >= %s AND id < %s", [low, high])
            ids = [row[0] for row in cursor.fetchall()]
        count, _ = conversation_model._base_manager.using(alias).filter(id__in=ids).delete()
        return count

    say(f"removed {walk('conversations', conversations)} rows with the carried conversation map")

    still_used = Q(sent_messages__isnull=False) | Q(received_messages__isnull=False)

    def delete_users(queryset: QuerySet[Any]) -> int:
        in_use = user_model._base_manager.using(alias).filter(still_used).values("id")
        queryset = queryset.exclude(id__in=in_use).only("id")
        try:
            return queryset.delete()[0]
        except ProtectedError:
            removed = 0
            for user in queryset:
                try:
                    with transaction.atomic(using=alias):
                        removed += user.delete()[0]
                except ProtectedError:
                    pass
            return removed

    def users(low: int, high: int) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM users WHERE id >= %s AND id < %s", [low, high])
            ids = [row[0] for row in cursor.fetchall()]
        return delete_users(user_model._base_manager.using(alias).filter(id__in=ids))

    removed = walk("users", users)
    with transaction.atomic(using=alias):
        removed += delete_users(
            user_model._base_manager.using(alias).filter(
                password=PLACEHOLDER_PASSWORD, username__startswith=PLACEHOLDER_USERNAME_PREFIX
            )
        )
    say(f"removed {removed} rows with carried and placeholder users")
