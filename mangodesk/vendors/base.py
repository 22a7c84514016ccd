"""The contract every lock provider implements, its capabilities, and its error taxonomy.

Adapters are synchronous and blocking (they run on engine worker threads, never on the GUI
thread). They take and return timezone-aware UTC datetimes and never log secrets or full PINs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from mangodesk.domain.capabilities import Capabilities, PinScope
from mangodesk.domain.errors import ProviderError
from mangodesk.domain.pinrules import PinRules
from mangodesk.domain.types import VendorKind

# Re-exported: adapters declare their capabilities and PIN rules next to the contract.
__all__ = ["Capabilities", "PinRules", "PinScope"]

# --------------------------------------------------------------------------- errors


class ErrorClass(StrEnum):
    TRANSIENT = "transient"  # network, timeout before sending, 5xx/429, gateway busy, lock offline
    AUTH = "auth"  # credentials rejected or expired beyond refresh
    PERMANENT = "permanent"  # lock gone, capability missing, invalid input: retrying won't help
    CONFLICT = "conflict"  # the PIN already exists on the lock (pick another one)
    ALREADY_GONE = "already_gone"  # the code is not on the lock any more (revoke = success)
    AMBIGUOUS = "ambiguous"  # sent, but no answer: read the lock back before retrying


class VendorError(ProviderError):
    """A failed vendor call, classified; ``message`` and ``fix`` are for staff."""

    error_class: ErrorClass = ErrorClass.PERMANENT

    def __init__(
        self,
        message: str,
        fix: str | None = None,
        *,
        vendor_code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, fix)
        self.vendor_code = vendor_code
        self.retry_after = retry_after


class TransientError(VendorError):
    error_class = ErrorClass.TRANSIENT


class AuthError(VendorError):
    error_class = ErrorClass.AUTH


class PermanentError(VendorError):
    error_class = ErrorClass.PERMANENT


class CodeConflictError(VendorError):
    error_class = ErrorClass.CONFLICT


class AlreadyGoneError(VendorError):
    error_class = ErrorClass.ALREADY_GONE


class AmbiguousError(VendorError):
    error_class = ErrorClass.AMBIGUOUS


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class CredentialField:
    """One input the connect wizard asks for; ``secret`` ones go to the keyring only."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    default: str = ""
    help: str = ""
    # Set once by the installation's IT person, not by front-desk staff: the wizard keeps it
    # under "Advanced" (filled in from the installation when it already knows it).
    advanced: bool = False
    # A yes/no choice (a check box); its value is "true" when chosen, else empty.
    switch: bool = False


@dataclass(frozen=True)
class ReportStep:
    """One line of a connection check: what was checked, whether it passed, what to do."""

    name: str
    ok: bool
    message: str
    fix: str | None = None
    warning: bool = False  # passed, but something staff or the installer should know


@dataclass(frozen=True)
class ConnectionReport:
    ok: bool
    summary: str
    steps: tuple[ReportStep, ...] = ()
    # Values the wizard must show or store: e.g. a certificate fingerprint to accept.
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LockInfo:
    vendor_lock_id: str
    name: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    manageable: bool = True  # False: refused at link and at New passcode, with the reason
    unmanageable_reason: str | None = None
    # Linkable, but Mangodesk never sends codes to it (a TTLock lock without a gateway): the
    # unit shows this reason ("codes not automatic: no gateway") and no create is attempted.
    codes_not_automatic_reason: str | None = None
    # Calls sharing this key are serialised (TTLock: the gateway id). Defaults to the lock id.
    serial_key: str | None = None


