"""The carry's tunables, read from the settings in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class CarryOptions:
    """How the carry and the live sync's switch run: ids per batch, the id headroom left for old servers'
    new rows, and how long a batch waits for a lock before it is retried.
    """

    batch_size: int
    headroom: int
    lock_timeout_ms: int

    @classmethod
    def from_settings(cls) -> CarryOptions:
        """`LEGACY_COPY_BATCH_SIZE`, `LEGACY_SEQUENCE_HEADROOM` and `LEGACY_LOCK_TIMEOUT_MS`, as set now."""
        from django.conf import settings

        return cls(
            batch_size=settings.LEGACY_COPY_BATCH_SIZE,
            headroom=settings.LEGACY_SEQUENCE_HEADROOM,
            lock_timeout_ms=settings.LEGACY_LOCK_TIMEOUT_MS,
        )

    def as_kwargs(self) -> dict[str, int]:
        """The keyword arguments of `copy_legacy_data`."""
        return asdict(self)
