"""A small hotel in a real (file) database for engine tests: one property in Oslo, rooms,
one provider connection, one lock per room, and helpers to add bookings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import func, select

from mangodesk.domain.types import BookingStatus, CodeState, VendorKind
from mangodesk.store.db import Database, sqlite_url
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

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class World:
    db: Database
    property_id: int
    connection_id: int
    units: dict[str, int] = field(default_factory=dict)  # unit name -> id
    locks: dict[str, int] = field(default_factory=dict)  # unit name -> lock id
    _bookings: int = 0

    def add_room(self, name: str, *, serial_key: str | None = None,
                 manageable: bool = True) -> int:
        with self.db.transaction() as s:
            unit = Unit(property_id=self.property_id, pms_id=name, name=name)
            lock = Lock(connection_id=self.connection_id, vendor_lock_id=f"lock-{name}",
                        name=f"Lock {name}", serial_key=serial_key, manageable=manageable,
                        unmanageable_reason=None if manageable else "no gateway")
            s.add_all([unit, lock])
            s.flush()
            s.add(UnitLink(unit_id=unit.id, lock_id=lock.id, linked_at=EPOCH,
                           linked_by="test"))
            self.units[name] = unit.id
            self.locks[name] = lock.id
            return unit.id

    def add_booking(self, arrival: date, departure: date, *rooms: str,
                    status: BookingStatus = BookingStatus.CONFIRMED,
                    guest: str = "Ada Smith") -> int:
        self._bookings += 1
        with self.db.transaction() as s:
            booking = Booking(property_id=self.property_id, pms_id=f"B{self._bookings}",
                              status=status, arrival=arrival, departure=departure,
                              guest_name=guest, guest_email="guest@example.org")
            s.add(booking)
            s.flush()
            for room in rooms:
                s.add(BookingUnit(booking_id=booking.id, unit_id=self.units[room]))
            return booking.id

    def set_booking(self, booking_id: int, **values: object) -> None:
        with self.db.transaction() as s:
            booking = s.get(Booking, booking_id)
            assert booking is not None
            for key, value in values.items():
                setattr(booking, key, value)

    def codes(self) -> list[AccessCode]:
        with self.db.session() as s:
            return list(s.scalars(select(AccessCode).order_by(AccessCode.id)))

    def code(self) -> AccessCode:
        (only,) = self.codes()
        return only

    def operations(self) -> list[Operation]:
        with self.db.session() as s:
            return list(s.scalars(select(Operation).order_by(Operation.id)))

    def alerts(self) -> list[Alert]:
        with self.db.session() as s:
            return list(s.scalars(select(Alert).order_by(Alert.id)))

    def count_state(self, state: CodeState) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.count()).select_from(AccessCode)
                                .where(AccessCode.state == state)) or 0)


def make_world(directory: Path, *, kind: VendorKind = VendorKind.TTLOCK,
               timezone: str = "Europe/Oslo", settings: dict[str, object] | None = None,
               url: str | None = None) -> World:
    db = Database(url or sqlite_url(directory / "engine.sqlite"))
    db.upgrade()  # the explicit upgrade: a shared server never upgrades itself at start-up
    with db.transaction() as s:
        prop = Property(name="Hotel Fjord", timezone=timezone, checkin_time=time(15, 0),
                        checkout_time=time(11, 0), lead_minutes=48 * 60,
                        automation_enabled=True)
        connection = Connection(kind=kind, display_name="Locks", settings=settings or {},
                                created_at=EPOCH)
        s.add_all([prop, connection])
        s.flush()
        return World(db=db, property_id=prop.id, connection_id=connection.id)
