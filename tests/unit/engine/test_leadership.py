"""Issue #18.1: who runs the automation, and taking over in seconds.

PostgreSQL: a session-level advisory lock on a connection of its own; SQLite: the lease,
renewed on its own timer. The PostgreSQL tests use throwaway databases on the machine's
server (127.0.0.1:5432) and skip where there is none."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.domain.types import CodeState, OperationStatus
from mangodesk.engine.engine import Engine
from mangodesk.engine.leadership import (
    LEADER_NAME_PREFIX,
    AdvisoryLockLeadership,
    LeaseLeadership,
    current_leader,
)
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.base import CodeRequest
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.pg import terminate_sessions, throwaway_database
from tests.fakes.vendor import FakeVendor, fake_spec
from tests.fakes.world import World, make_world
from tests.unit.engine.conftest import CONFIG, ISSUE_AT
from tests.unit.engine.test_engine import ARRIVAL, DEPARTURE

FAST = timedelta(milliseconds=100)  # leadership checks in tests: every 0.1 s, not every 2 s
WAIT = 10.0


def wait_for(condition: Callable[[], bool], what: str, deadline: float = WAIT) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def pg_world() -> Iterator[World]:
    with throwaway_database() as url:
        hotel = make_world(Path("unused"), url=url)
        for room in ("101", "102"):
            hotel.add_room(room)
        yield hotel
        hotel.db.dispose()


def desk(world: World, fake: FakeVendor, clock: FixedClock, secrets: SecretStore) -> Engine:
    """One desk's engine on the shared database (each with its own event bus)."""
    built = Engine(world.db, VendorRegistry([fake_spec(fake)]), secrets, clock, EventBus(),
                   CONFIG)
    built.leadership.attempt_every = FAST
    return built


# ---------------------------------------------------------------- PostgreSQL: the advisory lock


def test_one_desk_holds_the_advisory_lock_until_it_hands_it_back(pg_world: World) -> None:
    first = AdvisoryLockLeadership(pg_world.db.engine.url, "desk-1")
    second = AdvisoryLockLeadership(pg_world.db.engine.url, "desk-2")
    try:
        assert first.acquire() and first.held
        assert not second.acquire() and not second.held
        assert first.acquire() and first.renew()  # keeping it is not taking it twice
        assert current_leader(pg_world.db, FixedClock(ISSUE_AT)) == "desk-1"
        first.release()
        assert not first.held
        assert second.acquire()
        assert current_leader(pg_world.db, FixedClock(ISSUE_AT)) == "desk-2"
    finally:
        first.release()
        second.release()


@pytest.mark.expect_log(
    r"lost the database connection that holds the automation \(terminating co",
    logger="mangodesk.engine.leadership", optional=True)
def test_losing_the_lock_connection_loses_the_leadership(pg_world: World) -> None:
    """A server restart or a cut network ends the session: the lock is gone with it, and the
    leader must notice rather than carry on calling locks beside a new leader."""
    leader = AdvisoryLockLeadership(pg_world.db.engine.url, "desk-1")
    other = AdvisoryLockLeadership(pg_world.db.engine.url, "desk-2")
    try:
        assert leader.acquire()
        assert terminate_sessions(pg_world.db.url, LEADER_NAME_PREFIX + "desk-1") == 1
        assert other.acquire()
        assert not leader.renew() and not leader.held
        assert not leader.acquire()  # reconnected, but another desk leads now
    finally:
        leader.release()
        other.release()


def test_a_leader_whose_pc_loses_power_loses_the_lock_within_seconds(
        pg_world: World) -> None:
    """A PC that loses power never closes its connection: the server drops the session only
    once its keepalives go unanswered, which this session asks for after ~7 s (not the
    system's two hours), and the leader itself stops starting calls before that."""
    leader = AdvisoryLockLeadership(pg_world.db.engine.url, "desk-1")
    try:
        assert leader.acquire()
        connection = leader._connection
        assert connection is not None
        settings = {name: connection.execute(f"SHOW {name}").fetchone()[0] for name in (
            "tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")}
        dropped_after = (int(settings["tcp_keepalives_idle"])
                         + int(settings["tcp_keepalives_interval"])
                         * int(settings["tcp_keepalives_count"]))
        assert dropped_after <= 8
        assert leader.stale_after.total_seconds() < dropped_after
        assert dropped_after + leader.attempt_every.total_seconds() < 15
    finally:
        leader.release()


def test_a_desk_starting_beside_the_leader_never_touches_its_calls_in_flight(
        pg_world: World, engine_clock: FixedClock, secret_store: SecretStore) -> None:
    fake = FakeVendor()
    pg_world.add_booking(ARRIVAL, DEPARTURE, "101")
    leader = desk(pg_world, fake, engine_clock, secret_store)
    standby = desk(pg_world, fake, engine_clock, secret_store)
    try:
        assert leader.hold_lease()
        leader.plan_and_enqueue()
        (operation,) = pg_world.operations()
        assert leader.claims.claim(operation.id) is not None  # the leader is calling the vendor
        standby.start()
        time.sleep(20 * FAST.total_seconds())  # many leadership attempts and a tick
        assert standby.tick() == 0
        assert [o.status for o in pg_world.operations()] == [OperationStatus.RUNNING]
        assert fake.calls == []
    finally:
        standby.stop(5)
        leader.stop(5)


@pytest.mark.expect_log(
    r"\d+ operation\(s\) were interrupted; the locks will be read back first",
    logger="mangodesk.engine.claims", optional=True)
