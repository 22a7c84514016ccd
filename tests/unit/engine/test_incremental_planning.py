"""Incremental planning gives what a full pass gives.

Two identical hotels receive the same random sequence of changes (new, moved, cancelled,
checked-out bookings; rooms unlinked and linked again; locks going unmanageable; staff codes;
the vendor confirming what was queued; time passing). After each step one engine plans
incrementally (its full-pass fallback set to a year, so it never hides a miss) and the other
plans everything; their codes and operations must stay equal.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, select, update

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.domain.types import BookingStatus, CodeOrigin, CodeState, OperationStatus
from mangodesk.engine import passes
from mangodesk.engine.engine import Engine, EngineConfig
from mangodesk.engine.outbox import payload_of
from mangodesk.store.models import (
    AccessCode,
    BookingUnit,
    Lock,
    Operation,
    PlanChange,
    PlanDue,
    UnitLink,
)
from mangodesk.store.secrets import MemoryKeyring, SecretStore
from mangodesk.vendors.registry import VendorRegistry
from tests import database_switch
from tests.fakes.vendor import FAKE_CAPABILITIES, FakeVendor, fake_spec
from tests.fakes.world import EPOCH, World, make_world

START = datetime(2026, 6, 5, 9, 0, tzinfo=UTC)
ROOMS = ("101", "102", "103", "104")
NEVER_FULL = EngineConfig(full_plan_interval=timedelta(days=365))
GRANULARITY = FAKE_CAPABILITIES.time_granularity
ENDED_BECOMES_EXPIRED = (CodeState.PENDING, CodeState.FAILED, CodeState.SCHEDULED,
                         CodeState.ACTIVE)


@dataclass(frozen=True)
class Step:
    name: str
    booking: int = 0  # an index into the bookings made so far
    room: int = 0
    days: int = 0
    nights: int = 1
    hours: int = 0


steps = st.one_of(
    st.builds(Step, name=st.just("book"), room=st.integers(0, 3), days=st.integers(-2, 6),
              nights=st.integers(1, 4)),
    st.builds(Step, name=st.just("move dates"), booking=st.integers(0, 20),
              days=st.integers(-3, 3), nights=st.integers(1, 4)),
    st.builds(Step, name=st.sampled_from(["cancel", "check in", "check out", "stop codes",
                                          "tentative", "missing"]),
              booking=st.integers(0, 20)),
    st.builds(Step, name=st.sampled_from(["move room", "add room"]), booking=st.integers(0, 20),
              room=st.integers(0, 3)),
    st.builds(Step, name=st.sampled_from(["unlink", "link", "unmanageable", "manageable",
                                          "staff code"]), room=st.integers(0, 3)),
    st.just(Step("vendor confirms")),
    st.builds(Step, name=st.just("time"), hours=st.integers(1, 40)),
)


class Hotel:
    def __init__(self, directory: Path, config: EngineConfig | None) -> None:
        directory.mkdir(exist_ok=True)
        self.world: World = make_world(directory)
        for room in ROOMS:
            self.world.add_room(room)
        self.clock = FixedClock(START)
        self.engine = Engine(self.world.db, VendorRegistry([fake_spec(FakeVendor())]),
                             SecretStore(MemoryKeyring()), self.clock, EventBus(), config)
        self.bookings: list[int] = []

    def close(self) -> None:
        self.engine.stop(5)
        self.world.db.dispose()

    def apply(self, step: Step) -> None:
        world, room = self.world, ROOMS[step.room]
        booking_id = self.bookings[step.booking % len(self.bookings)] if self.bookings else None
        statuses = {"cancel": BookingStatus.CANCELLED, "check in": BookingStatus.CHECKED_IN,
                    "check out": BookingStatus.CHECKED_OUT,
                    "tentative": BookingStatus.TENTATIVE}
        if step.name == "book":
            arrival = self.clock.now().date() + timedelta(days=step.days)
            self.bookings.append(world.add_booking(
                arrival, arrival + timedelta(days=step.nights), room))
        elif step.name == "time":
            self.clock.advance(timedelta(hours=step.hours))
        elif step.name in ("unlink", "link", "unmanageable", "manageable", "staff code"):
            self._lock_step(step.name, room)
        elif step.name == "vendor confirms":
            self._vendor_confirms()
        elif booking_id is None:
            return
        elif step.name == "move dates":
            arrival = self.clock.now().date() + timedelta(days=step.days)
            world.set_booking(booking_id, arrival=arrival,
                              departure=arrival + timedelta(days=step.nights))
        elif step.name in statuses:
            world.set_booking(booking_id, status=statuses[step.name])
        elif step.name == "stop codes":
            world.set_booking(booking_id, codes_stopped=True)
        elif step.name == "missing":
            world.set_booking(booking_id, missing_from_pms_since=self.clock.now())
        else:
            with world.db.transaction() as s:
                if step.name == "move room":
                    s.execute(delete(BookingUnit).where(BookingUnit.booking_id == booking_id))
                if s.get(BookingUnit, (booking_id, world.units[room])) is None:
                    s.add(BookingUnit(booking_id=booking_id, unit_id=world.units[room]))

    def _lock_step(self, name: str, room: str) -> None:
        unit_id, lock_id = self.world.units[room], self.world.locks[room]
        now = self.clock.now()
        with self.world.db.transaction() as s:
            link = s.scalar(select(UnitLink).where(UnitLink.unit_id == unit_id))
            if name == "unlink" and link is not None:
                s.delete(link)
            elif name == "link" and link is None:
                s.add(UnitLink(unit_id=unit_id, lock_id=lock_id, linked_at=EPOCH,
                               linked_by="test"))
            elif name in ("unmanageable", "manageable"):
                s.execute(update(Lock).where(Lock.id == lock_id).values(
                    manageable=name == "manageable",
                    unmanageable_reason=None if name == "manageable" else "offline"))
            elif name == "staff code":
                start = datetime.combine(now.date(), time(0), UTC)
                s.add(AccessCode(unit_id=unit_id, lock_id=lock_id, origin=CodeOrigin.MANUAL,
                                 code="2468", valid_from=start,
                                 valid_to=start + timedelta(days=4), state=CodeState.ACTIVE,
                                 vendor_ref=f"staff-{unit_id}", managed=True, attempts=0,
                                 created_at=now, updated_at=now))

    def _vendor_confirms(self) -> None:
        """What the workers record once the vendor has done every queued operation."""
        now = self.clock.now()
        with self.world.db.transaction() as s:
            for operation in s.scalars(select(Operation).where(
                    Operation.status == OperationStatus.QUEUED).order_by(Operation.id)):
                code = s.get(AccessCode, operation.access_code_id)
                assert code is not None
                payload = payload_of(operation)
                if operation.kind == "revoke":
                    if not payload.cleanup:
                        code.state = (CodeState.EXPIRED if payload.ends_stay
                                      else CodeState.REVOKED)
                elif (operation.kind == "update" and code.valid_to <= now + GRANULARITY
                      and code.state in ENDED_BECOMES_EXPIRED):
                    code.state = CodeState.EXPIRED  # the stay is over on the lock (Settler)
                else:
                    code.state = CodeState.ACTIVE
                    code.vendor_ref = code.vendor_ref or f"v{code.id}"
                code.updated_at = now
                operation.status = OperationStatus.DONE
                operation.updated_at = now

    def state(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Codes and operations, PINs left out (a new PIN is random)."""
        with self.world.db.session() as s:
            codes = [tuple(row) for row in s.execute(select(
                AccessCode.id, AccessCode.booking_id, AccessCode.unit_id, AccessCode.lock_id,
                AccessCode.origin, AccessCode.state, AccessCode.valid_from,
                AccessCode.valid_to, AccessCode.managed).order_by(AccessCode.id))]
            operations = [tuple(row) for row in s.execute(select(
                Operation.id, Operation.access_code_id, Operation.kind, Operation.status,
                Operation.next_attempt_at).order_by(Operation.id))]
        return codes, operations


