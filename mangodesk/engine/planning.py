"""Between the database and the pure planner: read a snapshot, write the planned intent.

:func:`load_snapshot` reads only what can matter now (bookings near their stay, bookings
that own a live code, every live code for PIN collisions). :func:`apply_actions` turns
planned actions into access-code rows and queued operations in the caller's transaction, so
intent and outbox are committed together before any vendor call.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, literal, select
from sqlalchemy.orm import Session, aliased

from mangodesk.domain.errors import NotFoundError, mask_code
from mangodesk.domain.events import Event, EventKind
from mangodesk.domain.pinrules import PinRules
from mangodesk.domain.pins import NoFreePinError, generate_pin, pin_problem, prefix_clash
from mangodesk.domain.planner import (
    CreateCode,
    ExpireCode,
    IssueBlocked,
    PlanBooking,
    PlanCode,
    PlannedAction,
    PlanProperty,
    PlanUnitLink,
    RevokeCode,
    UpdateWindow,
)
from mangodesk.domain.types import (
    CURRENT_CODE_STATES,
    ENDED_CODE_STATES,
    LIVE_CODE_STATES,
    OPEN_CODE_STATES,
    AlertSeverity,
    AlertSubject,
    AuditAction,
    AuditSubject,
    BookingStatus,
    CodeOrigin,
    CodeState,
    OperationKind,
    OperationStatus,
    VendorKind,
)
from mangodesk.engine.outbox import (
    OperationPayload,
    enqueue,
    open_operations,
    payload_of,
    set_payload,
)
from mangodesk.store import audit
from mangodesk.store.alerts import clear_alert, raise_alert
from mangodesk.store.driver import Converted, Loaded, chunks, driver_value
from mangodesk.store.models import (
    AccessCode,
    Booking,
    BookingUnit,
    Connection,
    Lock,
    Operation,
    Property,
    Unit,
    UnitLink,
)
from mangodesk.vendors.base import Capabilities, PinScope
from mangodesk.vendors.registry import VendorRegistry, default_specs

log = logging.getLogger(__name__)

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


# --------------------------------------------------------------------------- applying


@dataclass
class Applied:
    """What one planning pass changed, for the caller to publish after the commit."""

    events: list[Event] = field(default_factory=list)
    operations: int = 0


_DEFAULT_SCOPES: dict[str, PinScope] = {}


def pin_scope_of_lock(session: Session, lock_id: int) -> PinScope:
    """The scope the shipped provider of this lock checks a new PIN in."""
    if not _DEFAULT_SCOPES:
        _DEFAULT_SCOPES.update({str(spec.kind): spec.capabilities.pin_scope
                                for spec in default_specs()})
    kind = session.scalar(select(Connection.kind).join(Lock, Lock.connection_id == Connection.id)
                          .where(Lock.id == lock_id))
    return _DEFAULT_SCOPES.get(str(kind), PinScope.LOCK_LIVE)


@dataclass(frozen=True)
class PinHolder:
    """A code that already has a PIN where the vendor will check a new one."""

    code_id: int
    pin: str
    description: str  # "Ada Smith's code on Room 101 (12 Jun 15:00 to 14 Jun 11:00 UTC)"


def pin_holders(session: Session, lock_id: int, start: datetime | None, end: datetime | None,
                except_id: int | None = None, *,
                scope: PinScope | None = None) -> list[PinHolder]:
    """Every code the vendor compares a new PIN on ``lock_id`` against: the lock's live codes
    overlapping the window (most vendors), every code stored on the lock, expired ones
    included (TTLock), or overlapping codes on any lock of the same site (Smartair).
    Without a window: every live code in scope."""
    scope = scope or pin_scope_of_lock(session, lock_id)
    query = (select(AccessCode, Lock.name, Unit.name)
             .join(Lock, Lock.id == AccessCode.lock_id)
             .outerjoin(Unit, Unit.id == AccessCode.unit_id)
             .where(AccessCode.code.is_not(None)))
    if scope == PinScope.LOCK_ALL:
        # Expired codes stay stored on the lock until deleted; a revoked one is gone.
        query = query.where(AccessCode.lock_id == lock_id,
                            AccessCode.state != CodeState.REVOKED)
    else:
        if scope == PinScope.SITE_OVERLAPPING:
            site = select(Lock.connection_id).where(Lock.id == lock_id).scalar_subquery()
            query = query.where(Lock.connection_id == site)
        else:
            query = query.where(AccessCode.lock_id == lock_id)
        query = query.where(AccessCode.state.not_in(ENDED_CODE_STATES))
        if start is not None and end is not None:
            query = query.where(AccessCode.valid_from < end, AccessCode.valid_to > start)
    holders = []
    for code, lock_name, unit_name in session.execute(query.order_by(AccessCode.id)):
        if code.id == except_id or not code.code:
            continue
        whose = f"{code.guest_name}'s code" if code.guest_name else f"code number {code.id}"
        where = unit_name or lock_name
        if unit_name and unit_name != lock_name:
            where = f"{unit_name} ({lock_name})"
        state = code.state
        when = ("expired, still stored on the lock" if state == CodeState.EXPIRED else
                f"{code.valid_from:%d %b %H:%M} to {code.valid_to:%d %b %H:%M} UTC")
        holders.append(PinHolder(code.id, code.code, f"{whose} on {where} ({when})"))
    return holders


def taken_pins(session: Session, lock_id: int, start: datetime, end: datetime,
               except_id: int | None = None, *, scope: PinScope | None = None) -> set[str]:
    """PINs a new code on the lock must avoid, in the scope the vendor checks (see
    :func:`pin_holders`): ours, manual and imported codes alike."""
    return {holder.pin for holder in pin_holders(session, lock_id, start, end, except_id,
                                                 scope=scope)}


def choose_pin(rules: PinRules, taken: set[str], wanted: str | None) -> tuple[str, bool]:
    """Keep ``wanted`` if the lock allows it and it is free, else generate one.
    Returns (pin, kept)."""
    if wanted is not None and wanted not in taken and pin_problem(
        wanted, rules, allow_weak=True
    ) is None and not (rules.forbid_prefix_overlap and prefix_clash(wanted, taken)):
        return wanted, True
    return generate_pin(rules, taken), False


def apply_actions(
    session: Session,
    actions: Iterable[PlannedAction],
    snapshot: Snapshot,
    now: datetime,
    actor: str = audit.AUTOMATION,
) -> Applied:
    applied = Applied()
    for action in actions:
        if isinstance(action, CreateCode):
            _create(session, action, snapshot, now, actor, applied)
        elif isinstance(action, UpdateWindow):
            _update(session, action, now, actor, applied)
        elif isinstance(action, RevokeCode):
            _revoke(session, action, now, actor, applied)
        elif isinstance(action, ExpireCode):
            _expire(session, action, snapshot, now, actor, applied)
        else:
            _blocked(session, action, now, applied)
    return applied


def code_event(code: AccessCode, **extra: Any) -> Event:
    return Event(
        EventKind.CODE_CHANGED,
        subject_id=code.id,
        data={"state": str(code.state), "lock_id": code.lock_id, "unit_id": code.unit_id,
              "booking_id": code.booking_id, **extra},
    )


def alert_event(alert_id: int, severity: AlertSeverity, message: str) -> Event:
    return Event(EventKind.ALERT_RAISED, subject_id=alert_id,
                 data={"severity": str(severity), "message": message})


def _create(session: Session, action: CreateCode, snapshot: Snapshot, now: datetime,
            actor: str, applied: Applied) -> None:
    caps = snapshot.capabilities.get(action.lock_id, NOT_AUTOMATED)
    pin: str | None = None
    kept = action.pin is not None
    if caps.pin_rules is not None and not caps.vendor_generates_pin and not caps.mobile_key:
        taken = taken_pins(session, action.lock_id, action.valid_from, action.valid_to,
                           except_id=action.replaces_code_id, scope=caps.pin_scope)
        try:
            pin, kept = choose_pin(caps.pin_rules, taken, action.pin)
        except NoFreePinError as exc:
            _blocked(session, IssueBlocked(action.booking_id, action.unit_id, action.lock_id,
                                           exc.message, exc.fix or ""), now, applied)
            return
    code = AccessCode(
        unit_id=action.unit_id,
        lock_id=action.lock_id,
        origin=CodeOrigin.BOOKING,
        booking_id=action.booking_id,
        code=pin,
        valid_from=action.valid_from,
        valid_to=action.valid_to,
        guest_name=action.guest_name,
        state=CodeState.PENDING,
        managed=True,
        attempts=0,
        created_at=now,
        updated_at=now,
    )
    session.add(code)
    session.flush()
    enqueue(session, code, OperationKind.CREATE, now,
            OperationPayload(reason=action.reason, replaces_code_id=action.replaces_code_id))
    applied.operations += 1
    unit = snapshot.unit_names.get(action.unit_id, f"unit {action.unit_id}")
    audit.record(
        session, actor=actor, action=AuditAction.CODE_PLAN_CREATE, subject_kind=AuditSubject.CODE,
        subject_id=code.id, now=now,
        summary=f"Queued a code {mask_code(pin)} for {action.guest_name or 'the guest'} "
                f"on {unit}: {action.reason}",
        after={"code": mask_code(pin), "valid_from": action.valid_from.isoformat(),
               "valid_to": action.valid_to.isoformat(), "state": str(code.state)},
    )
    clear_alert(session, f"issue:{action.booking_id}:{action.unit_id}", now)
    applied.events.append(code_event(code))
    if action.replaces_code_id is not None and (action.guest_must_be_told or not kept) and (
        pin is not None
    ):
        message = (f"{action.guest_name or 'The guest'} gets a new door code for {unit}: "
                   "the old code could not be kept.")
        alert, is_new = raise_alert(
            session, dedupe_key=f"code:{code.id}:new-pin", severity=AlertSeverity.WARNING,
            subject_kind=AlertSubject.CODE, subject_id=code.id, message=message,
            fix="Tell the guest the new code once it shows as active.", now=now,
        )
        if is_new:
            applied.events.append(alert_event(alert.id, AlertSeverity.WARNING, message))


def _still_ours(code: AccessCode | None) -> bool:
    """Re-checked at write time: staff may have revoked or unmanaged it since the snapshot."""
    return code is not None and code.managed and code.state in CURRENT_CODE_STATES


def _update(session: Session, action: UpdateWindow, now: datetime, actor: str,
            applied: Applied) -> None:
    code = session.get(AccessCode, action.code_id)
    if code is None or not _still_ours(code):
        return
    before = {"valid_from": code.valid_from.isoformat(), "valid_to": code.valid_to.isoformat()}
    code.valid_from = action.valid_from
    code.valid_to = action.valid_to
    code.updated_at = now
    if code.vendor_ref is not None or open_operations(session, code.id):
        operation = enqueue(session, code, OperationKind.UPDATE, now,
                            OperationPayload(reason=action.reason, ends_stay=action.ends_stay))
        if action.ends_stay and not payload_of(operation).ends_stay:
            # folded into a queued one
            set_payload(operation, payload_of(operation).but(ends_stay=True))
        applied.operations += 1
    # else: nothing is on the lock yet (a failed create): "Retry now" uses the new window.
    audit.record(
        session, actor=actor, action=AuditAction.CODE_PLAN_UPDATE, subject_kind=AuditSubject.CODE,
        subject_id=code.id, now=now, summary=f"New dates for code {mask_code(code.code)}: "
        f"{action.reason}", before=before,
        after={"valid_from": action.valid_from.isoformat(),
               "valid_to": action.valid_to.isoformat()},
    )
    applied.events.append(code_event(code))


def _revoke(session: Session, action: RevokeCode, now: datetime, actor: str,
            applied: Applied) -> None:
    code = session.get(AccessCode, action.code_id)
    if code is None or not _still_ours(code):
        return
    before = {"state": str(code.state)}
    enqueue(session, code, OperationKind.REVOKE, now, OperationPayload(
        reason=action.reason, guest_must_not_enter=action.guest_must_not_enter,
        ends_stay=action.ends_stay))
    applied.operations += 1
    audit.record(
        session, actor=actor, action=AuditAction.CODE_PLAN_REVOKE, subject_kind=AuditSubject.CODE,
        subject_id=code.id, now=now,
        summary=f"Revoking code {mask_code(code.code)}: {action.reason}",
        before=before, after={"state": str(code.state)},
    )
    applied.events.append(code_event(code))


def _expire(session: Session, action: ExpireCode, snapshot: Snapshot, now: datetime,
            actor: str, applied: Applied) -> None:
    code = session.get(AccessCode, action.code_id)
    if code is None or not _still_ours(code):
        return
    operations = open_operations(session, code.id)
    if any(payload_of(operation).ends_stay for operation in operations):
        return  # the code is being ended on the lock; it expires once the vendor has it
    before = {"state": str(code.state)}
    for operation in operations:
        if operation.status == OperationStatus.QUEUED:
            operation.status = OperationStatus.CANCELLED
            operation.updated_at = now
    code.state = CodeState.EXPIRED
    code.updated_at = now
    caps = snapshot.capabilities.get(code.lock_id)
    if caps is not None and caps.max_codes_per_lock is not None and code.vendor_ref:
        # Expired codes stay stored on such locks (TTLock: 250 slots) until deleted, and a
        # full lock refuses new guests: delete ours once it is over. The code stays expired.
        session.add(Operation(
            access_code_id=code.id, kind=OperationKind.REVOKE, status=OperationStatus.QUEUED,
            payload=OperationPayload(cleanup=True).to_json(), attempts=0, next_attempt_at=now,
            created_at=now, updated_at=now,
        ))
    audit.record(
        session, actor=actor, action=AuditAction.CODE_EXPIRE, subject_kind=AuditSubject.CODE,
        subject_id=code.id, now=now,
        summary=f"Code {mask_code(code.code)} expired: {action.reason}",
        before=before, after={"state": str(code.state)},
    )
    applied.events.append(code_event(code))


def _blocked(session: Session, action: IssueBlocked, now: datetime, applied: Applied) -> None:
    alert, is_new = raise_alert(
        session, dedupe_key=f"issue:{action.booking_id}:{action.unit_id}",
        severity=AlertSeverity.WARNING, subject_kind=AlertSubject.LOCK,
        subject_id=action.lock_id, message=action.message, fix=action.fix, now=now,
    )
    if is_new:
        applied.events.append(alert_event(alert.id, AlertSeverity.WARNING, action.message))
