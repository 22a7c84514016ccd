"""The demo profile: a sample hotel in a throwaway profile, with simulated lock vendors.

A new user sees the whole product work without any account. Everything runs on loopback and
every secret stays in an in-memory keyring that disappears with the process.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from mangodesk.app import Context, build_context
from mangodesk.domain.clock import Clock, SystemClock
from mangodesk.domain.stay import local_instant
from mangodesk.domain.types import BookingStatus, CodeOrigin, CodeState, UnitKind
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.sim.base import DemoVendor
from mangodesk.store.models import AccessCode, Booking, BookingUnit, Property, Unit
from mangodesk.store.secrets import MemoryKeyring, SecretStore

log = logging.getLogger(__name__)

HOTEL_ZONE = "Europe/Oslo"

# Simulator modules offering ``start_for_demo() -> DemoVendor``; missing ones are skipped.
DEMO_VENDOR_MODULES = [
    "mangodesk.sim.ttlock",
    "mangodesk.sim.smartair",
    "mangodesk.sim.inlet",
    "mangodesk.sim.flexipass",
]

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
          "Kenji Watanabe", "Maria Nowak", "Olu Adeyemi", "Chen Wei", "Elena Petrova",
          "Tomás García", "Freya Lind"]


@dataclass
class Demo:
    context: Context
    vendors: list[DemoVendor] = field(default_factory=list)
    stoppers: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        for stop in self.stoppers + [v.stop for v in self.vendors]:
            try:
                stop()
            except Exception:
                log.exception("stopping a demo simulator failed")


def start_demo(paths: Paths, settings: Settings, *, clock: Clock | None = None,
               with_simulators: bool = True) -> Demo:
    clock = clock or SystemClock()
    context = build_context(paths, settings, secrets=SecretStore(MemoryKeyring()), clock=clock,
                            actor="demo")
    demo = Demo(context)
    seed_hotel(context, clock.now())
    seed_manual_locks(context, clock.now())
    if with_simulators:
        for module_name in DEMO_VENDOR_MODULES:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            starter = getattr(module, "start_for_demo", None)
            if starter is None:
                continue
            try:
                vendor = starter()
                demo.vendors.append(vendor)
                context.services.connections.connect(vendor.kind, {**vendor.values,
                                                                   **vendor.settings},
                                                     vendor.display_name)
            except Exception:
                log.exception("demo simulator %s could not start", module_name)
    original_close = context.close

    def close() -> None:
        original_close()
        demo.stop()

    context.close = close  # type: ignore[method-assign]
    return demo


def seed_hotel(context: Context, now: datetime) -> None:
    """A small hotel with bookings around today: arrivals today and tomorrow, guests in
    house, one in a week, a cancellation and a multi-room group."""
    today = now.astimezone(UTC).date()
    with context.db.transaction() as session:
        prop = Property(name="Hotel Mango (demo)", timezone=HOTEL_ZONE, pms_id="demo",
                        checkin_time=time(15, 0), checkout_time=time(11, 0),
                        lead_minutes=48 * 60, automation_enabled=True)
        session.add(prop)
        session.flush()
        by_name: dict[str, Unit] = {}
        for order, (name, kind, parent) in enumerate(UNITS):
            unit = Unit(property_id=prop.id, pms_id=f"demo-{order + 1}", name=name, kind=kind,
                        parent_id=by_name[parent].id if parent else None, active=True,
                        sort_order=order)
            session.add(unit)
            session.flush()
            by_name[name] = unit
        plan: list[tuple[str, list[str], int, int, BookingStatus]] = [
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
        for index, (ref, unit_names, start, nights, status) in enumerate(plan):
            booking = Booking(
                property_id=prop.id, pms_id=ref, status=status,
                arrival=today + timedelta(days=start),
                departure=today + timedelta(days=start + nights),
                guest_name=GUESTS[index % len(GUESTS)],
                guest_email=f"guest{index + 1}@example.com",
                channel=["Booking.com", "Airbnb", "Direct"][index % 3],
                pms_modified_at=now, synced_at=now,
            )
            booking.units = [BookingUnit(unit_id=by_name[n].id) for n in unit_names]
            session.add(booking)


def seed_manual_locks(context: Context, now: datetime) -> None:
    """Manual locks on a few units, and the codes staff typed for current guests."""
    services = context.services
    units = {row.name: row.id for row in services.units.list_units()}
    for unit_name, lock_name in [("Room 101", "Room 101 keypad"), ("Room 102", "Room 102 keypad"),
                                 ("Apartment Sol", "Sol lockbox"),
                                 ("Dorm 6 · Bed A", "Dorm front door")]:
        services.links.link(units[unit_name], manual_lock_name=lock_name)
    today = now.astimezone(UTC).date()
    with context.db.transaction() as session:
        for unit_name, code, start, end, guest in [
            ("Room 101", "482915", -1, 2, GUESTS[0]),
            ("Room 102", "730264", 0, 3, GUESTS[1]),
            ("Apartment Sol", "5307", 2, 9, GUESTS[4]),
        ]:
            unit = session.get(Unit, units[unit_name])
            assert unit is not None and unit.link is not None
            session.add(AccessCode(
                unit_id=unit.id, lock_id=unit.link.lock_id, origin=CodeOrigin.MANUAL,
                code=code, vendor_ref=f"manual:{unit.link.lock.vendor_lock_id}",
                valid_from=_at(today + timedelta(days=start), time(15, 0)),
                valid_to=_at(today + timedelta(days=end), time(11, 0)),
                guest_name=guest, state=CodeState.ACTIVE, managed=True, attempts=0,
                created_at=now, updated_at=now,
            ))


def _at(day: date, wall: time) -> datetime:
    return local_instant(day, wall, HOTEL_ZONE)
