"""Planner benchmark: 2,000 units, 100,000 bookings, 10,000 codes in a SQLite file.

Prints the time of one planning pass (``Engine.plan_and_enqueue``: snapshot, pure plan,
writes) in steady state, the pure ``plan()`` part alone, and the ratio to a bare indexed
SELECT of the due bookings measured in the same run (the floor any planner pays).

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_planner.py``
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.domain.planner import plan
from mangodesk.domain.types import BookingStatus, CodeOrigin, CodeState
from mangodesk.engine.engine import Engine
from mangodesk.engine.planning import load_snapshot
from mangodesk.store.models import (
    AccessCode,
    Booking,
    BookingUnit,
    Lock,
    Unit,
    UnitLink,
)
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.vendor import FakeVendor, fake_spec
from tests.fakes.world import EPOCH, World, make_world

UNITS = 2_000
BOOKINGS = 100_000
CODES = 10_000
NOW = datetime(2026, 6, 8, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
REPEAT = 5


def populate(world: World) -> None:
    """50 two-night stays per unit, back to back around today; codes for the latest 5."""
    first_day = TODAY - timedelta(days=75)
    with world.db.transaction() as s:
        s.execute(insert(Unit), [
            {"id": n + 1, "property_id": world.property_id, "pms_id": f"U{n}", "name": f"{n}"}
            for n in range(UNITS)])
        s.execute(insert(Lock), [
            {"id": n + 1, "connection_id": world.connection_id, "vendor_lock_id": f"L{n}",
             "name": f"Lock {n}", "attributes": {}, "manageable": True, "present": True}
            for n in range(UNITS)])
        s.execute(insert(UnitLink), [
            {"unit_id": n + 1, "lock_id": n + 1, "linked_at": EPOCH, "linked_by": "bench"}
            for n in range(UNITS)])
        bookings, links, codes = [], [], []
        per_unit = BOOKINGS // UNITS
        for unit in range(UNITS):
            for k in range(per_unit):
                booking_id = unit * per_unit + k + 1
                arrival: date = first_day + timedelta(days=3 * k + unit % 3)
                status = BookingStatus.CANCELLED if k % 17 == 0 else (
                    BookingStatus.CHECKED_OUT if arrival < TODAY - timedelta(days=3)
                    else BookingStatus.CONFIRMED)
                bookings.append({"id": booking_id, "property_id": world.property_id,
                                 "pms_id": f"B{booking_id}", "status": status,
                                 "arrival": arrival, "departure": arrival + timedelta(days=2),
                                 "guest_name": f"Guest {booking_id}"})
                links.append({"booking_id": booking_id, "unit_id": unit + 1})
                # codes for the 5 stays around the last 2 weeks: 2,000 × 5 = 10,000
                if 22 <= k < 27:
                    valid_from = datetime.combine(arrival, datetime.min.time(), UTC) + \
                        timedelta(hours=15)
                    valid_to = valid_from + timedelta(days=2) - timedelta(hours=4)
                    live = valid_to > NOW and status == BookingStatus.CONFIRMED
                    codes.append({
                        "unit_id": unit + 1, "lock_id": unit + 1, "origin": CodeOrigin.BOOKING,
                        "booking_id": booking_id,
                        "code": f"{(booking_id * 7919) % 900000 + 100000}",
                        "vendor_ref": f"r{booking_id}", "valid_from": valid_from,
                        "valid_to": valid_to,
                        "state": CodeState.ACTIVE if live else CodeState.EXPIRED,
                        "managed": True, "attempts": 1, "created_at": EPOCH, "updated_at": EPOCH})
        s.execute(insert(Booking), bookings)
        s.execute(insert(BookingUnit), links)
        s.execute(insert(AccessCode), codes[:CODES])


def timed(func: object, repeat: int = REPEAT) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        func()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(Path(tmp), timezone="UTC")
        started = time.perf_counter()
        populate(world)
        print(f"planner: {UNITS} units, {BOOKINGS} bookings, {CODES} codes "
              f"(built in {time.perf_counter() - started:.1f} s)")
        fake = FakeVendor()
        engine = Engine(world.db, VendorRegistry([fake_spec(fake)]),
                        SecretStore(MemoryKeyring()), FixedClock(NOW), EventBus())
        try:
            started = time.perf_counter()
            queued = engine.plan_and_enqueue()
            first = time.perf_counter() - started
            print(f"  first pass ({queued} operations queued: every due stay already has "
                  f"its code): {first * 1000:8.1f} ms")
            steady = timed(engine.plan_and_enqueue)
            with world.db.session() as s:
                snapshot = load_snapshot(s, engine.vendors, NOW)
            pure = timed(lambda: plan(NOW, snapshot.properties, snapshot.bookings,
                                      snapshot.links, snapshot.codes))
            due = select(Booking.id).where(
                Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)),
                Booking.arrival <= (NOW + timedelta(hours=48)).date(),
                Booking.departure >= TODAY)

            def bare_select() -> None:
                with world.db.session() as s:
                    s.execute(due).all()

            baseline = timed(bare_select)
            with world.db.session() as s:
                due_count = len(s.execute(due).all())
        finally:
            engine.stop(5)
            world.db.dispose()
        print(f"  steady planning pass (median of {REPEAT}):   {steady * 1000:8.1f} ms")
        print(f"  of which the pure plan() over {len(snapshot.bookings)} bookings, "
              f"{len(snapshot.codes)} live codes: {pure * 1000:.1f} ms")
        print(f"  bare indexed SELECT of the {due_count} due bookings: {baseline * 1000:8.1f} ms")
        print(f"  ratio planning pass / bare SELECT: {steady / baseline:.1f}")


if __name__ == "__main__":
    main()