@dataclass(frozen=True)
class LockDetails:
    """What the Details button shows: labelled values in order, and warnings to highlight."""

    items: tuple[tuple[str, str], ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CodeRequest:
    """What the engine asks for. ``pin`` is None when the vendor generates it."""

    valid_from: datetime
    valid_to: datetime
    pin: str | None = None
    guest_name: str | None = None
    guest_email: str | None = None
    label: str | None = None  # a name for the code on the lock, e.g. "Mangodesk 4711 Smith"


@dataclass(frozen=True)
class VendorCode:
    """A code as the vendor knows it."""

    vendor_ref: str
    pin: str | None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    name: str | None = None
    mobile_key_sent_to: str | None = None


# --------------------------------------------------------------------------- is it ours?

# One create attempt as sent: its PIN (None when the vendor chooses it) and window.
SentAttempt = tuple[str | None, datetime, datetime]
# Vendors that keep seconds are still compared to the minute: our windows are minute-based.
MIN_MATCH_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class SentCode:
    """What Mangodesk sent for one code, to recognise it among the codes a lock holds after
    an answer was lost. Never by a PIN alone: a stranger's code may share it."""

    attempts: tuple[SentAttempt, ...] = ()
    label: str | None = None  # the name we gave the code on the lock ("Mangodesk 4711")
    guest_email: str | None = None
    # No PIN of ours is known (a mobile key): the guest's email stands in for it.
    mobile_key: bool = False
    # When the engine took the operation: a start the vendor set to its own "now" is before it.
    claimed_at: datetime | None = None


def same_window(held: tuple[datetime, datetime], sent: tuple[datetime, datetime], *,
                granularity: timedelta, live_start_is_vendor_now: bool = False,
                claimed_at: datetime | None = None) -> bool:
    """The vendor holds the window we sent, to its granularity. Where the vendor documents
    that a code created late starts at its own "now" (``live_start_is_vendor_now``), a start
    that has already passed inside our window is ours too (a later, future start is another
    stay's or an old window's); the end must still be exact."""
    (held_from, held_to), (start, end) = held, sent
    if abs(held_to - end) >= granularity:
        return False
    if abs(held_from - start) < granularity:
        return True
    return (live_start_is_vendor_now and claimed_at is not None
            and start <= held_from <= claimed_at and held_from < end)


def matches_sent(candidate: VendorCode, sent: SentCode, capabilities: Capabilities) -> bool:
    """The shared rule: a code is ours by our label, by exactly a PIN and window we sent, or
    (a mobile key) by the guest's email and such a window."""
    name, label = candidate.name, sent.label
    if name and label and (name == label or name.startswith(label + " ")):
        return True
    granularity = max(capabilities.time_granularity, MIN_MATCH_GRANULARITY)

    def held_as_sent(start: datetime, end: datetime) -> bool:
        assert candidate.valid_from is not None and candidate.valid_to is not None
        return same_window((candidate.valid_from, candidate.valid_to), (start, end),
                           granularity=granularity,
                           live_start_is_vendor_now=capabilities.live_start_is_vendor_now,
                           claimed_at=sent.claimed_at)

    has_window = candidate.valid_from is not None and candidate.valid_to is not None
    if candidate.pin is not None and has_window and any(
            pin == candidate.pin and held_as_sent(start, end)
            for pin, start, end in sent.attempts):
        return True
    if not (sent.mobile_key and candidate.mobile_key_sent_to and sent.guest_email):
        return False
    if candidate.mobile_key_sent_to.casefold() != sent.guest_email.casefold():
        return False
    if not has_window:
        return True  # the vendor shows no window: the email on this lock is all there is
    return any(held_as_sent(start, end) for _, start, end in sent.attempts)


class SentCodeMatcher:
    """Gives an adapter the shared "is this code ours?" rule; an adapter whose vendor
    differs overrides :meth:`matches_sent`."""

    capabilities: Capabilities

    def matches_sent(self, candidate: VendorCode, sent: SentCode) -> bool:
        return matches_sent(candidate, sent, self.capabilities)


# --------------------------------------------------------------------------- protocol


@runtime_checkable
class VendorAdapter(Protocol):
    """One provider account. Methods block; raise :class:`VendorError` subclasses on failure."""

    kind: VendorKind
    capabilities: Capabilities

    def test_connection(self) -> ConnectionReport: ...

    def list_locks(self) -> list[LockInfo]: ...

    def lock_details(self, vendor_lock_id: str) -> LockDetails: ...

    def list_codes(self, vendor_lock_id: str) -> list[VendorCode]: ...

    def create_code(self, vendor_lock_id: str, request: CodeRequest) -> VendorCode: ...

    def update_code(
        self, vendor_lock_id: str, code: VendorCode, valid_from: datetime, valid_to: datetime
    ) -> VendorCode:
        """Move a code's window. Returns the code as it is now (its ref may change when a
        vendor can only move a start by cancel + re-create with the same PIN)."""
        ...

    def revoke_code(self, vendor_lock_id: str, code: VendorCode) -> None:
        """Remove the code. A code that is already gone is success, not an error."""
        ...

    def matches_sent(self, candidate: VendorCode, sent: SentCode) -> bool:
        """Whether ``candidate`` (read back from the lock) is the code Mangodesk sent. The
        one rule the engine's read-back and the adapter's own look-ups use; most adapters
        inherit :class:`SentCodeMatcher`'s."""
        ...

    def close(self) -> None: ...


class TokenCache(Protocol):
    """Where an adapter keeps its sign-in token between processes (the composition side
    stores it in the keyring). Best effort: a cache that cannot be read returns None."""

    def load(self) -> str | None: ...

    def save(self, value: str) -> None: ...


@dataclass(frozen=True)
class ConnectionConfig:
    """What an adapter factory receives: the non-secret settings and the secrets, resolved,
    and optionally a place to keep a sign-in token across processes."""

    connection_id: int | None
    kind: VendorKind
    settings: Mapping[str, Any]
    secrets: Mapping[str, str]
    token_cache: TokenCache | None = None
    # The IANA zone of the hotel the connection serves, found at run time (never stored
    # with the settings): adapters compare a lock's or a server's clock with it.
    hotel_timezone: str | None = None
    # Called before every request to the provider; it waits while the account's
    # ``CallLimits.requests_per_second`` is used up (the engine's adapter pool sets it).
    pace: Callable[[], None] | None = None


AdapterFactory = Callable[[ConnectionConfig], VendorAdapter]


@dataclass(frozen=True)
class CallLimits:
    """How much one provider account takes at once, as its vendor documents or as we assume
    until it does. The engine never exceeds it; a configured limit may only lower it. Calls
    sharing a serialisation key (``LockInfo.serial_key``: a TTLock gateway, else the lock)
    always run one after another, whatever this says."""

    # Vendor calls in flight per account (Smartair: per lock server); None: as many as there
    # are serialisation keys with work.
    calls_at_once: int | None = 4
    # HTTP requests started per second per account; None: no rate limit.
    requests_per_second: float | None = None


@dataclass(frozen=True)
class ProviderSpec:
    """Everything the app needs to offer a provider: its name, its inputs, its factory."""

    kind: VendorKind
    display_name: str
    fields: tuple[CredentialField, ...]
    capabilities: Capabilities
    factory: AdapterFactory
    lock_noun: str = "lock"  # "door" for Flexipass, "room" for Smartair
    description: str = ""
    call_limits: CallLimits = CallLimits()
