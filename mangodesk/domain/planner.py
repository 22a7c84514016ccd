"""The access-code lifecycle planner: what automation should do now, decided without any I/O.

From bookings, unit links, existing codes, property settings and "now" it returns planned
actions (create, move a window, revoke, expire locally, or an alert when a code cannot be
issued). The engine turns actions into database rows and queued vendor operations; the dry
run replays the planner over future instants. Rules: DESIGN.md "Access-code lifecycle".

What the planner never does: touch manual or imported codes, touch codes staff stopped
managing, issue codes for a booking staff stopped codes for, send codes to a lock that cannot
take them automatically, or revoke anything because a booking is missing (a vanished booking
or a failed sync means "nothing"; only an explicit status revokes).

A stay's window is the property's check-in and check-out times on the booking's dates, or the
staff's early check-in / late check-out; never the guest's free-text arrival time from the PMS.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

from mangodesk.domain.capabilities import Capabilities
from mangodesk.domain.errors import ValidationError
from mangodesk.domain.pinrules import PinRules
from mangodesk.domain.pins import pin_problem, prefix_clash
from mangodesk.domain.stay import StayWindow, stay_window
from mangodesk.domain.types import (
    CURRENT_CODE_STATES,
    BookingStatus,
    CodeOrigin,
    CodeState,
)

DEFAULT_LEAD = timedelta(hours=48)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Statuses that mean "this guest must not enter any more".
REVOKING_STATUSES = frozenset({BookingStatus.CANCELLED, BookingStatus.NO_SHOW})


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class PlanProperty:
    id: int
    timezone: str
    checkin_time: time = time(15, 0)
    checkout_time: time = time(11, 0)
    lead: timedelta = DEFAULT_LEAD
    automation_enabled: bool = True


@dataclass(frozen=True)
class PlanUnitLink:
    unit_id: int
    lock_id: int
    traits: Capabilities
    manageable: bool = True
    unmanageable_reason: str | None = None
    lock_name: str = ""
    # Linkable but never sent codes (a TTLock lock without a gateway): why, for the desk.
    codes_not_automatic_reason: str | None = None


class PlanBooking(NamedTuple):
    """A booking as the planner sees it. A named tuple, not a frozen dataclass: a full pass
    builds thousands, and a tuple is built three times faster."""

    id: int
    property_id: int
    status: BookingStatus
    arrival: date
    departure: date
    unit_ids: tuple[int, ...]
    arrival_time: time | None = None  # the guest's own estimate: shown, never used
    departure_time: time | None = None
    guest_name: str | None = None
    guest_email: str | None = None
    codes_stopped: bool = False  # staff revoked and chose "stop codes for this booking"
    checkin_override: time | None = None  # staff's early check-in (local wall time)
    checkout_override: time | None = None  # staff's late check-out (local wall time)
    # A full PMS load no longer returned it (deleted there?): no NEW code; an existing code
    # is never revoked for that reason (silence is not a cancellation), staff decide.
    missing_from_pms: bool = False


class PlanCode(NamedTuple):
    """A code as the planner sees it (a named tuple, as :class:`PlanBooking`)."""

    id: int
    lock_id: int
    unit_id: int | None
    origin: CodeOrigin
    state: CodeState
    valid_from: datetime
    valid_to: datetime
    booking_id: int | None = None
    pin: str | None = None
    managed: bool = True
    # Whether the vendor may hold it (created, or a create sent): a shortened stay must then
    # be ended on the lock, not just marked expired here.
    on_vendor: bool = True


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class CreateCode:
    booking_id: int
    unit_id: int
    lock_id: int
    valid_from: datetime
    valid_to: datetime
    reason: str
    pin: str | None = None  # a PIN to keep (room move); None: the engine generates one
    replaces_code_id: int | None = None
    guest_must_be_told: bool = False  # the guest's code changes: the desk must tell them
    guest_name: str | None = None
    guest_email: str | None = None


@dataclass(frozen=True)
class UpdateWindow:
    code_id: int
    valid_from: datetime
    valid_to: datetime
    reason: str
    ends_stay: bool = False  # the new end is "now": the stay is over once the vendor has it


@dataclass(frozen=True)
class RevokeCode:
    code_id: int
    reason: str
    guest_must_not_enter: bool = False  # cancelled: a failed revoke is the gravest alert
    ends_stay: bool = False  # the stay is over: once removed the code counts as expired


@dataclass(frozen=True)
class ExpireCode:
    code_id: int
    reason: str = "The stay is over; the code has expired on the lock by itself."


@dataclass(frozen=True)
class IssueBlocked:
    """A code is due but cannot be issued automatically: the desk must act."""

    booking_id: int
    unit_id: int
    lock_id: int
    message: str
    fix: str


PlannedAction = CreateCode | UpdateWindow | RevokeCode | ExpireCode | IssueBlocked


# --------------------------------------------------------------------------- windows


def floor_to(instant: datetime, step: timedelta) -> datetime:
    if step <= timedelta(0):
        return instant
    return EPOCH + ((instant - EPOCH) // step) * step


def ceil_to(instant: datetime, step: timedelta) -> datetime:
    floored = floor_to(instant, step)
    return floored if floored == instant else floored + step


def booking_window(booking: PlanBooking, prop: PlanProperty) -> StayWindow:
    """The property's check-in/check-out times (or the staff's early/late override) on the
    booking's dates. The PMS's arrival time is the guest's guess, typed free-hand: using it
    would open the door before the previous guest leaves, or lock an early guest out."""
    return _stay_window(booking.arrival, booking.departure, prop.timezone,
                        booking.checkin_override or prop.checkin_time,
                        booking.checkout_override or prop.checkout_time)


@lru_cache(maxsize=65536)
def _stay_window(arrival: date, departure: date, zone_name: str, check_in: time,
                 check_out: time) -> StayWindow:
    """Memoised: a pass asks for the same few windows (dates, zone, times) thousands of times,
    once to plan each booking and once for its next due instant."""
    return stay_window(arrival, departure, zone_name, arrival_time=check_in,
                       departure_time=check_out, default_checkin=check_in,
                       default_checkout=check_out)


def code_window(stay: StayWindow, traits: Capabilities) -> tuple[datetime, datetime]:
    """The code's validity: the stay, widened to the vendor's time granularity."""
    return (
        floor_to(stay.check_in_at, traits.time_granularity),
        ceil_to(stay.check_out_at, traits.time_granularity),
    )


def issue_at(stay: StayWindow, prop: PlanProperty, traits: Capabilities) -> datetime:
    """When the code is created: ``lead`` before check-in, later if the vendor refuses that."""
    lead = prop.lead if traits.max_lead is None else min(prop.lead, traits.max_lead)
    return stay.check_in_at - lead


# --------------------------------------------------------------------------- the plan


@dataclass
class _LockPins:
    """Live PINs on one lock with their windows, to keep a moved guest's PIN only if free."""

    entries: list[tuple[str, datetime, datetime, int]] = field(default_factory=list)

    def free_for(
        self, pin: str, start: datetime, end: datetime, rules: PinRules, except_id: int
    ) -> bool:
        overlapping = [
            other
            for other, other_start, other_end, code_id in self.entries
            if code_id != except_id and other_start < end and start < other_end
        ]
        if pin in overlapping:
            return False
        return not (rules.forbid_prefix_overlap and prefix_clash(pin, overlapping))


