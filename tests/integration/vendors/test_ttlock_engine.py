"""End to end over loopback: connect TTLock, link with import, and let the engine carry a
booking through T−48 h, a date change and a cancellation on the simulated lock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import select

from mangodesk.app import Context, attach_engine, build_context
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.stay import stay_window
from mangodesk.domain.types import BookingStatus, CodeOrigin, CodeState, VendorKind
from mangodesk.paths import Paths
from mangodesk.settings import Settings
from mangodesk.sim.ttlock import TTLockSimulator
from mangodesk.store.models import AccessCode, Booking, BookingUnit, Lock, Property, Unit
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import ConnectionConfig
from mangodesk.vendors.registry import VendorRegistry
from mangodesk.vendors.ttlock import TTLOCK_SPEC, TTLockAdapter, to_ms

ROOM_101 = 21318606
START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ZONE = "Europe/Oslo"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def sim(clock: FixedClock) -> Iterator[TTLockSimulator]:
    simulator = TTLockSimulator(clock).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def context(tmp_path: Path, clock: FixedClock, secret_store: SecretStore) -> Iterator[Context]:
    def factory(config: ConnectionConfig) -> TTLockAdapter:
        return TTLockAdapter(config, clock=clock)  # the simulator checks `date` on this clock

    registry = VendorRegistry([replace(TTLOCK_SPEC, factory=factory)])
    built = build_context(Paths.under(tmp_path), Settings(), secrets=secret_store, clock=clock,
                          vendors=registry, actor="desk")
    yield built
    built.close()


def codes(context: Context) -> list[AccessCode]:
    with context.db.session() as session:
        return list(session.scalars(select(AccessCode).order_by(AccessCode.id)))


def window(arrival: date, departure: date) -> tuple[int, int]:
    stay = stay_window(arrival, departure, ZONE, arrival_time=None, departure_time=None,
                       default_checkin=time(15, 0), default_checkout=time(11, 0))
    return to_ms(stay.check_in_at), to_ms(stay.check_out_at)


def test_booking_to_code_on_the_simulated_lock_and_back(context: Context, sim: TTLockSimulator,
                                                         clock: FixedClock) -> None:
    services = context.services
    result = services.connections.connect(
        VendorKind.TTLOCK, {**sim.connection_values(), "hotel_timezone": ZONE}, "TTLock")
    assert result.report.ok
    with context.db.transaction() as session:
        prop = Property(name="Hotel Fjord", timezone=ZONE, checkin_time=time(15, 0),
                        checkout_time=time(11, 0), lead_minutes=48 * 60,
                        automation_enabled=True)
        session.add(prop)
        session.flush()
        unit = Unit(property_id=prop.id, pms_id="101", name="Room 101")
        session.add(unit)
        session.flush()
        unit_id, property_id = unit.id, prop.id
        lock_id = session.scalar(select(Lock.id).where(Lock.vendor_lock_id == str(ROOM_101)))
    assert lock_id is not None

    # Link: the housekeeping code already on the lock is imported; the expired one is not.
    services.links.link(unit_id, lock_id=lock_id)
    (imported,) = codes(context)
    assert imported.origin == CodeOrigin.IMPORTED and imported.code == "2580"

    arrival, departure = date(2026, 3, 13), date(2026, 3, 16)
    with context.db.transaction() as session:
        booking = Booking(property_id=property_id, pms_id="B-1002",
                          status=BookingStatus.CONFIRMED, arrival=arrival,
                          departure=departure, guest_name="Ana Smith")
        booking.units = [BookingUnit(unit_id=unit_id)]
        session.add(booking)
        session.flush()
        booking_id = booking.id

    engine = attach_engine(context)
    engine.plan_and_enqueue()
    engine.run_due()
    assert len(sim.codes_on(ROOM_101)) == 2  # nothing new yet: check-in is 3 days ahead

    # T−48 h: check-in 13 March 15:00 Oslo = 14:00 UTC.
    clock.set(datetime(2026, 3, 11, 14, 0, tzinfo=UTC))
    calls: list[list[str]] = []
    before = len(sim.requests)
    engine.plan_and_enqueue()
    engine.run_due()
    calls.append([r.path for r in sim.requests[before:]])
    ours = [c for c in codes(context) if c.origin == CodeOrigin.BOOKING]
    assert len(ours) == 1 and ours[0].state == CodeState.ACTIVE
    pin = ours[0].code
    assert pin is not None and pin != "2580" and 4 <= len(pin) <= 9
    on_lock = sim.code(ROOM_101, pin)
    assert on_lock is not None and on_lock.on_lock
    assert (on_lock.lock_start_ms, on_lock.lock_end_ms) == window(arrival, departure)
    assert ours[0].vendor_ref == str(on_lock.keyboard_pwd_id)

    # The guest stays a night longer: same PIN, the window moves on the door.
    with context.db.transaction() as session:
        changed = session.get(Booking, booking_id)
        assert changed is not None
        changed.departure = date(2026, 3, 17)
    before = len(sim.requests)
    engine.plan_and_enqueue()
    engine.run_due()
    calls.append([r.path for r in sim.requests[before:]])
    moved = sim.code(ROOM_101, pin)
    assert moved is not None and moved.keyboard_pwd_id == on_lock.keyboard_pwd_id
    assert (moved.lock_start_ms, moved.lock_end_ms) == window(arrival, date(2026, 3, 17))

    # Cancellation: the code leaves the lock.
    with context.db.transaction() as session:
        cancelled = session.get(Booking, booking_id)
        assert cancelled is not None
        cancelled.status = BookingStatus.CANCELLED
    before = len(sim.requests)
    engine.plan_and_enqueue()
    engine.run_due()
    calls.append([r.path for r in sim.requests[before:]])
    # Create, date change, cancel: at most three requests each (#16 item 5).
    assert all(1 <= len(paths) <= 3 for paths in calls), calls
    assert sim.code(ROOM_101, pin) is None
    assert sim.code(ROOM_101, "2580") is not None  # the imported code was never touched
    ours = [c for c in codes(context) if c.origin == CodeOrigin.BOOKING]
    assert [c.state for c in ours] == [CodeState.REVOKED]
    writes = [r.params for r in sim.requests if r.path.startswith("/v3/keyboardPwd/")]
    assert [p.get("addType") or p.get("changeType") or p.get("deleteType")
            for p in writes] == ["2", "2", "2"]


def test_a_finished_stay_is_deleted_from_the_lock_to_free_its_slot(
    context: Context, sim: TTLockSimulator, clock: FixedClock
) -> None:
    """TTLock keeps expired codes in its 250 slots until they are deleted."""
    services = context.services
    services.connections.connect(VendorKind.TTLOCK, sim.connection_values(), "TTLock")
    with context.db.transaction() as session:
        prop = Property(name="Hotel Fjord", timezone=ZONE, checkin_time=time(15, 0),
                        checkout_time=time(11, 0), lead_minutes=48 * 60,
                        automation_enabled=True)
        session.add(prop)
        session.flush()
        unit = Unit(property_id=prop.id, pms_id="101", name="Room 101")
        session.add(unit)
        session.flush()
        booking = Booking(property_id=prop.id, pms_id="B-7", status=BookingStatus.CONFIRMED,
                          arrival=date(2026, 3, 11), departure=date(2026, 3, 12),
                          guest_name="Bo Lind")
        booking.units = [BookingUnit(unit_id=unit.id)]
        session.add(booking)
        unit_id = unit.id
        lock_id = session.scalar(select(Lock.id).where(Lock.vendor_lock_id == str(ROOM_101)))
    assert lock_id is not None
    services.links.link(unit_id, lock_id=lock_id)
    engine = attach_engine(context)
    engine.plan_and_enqueue()
    engine.run_due()
    (ours,) = [c for c in codes(context) if c.origin == CodeOrigin.BOOKING]
    assert ours.state == CodeState.ACTIVE and sim.code(ROOM_101, str(ours.code)) is not None

    clock.set(datetime(2026, 3, 12, 10, 30, tzinfo=UTC))  # after 11:00 Oslo check-out
    engine.plan_and_enqueue()
    engine.run_due()
    (ours,) = [c for c in codes(context) if c.origin == CodeOrigin.BOOKING]
    assert ours.state == CodeState.EXPIRED  # expired for staff, not "revoked"
    assert sim.code(ROOM_101, str(ours.code)) is None  # and its slot is free on the lock
    assert sim.code(ROOM_101, "2580") is not None  # imported codes are never cleaned up
    assert services.alerts.list() == []
