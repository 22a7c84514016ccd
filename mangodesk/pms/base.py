"""The contract a PMS adapter implements. Plain values in, plain values out; no database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Protocol

from mangodesk.domain.errors import ProviderError
from mangodesk.domain.types import BookingStatus, UnitKind


class PmsError(ProviderError):
    """A PMS call failed; ``message`` is for staff. ``transient`` ones are retried next poll."""

    def __init__(self, message: str, fix: str | None = None, *, transient: bool = True) -> None:
        super().__init__(message, fix)
        self.transient = transient


class PmsAuthError(PmsError):
    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message, fix, transient=False)


@dataclass(frozen=True)
class PmsUnit:
    pms_id: str
    name: str
    kind: UnitKind
    parent_pms_id: str | None = None
    sort_order: int = 0


@dataclass(frozen=True)
class PmsProperty:
    pms_id: str
    name: str
    timezone: str  # IANA zone, e.g. "Europe/Oslo"
    checkin_time: time = time(15, 0)
    checkout_time: time = time(11, 0)
    units: Sequence[PmsUnit] = ()


@dataclass(frozen=True)
class PmsBooking:
    pms_id: str
    property_pms_id: str
    status: BookingStatus
    arrival: date
    departure: date
    unit_pms_ids: Sequence[str]
    arrival_time: time | None = None
    departure_time: time | None = None
    guest_name: str | None = None
    guest_email: str | None = None
    guest_phone: str | None = None
    channel: str | None = None
    modified_at: datetime | None = None
    # The guest's arrival time as typed (shown to staff; never a code's start).
    arrival_note: str | None = None
    # Every PMS booking number this booking stands for (a group: each room's number).
    member_pms_ids: Sequence[str] = ()
    # The guest's language as a lower-case ISO 639-1 code ("de"): picks a message version.
    language: str | None = None


def guest_language(value: object) -> str | None:
    """A PMS's language field as the code message templates are kept under: "DE", " de ",
    "de-AT" and "de_AT" are all "de"; anything that is not a language code is None."""
    if not isinstance(value, str):
        return None
    code = value.strip().replace("_", "-").split("-")[0].lower()
    return code if len(code) in (2, 3) and code.isascii() and code.isalpha() else None


@dataclass(frozen=True)
class UnreadableBooking:
    """A booking the PMS sent that cannot be read: skipped, its last good copy kept."""

    pms_id: str
    reason: str


@dataclass(frozen=True)
class BookingPage:
    """One page of changed bookings; the sync commits it before asking for the next."""

    bookings: Sequence[PmsBooking]
    page_number: int
    has_more: bool
    # The cursor to store once every page up to this one is committed.
    cursor: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    unreadable: Sequence[UnreadableBooking] = ()
    # Where a crashed full load can resume once this page is committed (JSON-able).
    resume: dict[str, str] | None = None


class PmsAdapter(Protocol):
    name: str

    def list_properties(self) -> list[PmsProperty]: ...

    def bookings_changed_since(
        self, cursor: str | None, resume: dict[str, str] | None = None
    ) -> Iterator[BookingPage]:
        """Pages of bookings modified since ``cursor`` (all bookings when None), cancelled
        ones included. ``resume`` (a page's ``resume``) continues a full load after it."""
        ...

    def bookings_by_id(self, pms_ids: Sequence[str]) -> list[PmsBooking]:
        """The PMS's current copy of these bookings; one the PMS no longer has is absent."""
        ...

    def write_back_codes(self, booking_pms_id: str, lines: Sequence[str]) -> None:
        """Optional: store the access-code lines on the PMS booking. May raise
        NotImplementedError."""
        ...

    def close(self) -> None: ...