def plan(
    now: datetime,
    properties: Mapping[int, PlanProperty],
    bookings: Iterable[PlanBooking],
    links: Mapping[int, PlanUnitLink],
    codes: Iterable[PlanCode],
    scope: Collection[int] | None = None,
) -> list[PlannedAction]:
    """Compare what should exist with what exists and return what to do, in a stable order.

    With ``scope`` (booking ids), only those bookings and their codes are decided on; the
    other codes given only hold PINs a moved guest's code must not take."""
    current: dict[int, list[PlanCode]] = defaultdict(list)  # by booking id
    pins_by_lock: dict[int, _LockPins] = defaultdict(_LockPins)
    for code in codes:
        if code.state.is_live and code.pin:
            pins_by_lock[code.lock_id].entries.append(
                (code.pin, code.valid_from, code.valid_to, code.id)
            )
        if is_current_booking_code(code) and code.booking_id is not None and (
            scope is None or code.booking_id in scope
        ):
            current[code.booking_id].append(code)

    actions: list[PlannedAction] = []
    seen_bookings: set[int] = set()
    for booking in sorted(bookings, key=lambda b: b.id):
        seen_bookings.add(booking.id)
        prop = properties.get(booking.property_id)
        if prop is None or not prop.automation_enabled:
            continue
        try:
            stay = booking_window(booking, prop)
        except ValidationError:
            continue  # dates the PMS must correct; never revoke on data we cannot read
        actions.extend(
            _plan_booking(now, booking, prop, stay, links, current.get(booking.id, []),
                          pins_by_lock)
        )
    # Codes of bookings we were not given (vanished, or sync never delivered them): only the
    # local bookkeeping of a code whose window is over; never a vendor call.
    for booking_id, orphans in sorted(current.items()):
        if booking_id in seen_bookings:
            continue
        actions.extend(ExpireCode(c.id) for c in orphans if now >= c.valid_to)
    return actions


