"""Reading what the planner needs: a snapshot of the bookings, links and codes that can
matter now (:func:`load_snapshot`, the full pass) or that matter to a few bookings
(:func:`load_partial_snapshot`, a tick).

Hot path: a full pass reads thousands of bookings and codes, so rows are read as the driver
returns them and each distinct date, instant or state is converted once
(:mod:`mangodesk.store.driver`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, literal, select
from sqlalchemy.orm import Session, aliased

from mangodesk.domain.errors import NotFoundError
from mangodesk.domain.planner import PlanBooking, PlanCode, PlanProperty, PlanUnitLink
from mangodesk.domain.types import (
    LIVE_CODE_STATES,
    OPEN_CODE_STATES,
    BookingStatus,
    CodeState,
    VendorKind,
)
from mangodesk.store.driver import Converted, Loaded, chunks, driver_value
from mangodesk.store.models import (
    AccessCode,
    Booking,
    BookingUnit,
    Connection,
    Lock,
    Property,
    Unit,
    UnitLink,
)
from mangodesk.vendors.base import Capabilities
from mangodesk.vendors.registry import VendorRegistry

NOT_AUTOMATED = Capabilities(automated=False)


def unindexed(column: ColumnElement[Any] | Any) -> ColumnElement[Any]:
    """``column || ''``: the same value, but no index serves it. SQLite picks its index by
    rule, with no statistics; where the rule's pick walks thousands of rows (codes by state,
    bookings by status — past stays stay "confirmed"), this steers it to the one that reads
    a few."""
    served: ColumnElement[Any] = column.op("||")(literal(""))
    return served


def capabilities_for_kind(registry: VendorRegistry, kind: str) -> Capabilities:
    try:
        return registry.spec(VendorKind(kind)).capabilities
    except (NotFoundError, ValueError):
        return NOT_AUTOMATED  # a provider this version does not ship: never automate it


def capabilities_of(registry: VendorRegistry, connection: Connection) -> Capabilities:
    return capabilities_for_kind(registry, connection.kind)


@dataclass
class Snapshot:
    now: datetime
    properties: dict[int, PlanProperty]
    bookings: list[PlanBooking]
    links: dict[int, PlanUnitLink]
    codes: list[PlanCode]
    capabilities: dict[int, Capabilities]  # by lock id
    unit_names: dict[int, str] = field(default_factory=dict)
    lock_names: dict[int, str] = field(default_factory=dict)
    booking_refs: dict[int, str] = field(default_factory=dict)
    # The booking ids this snapshot decides on (None: all); other codes only hold PINs.
    scope: frozenset[int] | None = None


NEAR_MARGIN = timedelta(days=2)
PLANNED_BOOKING_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)


def load_properties(session: Session) -> dict[int, PlanProperty]:
    return {
        property_id: PlanProperty(
            id=property_id,
            timezone=timezone,
            checkin_time=checkin_time,
            checkout_time=checkout_time,
            lead=timedelta(minutes=lead_minutes),
            automation_enabled=automation_enabled,
        )
        for property_id, timezone, checkin_time, checkout_time, lead_minutes,
        automation_enabled in session.connection().execute(
            select(Property.id, Property.timezone, Property.checkin_time,
                   Property.checkout_time, Property.lead_minutes, Property.automation_enabled)
        )
    }


def near_until(properties: dict[int, PlanProperty], now: datetime) -> datetime:
    """The last instant whose arrivals a pass at ``now`` reads: beyond it no code is due."""
    longest_lead = max((p.lead for p in properties.values()), default=timedelta(hours=48))
    return now + longest_lead + NEAR_MARGIN


@dataclass
class _Links:
    by_unit: dict[int, PlanUnitLink] = field(default_factory=dict)
    capabilities: dict[int, Capabilities] = field(default_factory=dict)
    lock_names: dict[int, str] = field(default_factory=dict)
    unit_names: dict[int, str] = field(default_factory=dict)


def _load_links(session: Session, registry: VendorRegistry, where: Any = None,
                into: _Links | None = None) -> _Links:
    found = into or _Links()
    caps_by_kind: dict[str, Capabilities] = {}
    query = (select(UnitLink.unit_id, Lock.id, Lock.name, Lock.manageable,
                    Lock.unmanageable_reason, Lock.present, Connection.kind,
                    Lock.codes_not_automatic_reason, Unit.name)
             .join(Lock, UnitLink.lock_id == Lock.id)
             .join(Connection, Lock.connection_id == Connection.id)
             .join(Unit, Unit.id == UnitLink.unit_id))
    if where is not None:
        query = query.where(where)
    for (unit_id, lock_id, lock_name, manageable, reason, present, kind,
         not_automatic, unit_name) in session.connection().execute(query).all():
        found.unit_names[unit_id] = unit_name
        if kind not in caps_by_kind:
            caps_by_kind[kind] = capabilities_for_kind(registry, kind)
        caps = caps_by_kind[kind]
        found.capabilities[lock_id] = caps
        found.lock_names[lock_id] = lock_name
        found.by_unit[unit_id] = PlanUnitLink(
            unit_id=unit_id,
            lock_id=lock_id,
            traits=caps,
            manageable=manageable and present,
            unmanageable_reason=reason
            or (None if present else "the provider no longer lists it"),
            lock_name=lock_name,
            codes_not_automatic_reason=not_automatic,
        )
    return found


_CODE_COLUMNS = (AccessCode.id, AccessCode.lock_id, AccessCode.unit_id, AccessCode.origin,
                 AccessCode.state, AccessCode.valid_from, AccessCode.valid_to,
                 AccessCode.booking_id, AccessCode.code, AccessCode.managed,
                 AccessCode.vendor_ref)
# Built once: a tick runs it twice, and building it cost more than running it.
_SELECT_CODES = select(*map(driver_value, _CODE_COLUMNS))


def _load_codes(session: Session, where: Any) -> list[PlanCode]:
    """Plain rows, each distinct state, origin and instant converted once: a full pass reads
    every open code of the hotel."""
    connection = session.connection()
    dialect = connection.dialect
    origins, states = Loaded(AccessCode.origin, dialect), Loaded(AccessCode.state, dialect)
    instants = Loaded(AccessCode.valid_from, dialect)
    flags = Loaded(AccessCode.managed, dialect)
    codes = []
    for (code_id, lock_id, unit_id, origin, state, valid_from, valid_to, booking_id, pin,
         managed, vendor_ref) in connection.execute(_SELECT_CODES.where(where)).all():
        state = states[state]
        codes.append(PlanCode(
            id=code_id,
            lock_id=lock_id,
            unit_id=unit_id,
            origin=origins[origin],
            state=state,
            valid_from=instants[valid_from],
            valid_to=instants[valid_to],
            booking_id=booking_id,
            pin=pin,
            managed=flags[managed],
            on_vendor=vendor_ref is not None
            or state not in (CodeState.FAILED, CodeState.SCHEDULED),
        ))
    return codes


def load_snapshot(
    session: Session, registry: VendorRegistry, now: datetime, horizon: datetime | None = None
) -> Snapshot:
    """Everything the planner needs at ``now``; with ``horizon``, also every booking whose
    code would be issued up to then (for the dry run)."""
    properties = load_properties(session)
    links = _load_links(session, registry)
    codes = _load_codes(session, AccessCode.state.in_(OPEN_CODE_STATES))
    until = near_until(properties, max(now, horizon or now))
    # The ids from the stay index (departure, arrival, status) alone, then the rows in id
    # order: one statement, cheaper than reading the rows in the index's order. Not the
    # (status, arrival) index, which would walk every past stay.
    stay = aliased(Booking)
    near = Booking.id.in_(select(stay.id).where(
        unindexed(stay.status).in_(PLANNED_BOOKING_STATUSES),
        stay.departure >= (now - NEAR_MARGIN).date(),
        stay.arrival <= until.date()))
    bookings, refs = _load_bookings(session, [near])
    # Bookings further out that own an open code (staff moved the dates, the PMS dropped
    # them): usually none.
    owning = sorted({c.booking_id for c in codes if c.booking_id is not None} - set(refs))
    more, more_refs = _load_bookings(session, [Booking.id.in_(part) for part in chunks(owning)])
    bookings += more
    refs.update(more_refs)
    return Snapshot(
        now=now,
        properties=properties,
        bookings=bookings,
        links=links.by_unit,
        codes=codes,
        capabilities=links.capabilities,
        unit_names=dict(session.connection().execute(
            select(Unit.id, Unit.name)).all()),
        lock_names=links.lock_names,
        booking_refs=refs,
    )


def load_partial_snapshot(
    session: Session, registry: VendorRegistry, now: datetime, booking_ids: Iterable[int],
    properties: dict[int, PlanProperty] | None = None,
) -> Snapshot:
    """What the planner needs to decide on ``booking_ids`` alone: those bookings, their open
    codes, the links of their units and codes, and the live PINs on those locks. Planning
    it gives, for these bookings, what planning :func:`load_snapshot` would."""
    ids = sorted(set(booking_ids))
    scope = frozenset(ids)
    bookings, refs = _load_bookings(session, [Booking.id.in_(part) for part in chunks(ids)])
    links = _Links()
    for part in chunks(sorted({u for b in bookings for u in b.unit_ids})):
        _load_links(session, registry, UnitLink.unit_id.in_(part), into=links)
    # The scope's open codes (by the booking index: the state index would read every open
    # code of the hotel), and the live PINs on the scope's locks (by lock and state). Two
    # queries: with an OR of the two SQLite reads every code ever issued.
    lock_ids = sorted({link.lock_id for link in links.by_unit.values()})
    pins = AccessCode.state.in_(LIVE_CODE_STATES) & AccessCode.code.is_not(None)
    codes: dict[int, PlanCode] = {}
    wheres = [unindexed(AccessCode.state).in_(OPEN_CODE_STATES)
              & AccessCode.booking_id.in_(part) for part in chunks(ids)]
    wheres += [AccessCode.lock_id.in_(part) & pins for part in chunks(lock_ids)]
    for where in wheres:
        codes.update((code.id, code) for code in _load_codes(session, where))
    # A code's unit may have no link now, or its lock be linked to another unit: the
    # planner still looks the unit up, and the lock's capabilities still count.
    unlinked_units = sorted({c.unit_id for c in codes.values() if c.unit_id is not None
                             and c.booking_id in scope} - set(links.by_unit))
    for part in chunks(unlinked_units):
        _load_links(session, registry, UnitLink.unit_id.in_(part), into=links)
    unlinked_locks = sorted({c.lock_id for c in codes.values() if c.booking_id in scope}
                            - set(links.capabilities))
    for part in chunks(unlinked_locks):
        _load_links(session, registry, UnitLink.lock_id.in_(part), into=links)
    new_locks = sorted({link.lock_id for link in links.by_unit.values()} - set(lock_ids))
    for part in chunks(new_locks):
        codes.update((code.id, code) for code in _load_codes(
            session, AccessCode.lock_id.in_(part) & pins))
    return Snapshot(
        now=now,
        properties=properties if properties is not None else load_properties(session),
        bookings=bookings,
        links=links.by_unit,
        codes=sorted(codes.values(), key=lambda code: code.id),
        capabilities=links.capabilities,
        unit_names=links.unit_names,
        lock_names=links.lock_names,
        booking_refs=refs,
        scope=scope,
    )


_BOOKING_COLUMNS = (Booking.id, Booking.property_id, Booking.status, Booking.arrival,
                    Booking.departure, Booking.arrival_time, Booking.departure_time,
                    Booking.guest_name, Booking.guest_email, Booking.pms_id,
                    Booking.codes_stopped, Booking.checkin_override, Booking.checkout_override,
                    Booking.missing_from_pms_since, BookingUnit.unit_id)
_SELECT_BOOKINGS = select(*map(driver_value, _BOOKING_COLUMNS)).outerjoin(
    BookingUnit, BookingUnit.booking_id == Booking.id)


def _load_bookings(
    session: Session, wheres: Iterable[ColumnElement[bool]]
) -> tuple[list[PlanBooking], dict[int, str]]:
    """The bookings each condition selects, as plain rows (one per booking and unit), each
    distinct date, time and state converted once: a full pass reads every booking near its
    stay."""
    connection = session.connection()
    dialect = connection.dialect
    loaded_status = Loaded(Booking.status, dialect)
    statuses = Converted(lambda raw: BookingStatus(loaded_status[raw]))
    dates, times = Loaded(Booking.arrival, dialect), Loaded(Booking.arrival_time, dialect)
    flags = Loaded(Booking.codes_stopped, dialect)
    units: dict[int, list[int]] = defaultdict(list)
    rows: dict[int, Any] = {}
    for where in wheres:
        for row in connection.execute(_SELECT_BOOKINGS.where(where)).all():
            if row[-1] is not None:
                units[row[0]].append(row[-1])
            rows.setdefault(row[0], row)
    bookings: list[PlanBooking] = []
    refs: dict[int, str] = {}
    for (booking_id, property_id, status, arrival, departure, arrival_time, departure_time,
         guest_name, guest_email, pms_id, codes_stopped, checkin_override,
         checkout_override, missing_since, _unit) in rows.values():
        booking_units = units.get(booking_id)
        bookings.append(PlanBooking(
            id=booking_id,
            property_id=property_id,
            status=statuses[status],
            arrival=dates[arrival],
            departure=dates[departure],
            unit_ids=tuple(sorted(booking_units)) if booking_units else (),
            arrival_time=times[arrival_time],
            departure_time=times[departure_time],
            guest_name=guest_name,
            guest_email=guest_email,
            codes_stopped=bool(flags[codes_stopped]),
            checkin_override=times[checkin_override],
            checkout_override=times[checkout_override],
            missing_from_pms=missing_since is not None,
        ))
        refs[booking_id] = pms_id
    return bookings, refs
