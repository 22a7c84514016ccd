"""A whole hotel on loopback for scenario tests: the Beds24 simulator feeds the sync, the
planner and the engine run on an injected clock, and the TTLock simulator is the door.

Each scenario moves the clock, changes the booking in the simulated PMS (or the code in the
simulated TTLock app), runs one pass (sync, plan, run) and asserts what the door itself
enforces: which PINs open it, for exactly which UTC window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from mangodesk.app import Context, attach_engine, build_context
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.stay import stay_window
from mangodesk.domain.types import CodeOrigin, VendorKind
from mangodesk.engine.engine import Engine
from mangodesk.paths import Paths
from mangodesk.pms.beds24 import Beds24Adapter, Beds24Settings
from mangodesk.pms.connect import connect_beds24, load_beds24_settings
from mangodesk.pms.sync import SyncEngine
from mangodesk.settings import Settings
from mangodesk.sim.beds24 import Beds24Simulator
from mangodesk.sim.ttlock import TTLockSimulator
from mangodesk.store.models import AccessCode, Alert, Booking, Lock, Property, Unit
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import ConnectionConfig
from mangodesk.vendors.registry import VendorRegistry
from mangodesk.vendors.ttlock import TTLOCK_SPEC, TTLockAdapter, to_ms

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TODAY = date(2026, 3, 10)
ROOM_101 = 21318606  # the simulator's "Room 101"
ROOM_102 = 21318611  # its "Room 102" (a plumber's code is on it)
FAST = httpx.Timeout(connect=2.0, read=2.0, write=2.0, pool=2.0)

Door = list[tuple[str, datetime, datetime]]


@dataclass
class Hotel:
    context: Context
    clock: FixedClock
    pms: Beds24Simulator
    locks: TTLockSimulator
    sync: SyncEngine
    engine: Engine
    unit_id: int
    room_id: int  # Beds24 room (type) of the linked units
    pms_units: tuple[int, int]  # Beds24 unit numbers inside that room: Room 101, Room 102
    not_ours: frozenset[str]  # PINs on the doors before Mangodesk (housekeeping, plumber…)

    def run(self, at: datetime | None = None) -> None:
        """One pass as the app makes it: sync the PMS, plan, carry out (twice: a follow-up
        queued by an outcome, e.g. a replacement, goes out in the same pass)."""
        if at is not None:
            self.clock.set(at)
        assert self.sync.run_once().ok
        for _ in range(2):
            self.engine.plan_and_enqueue()
            self.engine.run_due()

    def door(self, lock: int = ROOM_101) -> Door:
        """Mangodesk's codes the door enforces now: (PIN, from, to) in UTC."""
        return sorted((c.pwd, _from_ms(c.lock_start_ms), _from_ms(c.lock_end_ms))
                      for c in self.locks.codes_on(lock)
                      if c.on_lock and c.pwd not in self.not_ours)

    def stay(self, arrival: date, departure: date) -> tuple[datetime, datetime]:
        with self.context.db.session() as session:
            prop = session.scalars(select(Property)).one()
            window = stay_window(arrival, departure, prop.timezone, arrival_time=None,
                                 departure_time=None, default_checkin=prop.checkin_time,
                                 default_checkout=prop.checkout_time)
        return window.check_in_at, window.check_out_at

    def book(self, arrival: date, departure: date, **guest: str) -> int:
        return self.pms.add_booking(self.room_id, self.pms_units[0], arrival, departure,
                                    **guest)

    def codes(self, pms_booking: int) -> list[AccessCode]:
        with self.context.db.session() as session:
            return list(session.scalars(
                select(AccessCode).join(Booking, AccessCode.booking_id == Booking.id)
                .where(Booking.pms_id == str(pms_booking),
                       AccessCode.origin == CodeOrigin.BOOKING)
                .order_by(AccessCode.id)))

    def open_alerts(self) -> list[Alert]:
        with self.context.db.session() as session:
            return list(session.scalars(select(Alert).where(Alert.cleared_at.is_(None))))

    def delete_in_vendor_app(self, pin: str) -> None:
        """Staff delete the code in the TTLock app (the simulator's cloud and door)."""
        with self.locks._state:
            codes = self.locks._codes[ROOM_101]
            codes[:] = [c for c in codes if c.pwd != pin]


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


@pytest.fixture
def hotel(tmp_path: Path, secret_store: SecretStore) -> Iterator[Hotel]:
    clock = FixedClock(START)
    pms = Beds24Simulator(TODAY, rooms=4, bookings=0, clock=clock).start()
    locks = TTLockSimulator(clock).start()

    def factory(config: ConnectionConfig) -> TTLockAdapter:
        return TTLockAdapter(config, clock=clock)

    context = build_context(Paths.under(tmp_path), Settings(), secrets=secret_store, clock=clock,
                            vendors=VendorRegistry([replace(TTLOCK_SPEC, factory=factory)]),
                            actor="desk")
    sync: SyncEngine | None = None
    try:
        assert context.services.connections.connect(
            VendorKind.TTLOCK, locks.connection_values(), "TTLock").report.ok
        connect_beds24(context.db, secret_store, clock, pms.create_invite_code(),
                       Beds24Settings(base_url=pms.base_url))
        settings = load_beds24_settings(context.db)
        assert settings is not None
        sync = SyncEngine(context.db, Beds24Adapter(secrets=secret_store, clock=clock,
                                                    settings=settings, timeout=FAST),
                          clock, context.events)
        assert sync.run_once().ok
        room = pms.properties[0].rooms[0]
        linked: list[int] = []
        for (_, unit_name), door in zip(room.units[:2], (ROOM_101, ROOM_102), strict=True):
            with context.db.session() as session:
                unit_id = session.scalars(select(Unit.id).where(Unit.name.contains(unit_name))
                                          .order_by(Unit.id)).first()
                lock_id = session.scalar(select(Lock.id).where(Lock.vendor_lock_id ==
                                                               str(door)))
            assert unit_id is not None and lock_id is not None
            context.services.links.link(unit_id, lock_id=lock_id)
            linked.append(unit_id)
        not_ours = frozenset(c.pwd for door in (ROOM_101, ROOM_102)
                             for c in locks.codes_on(door))
        yield Hotel(context, clock, pms, locks, sync, attach_engine(context), linked[0],
                    room.id, (room.units[0][0], room.units[1][0]), not_ours)
    finally:
        if sync is not None:
            sync.close()
        context.close()
        locks.stop()
        pms.stop()


__all__ = ["ROOM_101", "ROOM_102", "START", "TODAY", "Door", "Hotel", "to_ms"]