def test_a_standby_takes_over_in_seconds_and_recovers_the_dead_leaders_call(
        pg_world: World, engine_clock: FixedClock, secret_store: SecretStore) -> None:
    """The leader dies with a create sent and its answer unread: the server ends its session,
    a started standby takes the lock at its next attempt (not its next tick, an hour away),
    reads the lock back and adopts the code instead of creating a second one."""
    fake = FakeVendor()
    pg_world.add_booking(ARRIVAL, DEPARTURE, "101")
    leader = desk(pg_world, fake, engine_clock, secret_store)
    standby = Engine(pg_world.db, VendorRegistry([fake_spec(fake)]), secret_store,
                     engine_clock, EventBus(), replace(CONFIG, tick_interval=timedelta(hours=1)))
    standby.leadership.attempt_every = FAST
    try:
        assert leader.hold_lease()
        leader.plan_and_enqueue()
        (operation,) = pg_world.operations()
        job = leader.claims.claim(operation.id)
        assert job is not None
        fake.create_code("lock-101", CodeRequest(job.valid_from, job.valid_to, pin=job.pin))
        standby.start()
        assert standby.tick() == 0  # the leader's session is alive: nothing to take over
        died = time.monotonic()
        terminate_sessions(pg_world.db.url, LEADER_NAME_PREFIX + leader.holder)
        wait_for(lambda: pg_world.code().state == CodeState.ACTIVE, "the standby to take over")
        took = time.monotonic() - died
        assert took < 5, f"took {took:.1f} s"
        code = pg_world.code()
        assert fake.windows_on("lock-101") == [(code.code, code.valid_from, code.valid_to)]
        assert [o.status for o in pg_world.operations()] == [OperationStatus.DONE]
        assert current_leader(pg_world.db, engine_clock) == standby.holder
    finally:
        standby.stop(5)
        leader.stop(5)


@pytest.mark.expect_log(
    r"lost the database connection that holds the automation \(terminating co",
    logger="mangodesk.engine.leadership", optional=True)
def test_a_leader_that_lost_its_lock_starts_no_more_calls(
        pg_world: World, engine_clock: FixedClock, secret_store: SecretStore) -> None:
    fake = FakeVendor()
    for room in ("101", "102"):
        pg_world.add_booking(ARRIVAL, DEPARTURE, room)
    leader = desk(pg_world, fake, engine_clock, secret_store)
    try:
        assert leader._follow_leadership()
        leader.plan_and_enqueue()
        terminate_sessions(pg_world.db.url, LEADER_NAME_PREFIX + leader.holder)
        other = AdvisoryLockLeadership(pg_world.db.engine.url, "another desk")
        try:
            assert other.acquire()
            assert not leader.leadership.renew()
            assert leader.run_due() == 0
            assert fake.calls == []
            assert not leader._follow_leadership()  # and it says it stands by
        finally:
            other.release()
    finally:
        leader.stop(5)


# ------------------------------------------------------------ SQLite: the lease on its own timer


def test_a_long_tick_does_not_let_the_lease_lapse(world: World, engine_clock: FixedClock,
                                                  secret_store: SecretStore) -> None:
    """A vendor call that hangs keeps the tick busy far past the lease's term: the lease is
    renewed on its own timer meanwhile, so no other desk takes over beside a live leader."""
    gate = threading.Event()
    fake = FakeVendor(latency=1.0, sleep=lambda _seconds: gate.wait(WAIT))
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    leader = desk(world, fake, engine_clock, secret_store)
    other = desk(world, FakeVendor(), engine_clock, secret_store)
    try:
        leader.start()
        wait_for(lambda: fake.calls != [], "the vendor call to start")
        for _ in range(6):  # two minutes, the call still hanging
            engine_clock.advance(timedelta(seconds=20))
            time.sleep(4 * FAST.total_seconds())
            assert not other.hold_lease(), "another desk took over from a live leader"
        assert leader.leadership.held
    finally:
        gate.set()
        other.stop(5)
        leader.stop(5)


@pytest.mark.sqlite_only("the SQLite lease (PostgreSQL leads by advisory lock, tested above)")
@pytest.mark.expect_log(
    r"the engine lease was taken over by another Mangodesk",
    logger="mangodesk.engine.leadership", optional=True)
def test_the_sqlite_lease_of_a_dead_desk_is_taken_within_its_term(
        world: World, engine_clock: FixedClock) -> None:
    dead = LeaseLeadership(world.db, "desk-1", engine_clock)
    other = LeaseLeadership(world.db, "desk-2", engine_clock)
    assert dead.acquire()
    assert not other.acquire()
    assert current_leader(world.db, engine_clock) == "desk-1"
    engine_clock.advance(dead.term - timedelta(seconds=1))
    assert not other.acquire()
    engine_clock.advance(timedelta(seconds=1))
    assert other.acquire()
    assert dead.term + dead.attempt_every < timedelta(seconds=15)
    assert not dead.renew() and not dead.held
    other.release()
    assert current_leader(world.db, engine_clock) is None


def test_a_lease_that_is_not_renewed_stops_being_held_before_its_term(
        world: World, engine_clock: FixedClock) -> None:
    """Renewals that keep failing (a locked or vanished file) end the leadership on this
    side before any other desk may take the lease: never two leaders at once."""
    lease = LeaseLeadership(world.db, "desk-1", engine_clock,
                            term=timedelta(seconds=0.5), attempt_every=timedelta(seconds=0.2))
    assert lease.acquire() and lease.held
    time.sleep(0.35)
    assert not lease.held  # unconfirmed for longer than term - attempt_every
    assert lease.renew() and lease.held
