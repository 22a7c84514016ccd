"""The worker pool and the scheduler: serialisation, limits, catch-up, clean stop.

The fake vendor's latency is real time here (overlap needs it); nothing asserts durations.
"""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import Event, EventBus, EventKind
from mangodesk.domain.types import CodeState, OperationStatus
from mangodesk.engine.engine import Engine, EngineConfig
from mangodesk.store.models import Operation
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.vendor import FakeVendor, fake_spec
from tests.fakes.world import World

ARRIVAL, DEPARTURE = date(2026, 6, 10), date(2026, 6, 12)
WAIT = 20.0  # generous bound for a background thread to report; never asserted as a duration


def build(world: World, fake: FakeVendor, clock: FixedClock, secret_store: SecretStore,
          events: EventBus | None = None, **config: object) -> Engine:
    return Engine(world.db, VendorRegistry([fake_spec(fake)]), secret_store, clock,
                  events or EventBus(), EngineConfig(**config))  # type: ignore[arg-type]


def test_one_call_at_a_time_per_gateway_and_per_connection_limit(
        world: World, engine_clock: FixedClock, secret_store: SecretStore) -> None:
    gateways = {}
    for n in range(9):
        room = f"2{n:02d}"
        world.add_room(room, serial_key=f"gw-{n % 3}")
        gateways[f"lock-{room}"] = f"gw-{n % 3}"
        world.add_booking(ARRIVAL, DEPARTURE, room)
    fake = FakeVendor(latency=0.02, serial_keys=gateways)
    engine = build(world, fake, engine_clock, secret_store, worker_threads=8,
                   per_connection_concurrency=2)
    try:
        engine.tick()
    finally:
        engine.stop(5)
    assert world.count_state(CodeState.ACTIVE) == 9
    assert fake.count("create_code") == 9
    assert max(fake.max_in_flight.values()) == 1
    assert fake.max_total_in_flight <= 2


def test_start_catches_up_at_once_and_runs_periodic_jobs(
        world: World, engine_clock: FixedClock, secret_store: SecretStore) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake = FakeVendor()
    events = EventBus()
    active = threading.Event()
    synced = threading.Event()

    def watch(event: Event) -> None:
        if event.kind == EventKind.CODE_CHANGED and event.data["state"] == "active":
            active.set()

    events.subscribe(watch)
    engine = build(world, fake, engine_clock, secret_store, events)
    engine.add_periodic_job("pms-sync", synced.set, 3600)
    engine.start()
    try:
        assert active.wait(WAIT)
        assert synced.wait(WAIT)
        assert engine.running
    finally:
        assert engine.stop(5)
    assert not engine.running
    assert fake.closed == 1  # the cached adapter was closed on stop
    assert world.code().state == CodeState.ACTIVE


def test_stop_waits_for_calls_in_flight_and_leaves_the_rest_queued(
        world: World, engine_clock: FixedClock, secret_store: SecretStore) -> None:
    for n in range(5):
        room = f"3{n:02d}"
        world.add_room(room, serial_key="gw-only")
        world.add_booking(ARRIVAL, DEPARTURE, room)
    first_call = threading.Event()
    release = threading.Event()

    def slow(_: float) -> None:
        first_call.set()
        release.wait(WAIT)

    fake = FakeVendor(latency=1.0, sleep=slow)
    engine = build(world, fake, engine_clock, secret_store)
    engine.start()
    assert first_call.wait(WAIT)
    stopper = threading.Thread(target=engine.stop, args=(WAIT,))
    stopper.start()
    release.set()
    stopper.join(WAIT)
    with world.db.session() as s:
        statuses = [o.status for o in s.scalars(select(Operation))]
    assert OperationStatus.RUNNING not in statuses
    assert statuses.count(OperationStatus.DONE) >= 1
    assert statuses.count(OperationStatus.QUEUED) >= 1
    # the next run picks up exactly where the last one stopped
    later = build(world, fake, engine_clock, secret_store)
    try:
        later.run_due()
    finally:
        later.stop(5)
    assert world.count_state(CodeState.ACTIVE) == 5
    assert all(len(fake.pins_on(f"lock-3{n:02d}")) == 1 for n in range(5))


