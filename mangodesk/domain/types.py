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


class MailStatus(StrEnum):
    """Where a guest message is in the mail outbox (comms/outbox.py)."""

    QUEUED = "queued"
    SENDING = "sending"  # marked before the SMTP call
    HANDED_OVER = "handed_over"  # the server accepted it; marked sent next
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class AuditSubject(StrEnum):
    """What an audit row is about; ``subject_id`` is that row's id."""

    CODE = "code"
    UNIT = "unit"
    BOOKING = "booking"
    CONNECTION = "connection"
    ALERT = "alert"
    SYNC = "sync"
    MAIL = "mail"
    TEMPLATE = "template"


class AuditAction(StrEnum):
    """Every action the audit trail records, named ``<subject>.<what happened>``.

    The activity log turns each into a sentence for staff (services/activity.py); a row a
    newer version wrote with an action this one does not know shows its stored summary.
    Migration 0008_vocab renamed the older spellings (``create_code``, ``link``, ``pms_sync``…).
    """

    # Automation (the engine and the planner).
    CODE_PLAN_CREATE = "code.plan_create"
    CODE_PLAN_UPDATE = "code.plan_update"
    CODE_PLAN_REVOKE = "code.plan_revoke"
    CODE_EXPIRE = "code.expire"
    CODE_CREATE = "code.create"  # the lock confirmed the code
    CODE_UPDATE = "code.update"
    CODE_REVOKE = "code.revoke"
    CODE_CREATE_FAILED = "code.create_failed"  # gave up
    CODE_UPDATE_FAILED = "code.update_failed"
    CODE_REVOKE_FAILED = "code.revoke_failed"
    CODE_NEW_PIN = "code.new_pin"  # the lock refused the PIN; another one is sent
    CODE_DELETED_OUTSIDE = "code.deleted_outside"
    CODE_REPLACE_DELETED = "code.replace_deleted"
    CODE_RETRY = "code.retry"  # Retry now
    # Staff.
    CODE_STAFF_CREATE = "code.staff_create"
    CODE_STAFF_EDIT = "code.staff_edit"
    CODE_STAFF_REVOKE = "code.staff_revoke"
    CODE_STAFF_RETRY = "code.staff_retry"  # Retry now, as versions before 0008_vocab wrote it
    CODE_REISSUE = "code.reissue"
    CODE_IMPORT = "code.import"  # codes already on a lock, taken over at link time
    BOOKING_RESUME_CODES = "booking.resume_codes"
    BOOKING_QUEUE_MESSAGE = "booking.queue_message"
    UNIT_LINK = "unit.link"
    UNIT_UNLINK = "unit.unlink"
    CONNECTION_CONNECT = "connection.connect"
    CONNECTION_RECONNECT = "connection.reconnect"
    CONNECTION_RENAME = "connection.rename"
    CONNECTION_DISCONNECT = "connection.disconnect"
    ALERT_ACKNOWLEDGE = "alert.acknowledge"
    MAIL_SETTINGS = "mail.settings"
    TEMPLATE_SAVE = "template.save"
    # The PMS sync.
    SYNC_RUN = "sync.run"
    SYNC_FAILING = "sync.failing"
    BOOKING_MISSING_FROM_PMS = "booking.missing_from_pms"

