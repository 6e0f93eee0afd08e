"""Model fields that `legacy_dm`'s migrations name: defined here, in the migrations package, because a
migration imports nothing but Django, the standard library and its own package. `legacy_dm.models` uses them.
"""

from datetime import UTC

from django.db import models
from django.utils import timezone


class NaiveUTCDateTimeField(models.DateTimeField):
    """The old schema's `TIMESTAMP` (without time zone), holding UTC; read as aware UTC datetimes."""

    def db_type(self, connection):
        return "timestamp"

    def from_db_value(self, value, expression, connection):
        if value is not None and timezone.is_naive(value):
            return value.replace(tzinfo=UTC)
        return value

    def get_db_prep_value(self, value, connection, prepared=False):
        value = super().get_db_prep_value(value, connection, prepared)
        if hasattr(value, "tzinfo") and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value
