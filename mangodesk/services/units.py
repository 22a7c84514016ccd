"""The unit list behind the main grid: each unit with its lock, current code and next guest.

Built with a handful of set-based queries, not one query per unit, so 2,000 units with
20,000 codes load in well under a second.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from mangodesk.domain.types import (
    OPEN_CODE_STATES,
    AlertSubject,
    BookingStatus,
    CodeState,
    OperationStatus,
)
from mangodesk.services.base import ServiceBase
from mangodesk.services.views import BookingView, ShownState, UnitRow, shown_state
from mangodesk.store.models import (
    AccessCode,
    Alert,
    Booking,
    BookingUnit,
    Connection,
    Lock,
    Operation,
    Property,
    Unit,
    UnitLink,
)

Retries = dict[int, tuple[datetime, int]]  # code id → (next try, attempts made)

# What a grid row shows of its codes: each desk reloads the grid on every change, over every
# open code, so the rest (the vendor's bookkeeping, six instants) is not read.
GRID_CODE_COLUMNS = (AccessCode.id, AccessCode.unit_id, AccessCode.origin, AccessCode.code,
                     AccessCode.state, AccessCode.valid_from, AccessCode.valid_to,
                     AccessCode.guest_name, AccessCode.mobile_key_sent_to)


class UnitService(ServiceBase):
    def list_units(self, *, include_inactive: bool = False) -> list[UnitRow]:
        now = self.now()
        today = now.date()
        with self.db.session() as session:
            unit_query = select(Unit).order_by(Unit.sort_order, Unit.name, Unit.id)
            if not include_inactive:
                unit_query = unit_query.where(Unit.active.is_(True))
            units = session.scalars(unit_query).all()
            names = {u.id: u.name for u in units}
            links = {
                unit_id: (lock, conn)
                for unit_id, lock, conn in session.execute(
                    select(UnitLink.unit_id, Lock, Connection)
                    .join(Lock, Lock.id == UnitLink.lock_id)
                    .join(Connection, Connection.id == Lock.connection_id)
                )
            }
            codes: dict[int, list[AccessCode]] = defaultdict(list)
            for code in session.scalars(
                select(AccessCode).where(
                    AccessCode.state.in_(OPEN_CODE_STATES),
                    AccessCode.valid_to > now,
                    AccessCode.unit_id.is_not(None),
                ).options(load_only(*GRID_CODE_COLUMNS))
            ):
                assert code.unit_id is not None
                codes[code.unit_id].append(code)
            arrivals: dict[int, tuple[date, str | None, time | None]] = {}
            for unit_id, arrival, guest, expected in session.execute(
                select(BookingUnit.unit_id, Booking.arrival, Booking.guest_name,
                       Booking.arrival_time)
                .join(Booking, Booking.id == BookingUnit.booking_id)
                .where(
                    Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN]),
                    Booking.arrival >= today,
                )
                .order_by(Booking.arrival.desc())
            ):
                # descending order, so the last write is the earliest arrival
                arrivals[unit_id] = (arrival, guest, expected)
            retries = waiting_retries(session, [c.id for cs in codes.values() for c in cs])
            alerts = _open_alerts_by_unit(session, links)
            unit_names_by_lock: dict[int, list[str]] = defaultdict(list)
            all_names = dict(session.execute(select(Unit.id, Unit.name)).all())
            for linked_unit, (linked_lock, _conn) in links.items():
                unit_names_by_lock[linked_lock.id].append(all_names.get(linked_unit, ""))
            rows = []
            for unit in units:
                link = links.get(unit.id)
                row = self._row(unit, names, link, codes.get(unit.id, []),
                                arrivals.get(unit.id), now, retries,
                                self.deps.settings.max_attempts)
                if alerts.get(unit.id):
                    row = replace(row, open_alerts=alerts[unit.id])
                if link is not None:
                    shared = tuple(sorted(n for n in unit_names_by_lock[link[0].id]
                                          if n != unit.name))
                    row = replace(row, shared_with=shared,
                                  codes_not_automatic_reason=link[0].codes_not_automatic_reason)
                rows.append(row)
            return rows

    def unit(self, unit_id: int) -> UnitRow:
        for row in self.list_units(include_inactive=True):
            if row.id == unit_id:
                return row
        from mangodesk.domain.errors import NotFoundError

        raise NotFoundError(f"There is no unit number {unit_id}.")

    def bookings(self, *, around: date | None = None, days: int = 30) -> list[BookingView]:
        """Bookings arriving or staying within ``days`` of ``around`` (today by default)."""
        from datetime import timedelta

        center = around or self.now().date()
        with self.db.session() as session:
            rows = session.scalars(
                select(Booking)
                .where(Booking.departure >= center - timedelta(days=days),
                       Booking.arrival <= center + timedelta(days=days))
                .order_by(Booking.arrival, Booking.id)
            ).all()
            return [booking_view(b) for b in rows]

    def booking(self, booking_id: int) -> BookingView:
        from mangodesk.domain.errors import NotFoundError

        with self.db.session() as session:
            booking = session.get(Booking, booking_id)
            if booking is None:
                raise NotFoundError(f"There is no booking number {booking_id}.")
            return booking_view(booking)

    def find_booking(self, reference: str) -> BookingView:
        """A booking by its PMS reference (what staff see in the PMS) or local number."""
        from mangodesk.domain.errors import NotFoundError

        with self.db.session() as session:
            # Any room number of a PMS booking group finds the group (it is stored once).
            booking = session.scalars(select(Booking).where(
                Booking.pms_member_ids.like(f"%,{reference.replace(',', '')},%"),
                Booking.pms_id != reference,
            )).first() if reference and "%" not in reference and "_" not in reference else None
            if booking is None:
                booking = session.scalars(
                    select(Booking).where(Booking.pms_id == reference)).first()
            if booking is None and _is_local_number(reference):
                booking = session.get(Booking, int(reference))
            if booking is None:
                shown = reference if len(reference) <= 60 else reference[:59] + "…"
                raise NotFoundError(f"There is no booking “{shown}”.",
                                    "Check the booking reference in the PMS.")
            return booking_view(booking)

    def property(self) -> Property | None:
        with self.db.session() as session:
            return session.scalars(select(Property).order_by(Property.id)).first()

    @staticmethod
    def _row(
        unit: Unit,
        names: dict[int, str],
        link: tuple[Lock, Connection] | None,
        codes: list[AccessCode],
        arrival: tuple[date, str | None, time | None] | None,
        now: datetime,
        retries: Retries,
        max_attempts: int,
    ) -> UnitRow:
        """The row's state is always the state of the code the row shows."""
        lock, conn = link if link else (None, None)
        current = _current_code(codes, now)
        failed = sum(1 for c in codes if c.state == CodeState.FAILED)
        retry = retries.get(current.id) if current is not None else None
        if lock is None:
            status = ShownState.UNLINKED
        elif current is not None:
            status = shown_state(current.state, current.valid_from,
                                 current.valid_to, now, retrying=retry is not None)
        elif arrival is not None:
            status = ShownState.SCHEDULED  # the code is made before the guest arrives
        else:
            status = ShownState.IDLE
        return UnitRow(
            id=unit.id,
            name=unit.name,
            kind=unit.kind,
            parent_name=names.get(unit.parent_id) if unit.parent_id else None,
            sort_order=unit.sort_order,
            active=unit.active,
            lock_id=lock.id if lock else None,
            lock_name=lock.name if lock else None,
            provider=conn.kind if conn else None,
            connection_name=conn.display_name if conn else None,
            lock_manageable=lock.manageable if lock else True,
            code=current.code if current else None,
            code_valid_from=current.valid_from if current else None,
            code_valid_to=current.valid_to if current else None,
            code_guest=current.guest_name if current else None,
            code_state=current.state if current else None,
            next_arrival=arrival[0] if arrival else None,
            next_guest=arrival[1] if arrival else None,
            next_guest_expected_at=arrival[2] if arrival else None,
            status=str(status),
            failed_codes=failed,
            mobile_key_sent_to=current.mobile_key_sent_to if current else None,
            code_next_attempt_at=retry[0] if retry else None,
            code_attempts=retry[1] if retry else 0,
            max_attempts=max_attempts,
            retrying_codes=sum(1 for c in codes if c.id in retries and c is not current),
            link_version=unit.link_version,
        )