def test_wake_runs_a_tick_soon(world: World, engine_clock: FixedClock,
                               secret_store: SecretStore) -> None:
    fake = FakeVendor()
    events = EventBus()
    active = threading.Event()
    events.subscribe(lambda e: active.set() if e.data.get("state") == "active" else None)
    engine = build(world, fake, engine_clock, secret_store, events,
                   tick_interval=timedelta(hours=1))
    first_plan = threading.Event()
    plan_and_enqueue = engine.plan_and_enqueue

    def planning_observed() -> int:
        planned = plan_and_enqueue()
        first_plan.set()
        return planned

    engine.plan_and_enqueue = planning_observed  # type: ignore[method-assign]
    engine.start()
    try:
        assert first_plan.wait(WAIT)  # the catch-up tick ran; the next is an hour away
        world.add_booking(ARRIVAL, DEPARTURE, "102")
        engine.wake()
        assert active.wait(WAIT)
    finally:
        engine.stop(5)


@pytest.mark.sqlite_only("the SQLite lease row (PostgreSQL: the advisory lock in test_leadership)")
def test_only_one_engine_per_database_ticks(world: World, engine_clock: FixedClock,
                                            secret_store: SecretStore) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    fake = FakeVendor()
    desk = build(world, fake, engine_clock, secret_store)
    service = build(world, fake, engine_clock, secret_store)
    try:
        assert desk.hold_lease()
        assert service.tick() == 0  # the desk holds the lease: the service stands by
        assert world.codes() == []
        assert desk.tick() == 1
        engine_clock.advance(timedelta(minutes=5))  # the desk crashed: its lease runs out
        world.add_booking(ARRIVAL, DEPARTURE, "102")
        assert service.tick() == 1
        assert not desk.hold_lease()
    finally:
        service.stop(5)
        desk.stop(5)
    restarted = build(world, fake, engine_clock, secret_store)
    try:
        assert restarted.hold_lease()  # a clean stop hands the lease back at once
    finally:
        restarted.stop(5)


def test_a_stopped_engine_starts_again_with_fresh_workers(
        world: World, engine_clock: FixedClock, secret_store: SecretStore) -> None:
    """The desk's Resume after a stop: the worker threads were shut down and come back."""
    fake = FakeVendor()
    events = EventBus()
    active = threading.Event()
    events.subscribe(lambda event: active.set() if event.kind == EventKind.CODE_CHANGED
                     and event.data["state"] == "active" else None)
    engine = build(world, fake, engine_clock, secret_store, events)
    engine.start()
    assert engine.stop(5) and not engine.running
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine.start()
    try:
        assert active.wait(WAIT)
    finally:
        assert engine.stop(5)
    assert world.code().state == CodeState.ACTIVE
    assert fake.closed == 1  # the adapter the second run built was closed on its stop


def test_stop_waits_for_a_tick_under_way_which_then_neither_plans_nor_keeps_the_lease(
        world: World, engine_clock: FixedClock, secret_store: SecretStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The scheduler does not wait for a tick it started. A tick still taking the lease when
    the desk stops must not plan afterwards, nor take the lease again after stop() let it go
    (another desk would wait a whole lease term): stop() waits for it, and it sees the halt."""
    world.add_booking(ARRIVAL, DEPARTURE, "101")
    engine = build(world, FakeVendor(), engine_clock, secret_store)
    engine.tick()  # leading, nothing left to do
    taking_lease, let_go = threading.Event(), threading.Event()
    real_hold = engine.hold_lease
    planned: list[bool] = []
    real_plan = engine.plan_and_enqueue

    def slow_hold() -> bool:
        taking_lease.set()
        let_go.wait(WAIT)
        return real_hold()

    def plan(**kwargs: bool) -> int:
        planned.append(True)
        return real_plan(**kwargs)

    monkeypatch.setattr(engine, "hold_lease", slow_hold)
    monkeypatch.setattr(engine, "plan_and_enqueue", plan)
    ticking = threading.Thread(target=engine.tick)
    ticking.start()
    assert taking_lease.wait(WAIT)
    threading.Timer(0.2, let_go.set).start()
    assert engine.stop(WAIT)
    stopped_while_ticking = ticking.is_alive()
    ticking.join(WAIT)
    assert not stopped_while_ticking
    assert planned == []
    assert not engine.leadership.held
