"""The moderation console: messages, reports, blocks and the read audit in the Django admin.

Moderators (the "Moderators" group of migrations 0002 and 0009) view messages and hide or unhide them with a
reason (the list's actions, or the button of a message's page), handle reports (the list shows the open ones
by default; the admin index counts them), view blocks and view people read-only (`users.admin`); nobody edits
what a user wrote, and only a superuser may delete. Every write goes through `messaging.services`, and every
hide/unhide is written to Django's admin log. Opening a message (or a report, which shows the message) records
who read it and when (`MessageAccessLog`).

- `message.py`, `report.py`, `block.py`: the admin of each model.
- `moderation.py`: the actions (hide, unhide, resolve, dismiss) and their entries in the admin log.
- `read_audit.py`: who opened which private message, and the admins of records nobody edits.
- `list_tuning.py`: what keeps the message list fast on a large table; `list_filters.py`: its filters.
"""

from .block import UserBlockAdmin
from .message import MessageAdmin
from .read_audit import MessageAccessLogAdmin, ReadOnlyAdmin
from .report import MessageReportAdmin

__all__ = ["MessageAccessLogAdmin", "MessageAdmin", "MessageReportAdmin", "ReadOnlyAdmin", "UserBlockAdmin"]
