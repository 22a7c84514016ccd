"""Plain, immutable results of the services: safe to hand to another thread or to Qt models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum

from mangodesk.domain.types import (
    SENDING_CODE_STATES,
    AlertSeverity,
    CodeOrigin,
    CodeState,
    ConnectionStatus,
    UnitKind,
    VendorKind,
)


class ShownState(StrEnum):
    """What staff read about a code (and about a unit, from the code shown in its row): one
    word per state in the grid, the Passcodes panel and the CLI alike. Derived from the
    stored :class:`CodeState`, the code's window and its outbox (see :func:`shown_state`)."""

    ACTIVE = "active"
    SCHEDULED = "scheduled"
    PENDING = "pending"
    RETRYING = "retrying"
    REVOKING = "revoking"
    FAILED = "failed"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNLINKED = "unlinked"
    IDLE = "idle"


@dataclass(frozen=True)
class StateWord:
    """A state as shown: always a word, with a colour that only repeats what the word says
    (foreground readable on a light background, and that background)."""

    text: str
    colour: str
    background: str


STATE_WORDS: dict[ShownState, StateWord] = {
    ShownState.ACTIVE: StateWord("Active", "#1d6b36", "#e3f3e7"),
    ShownState.SCHEDULED: StateWord("Scheduled", "#1f4f8a", "#e4edf8"),
    ShownState.PENDING: StateWord("Pending", "#8a5a00", "#fbf0d9"),
    ShownState.RETRYING: StateWord("Retrying", "#8a5a00", "#fbf0d9"),
    ShownState.REVOKING: StateWord("Revoking", "#8a5a00", "#fbf0d9"),
    ShownState.FAILED: StateWord("Needs attention", "#a32020", "#fbe3e3"),
    ShownState.EXPIRED: StateWord("Expired", "#5c5c5c", "#f5f5f5"),
    ShownState.REVOKED: StateWord("Revoked", "#5c5c5c", "#f5f5f5"),
    ShownState.UNLINKED: StateWord("Not linked", "#5c5c5c", "#efefef"),
    ShownState.IDLE: StateWord("No code needed", "#5c5c5c", "#f5f5f5"),
}


def shown_state(state: CodeState, valid_from: datetime, valid_to: datetime, now: datetime,
                *, retrying: bool = False) -> ShownState:
    """The one word for a code: a code on the lock whose window has not begun is Scheduled,
    one whose window is over is Expired; a send waiting for its next try is Retrying."""
    if state in SENDING_CODE_STATES and retrying:
        return ShownState.RETRYING
    if state in (CodeState.ACTIVE, CodeState.SCHEDULED):
        if valid_to <= now:
            return ShownState.EXPIRED
        if valid_from > now:
            return ShownState.SCHEDULED
        return ShownState.ACTIVE
    return ShownState(str(state))


def retry_note(time_text: str, attempts: int, max_attempts: int) -> str:
    """``retrying — next try 14:05 (attempt 4 of 30)``: ``time_text`` is the next try in
    hotel time (formatted by the caller), ``attempts`` the ones already made."""
    return f"retrying — next try {time_text} (attempt {attempts + 1} of {max_attempts})"


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
    # Waiting for its next try after a failed attempt: when, and attempts made so far.
    next_attempt_at: datetime | None = None
    retry_attempts: int = 0
    max_attempts: int = 30
    version: int = 0  # pass back to edit/revoke: refused if another desk changed it since

    @property
    def retrying(self) -> bool:
        return self.next_attempt_at is not None

    @property
    def needs_attention(self) -> bool:
        return self.state == CodeState.FAILED or self.retrying

    def shown(self, now: datetime) -> ShownState:
        return shown_state(self.state, self.valid_from, self.valid_to, now,
                           retrying=self.retrying)


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
    status: str  # a ShownState value, of the code shown in this row (or unlinked, idle)
    failed_codes: int
    mobile_key_sent_to: str | None = None
    open_alerts: int = 0  # unacknowledged alerts about this unit's codes or its lock
    # Why Mangodesk sends this unit's lock no codes (e.g. "no gateway"); None when it does.
    codes_not_automatic_reason: str | None = None
    # Other units linked to the same lock: their guests' codes open this door too.
    shared_with: tuple[str, ...] = ()
    # The next guest's own arrival estimate from the PMS: shown, never the code's start.
    next_guest_expected_at: time | None = None
    # The shown code waits for its next try: when, attempts so far, and the limit.
    code_next_attempt_at: datetime | None = None
    code_attempts: int = 0
    max_attempts: int = 30
    # Other codes of this unit waiting to retry (e.g. removing an old code): they need an eye.
    retrying_codes: int = 0
    # Pass back to link/unlink: refused if another desk changed the unit's link since.
    link_version: int = 1


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


def unit_state_word(row: UnitRow) -> str:
    """The grid's State column in words (the CLI's ``units`` prints the same)."""
    known = {state.value: word for state, word in STATE_WORDS.items()}
    text = known[row.status].text if row.status in known else row.status.capitalize()
    if row.status == ShownState.FAILED and row.failed_codes > 1:
        return f"{text} ({row.failed_codes} codes)"
    return text


def code_state_word(code: CodeView, now: datetime) -> str:
    """The Passcodes panel's State column in words (the CLI's ``codes`` prints the same)."""
    return STATE_WORDS[code.shown(now)].text