def is_current_booking_code(code: PlanCode) -> bool:
    """The booking's own code the planner decides on (not manual, not unmanaged, not ended)."""
    return (code.origin == CodeOrigin.BOOKING and code.managed and code.booking_id is not None
            and code.state in CURRENT_CODE_STATES)


def next_due(
    now: datetime,
    booking: PlanBooking,
    prop: PlanProperty,
    links: Mapping[int, PlanUnitLink],
    codes: Iterable[PlanCode],
) -> datetime | None:
    """The first instant after ``now`` at which time alone can change what :func:`plan`
    decides for this booking (given its ``codes``), or None: until the booking, its codes,
    links or property change, planning it again before then gives nothing new. Generous on
    purpose: an extra instant costs one booking planned again; a missing one loses an action."""
    instants: list[datetime] = []
    try:
        stay: StayWindow | None = booking_window(booking, prop)
    except ValidationError:
        stay = None
    if stay is not None:
        instants += (stay.check_in_at, stay.check_out_at)
        for unit_id in booking.unit_ids:
            link = links.get(unit_id)
            if link is None:
                continue
            instants.append(issue_at(stay, prop, link.traits))
            if link.traits.max_lead is not None:
                instants.append(code_window(stay, link.traits)[0] - link.traits.max_lead)
    for code in codes:
        if not is_current_booking_code(code):
            continue
        link = links.get(code.unit_id) if code.unit_id is not None else None
        step = link.traits.time_granularity if link is not None else timedelta(0)
        instants += (code.valid_from - step, code.valid_from, code.valid_to - step,
                     code.valid_to)
    return min((instant for instant in instants if instant > now), default=None)


def _plan_booking(
    now: datetime,
    booking: PlanBooking,
    prop: PlanProperty,
    stay: StayWindow,
    links: Mapping[int, PlanUnitLink],
    existing: list[PlanCode],
    pins_by_lock: Mapping[int, _LockPins],
) -> list[PlannedAction]:
    actions: list[PlannedAction] = []
    covered: set[int] = set()  # units that keep a current code after this pass
    movable_pins: list[tuple[int | None, str | None, int]] = []  # (old unit, pin, old code)

    for code in sorted(existing, key=lambda c: c.id):
        link = links.get(code.unit_id) if code.unit_id is not None else None
        if now >= code.valid_to:
            actions.append(ExpireCode(code.id))
            continue
        if booking.status in REVOKING_STATUSES:
            actions.append(
                RevokeCode(code.id, f"The booking was {booking.status.value.replace('_', ' ')}.",
                           guest_must_not_enter=True)
            )
            continue
        if code.unit_id not in booking.unit_ids:
            actions.append(RevokeCode(code.id, "The unit was removed from the booking."))
            movable_pins.append((code.unit_id, code.pin, code.id))
            continue
        if link is None or link.lock_id != code.lock_id:
            actions.append(RevokeCode(code.id, "The unit is no longer linked to this lock."))
            movable_pins.append((code.unit_id, code.pin, code.id))
            continue
        if code.unit_id in covered:
            continue  # a duplicate record for the same unit: leave it for staff to review
        covered.add(code.unit_id)
        traits = link.traits
        if booking.status == BookingStatus.CHECKED_OUT:
            actions.extend(_early_checkout(now, code, traits))
            continue
        if not booking.status.wants_access:
            continue  # tentative again: not a cancellation, so leave the code alone
        start, end = code_window(stay, traits)
        if (start, end) == (code.valid_from, code.valid_to):
            continue
        if now >= stay.check_out_at:
            actions.extend(_end_now(now, code, traits, "The stay was shortened and is now over."))
            continue
        start_moves = start != code.valid_from
        end_moves = end != code.valid_to
        if start_moves and traits.max_lead is not None and start - now > traits.max_lead:
            # The vendor refuses access sent this far ahead (Inlet: 72 h), so moving the
            # code would be refused too: withdraw it; a new one follows at the new issue time.
            actions.append(RevokeCode(
                code.id, "The stay moved further ahead than this provider accepts codes; a "
                "new code will be issued closer to the new check-in."))
            covered.discard(code.unit_id)
            continue
        if (start_moves and not traits.can_move_start) or (end_moves and not traits.can_move_end):
            actions.append(RevokeCode(code.id, "The dates changed and this lock cannot move them."))
            covered.discard(code.unit_id)
            movable_pins.insert(0, (code.unit_id, code.pin, code.id))
            continue
        actions.append(UpdateWindow(code.id, start, end, "The booking's dates changed."))

    wants = (booking.status.wants_access and not booking.codes_stopped
             and not booking.missing_from_pms)
    for unit_id in booking.unit_ids:
        if unit_id in covered or not wants:
            continue
        link = links.get(unit_id)
        if link is None or not link.traits.automated:
            continue
        traits = link.traits
        if not issue_at(stay, prop, traits) <= now < stay.check_out_at:
            continue
        if link.codes_not_automatic_reason:
            actions.append(IssueBlocked(
                booking.id, unit_id, link.lock_id,
                f"Codes are not automatic on {link.lock_name or link.lock_id} "
                f"({link.codes_not_automatic_reason}), so Mangodesk did not create a code for "
                f"{booking.guest_name or 'this stay'}.",
                "Set a code for the guest on the lock with the vendor's app, or add a gateway "
                "to the lock.",
            ))
            continue
        if not link.manageable:
            actions.append(IssueBlocked(
                booking.id, unit_id, link.lock_id,
                f"The lock {link.lock_name or link.lock_id} cannot be managed remotely"
                + (f" ({link.unmanageable_reason})" if link.unmanageable_reason else "")
                + ", so no code was created for this stay.",
                "Connect the lock to a gateway (or the lock server), or give the guest a code "
                "by hand.",
            ))
            continue
        if traits.needs_guest_email and not booking.guest_email:
            actions.append(IssueBlocked(
                booking.id, unit_id, link.lock_id,
                "The guest's mobile key cannot be sent: the booking has no email address.",
                "Add the guest's email address to the booking in the PMS.",
            ))
            continue
        start, end = code_window(stay, traits)
        pin, replaces, told = _pick_moved_pin(
            unit_id, link, start, end, movable_pins, pins_by_lock
        )
        actions.append(CreateCode(
            booking.id, unit_id, link.lock_id, start, end,
            reason="A new code for the moved stay." if replaces is not None
            else "The stay starts soon.",
            pin=pin,
            replaces_code_id=replaces,
            guest_must_be_told=told,
            guest_name=booking.guest_name,
            guest_email=booking.guest_email,
        ))
    return actions


