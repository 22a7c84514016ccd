"""Issue #11 (door access is exactly right) and #13 (engine part) against the fake vendor:
lost replies, the old window on updates, codes deleted outside, sign-in needed, Retry now,
honest alerts and loud unexpected errors."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.errors import mask_code
from mangodesk.domain.events import EventBus
from mangodesk.domain.types import (
    AlertSeverity,
    BookingStatus,
    CodeOrigin,
    CodeState,
    ConnectionStatus,
    OperationKind,
    OperationStatus,
)
from mangodesk.engine.engine import Engine
from mangodesk.engine.outbox import OperationPayload, enqueue
from mangodesk.store.models import AccessCode, Connection, Operation
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import (
    AmbiguousError,
    AuthError,
    Capabilities,
    CodeConflictError,
    TransientError,
)
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.vendor import FakeVendor, fake_spec
from tests.fakes.world import World
from tests.unit.engine.conftest import CONFIG, ISSUE_AT
from tests.unit.engine.test_engine import ARRIVAL, DEPARTURE, RETRY_STEP, run_until_settled

PLACE = "101 · Fake locks (tests) lock Lock 101"


def on_lock(fake: FakeVendor, lock: str = "lock-101") -> list[tuple[object, object, object]]:
    return list(fake.windows_on(lock))


# ---------------------------------------------------------------- #11.4 lost reply / crash


@pytest.mark.expect_log(r"failed \(ambiguous, attempt", logger="mangodesk.engine")
def test_lost_create_then_date_change_leaves_the_new_window_on_the_lock(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.lose_response("create_code")
    engine.tick()  # the code landed, the answer did not
    assert world.code().state == CodeState.PENDING
    world.set_booking(booking, arrival=date(2026, 6, 9), departure=date(2026, 6, 14))
    engine_clock.advance(RETRY_STEP)
    run_until_settled(engine, engine_clock)
    code = world.code()
    assert code.state == CodeState.ACTIVE
    assert code.valid_from.isoformat() == "2026-06-09T13:00:00+00:00"
    assert code.valid_to.isoformat() == "2026-06-14T09:00:00+00:00"
    assert on_lock(fake) == [(code.code, code.valid_from, code.valid_to)]
    assert fake.count("create_code") == 1


@pytest.mark.expect_log(r"failed \(ambiguous, attempt", logger="mangodesk.engine")
def test_lost_create_then_cancel_leaves_nothing_on_the_lock(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.lose_response("create_code")
    engine.tick()
    assert len(on_lock(fake)) == 1
    world.set_booking(booking, status=BookingStatus.CANCELLED)
    run_until_settled(engine, engine_clock)
    assert on_lock(fake) == []
    assert world.code().state == CodeState.REVOKED


@pytest.mark.expect_log(r"failed \(ambiguous, attempt", logger="mangodesk.engine")
@pytest.mark.expect_log(r"failed \(conflict, attempt", logger="mangodesk.engine")
def test_a_strangers_code_with_the_same_pin_is_not_adopted(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", AmbiguousError("No answer."), times=1)  # it did not land
    engine.tick()
    pin = world.code().code
    assert pin is not None
    stranger = fake.add_existing("lock-101", pin, "Cleaner", ISSUE_AT,
                                 ISSUE_AT + timedelta(days=90))
    engine_clock.advance(RETRY_STEP)
    run_until_settled(engine, engine_clock)
    code = world.code()
    assert code.state == CodeState.ACTIVE
    assert code.vendor_ref != stranger.vendor_ref and code.code != pin
    assert fake.codes["lock-101"][stranger.vendor_ref] == stranger  # untouched
    assert (code.code, code.valid_from, code.valid_to) in on_lock(fake)


@pytest.mark.expect_log(r"failed \(ambiguous, attempt", logger="mangodesk.engine")
def test_cancel_after_an_unlanded_create_leaves_a_strangers_same_pin_alone(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", AmbiguousError("No answer."), times=1)
    engine.tick()
    pin = world.code().code
    assert pin is not None
    stranger = fake.add_existing("lock-101", pin, "Owner", ISSUE_AT, ISSUE_AT + timedelta(days=9))
    world.set_booking(booking, status=BookingStatus.CANCELLED)
    run_until_settled(engine, engine_clock)
    assert world.code().state == CodeState.REVOKED
    assert list(fake.codes["lock-101"].values()) == [stranger]
    assert fake.count("revoke_code") == 0


def test_a_revoke_whose_answer_is_lost_is_confirmed_by_reading_the_lock_back(
        engine: Engine, world: World, fake: FakeVendor) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    world.set_booking(booking, status=BookingStatus.CANCELLED)
    fake.lose_response("revoke_code")
    engine.tick()
    assert world.code().state == CodeState.REVOKED
    assert on_lock(fake) == [] and fake.count("revoke_code") == 1


@pytest.mark.expect_log(r"failed \(ambiguous, attempt", logger="mangodesk.engine")
def test_an_uncertain_revoke_stays_open_with_its_error_then_alerts(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    world.set_booking(booking, status=BookingStatus.CANCELLED)
    fake.fail("revoke_code", AmbiguousError("No answer."), times=CONFIG.max_attempts)
    engine.tick()
    code = world.code()
    assert code.state == CodeState.REVOKING and code.last_error
    run_until_settled(engine, engine_clock)
    assert world.code().state == CodeState.FAILED
    (alert,) = world.alerts()
    assert alert.severity == AlertSeverity.CRITICAL and PLACE in alert.message
    assert len(on_lock(fake)) == 1  # never a silent success


# ---------------------------------------------------------------- #11.4 standby takeover


def _second_engine(engine: Engine, fake: FakeVendor) -> Engine:
    return Engine(engine.db, VendorRegistry([fake_spec(fake)]), engine.secrets, engine.clock,
                  EventBus(), CONFIG)


def test_a_desk_starting_beside_the_leader_leaves_its_calls_in_flight_alone(
        engine: Engine, world: World, fake: FakeVendor) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    assert engine.hold_lease()
    engine.plan_and_enqueue()
    (operation,) = world.operations()
    assert engine.claims.claim(operation.id) is not None  # the leader is calling the vendor
    standby = _second_engine(engine, fake)
    try:
        standby.start()
        standby.tick()
        assert [o.status for o in world.operations()] == [OperationStatus.RUNNING]
    finally:
        standby.stop(5)
    assert fake.calls == []


def test_jobs_for_the_leader_only_run_in_the_process_that_leads(
        engine: Engine, fake: FakeVendor) -> None:
    """Guest mail and the PMS sync run once per hotel, not once per desk."""
    ran: list[str] = []
    assert engine.hold_lease()
    standby = _second_engine(engine, fake)
    try:
        assert not standby.run_periodic("guest-mail", lambda: ran.append("standby"),
                                        leader_only=True)
        assert standby.run_periodic("local", lambda: ran.append("standby, any desk"))
        assert engine.run_periodic("guest-mail", lambda: ran.append("leader"),
                                   leader_only=True)
    finally:
        standby.stop(5)
    assert ran == ["standby, any desk", "leader"]


@pytest.mark.sqlite_only("expires the SQLite lease row by hand (PostgreSQL: test_leadership)")
@pytest.mark.expect_log(
    r"\d+ operation\(s\) were interrupted; the locks will",
    logger="mangodesk.engine")
def test_a_standby_that_takes_the_lease_recovers_the_dead_leaders_calls(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    from mangodesk.vendors.base import CodeRequest

    world.add_booking(ARRIVAL, DEPARTURE, "101")
    assert engine.hold_lease()
    engine.plan_and_enqueue()
    (operation,) = world.operations()
    job = engine.claims.claim(operation.id)
    assert job is not None
    fake.create_code("lock-101", CodeRequest(job.valid_from, job.valid_to, pin=job.pin))
    # ...and the leader dies with the answer unread.
    standby = _second_engine(engine, fake)
    try:
        assert standby.tick() == 0  # the lease is still the dead leader's
        engine_clock.advance(timedelta(minutes=5))
        standby.tick()
        code = world.code()
        assert code.state == CodeState.ACTIVE
        assert on_lock(fake) == [(code.code, code.valid_from, code.valid_to)]
        assert [o.status for o in world.operations()] == [OperationStatus.DONE]
    finally:
        standby.stop(5)


# ---------------------------------------------------------------- #11.5 the real old window


@pytest.mark.parametrize(("arrival", "departure", "moved"), [
    (date(2026, 6, 9), DEPARTURE, "start"),
    (ARRIVAL, date(2026, 6, 14), "end"),
    (date(2026, 6, 11), date(2026, 6, 13), "both"),
])
def test_an_update_sends_the_window_the_vendor_holds_and_the_new_one(
        engine: Engine, world: World, fake: FakeVendor, arrival: date, departure: date,
        moved: str) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    before = world.code()
    world.set_booking(booking, arrival=arrival, departure=departure)
    engine.tick()
    after = world.code()
    (call,) = fake.updates
    assert (call.old_from, call.old_to) == (before.valid_from, before.valid_to)
    assert (call.new_from, call.new_to) == (after.valid_from, after.valid_to)
    assert (call.old_from != call.new_from) == (moved in ("start", "both"))
    assert (call.old_to != call.new_to) == (moved in ("end", "both"))
    assert on_lock(fake) == [(after.code, after.valid_from, after.valid_to)]
    assert (after.vendor_valid_from, after.vendor_valid_to) == (after.valid_from,
                                                                 after.valid_to)


def test_a_second_update_sends_what_the_first_one_left(engine: Engine, world: World,
                                                       fake: FakeVendor) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    world.set_booking(booking, departure=date(2026, 6, 14))
    engine.tick()
    middle = world.code()
    world.set_booking(booking, arrival=date(2026, 6, 9))
    engine.tick()
    assert (fake.updates[-1].old_from, fake.updates[-1].old_to) == (middle.valid_from,
                                                                   middle.valid_to)


@pytest.mark.expect_log(r"failed \(ambiguous, attempt", logger="mangodesk.engine")
def test_after_a_lost_update_answer_the_next_update_sends_what_the_lock_holds(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    world.set_booking(booking, departure=date(2026, 6, 14))
    fake.lose_response("update_code")
    engine.tick()  # the lock moved to the 14th; the answer was lost
    world.set_booking(booking, departure=date(2026, 6, 15))
    engine_clock.advance(RETRY_STEP)
    run_until_settled(engine, engine_clock)
    code = world.code()
    last = fake.updates[-1]
    assert last.old_to is not None and last.old_to.isoformat() == "2026-06-14T09:00:00+00:00"
    assert last.new_to == code.valid_to
    assert on_lock(fake) == [(code.code, code.valid_from, code.valid_to)]


def _queue_for(world: World, engine_clock: FixedClock, kind: OperationKind,
               payload: dict[str, object] | None = None, **window: object) -> None:
    with world.db.transaction() as s:
        code = s.scalars(select(AccessCode)).one()
        for key, value in window.items():
            setattr(code, key, value)
        enqueue(s, code, kind, engine_clock.now(), OperationPayload.from_json(payload))


def test_an_update_that_ends_the_stay_now_leaves_the_code_expired(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine_clock.set(ISSUE_AT + timedelta(days=2, hours=3))  # the guest is in the room
    engine.tick()
    now = engine_clock.now()
    _queue_for(world, engine_clock, OperationKind.UPDATE, valid_to=now)
    engine.run_due()
    code = world.code()
    assert code.state == CodeState.EXPIRED
    assert on_lock(fake) == [(code.code, code.valid_from, now)]


def test_a_revoke_that_ends_the_stay_leaves_the_code_expired(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    _queue_for(world, engine_clock, OperationKind.REVOKE, {"ends_stay": True})
    engine.run_due()
    assert world.code().state == CodeState.EXPIRED
    assert on_lock(fake) == []


# ---------------------------------------------------------------- #11.6 deleted outside


@pytest.mark.expect_log(r"failed \(already_gone, attempt", logger="mangodesk.engine")
def test_a_code_deleted_in_the_vendor_app_is_replaced_with_a_notice(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101", guest="Ada Smith")
    engine.tick()
    first = world.code()
    assert first.vendor_ref is not None and first.code is not None
    fake.delete_outside("lock-101", first.vendor_ref)
    world.set_booking(booking, departure=date(2026, 6, 14))
    run_until_settled(engine, engine_clock)
    code = world.code()
    assert code.state == CodeState.ACTIVE and code.vendor_ref != first.vendor_ref
    assert on_lock(fake) == [(code.code, code.valid_from, code.valid_to)]
    (notice,) = world.alerts()
    assert notice.severity == AlertSeverity.WARNING and notice.cleared_at is None
    assert "Ada Smith's door code changed" in notice.message
    assert PLACE in notice.message and first.code not in notice.message
    assert mask_code(first.code) in notice.message


def _staff_code(world: World, pin: str = "424242") -> None:
    with world.db.transaction() as s:
        code = AccessCode(unit_id=world.units["101"], lock_id=world.locks["101"],
                          origin=CodeOrigin.MANUAL, code=pin, valid_from=ISSUE_AT,
                          valid_to=ISSUE_AT + timedelta(days=1), guest_name="Owner",
                          state=CodeState.PENDING, created_at=ISSUE_AT, updated_at=ISSUE_AT)
        s.add(code)
        s.flush()
        enqueue(s, code, OperationKind.CREATE, ISSUE_AT)


@pytest.mark.expect_log(r"failed \(already_gone, attempt", logger="mangodesk.engine")
def test_a_staff_passcode_deleted_in_the_vendor_app_is_recorded_gone_not_recreated(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    _staff_code(world)
    engine.run_due()
    first = world.code()
    assert first.state == CodeState.ACTIVE and first.vendor_ref is not None
    fake.delete_outside("lock-101", first.vendor_ref)
    _queue_for(world, engine_clock, OperationKind.UPDATE,
               valid_to=first.valid_to + timedelta(hours=2))
    engine.run_due()
    engine.run_due()
    assert world.code().state == CodeState.REVOKED
    assert on_lock(fake) == [] and fake.count("create_code") == 1
    (notice,) = world.alerts()
    assert "deleted outside Mangodesk" in notice.message and PLACE in notice.message


# ---------------------------------------------------------------- #11.10 honest alerts


@pytest.mark.expect_log(r"failed \(transient, attempt", logger="mangodesk.engine")
def test_a_give_up_never_promises_more_tries_and_names_the_room(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", TransientError(
        "The gateway did not answer.", "Nothing to do: Mangodesk will try again by itself."),
        times=CONFIG.max_attempts)
    run_until_settled(engine, engine_clock)
    (alert,) = world.alerts()
    text = f"{alert.message} {alert.fix}"
    assert "try again" not in text and "keeps trying" not in text
    assert PLACE in alert.message and "lock-101" not in text
    assert "gave up" in alert.message


@pytest.mark.expect_log(r"failed \(conflict, attempt", logger="mangodesk.engine")
def test_a_staff_pin_clash_does_not_claim_another_pin_is_picked(
        engine: Engine, world: World, fake: FakeVendor) -> None:
    _staff_code(world)
    fake.fail("create_code", CodeConflictError(
        "That code is already used on this lock.", "Mangodesk picks another PIN automatically."))
    engine.run_due()
    (alert,) = world.alerts()
    text = f"{alert.message} {alert.fix}"
    assert "automatically" not in text
    assert "choose another code" in text and PLACE in alert.message
    assert world.code().state == CodeState.FAILED and world.code().code == "424242"


# ---------------------------------------------------------------- #11.11 one Retry now


@pytest.mark.expect_log(r"failed \(transient, attempt", logger="mangodesk.engine")
def test_retry_now_on_a_code_waiting_for_its_next_try_runs_it_at_once(
        engine: Engine, world: World, fake: FakeVendor) -> None:
    from mangodesk.engine.retry import retry_code

    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", TransientError("Gateway busy."), times=3)
    engine.tick()
    engine.run_due()
    waiting = world.code()
    assert waiting.state == CodeState.PENDING and waiting.attempts == 1
    retry_code(engine.db, engine.clock, engine.events, waiting.id, "Maria")
    (operation,) = world.operations()
    assert operation.next_attempt_at == ISSUE_AT and operation.attempts == 0
    engine.run_due()
    assert fake.count("create_code") == 2


@pytest.mark.expect_log(r"failed \(conflict, attempt", logger="mangodesk.engine")
def test_retry_now_after_a_pin_conflict_give_up_gets_a_fresh_pin_budget(
        engine: Engine, world: World, fake: FakeVendor) -> None:
    from mangodesk.engine.retry import retry_code

    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.fail("create_code", CodeConflictError("Exists."), times=CONFIG.max_pin_conflicts + 3)
    engine.tick()
    code = world.code()
    assert code.state == CodeState.FAILED
    retry_code(engine.db, engine.clock, engine.events, code.id, "Maria")
    engine.run_due()
    assert world.code().state == CodeState.ACTIVE
    assert fake.count("create_code") == CONFIG.max_pin_conflicts + 4


def test_retry_now_refuses_a_code_with_nothing_to_retry(engine: Engine, world: World) -> None:
    from mangodesk.domain.errors import ValidationError
    from mangodesk.engine.retry import retry_code

    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.tick()
    with pytest.raises(ValidationError, match="nothing to retry"):
        retry_code(engine.db, engine.clock, engine.events, world.code().id, "Maria")


# ---------------------------------------------------------------- #13.7 sign-in needed


@pytest.mark.expect_log(r"failed \(auth, attempt", logger="mangodesk.engine")
def test_a_rejected_sign_in_is_one_connection_state_and_codes_wait(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    world.add_booking(ARRIVAL, DEPARTURE, "102")
    fake.fail("create_code", AuthError("TTLock rejected the password.",
                                       "Enter the TTLock password again."), times=2)
    engine.tick()
    for _ in range(3):
        engine_clock.advance(RETRY_STEP)
        engine.tick()
    assert fake.count("create_code") <= 2
    with world.db.session() as s:
        connection = s.get(Connection, world.connection_id)
        assert connection is not None
        assert connection.status == ConnectionStatus.NEEDS_ATTENTION
        assert (connection.status_message or "").startswith("Sign-in needed:")
    (alert,) = world.alerts()
    assert alert.dedupe_key == f"connection:{world.connection_id}:sign-in"
    assert all(c.state == CodeState.PENDING and c.attempts == 0 for c in world.codes())
    assert all(o.attempts == 0 and o.status == OperationStatus.QUEUED
               for o in world.operations())
    with world.db.transaction() as s:  # staff signed in again (services/connections.py)
        connection = s.get(Connection, world.connection_id)
        assert connection is not None
        connection.status = ConnectionStatus.CONNECTED
        connection.status_message = None
    engine.adapters.replace(world.connection_id)
    engine.tick()
    assert [c.state for c in world.codes()] == [CodeState.ACTIVE, CodeState.ACTIVE]


# ---------------------------------------------------------------- #13.9 typed mobile-key email


def test_the_email_staff_typed_for_a_mobile_key_reaches_the_vendor(
        world: World, engine_clock: FixedClock, secret_store: SecretStore) -> None:
    keys = FakeVendor(Capabilities(automated=True, pin_rules=None, vendor_generates_pin=True,
                                   mobile_key=True, needs_guest_email=True))
    engine = Engine(world.db, VendorRegistry([fake_spec(keys)]), secret_store, engine_clock,
                    EventBus(), CONFIG)
    try:
        with world.db.transaction() as s:
            code = AccessCode(unit_id=world.units["101"], lock_id=world.locks["101"],
                              origin=CodeOrigin.MANUAL, code=None, valid_from=ISSUE_AT,
                              valid_to=ISSUE_AT + timedelta(days=1), guest_name="Owner",
                              state=CodeState.PENDING, created_at=ISSUE_AT,
                              updated_at=ISSUE_AT)
            s.add(code)
            s.flush()
            enqueue(s, code, OperationKind.CREATE, ISSUE_AT,
                    OperationPayload(guest_email="owner@example.org"))
        engine.run_due()
        (request,) = keys.requests
        assert request.guest_email == "owner@example.org"
    finally:
        engine.stop(5)


# ---------------------------------------------------------------- #13.12 unexpected errors


@pytest.mark.expect_log(
    r"operation \d+: unexpected failure in the ttlock",
    level="ERROR", logger="mangodesk.engine")
@pytest.mark.expect_log(
    r"operation \d+ \(create\) for code \d+ •+\d+ failed \(permanent, attempt \d+\):",
    logger="mangodesk.engine.settle")
def test_an_unexpected_error_alerts_at_once_with_the_traceback_logged(
        engine: Engine, world: World, fake: FakeVendor, engine_clock: FixedClock,
        caplog: pytest.LogCaptureFixture) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake.crash_in("create_code")
    with caplog.at_level(logging.ERROR, logger="mangodesk.engine.engine"):
        engine.tick()
    (alert,) = world.alerts()
    assert "unexpected error" in alert.message and "log file" in (alert.fix or "")
    assert any(r.exc_info and r.exc_info[0] is RecursionError for r in caplog.records)
    assert world.code().state == CodeState.FAILED
    engine_clock.advance(RETRY_STEP * 3)
    engine.tick()
    assert fake.count("create_code") == 1  # not retried silently
    with world.db.session() as s:
        assert s.scalars(select(Operation)).one().status == OperationStatus.FAILED


@pytest.mark.expect_log(r"failed \(ambiguous, attempt", logger="mangodesk.engine")
def test_another_mobile_key_for_the_same_email_is_not_adopted(
        world: World, engine_clock: FixedClock, secret_store: SecretStore) -> None:
    from mangodesk.vendors.base import VendorCode

    keys = FakeVendor(Capabilities(automated=True, pin_rules=None, vendor_generates_pin=True,
                                   mobile_key=True, needs_guest_email=True))
    engine = Engine(world.db, VendorRegistry([fake_spec(keys)]), secret_store, engine_clock,
                    EventBus(), CONFIG)
    try:
        world.add_booking(ARRIVAL, DEPARTURE, "101")
        keys.fail("create_code", AmbiguousError("No answer."), times=1)  # it did not land
        engine.tick()
        code = world.code()
        # A day key staff sent the same guest in the vendor's app, overlapping the stay.
        day_key = VendorCode("day-key", None, code.valid_from + timedelta(hours=20),
                             code.valid_from + timedelta(hours=30), "Ada Smith",
                             mobile_key_sent_to="guest@example.org")
        keys.codes["lock-101"][day_key.vendor_ref] = day_key
        engine_clock.advance(RETRY_STEP)
        run_until_settled(engine, engine_clock)
        mine = world.code()
        assert mine.state == CodeState.ACTIVE and mine.vendor_ref != "day-key"
        assert keys.count("create_code") == 2
        assert keys.codes["lock-101"]["day-key"] == day_key
    finally:
        engine.stop(5)
