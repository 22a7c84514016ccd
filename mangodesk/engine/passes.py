"""Planning passes: a full one (start-up, hourly, whenever the cursor asks) and incremental
ones that plan only what can have changed since the previous pass.

A booking's plan depends on the booking, its units, their links and locks, its codes, its
property and the time. The first five are watched by database triggers that write
``plan_change`` rows (migration 0012_plan); time is covered by ``plan_due``, the next instant
at which time alone can change each booking's plan (:func:`~mangodesk.domain.planner.next_due`),
and by the arrival dates that come into reach. Each pass takes the cursor's rows in its own
transaction (``DELETE … RETURNING``: exactly the rows taken are gone, and a crash puts them
back), so a change is planned again, never lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mangodesk.domain.planner import PlanCode, next_due, plan
from mangodesk.domain.types import OPEN_CODE_STATES
from mangodesk.engine.plan_due import write_due
from mangodesk.engine.planning import Applied, apply_actions
from mangodesk.engine.snapshot import (
    NEAR_MARGIN,
    PLANNED_BOOKING_STATUSES,
    Snapshot,
    load_partial_snapshot,
    load_properties,
    load_snapshot,
    near_until,
)
from mangodesk.store.driver import chunks
from mangodesk.store.models import AccessCode, Booking, BookingUnit, PlanChange, PlanDue, UnitLink
from mangodesk.vendors.registry import VendorRegistry


@dataclass
class PassResult:
    applied: Applied
    full: bool
    bookings: int  # how many bookings were planned


@dataclass
class Changes:
    """What the cursor named since it was last taken."""

    everything: bool
    booking_ids: set[int]
    unit_ids: set[int]
    lock_ids: set[int]


def take_changes(session: Session) -> Changes:
    """Remove and return the cursor's rows, in the caller's transaction."""
    changes = Changes(False, set(), set(), set())
    rows = session.connection().execute(delete(PlanChange).returning(
        PlanChange.booking_id, PlanChange.unit_id, PlanChange.lock_id))
    for booking_id, unit_id, lock_id in rows:
        if booking_id is not None:
            changes.booking_ids.add(booking_id)
        elif unit_id is not None:
            changes.unit_ids.add(unit_id)
        elif lock_id is not None:
            changes.lock_ids.add(lock_id)
        else:
            changes.everything = True
    return changes


def plan_everything(session: Session, registry: VendorRegistry, now: datetime) -> PassResult:
    """The full pass: every booking near its stay or owning an open code."""
    take_changes(session)
    snapshot = load_snapshot(session, registry, now)
    applied = _plan(session, snapshot, now)
    _write_due(session, snapshot, now)
    return PassResult(applied, True, len(snapshot.bookings))


def plan_changed(session: Session, registry: VendorRegistry, now: datetime,
                 since: datetime) -> PassResult:
    """The incremental pass after one at ``since``: the bookings the cursor names, those due
    by ``now``, and those whose arrival came within reach. A full pass when the cursor asks
    for one (a property's or a connection's planning settings changed)."""
    changes = take_changes(session)
    if changes.everything:
        return plan_everything(session, registry, now)
    properties = load_properties(session)
    booking_ids = set(changes.booking_ids)
    booking_ids |= _bookings_of_units(session, now, changes.unit_ids, changes.lock_ids)
    connection = session.connection()
    booking_ids.update(connection.scalars(
        select(PlanDue.booking_id).where(PlanDue.due_at <= now)).all())
    reach_from, reach_to = near_until(properties, since), near_until(properties, now)
    if reach_to.date() > reach_from.date():
        booking_ids.update(connection.scalars(select(Booking.id).where(
            Booking.status.in_(PLANNED_BOOKING_STATUSES),
            Booking.arrival > reach_from.date(),
            Booking.arrival <= reach_to.date(),
        )).all())
    if not booking_ids:
        return PassResult(Applied(), False, 0)
    snapshot = load_partial_snapshot(session, registry, now, booking_ids, properties)
    applied = _plan(session, snapshot, now)
    _write_due(session, snapshot, now)
    return PassResult(applied, False, len(booking_ids))


def _bookings_of_units(session: Session, now: datetime, unit_ids: set[int],
                       lock_ids: set[int]) -> set[int]:
    """Bookings whose plan a changed link or lock can change: those on the units from two
    days ago on (an older stay can only have an open code), and those owning an open code on
    the units or locks."""
    units = set(unit_ids)
    for part in chunks(sorted(lock_ids)):
        units.update(session.scalars(select(UnitLink.unit_id).where(UnitLink.lock_id.in_(part))))
    found: set[int | None] = set()
    for part in chunks(sorted(units)):
        found.update(session.scalars(
            select(BookingUnit.booking_id).join(Booking, Booking.id == BookingUnit.booking_id)
            .where(BookingUnit.unit_id.in_(part),
                   Booking.departure >= (now - NEAR_MARGIN).date())))
        found.update(session.scalars(select(AccessCode.booking_id).where(
            AccessCode.unit_id.in_(part), AccessCode.state.in_(OPEN_CODE_STATES),
            AccessCode.booking_id.is_not(None))).all())
    for part in chunks(sorted(lock_ids)):
        found.update(session.scalars(select(AccessCode.booking_id).where(
            AccessCode.lock_id.in_(part), AccessCode.state.in_(OPEN_CODE_STATES),
            AccessCode.booking_id.is_not(None))).all())
    return {booking_id for booking_id in found if booking_id is not None}


def _plan(session: Session, snapshot: Snapshot, now: datetime) -> Applied:
    actions = plan(now, snapshot.properties, snapshot.bookings, snapshot.links,
                   snapshot.codes, scope=snapshot.scope)
    return apply_actions(session, actions, snapshot, now)


def _write_due(session: Session, snapshot: Snapshot, now: datetime) -> None:
    """Record each planned booking's next due instant. Bookings whose codes this pass changed
    are planned again on the next pass anyway (the triggers name them)."""
    codes_by_booking: dict[int, list[PlanCode]] = {}
    for code in snapshot.codes:
        if code.booking_id is not None:
            codes_by_booking.setdefault(code.booking_id, []).append(code)
    due: dict[int, datetime] = {}
    for booking in snapshot.bookings:
        prop = snapshot.properties.get(booking.property_id)
        if prop is None:
            continue
        at = next_due(now, booking, prop, snapshot.links, codes_by_booking.get(booking.id, ()))
        if at is not None:
            due[booking.id] = at
    write_due(session.connection(), due, snapshot.scope)
