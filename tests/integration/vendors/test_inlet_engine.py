"""End to end: bookings in the database → the engine → the Inlet adapter → the Inlet simulator
over loopback. The code appears 48 h before check-in, follows a date change, and goes away on
cancellation; a lost create answer never makes a second grant."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from mangodesk.domain.clock import FixedClock
from mangodesk.domain.events import EventBus
from mangodesk.domain.types import BookingStatus, CodeState, VendorKind
from mangodesk.engine.engine import Engine, EngineConfig
from mangodesk.engine.resolve import secret_key
from mangodesk.sim.inlet import InletSimulator
from mangodesk.store.secrets import SecretStore
from mangodesk.vendors import inlet_contract as wire
from mangodesk.vendors.base import ConnectionConfig, VendorAdapter
from mangodesk.vendors.inlet import INLET_SPEC, InletAdapter
from mangodesk.vendors.registry import VendorRegistry
from tests.fakes.world import World, make_world

ARRIVAL, DEPARTURE = date(2026, 6, 10), date(2026, 6, 12)
# Check-in 2026-06-10 15:00 Oslo = 13:00 UTC; the code is due 48 h earlier.
CHECK_IN = datetime(2026, 6, 10, 13, 0, tzinfo=UTC)
ISSUE_AT = CHECK_IN - timedelta(hours=48)
CONFIG = EngineConfig(retry_interval=timedelta(minutes=5), jitter=timedelta(seconds=0),
                      worker_threads=2, per_connection_concurrency=1)
TIMEOUT = httpx.Timeout(connect=5.0, read=1.0, write=5.0, pool=5.0)


def room_lock(lock_id: str) -> wire.InletLock:
    return wire.InletLock(lock_id, lock_id, "Salto KS", "Main", "Floor 1", True, None,
                          (wire.ACCESS_CODE,))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(ISSUE_AT)


@pytest.fixture
def sim(clock: FixedClock) -> Iterator[InletSimulator]:
    simulator = InletSimulator(locks=[room_lock("lock-101"), room_lock("lock-102")],
                               clock=clock).start()
    yield simulator
    simulator.stop()


@pytest.fixture
def world(tmp_path: Path, sim: InletSimulator, secret_store: SecretStore) -> Iterator[World]:
    hotel = make_world(tmp_path, kind=VendorKind.INLET, settings={"base_url": sim.base_url})
    secret_store.set(secret_key(hotel.connection_id, "api_token"), sim.token)
    hotel.add_room("101")
    hotel.add_room("102")
    yield hotel
    hotel.db.dispose()


@pytest.fixture
def engine(world: World, clock: FixedClock, secret_store: SecretStore) -> Iterator[Engine]:
    def factory(config: ConnectionConfig) -> VendorAdapter:
        return InletAdapter(config, clock=clock, timeout=TIMEOUT)

    registry = VendorRegistry([dataclasses.replace(INLET_SPEC, factory=factory)])
    built = Engine(world.db, registry, secret_store, clock, EventBus(), CONFIG)
    yield built
    built.stop(5)


def test_booking_lifecycle_through_the_engine(
    engine: Engine, world: World, sim: InletSimulator, clock: FixedClock
) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101", guest="Ada Berg")
    clock.set(ISSUE_AT - timedelta(minutes=1))
    engine.tick()
    assert sim.grants == {}

    clock.set(ISSUE_AT)
    engine.tick()
    code = world.code()
    assert code.state == CodeState.ACTIVE
    grant = sim.grants[str(code.vendor_ref)]
    assert code.code == grant.grant.code_formatted  # the PIN Inlet chose is the one we keep
    assert (grant.lock_id, grant.grant.start) == ("lock-101", CHECK_IN)

    world.set_booking(booking, departure=date(2026, 6, 14))
    engine.tick()
    assert sim.grants[str(code.vendor_ref)].grant.end == datetime(2026, 6, 14, 9, 0, tzinfo=UTC)
    assert world.code().code == code.code

    world.set_booking(booking, status=BookingStatus.CANCELLED)
    engine.tick()
    assert sim.grants == {}
    assert world.code().state == CodeState.REVOKED


def test_a_lifecycle_costs_at_most_three_requests_per_operation(
    engine: Engine, world: World, sim: InletSimulator
) -> None:
    booking = world.add_booking(ARRIVAL, DEPARTURE, "101", guest="Ada Berg")
    counts = []
    for change in ({}, {"departure": date(2026, 6, 14)}, {"status": BookingStatus.CANCELLED}):
        if change:
            world.set_booking(booking, **change)
        before = len(sim.requests)
        engine.tick()
        counts.append(sim.requests[before:])
    assert world.code().state == CodeState.REVOKED and sim.grants == {}
    assert all(1 <= len(calls) <= 3 for calls in counts), counts


@pytest.mark.expect_log(r"failed \(ambiguous, attempt", logger="mangodesk.engine")
def test_a_lost_create_answer_is_resolved_by_reading_the_lock_back(
    engine: Engine, world: World, sim: InletSimulator, clock: FixedClock
) -> None:
    world.add_booking(ARRIVAL, DEPARTURE, "102")
    sim.hang_next(after_apply=True, path=wire.GRANT_ACCESS_PATH)
    engine.tick()
    assert world.code().state != CodeState.ACTIVE
    assert len(sim.grants) == 1

    clock.advance(CONFIG.retry_interval + timedelta(seconds=1))
    engine.tick()
    code = world.code()
    assert code.state == CodeState.ACTIVE
    assert list(sim.grants) == [code.vendor_ref]