def run_side_by_side(sequence: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        incremental = Hotel(Path(tmp) / "incremental", NEVER_FULL)
        full = Hotel(Path(tmp) / "full", None)
        try:
            for number, step in enumerate(sequence):
                for hotel in (incremental, full):
                    hotel.apply(step)
                incremental.engine.plan_and_enqueue()
                full.engine.plan_and_enqueue(full=True)
                assert incremental.state() == full.state(), (
                    f"after step {number} ({step}) of {sequence}")
        finally:
            incremental.close()
            full.close()


# Each example builds two databases: fewer on PostgreSQL, where that takes seconds.
@settings(max_examples=8 if database_switch.enabled() else 40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(steps, min_size=1, max_size=30))
def test_incremental_planning_equals_a_full_pass(sequence: list[Step]) -> None:
    run_side_by_side(sequence)


def test_a_moved_room_is_planned_at_the_next_tick() -> None:
    """The cursor alone (no time passing) brings a changed booking to the next pass."""
    run_side_by_side([Step("book", room=0, days=1), Step("vendor confirms"),
                      Step("move room", booking=0, room=2), Step("vendor confirms"),
                      Step("unlink", room=2), Step("link", room=2)])


def test_a_far_booking_gets_its_code_when_its_issue_time_comes() -> None:
    """Time alone (the due instants, and arrivals coming within reach) issues codes."""
    run_side_by_side([Step("book", room=1, days=6, nights=2), Step("time", hours=40),
                      Step("time", hours=40), Step("vendor confirms"), Step("time", hours=40),
                      Step("time", hours=40), Step("time", hours=40)])


def test_the_cursor_is_taken_by_the_pass_that_read_it(tmp_path: Path) -> None:
    hotel = Hotel(tmp_path, NEVER_FULL)
    try:
        hotel.engine.plan_and_enqueue()
        hotel.apply(Step("book", room=0, days=1))
        with hotel.world.db.session() as s:
            assert set(s.scalars(select(PlanChange.booking_id))) == set(hotel.bookings)
        hotel.engine.plan_and_enqueue()
        with hotel.world.db.session() as s:
            # the pass's own new code is named for the next pass to look at again
            assert set(s.scalars(select(PlanChange.booking_id))) == set(hotel.bookings)
        hotel.engine.plan_and_enqueue()
        with hotel.world.db.session() as s:
            assert s.scalars(select(PlanChange.booking_id)).all() == []
    finally:
        hotel.close()



def test_a_pass_that_fails_leaves_the_cursor_to_the_next(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The cursor is taken in the pass's own transaction: a crash plans it again later."""
    hotel = Hotel(tmp_path, NEVER_FULL)
    try:
        hotel.engine.plan_and_enqueue()
        hotel.apply(Step("book", room=0, days=1))

        def crash(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the process died mid-pass")

        with monkeypatch.context() as patch:
            patch.setattr(passes, "apply_actions", crash)
            with pytest.raises(RuntimeError):
                hotel.engine.plan_and_enqueue()
        with hotel.world.db.session() as s:
            assert set(s.scalars(select(PlanChange.booking_id))) == set(hotel.bookings)
        hotel.engine.plan_and_enqueue()
        assert [code.booking_id for code in hotel.world.codes()] == hotel.bookings
    finally:
        hotel.close()


def test_a_pass_writes_only_the_due_instants_that_moved(tmp_path: Path) -> None:
    """The hourly full pass over an unchanged hotel writes no ``plan_due`` row (it used to
    delete and insert them all); a booking whose dates move gets its new instant."""
    hotel = Hotel(tmp_path, None)
    try:
        for room in range(3):
            hotel.apply(Step("book", room=room, days=room + 3))
        hotel.engine.plan_and_enqueue(full=True)
        hotel.engine.plan_and_enqueue(full=True)
        written: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "plan_due" in statement and not statement.lstrip().startswith("SELECT"):
                written.append(statement)

        event.listen(hotel.world.db.engine, "before_cursor_execute", record)
        try:
            hotel.engine.plan_and_enqueue(full=True)
            assert written == []
            with hotel.world.db.session() as s:
                before = dict(s.execute(select(PlanDue.booking_id, PlanDue.due_at)).all())
            hotel.apply(Step("move dates", booking=0, days=2, nights=2))
            hotel.engine.plan_and_enqueue(full=True)
            with hotel.world.db.session() as s:
                after = dict(s.execute(select(PlanDue.booking_id, PlanDue.due_at)).all())
        finally:
            event.remove(hotel.world.db.engine, "before_cursor_execute", record)
        moved = hotel.bookings[0]
        assert len(written) == 1 and written[0].lstrip().startswith("UPDATE")
        assert after[moved] != before[moved]
        assert {k: v for k, v in after.items() if k != moved} == {
            k: v for k, v in before.items() if k != moved}
    finally:
        hotel.close()
