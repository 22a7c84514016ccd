"""Plain, immutable results of the services: safe to hand to another thread or to Qt models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from mangodesk.domain.types import (
    AlertSeverity,
    CodeOrigin,
    CodeState,
    ConnectionStatus,
    UnitKind,
    VendorKind,
)


@dataclass(frozen=True)
class ConnectionView:
    id: int
    kind: VendorKind
    display_name: str
    provider_name: str
    status: ConnectionStatus
    status_message: str | None
    automated: bool
    lock_count: int
    settings: dict[str, object]


@dataclass(frozen=True)
class LockView:
    id: int
    connection_id: int
    connection_name: str
    kind: VendorKind
    vendor_lock_id: str
    name: str
    manageable: bool
    unmanageable_reason: str | None
    attributes: dict[str, object]
    linked_unit_names: tuple[str, ...] = ()
    codes_not_automatic_reason: str | None = None


@dataclass(frozen=True)
class CodeView:
    id: int
    unit_id: int | None
    unit_name: str | None
    lock_id: int
    lock_name: str
    kind: VendorKind
    origin: CodeOrigin
    booking_id: int | None
    booking_ref: str | None
    code: str | None
    mobile_key_sent_to: str | None
    valid_from: datetime
    valid_to: datetime
    guest_name: str | None
    state: CodeState
    managed: bool
    attempts: int
    last_error: str | None
    booking_codes_stopped: bool = False  # staff stopped codes for this code's booking

    @property
    def needs_attention(self) -> bool:
        return self.state == CodeState.FAILED


@dataclass(frozen=True)
class UnitRow:
    """One line of the main grid."""

    id: int
    name: str
    kind: UnitKind
    parent_name: str | None
    sort_order: int
    active: bool
    lock_id: int | None
    lock_name: str | None
    provider: VendorKind | None
    connection_name: str | None
    lock_manageable: bool
    code: str | None
    code_valid_from: datetime | None
    code_valid_to: datetime | None
    code_guest: str | None
    code_state: CodeState | None
    next_arrival: date | None
    next_guest: str | None
    status: str  # active, scheduled, pending, failed, unlinked, idle
    failed_codes: int
    mobile_key_sent_to: str | None = None
    open_alerts: int = 0  # unacknowledged alerts about this unit's codes or its lock
    # Why Mangodesk sends this unit's lock no codes (e.g. "no gateway"); None when it does.
    codes_not_automatic_reason: str | None = None
    # Other units linked to the same lock: their guests' codes open this door too.
    shared_with: tuple[str, ...] = ()
    # The next guest's own arrival estimate from the PMS: shown, never the code's start.
    next_guest_expected_at: time | None = None


@dataclass(frozen=True)
class AlertView:
    id: int
    severity: AlertSeverity
    subject_kind: str
    subject_id: int | None
    message: str
    fix: str | None
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    cleared_at: datetime | None


@dataclass(frozen=True)
class AuditView:
    id: int
    at: datetime
    actor: str
    action: str
    subject_kind: str
    subject_id: int | None
    summary: str


@dataclass(frozen=True)
class BookingView:
    id: int
    pms_id: str
    status: str
    arrival: date
    departure: date
    guest_name: str | None
    guest_email: str | None
    unit_names: tuple[str, ...]
    channel: str | None