def _open_alerts_by_unit(
    session: Session, links: dict[int, tuple[Lock, Connection]]
) -> dict[int, int]:
    """Open (unacknowledged, uncleared) alerts counted against the units they concern: a
    code's unit, or every unit linked to an alerted lock."""
    counts: dict[int, int] = defaultdict(int)
    open_alerts = session.execute(
        select(Alert.subject_kind, Alert.subject_id)
        .where(Alert.acknowledged_at.is_(None), Alert.cleared_at.is_(None),
               Alert.subject_id.is_not(None))
    ).all()
    code_ids = [subject for kind, subject in open_alerts if kind == AlertSubject.CODE]
    code_units = dict(session.execute(
        select(AccessCode.id, AccessCode.unit_id).where(AccessCode.id.in_(code_ids))
    ).all()) if code_ids else {}
    units_by_lock: dict[int, list[int]] = defaultdict(list)
    for unit_id, (lock, _conn) in links.items():
        units_by_lock[lock.id].append(unit_id)
    for kind, subject in open_alerts:
        if subject is None:
            continue
        if kind == AlertSubject.CODE:
            code_unit = code_units.get(subject)
            if code_unit is not None:
                counts[code_unit] += 1
        elif kind == AlertSubject.LOCK:
            for unit_id in units_by_lock.get(subject, []):
                counts[unit_id] += 1
    return counts


