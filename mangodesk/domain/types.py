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
        return self in LIVE_CODE_STATES


# Each group of code states that means something, defined once (DESIGN "Access-code lifecycle").

# Over for good: revoked, or expired after its window; nothing more is sent for it.
ENDED_CODE_STATES = frozenset({CodeState.REVOKED, CodeState.EXPIRED})
# Not ended: on a lock, on its way to one, or being removed from one.
OPEN_CODE_STATES = frozenset(CodeState) - ENDED_CODE_STATES
# Ended, or being removed: staff can no longer change the code.
ENDING_CODE_STATES = ENDED_CODE_STATES | {CodeState.REVOKING}
# The code that stands for its booking and unit (scheduled, sending, on the lock, or given up
# on); a code being revoked no longer does.
CURRENT_CODE_STATES = frozenset(
    {CodeState.SCHEDULED, CodeState.PENDING, CodeState.ACTIVE, CodeState.FAILED}
)
# On the lock, or possibly on it: the code occupies a PIN slot.
LIVE_CODE_STATES = frozenset(
    {CodeState.PENDING, CodeState.ACTIVE, CodeState.REVOKING, CodeState.FAILED}
)
# A call to the lock is due or under way (create/update, or revoke).
SENDING_CODE_STATES = frozenset({CodeState.PENDING, CodeState.REVOKING})
# Sending, or given up on: the attempts made so far matter to staff.
ATTEMPTED_CODE_STATES = SENDING_CODE_STATES | {CodeState.FAILED}


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
