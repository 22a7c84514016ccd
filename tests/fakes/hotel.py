"""The hotel the desk and service tests run against, built here and owned by the tests: the
product's demo hotel (mangodesk/demo.py) may change for a nicer first impression without
moving a single test fact ("13 units", "Room 101 keypad", Ingrid Berg in Room 101).

Thirteen units of every kind (rooms, apartments, a dorm with beds), bookings around today
(in house, arriving today and tomorrow, a multi-unit group, a cancellation, a tentative one),
and optionally Manual locks on the first three rooms with the code staff typed for each stay.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from mangodesk.app import Context
from mangodesk.domain.stay import local_instant
from mangodesk.domain.types import BookingStatus, CodeOrigin, CodeState, UnitKind
from mangodesk.store.models import AccessCode, Booking, BookingUnit, Property, Unit

HOTEL_NAME = "Hotel Mango (tests)"
HOTEL_ZONE = "Europe/Oslo"

UNITS: list[tuple[str, UnitKind, str | None]] = [
    ("Room 101", UnitKind.ROOM, None),
    ("Room 102", UnitKind.ROOM, None),
    ("Room 103", UnitKind.ROOM, None),
    ("Room 104", UnitKind.ROOM, None),
    ("Double room 1", UnitKind.ROOM, None),
    ("Double room 2", UnitKind.ROOM, None),
    ("Room Marta", UnitKind.ROOM, None),
    ("Apartment Sol", UnitKind.APARTMENT, None),
    ("Apartment Fjord", UnitKind.APARTMENT, None),
    ("Dorm 6", UnitKind.ROOM, None),
    ("Dorm 6 · Bed A", UnitKind.BED, "Dorm 6"),
    ("Dorm 6 · Bed B", UnitKind.BED, "Dorm 6"),
    ("Dorm 6 · Bed C", UnitKind.BED, "Dorm 6"),
]

GUESTS = ["Ingrid Berg", "Lars Hansen", "Sofia Rossi", "James Carter", "Amélie Dubois",
          "Kenji Watanabe", "Maria Nowak", "Olu Adeyemi", "Chen Wei"]

# reference, units, first night (days from today), nights, status
BOOKINGS: list[tuple[str, list[str], int, int, BookingStatus]] = [
    ("B-1001", ["Room 101"], -1, 2, BookingStatus.CHECKED_IN),
    ("B-1002", ["Room 102"], 0, 3, BookingStatus.CONFIRMED),
    ("B-1003", ["Room 103"], 1, 4, BookingStatus.CONFIRMED),
    ("B-1004", ["Double room 1", "Room Marta"], 1, 3, BookingStatus.CONFIRMED),
    ("B-1005", ["Apartment Sol"], 2, 9, BookingStatus.CONFIRMED),
    ("B-1006", ["Apartment Fjord"], 7, 10, BookingStatus.CONFIRMED),
    ("B-1007", ["Room 104"], 3, 5, BookingStatus.CANCELLED),
    ("B-1008", ["Dorm 6 · Bed A"], 0, 2, BookingStatus.CONFIRMED),
    ("B-1009", ["Double room 2"], 12, 14, BookingStatus.TENTATIVE),
]

MANUAL_CODES = ["482915", "730264", "5307"]


def build_hotel(context: Context, now: datetime) -> None:
    """The units and bookings, nothing connected."""
    today = now.astimezone(UTC).date()
    with context.db.transaction() as session:
        prop = Property(name=HOTEL_NAME, timezone=HOTEL_ZONE, pms_id="tests",
                        checkin_time=time(15, 0), checkout_time=time(11, 0),
                        lead_minutes=48 * 60, automation_enabled=True)
        session.add(prop)
        session.flush()
        by_name: dict[str, Unit] = {}
        for order, (name, kind, parent) in enumerate(UNITS):
            unit = Unit(property_id=prop.id, pms_id=f"unit-{order + 1}", name=name, kind=kind,
                        parent_id=by_name[parent].id if parent else None, active=True,
                        sort_order=order)
            session.add(unit)
            session.flush()
            by_name[name] = unit
        for index, (ref, unit_names, start, nights, status) in enumerate(BOOKINGS):
            booking = Booking(
                property_id=prop.id, pms_id=ref, status=status,
                arrival=today + timedelta(days=start),
                departure=today + timedelta(days=start + nights),
                guest_name=GUESTS[index], guest_email=f"guest{index + 1}@example.com",
                channel=["Booking.com", "Airbnb", "Direct"][index % 3],
                pms_modified_at=now, synced_at=now,
            )
            booking.units = [BookingUnit(unit_id=by_name[n].id) for n in unit_names]
            session.add(booking)


def add_manual_locks(context: Context, now: datetime) -> None:
    """A Manual lock "<unit> keypad" on each of the first three rooms, with the code staff
    typed for its current or next guest (the Manual provider's way of keying a stay)."""
    services = context.services
    rows = [r for r in services.units.list_units() if r.kind != UnitKind.BED][:3]
    today = now.astimezone(UTC).date()
    for row in rows:
        services.links.link(row.id, manual_lock_name=f"{row.name} keypad")
    with context.db.transaction() as session:
        for row, pin in zip(rows, MANUAL_CODES, strict=True):
            unit = session.get(Unit, row.id)
            assert unit is not None and unit.link is not None
            stay = session.scalars(
                select(Booking).join(BookingUnit, BookingUnit.booking_id == Booking.id)
                .where(BookingUnit.unit_id == unit.id, Booking.departure > today,
                       Booking.status.in_([BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN]))
                .order_by(Booking.arrival)
            ).first()
            start, end = ((stay.arrival, stay.departure) if stay else
                          (today, today + timedelta(days=2)))
            session.add(AccessCode(
                unit_id=unit.id, lock_id=unit.link.lock_id, origin=CodeOrigin.MANUAL,
                booking_id=stay.id if stay else None, code=pin,
                vendor_ref=f"manual:{unit.link.lock.vendor_lock_id}",
                valid_from=_local(start, time(15, 0)), valid_to=_local(end, time(11, 0)),
                guest_name=stay.guest_name if stay else None, state=CodeState.ACTIVE,
                managed=True, attempts=0, created_at=now, updated_at=now,
            ))


def _local(day: date, wall: time) -> datetime:
    return local_instant(day, wall, HOTEL_ZONE)
