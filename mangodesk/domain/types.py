"""The vocabulary shared by every layer: kinds, statuses and states as string enums.

String enums are stored as their value in the database, so renaming a member is a migration.
"""

from __future__ import annotations

from enum import StrEnum


class VendorKind(StrEnum):
    MANUAL = "manual"
    TTLOCK = "ttlock"
    FLEXIPASS = "flexipass"
    INLET = "inlet"
    SMARTAIR = "smartair"


class UnitKind(StrEnum):
    ROOM = "room"
    APARTMENT = "apartment"
    BED = "bed"


class BookingStatus(StrEnum):
    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    CHECKED_OUT = "checked_out"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"

    @property
    def wants_access(self) -> bool:
        """Only these statuses get a door code (DESIGN: confirmed or checked in)."""
        return self in (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


class CodeOrigin(StrEnum):
    BOOKING = "booking"
    MANUAL = "manual"
    IMPORTED = "imported"


class CodeState(StrEnum):
    SCHEDULED = "scheduled"
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKING = "revoking"
    REVOKED = "revoked"
    FAILED = "failed"

    @property
    def is_live(self) -> bool:
        """The code exists, or may exist, on the lock (so it occupies a PIN slot)."""
        return self in (CodeState.PENDING, CodeState.ACTIVE, CodeState.REVOKING, CodeState.FAILED)


class OperationKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REVOKE = "revoke"


class OperationStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AlertSeverity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class AlertSubject(StrEnum):
    CODE = "code"
    LOCK = "lock"
    CONNECTION = "connection"
    SYNC = "sync"
    MESSAGE = "message"


class ConnectionStatus(StrEnum):
    CONNECTED = "connected"
    NEEDS_ATTENTION = "needs_attention"
    DISCONNECTED = "disconnected"