def _early_checkout(now: datetime, code: PlanCode, traits: Capabilities) -> list[PlannedAction]:
    """The guest left before the booked departure: end the code now."""
    end = ceil_to(now, traits.time_granularity)
    if end >= code.valid_to:
        return []
    if not traits.can_move_end or end <= code.valid_from:
        return [RevokeCode(code.id, "The guest checked out.", ends_stay=True)]
    return [UpdateWindow(code.id, code.valid_from, end, "The guest checked out early.",
                         ends_stay=True)]


def _end_now(now: datetime, code: PlanCode, traits: Capabilities,
             reason: str) -> list[PlannedAction]:
    """The wanted window is already over but the code still opens the door until its old
    end: end it on the lock now (move the end to now, or remove it where the vendor cannot
    move an end or the code has not started); only a code the vendor never got is simply
    marked expired here."""
    if not code.on_vendor:
        return [ExpireCode(code.id, reason)]
    end = ceil_to(now, traits.time_granularity)
    if end >= code.valid_to:
        return []  # already ended now (our earlier update): it expires by itself
    if not traits.can_move_end or end <= code.valid_from:
        return [RevokeCode(code.id, reason, ends_stay=True)]
    return [UpdateWindow(code.id, code.valid_from, end, reason, ends_stay=True)]


def _pick_moved_pin(
    unit_id: int,
    link: PlanUnitLink,
    start: datetime,
    end: datetime,
    movable_pins: list[tuple[int | None, str | None, int]],
    pins_by_lock: Mapping[int, _LockPins],
) -> tuple[str | None, int | None, bool]:
    """Reuse a revoked code's PIN for the guest's new unit where the new lock allows it.
    Returns (pin to keep or None, the replaced code id, whether the guest must be told: a
    guest who had a PIN gets a different one; a mobile key is simply sent again)."""
    if not movable_pins:
        return None, None, False
    same_unit = [entry for entry in movable_pins if entry[0] == unit_id]
    entry = same_unit[0] if same_unit else movable_pins[0]
    movable_pins.remove(entry)
    _, pin, old_id = entry
    rules = link.traits.pin_rules
    if pin is None:
        return None, old_id, False
    if (
        link.traits.keeps_chosen_pin
        and rules is not None
        and pin_problem(pin, rules, allow_weak=True) is None
        and pins_by_lock.get(link.lock_id, _LockPins()).free_for(pin, start, end, rules, old_id)
    ):
        return pin, old_id, False
    return None, old_id, True
