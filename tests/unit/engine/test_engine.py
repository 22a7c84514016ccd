"""The engine against the scriptable fake vendor, with a fixed clock (no sleeping)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.errors import ValidationError
from mangodesk.domain.events import Event, EventKind
from mangodesk.domain.types import (
    AlertSeverity,
    BookingStatus,
    CodeState,
    OperationKind,
    OperationStatus,
)
from mangodesk.engine.engine import Engine
from mangodesk.store.models import AccessCode, AuditEvent, Operation
from mangodesk.vendors.base import (
    AlreadyGoneError,
    CodeConflictError,
    PermanentError,
    TransientError,
)
from tests.fakes.vendor import FakeVendor
from tests.fakes.world import World
from tests.unit.engine.conftest import CONFIG, ISSUE_AT

ARRIVAL, DEPARTURE = date(2026, 6, 10), date(2026, 6, 12)
RETRY_STEP = CONFIG.retry_interval + CONFIG.jitter


def run_until_settled(engine: Engine, clock: FixedClock, rounds: int = 40) -> int:
    """Tick, then move the clock past the retry delay, until nothing is left queued."""
    for ticks in range(1, rounds + 1):
        engine.tick()
        with engine.db.session() as s:
            queued = s.scalars(select(Operation).where(
                Operation.status.in_((OperationStatus.QUEUED, OperationStatus.RUNNING)))).all()
        if not queued:
            return ticks
        clock.advance(RETRY_STEP)
    raise AssertionError("operations still queued")


def test_nothing_before_issue_time(engine: Engine, world: World,
                                   engine_clock: FixedClock) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine_clock.set(ISSUE_AT - timedelta(minutes=1))
    assert engine.tick() == 0
    assert world.codes() == []


def test_code_created_at_issue_time(engine: Engine, world: World, fake: FakeVendor,
                                    published: list[Event]) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    assert engine.plan_and_enqueue() == 1
    pending = world.code()
    assert pending.state == CodeState.PENDING and pending.code is not None
    assert fake.calls == []  # intent first, vendor later
    assert engine.run_due() == 1
    code = world.code()
    assert code.state == CodeState.ACTIVE and code.vendor_ref is not None
    assert fake.pins_on("lock-101") == [code.code]
    assert [e.data["state"] for e in published if e.kind == EventKind.CODE_CHANGED] == [
        "pending", "active"]
    with world.db.session() as s:
        audits = list(s.scalars(select(AuditEvent)))
    assert audits and all(a.actor == "automation" for a in audits)
    assert code.code is not None
    assert all(code.code not in a.summary + str(a.before) + str(a.after) for a in audits)
    # a second pass plans nothing more
    assert engine.tick() == 0


def test_multi_unit_booking_gets_a_code_on_every_lock(engine: Engine, world: World,
                                                      fake: FakeVendor) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101", "102", "103")
    engine.tick()
    assert [c.state for c in world.codes()] == [CodeState.ACTIVE] * 3
    assert all(len(fake.pins_on(f"lock-{room}")) == 1 for room in ("101", "102", "103"))


@pytest.mark.expect_log(r"failed \(transient, attempt", logger="mangodesk.engine")
def test_transient_29_times_then_success(engine: Engine, world: World, fake: FakeVendor,
                                         engine_clock: FixedClock) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", TransientError("Gateway busy."), times=29)
    run_until_settled(engine, engine_clock)
    code = world.code()
    assert code.state == CodeState.ACTIVE
    assert fake.count("create_code") == 30
    (operation,) = world.operations()
    assert operation.attempts == 30 and operation.status == OperationStatus.DONE
    assert world.alerts() == []
    assert len(fake.pins_on("lock-101")) == 1


@pytest.mark.expect_log(r"failed \(transient, attempt", logger="mangodesk.engine")
def test_thirty_transient_failures_fail_with_one_alert(engine: Engine, world: World,
                                                       fake: FakeVendor,
                                                       engine_clock: FixedClock,
                                                       published: list[Event]) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", TransientError("Gateway busy."), times=40)
    run_until_settled(engine, engine_clock)
    assert world.code().state == CodeState.FAILED
    assert fake.count("create_code") == 30
    (alert,) = world.alerts()
    assert alert.severity == AlertSeverity.ERROR
    assert "could not be created (gave up after 30 attempt(s))" in alert.message
    assert "try again" not in alert.message + (alert.fix or "")
    assert [e.kind for e in published].count(EventKind.ALERT_RAISED) == 1
    assert [e.kind for e in published].count(EventKind.OPERATION_FAILED) == 1
    engine_clock.advance(timedelta(hours=3))
    engine.tick()
    assert fake.count("create_code") == 30  # given up: no more calls, no new code planned
    assert len(world.codes()) == 1


@pytest.mark.expect_log(r"failed \(transient, attempt", logger="mangodesk.engine")
def test_retry_waits_for_the_interval_with_jitter(engine: Engine, world: World,
                                                  fake: FakeVendor) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", TransientError("Timeout."), times=1)
    engine.tick()
    (operation,) = world.operations()
    delay = operation.next_attempt_at - ISSUE_AT
    assert CONFIG.retry_interval - CONFIG.jitter <= delay <= CONFIG.retry_interval + CONFIG.jitter
    assert engine.run_due() == 0
    assert engine.run_due(operation.next_attempt_at) == 1
    assert world.code().state == CodeState.ACTIVE


@pytest.mark.expect_log(r"failed \(ambiguous, attempt", logger="mangodesk.engine")
def test_lost_create_response_leaves_exactly_one_code(engine: Engine, world: World,
                                                      fake: FakeVendor,
                                                      engine_clock: FixedClock) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.lose_response("create_code")
    run_until_settled(engine, engine_clock)
    code = world.code()
    assert code.state == CodeState.ACTIVE
    assert fake.pins_on("lock-101") == [code.code]
    assert fake.count("create_code") == 1 and fake.count("list_codes") == 1


@pytest.mark.expect_log(r"failed \(ambiguous, attempt", logger="mangodesk.engine")
def test_lost_create_response_that_did_not_land_creates_again(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    from mangodesk.vendors.base import AmbiguousError

    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", AmbiguousError("No answer."), times=1)
    run_until_settled(engine, engine_clock)
    assert len(fake.pins_on("lock-101")) == 1
    assert fake.count("create_code") == 2 and fake.count("list_codes") == 1


@pytest.mark.expect_log(r"failed \(permanent, attempt", logger="mangodesk.engine")
def test_permanent_error_no_retries_one_alert(engine: Engine, world: World, fake: FakeVendor,
                                              engine_clock: FixedClock) -> None:
    error = PermanentError("The lock was removed from the account.",
                           "Link the room to another lock.")
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", error, times=5)
    run_until_settled(engine, engine_clock)
    assert fake.count("create_code") == 1
    assert world.code().state == CodeState.FAILED
    (alert,) = world.alerts()
    assert alert.fix == error.fix and error.message in alert.message


@pytest.mark.expect_log(r"failed \(conflict, attempt", logger="mangodesk.engine")
def test_pin_conflict_picks_a_new_pin(engine: Engine, world: World, fake: FakeVendor) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", CodeConflictError("Exists."), times=2)
    engine.tick()
    code = world.code()
    assert code.state == CodeState.ACTIVE
    tried = [c.pin for c in fake.calls if c.method == "create_code"]
    assert len(tried) == 3 and len(set(tried)) == 3 and tried[-1] == code.code
    assert world.alerts() == []


@pytest.mark.expect_log(r"failed \(conflict, attempt", logger="mangodesk.engine")
def test_pin_conflict_gives_up_after_five_new_pins(engine: Engine, world: World,
                                                   fake: FakeVendor) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", CodeConflictError("Exists."), times=10)
    engine.tick()
    assert fake.count("create_code") == 6
    assert world.code().state == CodeState.FAILED
    assert len(world.alerts()) == 1


def test_generated_pin_avoids_codes_already_on_the_lock_in_the_database(
        engine: Engine, world: World, fake: FakeVendor) -> None:
    from mangodesk.domain.types import CodeOrigin
    from mangodesk.store.models import AccessCode

    with world.db.transaction() as s:
        for n in range(50):
            s.add(AccessCode(unit_id=None, lock_id=world.locks["101"], origin=CodeOrigin.IMPORTED,
                             code=f"{n:06d}", valid_from=ISSUE_AT, valid_to=ISSUE_AT +
                             timedelta(days=30), state=CodeState.ACTIVE, created_at=ISSUE_AT,
                             updated_at=ISSUE_AT))
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.plan_and_enqueue()
    (mine,) = [c for c in world.codes() if c.origin == CodeOrigin.BOOKING]
    assert mine.code not in {f"{n:06d}" for n in range(50)}


def test_cancellation_revokes_the_code(engine: Engine, world: World, fake: FakeVendor,
                                       engine_clock: FixedClock) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    world.set_booking(booking, status=BookingStatus.CANCELLED)
    engine_clock.advance(timedelta(hours=1))
    engine.tick()
    assert world.code().state == CodeState.REVOKED
    assert fake.pins_on("lock-101") == []


def test_cancellation_before_the_create_ran_needs_no_vendor_call(
        engine: Engine, world: World, fake: FakeVendor) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.plan_and_enqueue()
    world.set_booking(booking, status=BookingStatus.CANCELLED)
    engine.tick()
    assert world.code().state == CodeState.REVOKED
    assert fake.calls == []
    assert [o.status for o in world.operations()] == [OperationStatus.CANCELLED,
                                                      OperationStatus.DONE]


@pytest.mark.expect_log(r"failed \(permanent, attempt", logger="mangodesk.engine")
def test_failed_revoke_of_a_cancelled_booking_is_critical(engine: Engine, world: World,
                                                          fake: FakeVendor,
                                                          engine_clock: FixedClock) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    world.set_booking(booking, status=BookingStatus.CANCELLED)
    fake.fail("revoke_code", PermanentError("The lock is offline for good."), times=1)
    engine.tick()
    (alert,) = world.alerts()
    assert alert.severity == AlertSeverity.CRITICAL
    assert alert.message.startswith("A guest who should not enter still can")
    assert world.code().state == CodeState.FAILED


def test_already_gone_on_revoke_is_success(engine: Engine, world: World, fake: FakeVendor) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    world.set_booking(booking, status=BookingStatus.CANCELLED)
    fake.fail("revoke_code", AlreadyGoneError("Not there."), times=1)
    engine.tick()
    assert world.code().state == CodeState.REVOKED
    assert world.alerts() == []


def test_date_change_updates_the_code_on_the_lock(engine: Engine, world: World,
                                                  fake: FakeVendor) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    world.set_booking(booking, departure=date(2026, 6, 14))
    engine.tick()
    code = world.code()
    assert code.state == CodeState.ACTIVE
    (on_lock,) = fake.codes["lock-101"].values()
    assert on_lock.valid_to == code.valid_to
    assert code.valid_to.isoformat() == "2026-06-14T09:00:00+00:00"
    assert [o.kind for o in world.operations()] == [OperationKind.CREATE, OperationKind.UPDATE]


def test_queued_update_reads_the_latest_window(engine: Engine, world: World,
                                               fake: FakeVendor) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    world.set_booking(booking, departure=date(2026, 6, 14))
    engine.plan_and_enqueue()
    world.set_booking(booking, departure=date(2026, 6, 15))
    engine.plan_and_enqueue()
    engine.run_due()
    assert fake.count("update_code") == 1
    (on_lock,) = fake.codes["lock-101"].values()
    assert on_lock.valid_to is not None and on_lock.valid_to.day == 15


def test_expiry_is_local(engine: Engine, world: World, fake: FakeVendor,
                         engine_clock: FixedClock) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    engine_clock.advance(timedelta(days=4))
    calls = len(fake.calls)
    engine.tick()
    assert world.code().state == CodeState.EXPIRED
    assert len(fake.calls) == calls


def test_room_move_keeps_the_pin(engine: Engine, world: World, fake: FakeVendor) -> None:
    from mangodesk.store.models import BookingUnit

    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    pin = world.code().code
    with world.db.transaction() as s:
        s.execute(BookingUnit.__table__.update().where(BookingUnit.booking_id == booking)
                  .values(unit_id=world.units["102"]))
    engine.tick()
    old, new = world.codes()
    assert old.state == CodeState.REVOKED and new.state == CodeState.ACTIVE
    assert new.code == pin and new.unit_id == world.units["102"]
    assert fake.pins_on("lock-101") == [] and fake.pins_on("lock-102") == [pin]


def test_unmanageable_lock_alerts_once(engine: Engine, world: World,
                                       engine_clock: FixedClock) -> None:
    world.add_room("104", manageable=False)
    world.add_booking(ARRIVAL, DEPARTURE, "104")
    engine.tick()
    engine_clock.advance(timedelta(minutes=1))
    engine.tick()
    (alert,) = world.alerts()
    assert "cannot be managed remotely (no gateway)" in alert.message
    assert world.codes() == []


@pytest.mark.expect_log(r"failed \(permanent, attempt", logger="mangodesk.engine")
def test_retry_now_resets_a_failed_code(engine: Engine, world: World, fake: FakeVendor) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", PermanentError("Lock busy updating firmware."), times=1)
    engine.tick()
    code = world.code()
    assert code.state == CodeState.FAILED
    engine.retry_now(code.id, "Maria")
    assert world.code().state == CodeState.PENDING
    engine.run_due()
    assert world.code().state == CodeState.ACTIVE
    (alert,) = world.alerts()
    assert alert.cleared_at is not None
    with pytest.raises(ValidationError):
        engine.retry_now(code.id, "Maria")


@pytest.mark.expect_log(
    r"\d+ operation\(s\) were interrupted; the locks will",
    logger="mangodesk.engine")
def test_interrupted_create_is_read_back_not_duplicated(engine: Engine, world: World,
                                                        fake: FakeVendor) -> None:
    from mangodesk.vendors.base import CodeRequest

    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.plan_and_enqueue()
    pending = world.code()
    # The previous process claimed the create and sent it, the lock made the code, then the
    # process died.
    (operation,) = world.operations()
    assert engine.claims.claim(operation.id) is not None
    fake.create_code("lock-101", CodeRequest(pending.valid_from, pending.valid_to,
                                             pin=pending.code))
    engine.holder = "a new process"
    assert engine.recover_interrupted() == 1
    engine.run_due()
    assert world.code().state == CodeState.ACTIVE
    assert fake.pins_on("lock-101") == [pending.code]
    assert fake.count("create_code") == 1


def test_paused_engine_plans_nothing(engine: Engine, world: World) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.paused = True
    assert engine.tick() == 0
    assert world.codes() == []


def test_dry_run_lists_what_would_happen(engine: Engine, world: World,
                                         engine_clock: FixedClock, fake: FakeVendor) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101", guest="Ada Smith")
    world.add_booking(date(2026, 6, 20), date(2026, 6, 22), "102", guest="Bo Berg")
    engine_clock.set(ISSUE_AT - timedelta(days=1))
    steps = engine.dry_run(ISSUE_AT + timedelta(days=5))
    assert [(s.kind, s.guest, s.unit) for s in steps] == [
        ("create", "Ada Smith", "101"), ("expire", "Ada Smith", "101")]
    assert steps[0].at == ISSUE_AT
    assert world.codes() == [] and fake.calls == []


def test_a_stale_plan_does_not_override_a_staff_revoke(engine: Engine, world: World,
                                                       engine_clock: FixedClock) -> None:
    from mangodesk.domain.planner import UpdateWindow
    from mangodesk.engine.planning import apply_actions
    from mangodesk.engine.snapshot import load_snapshot
    from mangodesk.store.models import AccessCode

    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    code = world.code()
    with world.db.session() as s:
        snapshot = load_snapshot(s, engine.vendors, engine_clock.now())
    with world.db.transaction() as s:  # staff revoked it while the planner was thinking
        row = s.get(AccessCode, code.id)
        assert row is not None
        row.state = CodeState.REVOKING
    with world.db.transaction() as s:
        applied = apply_actions(s, [UpdateWindow(code.id, code.valid_from,
                                                 code.valid_to + timedelta(days=1), "later")],
                                snapshot, engine_clock.now())
    assert applied.operations == 0
    assert world.code().valid_to == code.valid_to


@pytest.mark.expect_log(r"could not delete expired code \d+ from", logger="mangodesk.engine")
@pytest.mark.expect_log(r"failed \(permanent, attempt", logger="mangodesk.engine")
def test_expired_codes_are_deleted_from_slot_limited_locks_and_a_failed_cleanup_is_quiet(
    world: World, engine_clock: FixedClock, secret_store: object
) -> None:
    from mangodesk.domain.events import EventBus
    from mangodesk.domain.pinrules import PinRules
    from mangodesk.store.secrets import SecretStore
    from mangodesk.vendors.base import Capabilities
    from mangodesk.vendors.registry import VendorRegistry
    from tests.fakes.vendor import fake_spec

    assert isinstance(secret_store, SecretStore)
    limited = FakeVendor(Capabilities(automated=True, pin_rules=PinRules(),
                                      max_codes_per_lock=250))
    engine = Engine(world.db, VendorRegistry([fake_spec(limited)]), secret_store,
                    engine_clock, EventBus(), CONFIG)
    try:
        world.add_booking(ARRIVAL, DEPARTURE, "101")
        world.add_booking(ARRIVAL, DEPARTURE, "102")
        engine.tick()
        assert len(limited.pins_on("lock-101")) == 1 and len(limited.pins_on("lock-102")) == 1
        limited.fail("revoke_code", PermanentError("The lock is gone."), times=1)
        engine_clock.set(ISSUE_AT + timedelta(days=4))  # both stays are over
        engine.tick()
        engine.tick()
        assert limited.count("revoke_code") == 2  # one failed, one freed its slot
        assert sorted(len(limited.pins_on(lock)) for lock in ("lock-101", "lock-102")) == [0, 1]
        with world.db.session() as session:
            states = {c.state for c in session.scalars(select(AccessCode))}
        assert states == {CodeState.EXPIRED}
        assert world.alerts() == []
    finally:
        engine.stop(5)
