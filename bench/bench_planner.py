"""Planner benchmark: 2,000 units with realistic history in a SQLite file.

Each unit has 50 stays at 1× history (100,000 bookings), back to back, three days apart. Past
stays stay "confirmed" as Beds24 sends them and keep one expired code each; stays under way or
due soon have their live code. At 5× and 10× history only the past grows: a planner whose
cost follows the history (not the present) shows it in the growth columns.

Two figures, each against an honest floor measured in the same run:

- the full pass (``plan_and_enqueue(full=True)``, the start-up and hourly safety net) against
  the same SQL statements it ran, replayed on the raw DB-API connection with no objects built
  (writes rolled back);
- an incremental tick after the PMS re-sent 50 bookings (a changed email, nothing to do on
  the lock) against the bare SELECT of those 50 booking rows (and, for information, against
  its own statements replayed raw).

Start-up objects are settled out of the garbage collector's reach after the first passes, as
``mangodesk run`` and the desk do once started (see ``settle_long_lived_objects``).

The last line is the incremental ratio. Run:
``PYTHONPATH=. .venv/bin/python bench/bench_planner.py [HISTORY ...]`` (default 1 5 10).
"""

from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, insert, update

from mangodesk.app import settle_long_lived_objects
from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.domain.types import BookingStatus, CodeOrigin, CodeState
from mangodesk.engine.engine import Engine
from mangodesk.store.models import AccessCode, Booking, BookingUnit, Lock, Unit, UnitLink
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.vendor import FakeVendor, fake_spec
from tests.fakes.world import EPOCH, World, make_world