def waiting_retries(session: Session, code_ids: list[int]) -> Retries:
    """Codes whose send failed and waits for its next try: one query over the few queued
    operations (indexed by status), not one per code."""
    if not code_ids:
        return {}
    wanted = set(code_ids)
    found: Retries = {}
    for code_id, next_try, attempts in session.execute(
        select(Operation.access_code_id, Operation.next_attempt_at, Operation.attempts)
        .where(Operation.status == OperationStatus.QUEUED, Operation.attempts > 0)
    ):
        if code_id in wanted:
            found[code_id] = (next_try, attempts)
    return found


def _current_code(codes: list[AccessCode], now: datetime) -> AccessCode | None:
    """The code the row shows, and whose state it shows: one that failed first (staff must
    act), else the guest code in force, else the next one to start; a code being removed
    only when nothing else is left. Imported codes (permanent keypad codes) only show when
    there is nothing else."""
    if not codes:
        return None
    ordered = sorted(codes, key=lambda c: (c.state != CodeState.FAILED,
                                           c.origin == "imported",
                                           c.state == CodeState.REVOKING,
                                           c.valid_to <= now, c.valid_from > now,
                                           c.valid_from))
    return ordered[0]


def booking_view(booking: Booking) -> BookingView:
    return BookingView(
        id=booking.id,
        pms_id=booking.pms_id,
        status=str(booking.status),
        arrival=booking.arrival,
        departure=booking.departure,
        guest_name=booking.guest_name,
        guest_email=booking.guest_email,
        unit_names=tuple(bu.unit.name for bu in booking.units),
        channel=booking.channel,
    )


def _is_local_number(reference: str) -> bool:
    """A row id the database can hold (plain 0-9 digits; "²" or 30 digits are not one)."""
    # INTEGER keys: 2**31 - 1 on PostgreSQL; a larger number is asked for, not looked up.
    return reference.isascii() and reference.isdigit() and int(reference) <= 2**31 - 1