UNITS = 2_000
STAYS_PER_UNIT = 50  # at 1× history
FUTURE_STAYS = 5  # per unit, whatever the history
CHANGED = 50
NOW = datetime(2026, 6, 8, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
REPEAT = 5
TARGET = 2.0


def populate(world: World, history: int) -> list[int]:
    """Returns the ids of bookings under way or due (the ones a sync re-sends)."""
    stays = STAYS_PER_UNIT * history
    first_day = TODAY + timedelta(days=3 * FUTURE_STAYS) - timedelta(days=3 * stays)
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
    current: list[int] = []
    booking_id = 0
    for first_unit in range(0, UNITS, 100):
        bookings, links, codes = [], [], []
        for unit in range(first_unit, first_unit + 100):
            for k in range(stays):
                booking_id += 1
                arrival: date = first_day + timedelta(days=3 * k + unit % 3)
                departure = arrival + timedelta(days=2)
                cancelled = k % 17 == 0
                bookings.append({
                    "id": booking_id, "property_id": world.property_id,
                    "pms_id": f"B{booking_id}",
                    "status": BookingStatus.CANCELLED if cancelled else BookingStatus.CONFIRMED,
                    "arrival": arrival, "departure": departure,
                    "guest_name": f"Guest {booking_id}", "guest_email": "guest@example.org"})
                links.append({"booking_id": booking_id, "unit_id": unit + 1})
                valid_from = datetime.combine(arrival, datetime.min.time(), UTC) + \
                    timedelta(hours=15)
                valid_to = datetime.combine(departure, datetime.min.time(), UTC) + \
                    timedelta(hours=11)
                if cancelled or valid_from - timedelta(hours=48) > NOW:
                    continue
                live = valid_to > NOW
                if live:
                    current.append(booking_id)
                codes.append({
                    "unit_id": unit + 1, "lock_id": unit + 1, "origin": CodeOrigin.BOOKING,
                    "booking_id": booking_id, "code": f"{(booking_id * 7919) % 900000 + 100000}",
                    "vendor_ref": f"r{booking_id}", "valid_from": valid_from,
                    "valid_to": valid_to,
                    "state": CodeState.ACTIVE if live else CodeState.EXPIRED,
                    "managed": True, "attempts": 1, "created_at": EPOCH, "updated_at": EPOCH})
        with world.db.transaction() as s:
            s.execute(insert(Booking), bookings)
            s.execute(insert(BookingUnit), links)
            s.execute(insert(AccessCode), codes)
    return current


def median_of(func: Callable[[], object], prepare: Callable[[], object] | None = None,
              repeat: int = REPEAT) -> float:
    samples = []
    for _ in range(repeat):
        if prepare is not None:
            prepare()
        started = time.perf_counter()
        func()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def full_pass(engine: Engine) -> int:
    try:
        return engine.plan_and_enqueue(full=True)
    except TypeError:  # a version before incremental planning: every pass is full
        return engine.plan_and_enqueue()


class Recorder:
    """The SQL statements a pass sends, to replay them raw."""

    def __init__(self, world: World) -> None:
        self.statements: list[tuple[str, Any, bool]] = []
        self.recording = False
        event.listen(world.db.engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        if self.recording:
            self.statements.append((statement, parameters, executemany))

    def replay(self, world: World) -> None:
        raw = world.db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters, executemany in self.statements:
                if executemany:
                    cursor.executemany(statement, parameters)
                else:
                    cursor.execute(statement, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
            raw.rollback()
        finally:
            raw.close()


def measure(history: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        world = make_world(Path(tmp), timezone="UTC")
        started = time.perf_counter()
        current = populate(world, history)
        built = time.perf_counter() - started
        clock = FixedClock(NOW)
        engine = Engine(world.db, VendorRegistry([fake_spec(FakeVendor())]),
                        SecretStore(MemoryKeyring()), clock, EventBus())
        recorder = Recorder(world)
        try:
            queued = engine.plan_and_enqueue()
            engine.plan_and_enqueue()  # the first pass's own writes, looked at again
            settle_long_lived_objects()  # as `mangodesk run` and the desk do once started
            full = median_of(lambda: full_pass(engine))
            recorder.recording = True
            full_pass(engine)
            recorder.recording = False
            full_floor = median_of(lambda: recorder.replay(world))
            full_statements = len(recorder.statements)
            engine.plan_and_enqueue()
            rounds = iter(range(1, 1000))
            changed: list[int] = []

            def resend() -> None:
                """The PMS re-sends 50 bookings under way (a new email; nothing to do)."""
                round_number = next(rounds)
                changed[:] = current[round_number * CHANGED:(round_number + 1) * CHANGED]
                with world.db.transaction() as s:
                    s.execute(update(Booking).where(Booking.id.in_(changed))
                              .values(guest_email=f"guest{round_number}@example.org"))
                clock.advance(timedelta(seconds=30))

            tick = median_of(engine.plan_and_enqueue, resend)
            columns = ("id, property_id, status, arrival, departure, arrival_time, "
                       "departure_time, guest_name, guest_email, pms_id, codes_stopped, "
                       "checkin_override, checkout_override, missing_from_pms_since")

            def bare_select() -> None:
                raw = world.db.engine.raw_connection()
                try:
                    cursor = raw.cursor()
                    cursor.execute(f"SELECT {columns} FROM booking WHERE id IN "
                                   f"({', '.join('?' * len(changed))})", changed)
                    cursor.fetchall()
                finally:
                    raw.close()

            tick_floor = median_of(bare_select)
            resend()
            recorder.statements.clear()
            recorder.recording = True
            engine.plan_and_enqueue()
            recorder.recording = False
            tick_statements = len(recorder.statements)
            tick_replay = median_of(lambda: recorder.replay(world))
        finally:
            gc.unfreeze()
            engine.stop(5)
            world.db.dispose()
    print(f"  {history:>2}× history: {UNITS * STAYS_PER_UNIT * history:>9,} bookings, "
          f"{len(current):,} under way (built in {built:.0f} s; first pass queued {queued})")
    print(f"      full pass {full * 1000:8.1f} ms; its {full_statements} statements "
          f"replayed raw {full_floor * 1000:8.1f} ms: ratio {full / full_floor:.2f}")
    print(f"      tick with {CHANGED} changed bookings {tick * 1000:8.1f} ms; bare SELECT of "
          f"them {tick_floor * 1000:6.2f} ms: ratio {tick / tick_floor:.2f}")
    print(f"      (the tick's own {tick_statements} statements replayed raw "
          f"{tick_replay * 1000:6.2f} ms: ratio {tick / tick_replay:.2f})")
    return {"full": full, "full_floor": full_floor, "tick": tick, "tick_floor": tick_floor}


def main() -> None:
    histories = [int(arg) for arg in sys.argv[1:]] or [1, 5, 10]
    print(f"planner: {UNITS} units, {STAYS_PER_UNIT} stays per unit per 1× history, "
          f"median of {REPEAT}")
    results = {history: measure(history) for history in histories}
    first = results[histories[0]]
    print("growth against the first history:")
    for history, result in results.items():
        print(f"  {history:>2}×: full pass {result['full'] / first['full']:.2f}×, "
              f"tick {result['tick'] / first['tick']:.2f}×")
    last = results[histories[0]]
    print(f"ratio {last['tick'] / last['tick_floor']:.2f} (target {TARGET:.2f})")


if __name__ == "__main__":
    main()
